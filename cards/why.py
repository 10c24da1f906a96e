"""The why / what-to-do card: the computed answer first (the change, its factors, the
segment against the store, the segments that drove it, a chart of their parts), then what
the team's playbooks say, quoted with file and page, and buttons to drill in."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from adaptive_cards import types as act

from cards.answer import chart_block, sql_block
from cards.elements import (
    Element,
    ask_action,
    build_card,
    bullets,
    heading,
    lang_code,
    subtle,
    text,
    tr,
)

MAX_QUESTION = 120


@dataclass(frozen=True)
class Quote:
    """A playbook passage: "file.pdf p.3", the link that opens it there, a short excerpt."""

    label: str
    url: str | None
    text: str


@dataclass
class WhyView:
    """What the card shows, already in the user's words (dialogs/why.py writes them)."""

    question: str
    headline: Sequence[str]
    factors: Sequence[str] = ()
    gap: Sequence[str] = ()
    drivers: Sequence[str] = ()
    quotes: Sequence[Quote] = ()
    no_playbook: str = ""
    chart_element: dict[str, Any] | None = None
    chart_url: str | None = None
    sql: str = ""
    follow_ups: Sequence[tuple[str, str]] = field(default_factory=list)


def why_card(view: WhyView, *, lang: str) -> dict[str, Any]:
    code = lang_code(lang)
    question = view.question if len(view.question) <= MAX_QUESTION else view.question[:119] + "…"
    body: list[Element] = [heading(question)]
    body += [text(line) for line in view.headline]
    body += [subtle(line) for line in view.factors]
    if view.gap:
        body.append(bullets(list(view.gap)))
    if view.drivers:
        body.append(subtle(tr(code, "주요 원인", "What drove it"), spacing=act.Spacing.MEDIUM))
        body.append(bullets(list(view.drivers)))
    body += chart_block(view.chart_element, view.chart_url, alt_text=question)
    body.append(subtle(tr(code, "플레이북", "Playbooks"), spacing=act.Spacing.MEDIUM))
    if view.quotes:
        for n, quote in enumerate(view.quotes, start=1):
            label = f"[{n}] [{quote.label}]({quote.url})" if quote.url else f"[{n}] {quote.label}"
            body.append(text(label, spacing=act.Spacing.SMALL))
            body.append(subtle(quote.text))
    else:
        body.append(text(view.no_playbook))
    if view.sql:
        body += sql_block(view.sql, code)
    actions = [ask_action(title, ask) for title, ask in view.follow_ups[:3]]
    summary = view.headline[0] if view.headline else question
    return build_card(body, lang=code, actions=actions, summary=summary[:200], full_width=True)
