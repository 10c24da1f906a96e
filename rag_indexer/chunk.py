"""Pages of blocks -> passages that follow the document's structure.

A passage never crosses a section (a heading starts a new one) or a page (so its
citation is one page), and carries its section's heading path, which is also indexed:
"Escalation" under "Payment errors" is found by either. Paragraphs, list items and
tables are kept whole where they fit; a long one is cut at sentence ends. Consecutive
passages of a section overlap by a sentence or two, so an answer that straddles the cut
is still found whole in one of them.

Size is measured in weighted characters: a Hangul syllable counts two, since it carries
about as much as two Latin letters (a Korean word is 2-4 syllables, an English one 5-6
letters). The same limits then give passages of about 120-180 words in either language.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from rag_indexer.extract import Document

TARGET_SIZE = 900  # weighted characters
MAX_SIZE = 1400
OVERLAP_SIZE = 200
_SENTENCE_END = re.compile(r"(?<=[.!?。])\s+|(?<=[다요죠음함됨임])\.?\s+(?=\S)")


@dataclass(frozen=True)
class Chunk:
    number: int  # 0-based position in the document
    page: int
    section: str  # heading path, " > " between levels; "" before the first heading
    text: str


def weighted_size(text: str) -> int:
    return sum(2 if "가" <= ch <= "힣" else 1 for ch in text)


def chunk(document: Document) -> list[Chunk]:
    chunks: list[Chunk] = []
    headings: list[tuple[int, str]] = []  # the open (level, text) path
    for page in document.pages:
        pieces: list[str] = []
        for block in page.blocks:
            if block.kind == "heading":
                _emit(chunks, page.number, _path(headings), pieces)
                pieces = []
                headings = [h for h in headings if h[0] < block.level] + [(block.level, block.text)]
                continue
            too_long = weighted_size(block.text) > MAX_SIZE
            pieces.extend(_split(block.text) if too_long else [block.text])
        _emit(chunks, page.number, _path(headings), pieces)
    return chunks


def _path(headings: list[tuple[int, str]]) -> str:
    return " > ".join(text for _, text in headings)


def _emit(chunks: list[Chunk], page: int, section: str, pieces: list[str]) -> None:
    """Pack a section's pieces on one page into passages, with overlap between them."""
    current: list[str] = []
    size = fresh = 0  # fresh: pieces in `current` that are not overlap from the last one
    for piece in pieces:
        piece_size = weighted_size(piece)
        if fresh and size + piece_size > TARGET_SIZE:
            chunks.append(Chunk(len(chunks), page, section, "\n".join(current)))
            current = _overlap(current)
            size, fresh = sum(weighted_size(p) for p in current), 0
        current.append(piece)
        size += piece_size
        fresh += 1
    if fresh:
        chunks.append(Chunk(len(chunks), page, section, "\n".join(current)))


def _overlap(pieces: list[str]) -> list[str]:
    """The last sentences of a passage, up to OVERLAP_SIZE, to start the next one with."""
    sentences = [s for s in _SENTENCE_END.split(pieces[-1]) if s.strip()]
    kept: list[str] = []
    size = 0
    for sentence in reversed(sentences):
        size += weighted_size(sentence)
        if size > OVERLAP_SIZE:
            break
        kept.insert(0, sentence)
    return [" ".join(kept)] if kept else []


def _split(text: str) -> list[str]:
    """A block longer than MAX_SIZE, cut at sentence ends into pieces of TARGET_SIZE."""
    pieces: list[str] = []
    current = ""
    for sentence in _SENTENCE_END.split(text):
        if current and weighted_size(current) + weighted_size(sentence) > TARGET_SIZE:
            pieces.append(current)
            current = ""
        current = f"{current} {sentence}".strip()
        while weighted_size(current) > MAX_SIZE:  # one endless sentence (a table dump)
            cut = _cut_at(current, TARGET_SIZE)
            pieces.append(current[:cut])
            current = current[cut:].lstrip()
    if current:
        pieces.append(current)
    return pieces


def _cut_at(text: str, limit: int) -> int:
    size = 0
    for index, ch in enumerate(text):
        size += 2 if "가" <= ch <= "힣" else 1
        if size > limit:
            space = text.rfind(" ", 0, index)
            return space if space > index // 2 else index
    return len(text)
