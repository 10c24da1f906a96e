"""PDF -> pages of typed blocks (heading, text, table), with PyMuPDF.

A heading is a line set larger than the document's body text, or a short line set
entirely in bold: Word, Google Docs and HTML renderers all mark structure that way, and
the chunker needs it to keep sections together. Tables come out row by row as
"cell | cell" text, not as the loose one-cell lines plain text extraction gives: lines
that start side by side at the same height are a row. (PyMuPDF's table finder does
this from ruling lines too, but at ~0.4 s a page, 20 times the rest of the work.)

A file that is not a usable PDF raises `BadDocument` with a reason a person can act on
(the indexer quarantines it); nothing else escapes from here.
"""

from __future__ import annotations

import collections
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import pymupdf

MAX_PAGES = 500
_SAME_ROW = 3.0  # points: cells of one table row start within this of each other
BlockKind = Literal["heading", "text", "table"]
_BOLD = pymupdf.TEXT_FONT_BOLD
_SPACES = re.compile(r"[ \t\u00a0]+")


class BadDocument(Exception):
    """The file cannot be indexed; the message says why, in one line."""


@dataclass(frozen=True)
class Block:
    kind: BlockKind
    text: str
    level: int = 0  # headings: 1 (largest) .. 3


@dataclass
class Page:
    number: int  # 1-based, as people cite pages
    blocks: list[Block] = field(default_factory=list)

    @property
    def text(self) -> str:
        return "\n".join(block.text for block in self.blocks)


@dataclass
class Document:
    title: str
    pages: list[Page]

    @property
    def page_count(self) -> int:
        return len(self.pages)


def extract(source: Path | bytes, *, name: str = "", max_pages: int = MAX_PAGES) -> Document:
    """Read a PDF from a path or its bytes into pages of blocks."""
    data = source.read_bytes() if isinstance(source, Path) else source
    name = name or (source.name if isinstance(source, Path) else "document.pdf")
    if not data:
        raise BadDocument("the file is empty (0 bytes)")
    if not data.lstrip()[:5].startswith(b"%PDF-"):
        raise BadDocument("not a PDF (no %PDF- header)")
    try:
        doc = pymupdf.open(stream=data, filetype="pdf")
    except Exception as exc:  # PyMuPDF raises its own FileDataError and friends
        raise BadDocument(f"corrupt PDF: {_first_line(exc)}") from None
    with doc:
        if doc.needs_pass or doc.is_encrypted:
            raise BadDocument("encrypted PDF: it needs a password")
        if doc.page_count == 0:
            raise BadDocument("the PDF has no pages")
        if doc.page_count > max_pages:
            raise BadDocument(f"too long: {doc.page_count} pages (the limit is {max_pages})")
        try:
            lines = [_page_lines(page) for page in doc]
        except Exception as exc:
            raise BadDocument(f"corrupt PDF: {_first_line(exc)}") from None
        body = _body_size(lines)
        heading_sizes = sorted(
            {item.size for page_lines in lines for item in page_lines
             if isinstance(item, _Line) and item.size > body * 1.15},
            reverse=True,
        )  # fmt: skip
        pages = [
            _blocks(number, page_lines, body, heading_sizes)
            for number, page_lines in enumerate(lines, 1)
        ]
        if not any(page.blocks for page in pages):
            raise BadDocument("no text to index (a scanned PDF? OCR it first)")
        title = (doc.metadata or {}).get("title", "").strip() or _first_heading(pages) or name
    return Document(title=title, pages=pages)


@dataclass(frozen=True)
class _Line:
    text: str
    size: float
    bold: bool
    block: int


def _page_lines(page: pymupdf.Page) -> list[_Line | list[list[str]]]:
    """The page's lines in reading order; lines side by side (table cells) become rows,
    and consecutive rows one table item."""
    lines: list[tuple[float, float, _Line]] = []
    for number, block in enumerate(page.get_text("dict", sort=True)["blocks"]):
        for line in block.get("lines", []):
            spans = [s for s in line["spans"] if s["text"].strip()]
            if not spans:
                continue
            text = _SPACES.sub(" ", "".join(s["text"] for s in line["spans"])).strip()
            size = max(s["size"] for s in spans)
            bold = all(s["flags"] & _BOLD or "bold" in s["font"].lower() for s in spans)
            x0, y0 = line["bbox"][0], line["bbox"][1]
            lines.append((y0, x0, _Line(text, round(size, 1), bold, number)))
    lines.sort(key=lambda item: (item[0], item[1]))
    rows: list[list[tuple[float, _Line]]] = []
    row_y: float | None = None
    for y0, x0, line in lines:
        if row_y is not None and abs(y0 - row_y) <= _SAME_ROW:
            rows[-1].append((x0, line))
        else:
            rows.append([(x0, line)])
            row_y = y0
    items: list[_Line | list[list[str]]] = []
    for row in rows:
        if len(row) == 1:
            items.append(row[0][1])
            continue
        cells = [line.text for _, line in sorted(row, key=lambda cell: cell[0])]
        if items and isinstance(items[-1], list):
            items[-1].append(cells)
        else:
            items.append([cells])
    return items


def _body_size(pages: list[list[_Line | list[list[str]]]]) -> float:
    """The font size most characters are set in."""
    sizes: collections.Counter[float] = collections.Counter()
    for lines in pages:
        for line in lines:
            if isinstance(line, _Line):
                sizes[line.size] += len(line.text)
    return sizes.most_common(1)[0][0] if sizes else 10.0


def _blocks(
    number: int, lines: list[_Line | list[list[str]]], body: float, heading_sizes: list[float]
) -> Page:
    page = Page(number)
    paragraph: list[str] = []
    last_block: int | None = None

    def flush() -> None:
        if paragraph:
            page.blocks.append(Block("text", " ".join(paragraph)))
            paragraph.clear()

    for line in lines:
        if isinstance(line, list):
            flush()
            page.blocks.append(Block("table", "\n".join(" | ".join(row) for row in line)))
            last_block = None
            continue
        if _is_page_furniture(line, body):
            continue
        if line.size > body * 1.15 or (line.bold and len(line.text) <= 80 and not paragraph):
            flush()
            level = heading_sizes.index(line.size) + 1 if line.size in heading_sizes else 3
            page.blocks.append(Block("heading", line.text, min(level, 3)))
            last_block = None
            continue
        if last_block is not None and line.block != last_block:
            flush()
        if _starts_item(line.text):
            flush()
        paragraph.append(line.text)
        last_block = line.block
    flush()
    return page


def _starts_item(text: str) -> bool:
    return bool(re.match(r"^(?:[-•·▪*]|\d+[.)])\s", text))


def _is_page_furniture(line: _Line, body: float) -> bool:
    """Page numbers and running footers: small lines that are only a number."""
    number_only = re.fullmatch(r"[-–\s]*\d+(\s*/\s*\d+)?[-–\s]*", line.text)
    return line.size < body and number_only is not None


def _first_heading(pages: list[Page]) -> str | None:
    for page in pages:
        for block in page.blocks:
            if block.kind == "heading":
                return block.text
    return None


def _first_line(exc: Exception) -> str:
    text = str(exc).strip().splitlines()
    return (text[0] if text else type(exc).__name__)[:160]
