"""Who the bot talks to: conversation references and what each conversation asked for.

A conversation reference (where proactive cards go), with the conversation's language and
scope, is written on install and on every message and removed on uninstall or a 403.
Installing subscribes the conversation (alerts on, the summary at 09:00); "alerts off"
and "summary at 8:30" change its subscription. Teams announces an install twice, so the
welcome is recorded here too, to send it once.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, text

from bot.state.db import Database, insert_new

# What an uninstall forgets: every table keyed by the conversation alone. The follow-up
# context (last_queries) is the conversation's too, so it goes with it.
CONVERSATION_TABLES = ("conversations", "last_queries", "welcomed", "subscriptions")


@dataclass(frozen=True)
class StoredConversation:
    conversation_id: str
    reference: dict[str, Any]
    scope: str
    lang: str


@dataclass(frozen=True)
class Subscription:
    conversation_id: str
    alerts_on: bool
    summary_time: str


class Conversations:
    """Conversation references, welcomes and subscriptions; short transactions."""

    def __init__(self, db: Database) -> None:
        self.db = db

    # -- references -----------------------------------------------------------------------
    def save(
        self,
        conversation_id: str,
        reference: dict[str, Any],
        *,
        scope: str,
        lang: str | None = None,
    ) -> None:
        values = {
            "id": conversation_id,
            "reference": json.dumps(reference),
            "scope": scope,
            "lang": lang,
            "now": time.time(),
        }

        def work(db: Connection) -> None:
            updated = db.execute(
                text(
                    "UPDATE conversations SET reference = :reference, scope = :scope, "
                    "lang = COALESCE(:lang, lang), updated_at = :now "
                    "WHERE conversation_id = :id"
                ),
                values,
            ).rowcount
            if not updated:
                insert_new(
                    db,
                    "conversations",
                    "conversation_id = :id",
                    "(conversation_id, reference, scope, lang, updated_at)",
                    ":id, :reference, :scope, COALESCE(:lang, 'ko'), :now",
                    values,
                )

        self.db.retrying(work)

    def forget(self, conversation_id: str) -> None:
        with self.db.transaction() as db:
            for table in CONVERSATION_TABLES:
                db.execute(
                    text(f"DELETE FROM {table} WHERE conversation_id = :id"),
                    {"id": conversation_id},
                )

    def first_welcome(self, conversation_id: str) -> bool:
        """True once per installation: Teams sends both installationUpdate and
        conversationUpdate when the app is added, and the welcome must come once."""
        return self.db.insert_once(
            "welcomed",
            "conversation_id = :id",
            "(conversation_id, welcomed_at)",
            ":id, :now",
            {"id": conversation_id, "now": time.time()},
        )

    def get(self, conversation_id: str) -> StoredConversation | None:
        with self.db.transaction() as db:
            row = db.execute(
                text(
                    "SELECT conversation_id, reference, scope, lang FROM conversations "
                    "WHERE conversation_id = :id"
                ),
                {"id": conversation_id},
            ).first()
        return StoredConversation(row[0], json.loads(row[1]), row[2], row[3]) if row else None

    def all(self) -> list[StoredConversation]:
        with self.db.transaction() as db:
            rows = db.execute(
                text(
                    "SELECT conversation_id, reference, scope, lang FROM conversations "
                    "ORDER BY conversation_id"
                )
            ).all()
        return [StoredConversation(r[0], json.loads(r[1]), r[2], r[3]) for r in rows]

    # -- subscriptions --------------------------------------------------------------------
    def subscribe(self, conversation_id: str) -> None:
        """Installing subscribes: alerts on, the summary at 09:00 (kept if already set)."""
        self.db.insert_once(
            "subscriptions",
            "conversation_id = :id",
            "(conversation_id, alerts_on, summary_time, updated_at)",
            ":id, 1, '09:00', :now",
            {"id": conversation_id, "now": time.time()},
        )

    def set_alerts(self, conversation_id: str, on: bool) -> None:
        self.subscribe(conversation_id)
        with self.db.transaction() as db:
            db.execute(
                text(
                    "UPDATE subscriptions SET alerts_on = :on, updated_at = :now "
                    "WHERE conversation_id = :id"
                ),
                {"on": int(on), "now": time.time(), "id": conversation_id},
            )

    def set_summary_time(self, conversation_id: str, hhmm: str) -> None:
        self.subscribe(conversation_id)
        with self.db.transaction() as db:
            db.execute(
                text(
                    "UPDATE subscriptions SET summary_time = :hhmm, updated_at = :now "
                    "WHERE conversation_id = :id"
                ),
                {"hhmm": hhmm, "now": time.time(), "id": conversation_id},
            )

    def subscription(self, conversation_id: str) -> Subscription | None:
        with self.db.transaction() as db:
            row = db.execute(
                text(
                    "SELECT conversation_id, alerts_on, summary_time FROM subscriptions "
                    "WHERE conversation_id = :id"
                ),
                {"id": conversation_id},
            ).first()
        return Subscription(row[0], bool(row[1]), row[2]) if row else None

    def subscribers(
        self, *, alerts: bool | None = None, summary_time: str | None = None
    ) -> list[str]:
        """Conversations still installed that take alerts, or their summary at a time."""
        sql = (
            "SELECT s.conversation_id FROM subscriptions s JOIN conversations c "
            "ON c.conversation_id = s.conversation_id WHERE 1 = 1"
        )
        params: dict[str, Any] = {}
        if alerts is not None:
            sql += " AND s.alerts_on = :alerts"
            params["alerts"] = int(alerts)
        if summary_time is not None:
            sql += " AND s.summary_time = :hhmm"
            params["hhmm"] = summary_time
        with self.db.transaction() as db:
            return [row[0] for row in db.execute(text(sql + " ORDER BY s.conversation_id"), params)]
