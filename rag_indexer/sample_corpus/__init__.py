"""The sample corpus of marketing playbooks (PDFs built by build.py from src/*.md)."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from rag_indexer.index import LocalIndex

FOLDER = Path(__file__).resolve().parent


def pdfs() -> list[Path]:
    return sorted(FOLDER.glob("*.pdf"))


def copy_to(folder: Path) -> list[Path]:
    """The sample PDFs copied into `folder` (made if missing), without their sources."""
    folder.mkdir(parents=True, exist_ok=True)
    return [Path(shutil.copy2(pdf, folder / pdf.name)) for pdf in pdfs()]


def indexed(folder: Path) -> LocalIndex:
    """The sample playbooks copied into `folder`/playbooks and indexed locally there (the
    tests and benches that quote playbooks start from this)."""
    from rag_indexer.index import LocalIndex
    from rag_indexer.pipeline import Indexer, IndexerState
    from rag_indexer.sources import FolderSource

    docs = folder / "playbooks"
    copy_to(docs)
    index = LocalIndex(folder / "index.sqlite3")
    Indexer(index, IndexerState(folder / "state.sqlite3")).sync(FolderSource(docs))
    return index
