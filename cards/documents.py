"""The answer from documents: the best passages, each with its file and page (a link to
open the PDF at that page when the bot serves it), the sentences that answer the
question in bold; or an honest "the documents do not cover this"."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from adaptive_cards import card as ac
from adaptive_cards import types as act

from cards.elements import Element, build_card, heading, lang_code, subtle, text, tr


@dataclass(frozen=True)
class Quote:
    """A passage as the card shows it."""

    file: str
    title: str
    page: int
    section: str
    sentences: Sequence[tuple[str, bool]]  # (sentence, answers the question)
    link: str | None = None


def documents_card(
    question: str, quotes: Sequence[Quote], *, lang: str, answer: str | None = None
) -> dict[str, Any]:
    """`answer`: a grounded answer an LLM wrote from the quotes, citing them as [n]."""
    code = lang_code(lang)
    title = tr(code, "문서에서 찾은 내용", "From your documents")
    body: list[Element] = [heading(title), subtle(f"“{_clip(question, 120)}”")]
    if answer:
        body.append(ac.RichTextBlock(inlines=[_run(answer)]))
    for number, quote in enumerate(quotes, start=1):
        where = f"{quote.file} · p.{quote.page}"
        heading_runs = [_run(f"[{number}] {quote.title}", bold=True)]
        if quote.section:
            heading_runs.append(_run(f" — {quote.section.split(' > ')[-1]}"))
        # TextRuns are never read as markdown: a document's own "*" or "[x](y)" stays text.
        passage = [
            _run(sentence + " ", bold=answers, highlight=answers)
            for sentence, answers in quote.sentences
        ]
        link = f"[{_link_text(where)}]({quote.link})" if quote.link else where
        body.append(
            ac.Container(
                separator=True,
                spacing=act.Spacing.MEDIUM,
                items=[
                    ac.RichTextBlock(inlines=heading_runs),
                    ac.RichTextBlock(inlines=passage),
                    subtle(link),
                ],
            )
        )
    return build_card(body, lang=code, summary=title)


def not_covered_card(question: str, titles: Sequence[str], *, lang: str) -> dict[str, Any]:
    code = lang_code(lang)
    title = tr(code, "문서에서 찾지 못했어요", "The documents don't cover this")
    detail = tr(
        code,
        "인덱스된 문서에 이 질문에 답하는 내용이 없어요. 추측해서 답하지 않을게요.",
        "None of the indexed documents answers this, so I won't guess.",
    )
    body: list[Element] = [heading(title), subtle(f"“{_clip(question, 120)}”"), text(detail)]
    if titles:
        body.append(subtle(tr(code, "찾아본 문서", "Documents searched")))
        body.append(ac.RichTextBlock(inlines=[_run("\n".join(f"• {t}" for t in titles[:10]))]))
    return build_card(body, lang=code, summary=title)


def _clip(value: str, limit: int) -> str:
    value = " ".join(value.split())
    return value if len(value) <= limit else value[: limit - 1] + "…"


def _run(value: str, *, bold: bool = False, highlight: bool = False) -> ac.TextRun:
    return ac.TextRun(
        text=value,
        weight=act.FontWeight.BOLDER if bold else None,
        highlight=True if highlight else None,
    )


def _link_text(value: str) -> str:
    """A file name inside a markdown link's brackets: brackets of its own would end it."""
    return value.replace("[", "(").replace("]", ")")
