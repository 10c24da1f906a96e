"""What the bot remembers of the questions it answered.

- activity ids already answered, so a Teams retry (~15 s) is answered once, whichever
  instance it reaches;
- the last query of each conversation, for follow-ups ("그럼 모바일은?");
- the questions people confirmed the answer to ("👍 Correct"), the LLM's few-shot
  examples.
"""

from __future__ import annotations

import json
import time
from typing import Any

from sqlalchemy import Connection, text

from bot.state.db import Database, insert_new

# Teams retries within seconds; a day of ids is plenty and keeps the table small.
PROCESSED_KEEP_SECONDS = 86_400


class Memory:
    """Answered activities, follow-up context and confirmed examples; short transactions."""

    def __init__(self, db: Database) -> None:
        self.db = db

    # -- duplicates -----------------------------------------------------------------------
    def first_time(self, conversation_id: str, activity_id: str) -> bool:
        """True the first time an activity is seen; False for a retry of it."""
        now = time.time()
        inserted = self.db.insert_once(
            "processed_activities",
            "activity_key = :key",
            "(activity_key, received_at)",
            ":key, :now",
            {"key": f"{conversation_id}\x1f{activity_id}", "now": now},
        )
        with self.db.transaction() as db:
            db.execute(
                text("DELETE FROM processed_activities WHERE received_at < :old"),
                {"old": now - PROCESSED_KEEP_SECONDS},
            )
        return inserted

    # -- follow-ups -----------------------------------------------------------------------
    def save_last_query(self, conversation_id: str, query: dict[str, Any]) -> None:
        values = {"id": conversation_id, "query": json.dumps(query), "now": time.time()}

        def work(db: Connection) -> None:
            if not db.execute(
                text(
                    "UPDATE last_queries SET query = :query, updated_at = :now "
                    "WHERE conversation_id = :id"
                ),
                values,
            ).rowcount:
                insert_new(
                    db,
                    "last_queries",
                    "conversation_id = :id",
                    "(conversation_id, query, updated_at)",
                    ":id, :query, :now",
                    values,
                )

        self.db.retrying(work)

    def last_query(self, conversation_id: str) -> dict[str, Any] | None:
        with self.db.transaction() as db:
            row = db.execute(
                text("SELECT query FROM last_queries WHERE conversation_id = :id"),
                {"id": conversation_id},
            ).first()
        return json.loads(row[0]) if row else None

    # -- confirmed examples (few-shot for the LLM) ----------------------------------------
    def save_example(self, question: str, query: dict[str, Any]) -> None:
        self.db.insert_once(
            "examples",
            "question = :question",
            "(question, query, confirmed_at)",
            ":question, :query, :now",
            {
                "question": question,
                "query": json.dumps(query, ensure_ascii=False),
                "now": time.time(),
            },
        )

    def examples(self) -> list[tuple[str, dict[str, Any]]]:
        with self.db.transaction() as db:
            rows = db.execute(text("SELECT question, query FROM examples ORDER BY confirmed_at"))
            return [(question, json.loads(query)) for question, query in rows]
