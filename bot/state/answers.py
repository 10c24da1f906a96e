"""The answers the bot sent, and what people made of them (Teams' native 👍/👎).

Teams keeps no feedback and a click names only the message, so each answer message is
recorded as it is sent, with its question, route, parsed query and text; a click then
finds them and is stored with them (`commercy feedback` lists it). This is feedback on
answers to questions; feedback on alerts is `bot/state/feedback.py`.
"""

from __future__ import annotations

import json
import time
import uuid
from collections import Counter
from dataclasses import asdict, dataclass
from typing import Any

from sqlalchemy import text

from bot.state.db import Database, insert_new

LIKE, DISLIKE = "like", "dislike"
REACTIONS = (LIKE, DISLIKE)
# Answers older than this are deleted as new ones are sent: a click on a months-old
# message still stores its feedback, only without the question.
KEEP_SECONDS = 90 * 86_400
MAX_COMMENT = 2_000


@dataclass(frozen=True)
class SentAnswer:
    answer_id: str
    conversation_id: str
    message_id: str
    question: str
    route: str
    lang: str
    query: dict[str, Any] | None
    example: dict[str, Any] | None
    text: str
    sent_at: float


@dataclass(frozen=True)
class AnswerFeedback:
    feedback_id: str
    answer_id: str | None
    conversation_id: str
    message_id: str | None
    reaction: str
    comment: str
    question: str
    route: str
    query: dict[str, Any] | None
    user_id: str
    user_name: str
    at: float

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


class Answers:
    """Sent answers and the feedback on them; short transactions."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def record(
        self,
        answer_id: str,
        *,
        conversation_id: str,
        message_id: str,
        question: str,
        route: str,
        lang: str,
        query: dict[str, Any] | None,
        example: dict[str, Any] | None,
        answer_text: str,
        now: float | None = None,
    ) -> None:
        """Keep one sent answer message (once: a repeat of the same id changes nothing)."""
        at = time.time() if now is None else now
        values = {
            "key": f"{conversation_id}|{message_id}"[:450],
            "answer_id": answer_id,
            "conversation_id": conversation_id[:450],
            "message_id": message_id[:450],
            "question": question,
            "route": route[:64],
            "lang": lang[:8],
            "query": json.dumps(query, ensure_ascii=False, default=str) if query else None,
            "example": json.dumps(example, ensure_ascii=False) if example else None,
            "text": answer_text,
            "at": at,
        }
        with self.db.transaction() as db:
            db.execute(text("DELETE FROM answers WHERE sent_at < :old"),
                       {"old": at - KEEP_SECONDS})  # fmt: skip
            insert_new(
                db,
                "answers",
                "message_key = :key",
                "(message_key, answer_id, conversation_id, message_id, question, route, lang, "
                "query, example, text, sent_at)",
                ":key, :answer_id, :conversation_id, :message_id, :question, :route, :lang, "
                ":query, :example, :text, :at",
                values,
            )

    def find(self, conversation_id: str, message_id: str | None) -> SentAnswer | None:
        """The answer a click names: by its message id, else (no id, as the Agents
        Playground sends no replyToId) the conversation's latest answer."""
        columns = ("answer_id, conversation_id, message_id, question, route, lang, query, "
                   "example, text, sent_at")  # fmt: skip
        with self.db.transaction() as db:
            row = None
            if message_id:
                row = db.execute(
                    text(f"SELECT {columns} FROM answers WHERE message_key = :key"),
                    {"key": f"{conversation_id}|{message_id}"[:450]},
                ).first()
            else:
                row = db.execute(
                    text(
                        f"SELECT {columns} FROM answers WHERE conversation_id = :id "
                        "ORDER BY sent_at DESC"
                    ),
                    {"id": conversation_id},
                ).first()
        if row is None:
            return None
        values = list(row)
        values[6], values[7] = _json(values[6]), _json(values[7])
        return SentAnswer(*values)

    def add_feedback(
        self,
        *,
        answer: SentAnswer | None,
        conversation_id: str,
        message_id: str | None,
        reaction: str,
        comment: str,
        user_id: str,
        user_name: str,
        now: float | None = None,
    ) -> AnswerFeedback:
        """Store one 👍/👎 with the answer it is about (None: not found, kept anyway)."""
        if reaction not in REACTIONS:
            raise ValueError(f"reaction must be one of {', '.join(REACTIONS)}, not {reaction!r}")
        feedback = AnswerFeedback(
            feedback_id=uuid.uuid4().hex,
            answer_id=answer.answer_id if answer else None,
            conversation_id=conversation_id[:450],
            message_id=(message_id or (answer.message_id if answer else None) or None),
            reaction=reaction,
            comment=comment[:MAX_COMMENT],
            question=answer.question if answer else "",
            route=answer.route if answer else "",
            query=answer.query if answer else None,
            user_id=user_id[:250],
            user_name=user_name[:200],
            at=time.time() if now is None else now,
        )
        values = feedback.to_dict()
        values["query"] = json.dumps(feedback.query, ensure_ascii=False) if feedback.query else None
        with self.db.transaction() as db:
            db.execute(
                text(
                    "INSERT INTO answer_feedback (feedback_id, answer_id, conversation_id, "
                    "message_id, reaction, comment, question, route, query, user_id, user_name, "
                    "at) VALUES (:feedback_id, :answer_id, :conversation_id, :message_id, "
                    ":reaction, :comment, :question, :route, :query, :user_id, :user_name, :at)"
                ),
                values,
            )
        return feedback

    def recent_feedback(self, limit: int = 20) -> list[AnswerFeedback]:
        """The latest feedback, newest first."""
        with self.db.transaction() as db:
            rows = db.execute(
                text(
                    "SELECT feedback_id, answer_id, conversation_id, message_id, reaction, "
                    "comment, question, route, query, user_id, user_name, at "
                    "FROM answer_feedback ORDER BY at DESC"
                )
            ).fetchmany(limit)
        return [AnswerFeedback(*r[:8], _json(r[8]), *r[9:]) for r in rows]

    def counts_by_route(self) -> dict[str, Counter[str]]:
        """route -> {like: n, dislike: n} over all stored feedback ("" for an answer that
        was not found)."""
        counts: dict[str, Counter[str]] = {}
        with self.db.transaction() as db:
            for route, reaction, n in db.execute(
                text(
                    "SELECT route, reaction, COUNT(*) FROM answer_feedback GROUP BY route, reaction"
                )
            ):
                counts.setdefault(route, Counter())[reaction] = n
        return counts


def _json(value: str | None) -> Any:
    if not value:
        return None
    try:
        return json.loads(value)
    except ValueError:  # a damaged row: its question and comment still count
        return None
