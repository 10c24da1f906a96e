"""Answers from documents, without an LLM: the passages that cover the question best,
quoted with file and page, the sentences that answer it picked out.

"Cover" is the search's own score: the idf-weighted share of the question's terms a
passage holds (rag_indexer/index.py). Below `min_score` the honest answer is that the
documents do not say, never the closest passage dressed up as an answer. With an LLM
(dialogs/grounded.py) a short answer citing the passages goes on top of them.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from cards.documents import Quote, documents_card, not_covered_card
from dialogs.grounded import Grounded, sources_line
from language.terms import terms
from rag_indexer.index import Hit

QUOTES = 3
_SENTENCES = re.compile(r"(?<=[.!?。])\s+|(?<=[다요죠음함됨임])\.\s+|\n+")


@dataclass(frozen=True)
class Library:
    """What the dialog needs from the documents side (bot/ builds it from settings)."""

    search: Callable[..., list[Hit]]  # (query, top=K) -> hits, best first
    min_score: float = 0.5
    min_similarity: float = 0.5  # for hits found by meaning (embeddings), not by words
    # With an LLM: (question, passages, lang) -> a grounded answer citing them, or None.
    write: Callable[[str, Sequence[Hit], str], Grounded | None] | None = None
    link: Callable[[Hit], str | None] = lambda _hit: None
    titles: Callable[[], list[str]] = field(default=lambda: [])


@dataclass(frozen=True)
class DocumentAnswer:
    covered: bool
    text: str
    card: dict
    hits: list[Hit]
    written: bool = False  # a model wrote the answer on top of the quotes


def relevant_hits(question: str, library: Library, top: int = 8) -> list[Hit]:
    """The passages that cover `question` well enough to quote, best first."""
    return [hit for hit in library.search(question, top=top) if _relevant(hit, library)]


def answer_from_documents(question: str, library: Library, lang: str) -> DocumentAnswer:
    hits = relevant_hits(question, library)
    if not hits:
        return _not_covered(question, library, lang)
    best = _distinct(hits)[:QUOTES]
    quotes = [_quote(hit, library.link(hit)) for hit in best]
    written = library.write(question, best, lang) if library.write is not None else None
    if written is not None and not written.covered:  # the model read them: no answer there
        return _not_covered(question, library, lang)
    if written is not None:
        text = f"{written.text}\n{sources_line(written.text, best)}"
        card = documents_card(question, quotes, lang=lang, answer=written.text)
        return DocumentAnswer(True, text, card, best, written=True)
    lead = next((s for s, answers in quotes[0].sentences if answers), quotes[0].sentences[0][0])
    source = f"{best[0].file} p.{best[0].page}"
    text = f"{lead} ({source})"
    return DocumentAnswer(True, text, documents_card(question, quotes, lang=lang), best)


def _not_covered(question: str, library: Library, lang: str) -> DocumentAnswer:
    text = (
        "문서에서 이 질문에 답하는 내용을 찾지 못했어요."
        if lang == "ko"
        else "The indexed documents don't cover this."
    )
    return DocumentAnswer(False, text, not_covered_card(question, library.titles(), lang=lang), [])


def _relevant(hit: Hit, library: Library) -> bool:
    if hit.score >= library.min_score:
        return True
    return hit.similarity is not None and hit.similarity >= library.min_similarity


def _distinct(hits: Sequence[Hit]) -> list[Hit]:
    """One passage per page: overlapping neighbours would quote the same lines twice."""
    seen: set[tuple[str, int]] = set()
    kept = []
    for hit in hits:
        if (hit.doc_id, hit.page) not in seen:
            seen.add((hit.doc_id, hit.page))
            kept.append(hit)
    return kept


def _quote(hit: Hit, link: str | None) -> Quote:
    sentences = [s.strip() for s in _SENTENCES.split(hit.text) if s.strip()]
    wanted = set(hit.matched)
    overlap = [len(wanted & set(terms(sentence))) for sentence in sentences]
    best = max(overlap, default=0)
    # The sentences that hold the most of the question's terms answer it; with a long
    # passage, quote the answering sentences and their neighbours, not the whole page.
    answering = {i for i, n in enumerate(overlap) if best and n == best}
    if len(sentences) > 6 and answering:
        keep = {j for i in answering for j in (i - 1, i, i + 1) if 0 <= j < len(sentences)}
        sentences_kept = [(sentences[i], i in answering) for i in sorted(keep)]
    else:
        sentences_kept = [(s, i in answering) for i, s in enumerate(sentences)]
    return Quote(hit.file, hit.title, hit.page, hit.section, sentences_kept, link)
