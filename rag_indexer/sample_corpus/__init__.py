"""The sample corpus of marketing playbooks (PDFs built by build.py from src/*.md)."""

from __future__ import annotations

import shutil
from pathlib import Path

FOLDER = Path(__file__).resolve().parent


def pdfs() -> list[Path]:
    return sorted(FOLDER.glob("*.pdf"))


def copy_to(folder: Path) -> list[Path]:
    """The sample PDFs copied into `folder` (made if missing), without their sources."""
    folder.mkdir(parents=True, exist_ok=True)
    return [Path(shutil.copy2(pdf, folder / pdf.name)) for pdf in pdfs()]
