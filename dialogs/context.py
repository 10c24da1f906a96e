"""What every dialog shares: the context a message is answered in (`AskContext`) and the
reply it gets (`Reply`), for Teams and the CLI alike. Nothing here answers anything."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any, Protocol

from cards.assistant import with_note
from dialogs.parser import Parsed
from dialogs.rag import DocumentAnswer, Library
from kpi.metrics.query import MetricQuery
from kpi.storage.warehouse import Warehouse
from rag_indexer.index import Hit

# Under an offline answer given because the model could not be used.
NOTE_OFFLINE = {
    "ko": "AI 분석을 지금 쓸 수 없어 기본 분석으로 답했어요.",
    "en": "The AI service is unavailable right now, so this is the standard answer.",
}


class ModelAnswerer(Protocol):
    """What the router needs of the LLM path (`dialogs.assistant.Assistant`): a reply, or
    None when the model cannot be used and the offline answer should be given."""

    def answer(self, text: str, ctx: AskContext, parsed: Parsed) -> Reply | None: ...


@dataclass
class AskContext:
    """What a dialog needs besides the text: the warehouse, the reporting zone, today,
    the conversation's last query, and where chart images go (returns their URL)."""

    warehouse: Warehouse
    zone: str
    as_of: dt.date
    previous: MetricQuery | None = None
    save_chart: Callable[[bytes], str] | None = None
    library: Library | None = None  # the indexed documents; None: not configured
    assistant: ModelAnswerer | None = None  # the LLM path (dialogs.assistant); None: offline
    news_path: str | None = None  # the news store (news/); None: no news
    previous_why: str | None = None  # the last answer's why kind, when it was a why answer


@dataclass
class Reply:
    route: str
    lang: str
    text: str
    card: dict[str, Any] | None = None
    query: MetricQuery | None = None
    rows: list[dict[str, Any]] = field(default_factory=list)
    sql: str | None = None
    command: str | None = None  # for the bot to carry out: alerts_on/off, summary_time
    argument: str | None = None
    hits: list[Hit] = field(default_factory=list)  # rag: the passages quoted
    facts: dict[str, Any] | None = None  # reasoning: the computed analysis (dialogs/why.py)
    # A model wrote its words (a grounded documents answer, a reasoning narrative) or the
    # SQL behind its numbers: Teams shows the "AI generated" label on it. Computed and
    # quoted answers say what the data or the documents say, and carry no label.
    ai_written: bool = False
    # The QueryDraft (dialogs/assistant.py) the model read the question as: a 👍 on the
    # answer keeps the question and this draft as a few-shot example. None offline.
    example: dict[str, Any] | None = None

    def with_note(self, note: str) -> Reply:
        """This reply with `note` under its text and at the end of its card (e.g. "the AI
        service is unavailable, so this is the standard answer")."""
        return replace(self, text=f"{self.text}\n({note})", card=with_note(self.card, note))

    def to_dict(self) -> dict[str, Any]:
        query = self.query.to_dict() if self.query is not None else None
        rows = [
            {k: v.isoformat() if isinstance(v, dt.date) else v for k, v in r.items()}
            for r in self.rows
        ]
        reply = {
            "route": self.route,
            "lang": self.lang,
            "query": query,
            "rows": rows,
            "sql": self.sql,
            "text": self.text,
            "card": self.card,
        }
        if "rag" in self.route.split("+") or (self.route == "reasoning" and self.hits):
            reply["sources"] = [hit.to_dict() for hit in self.hits]
        if self.facts is not None:
            reply["facts"] = self.facts
        return reply


def documents_reply(found: DocumentAnswer, lang: str) -> Reply:
    """The reply to a documents question: the quotes, labelled as AI-written only when a
    model wrote the answer on top of them."""
    return Reply("rag", lang, found.text, found.card, hits=found.hits, ai_written=found.written)
