"""The delivery ledger: every proactive card, one row per (key, conversation).

The key is an alert id or "summary:YYYY-MM-DD". A row already in the ledger is never
added again, so a re-run, a second scheduler or a restart sends nothing twice. A row
goes pending -> sending (just before its POST) -> sent, or back to pending with a later
attempt, or dropped; one a crash left 'sending' becomes 'unconfirmed' (bot/delivery.py
says why it is not sent again).
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any

from sqlalchemy import text

from bot.state.db import Database


@dataclass(frozen=True)
class Delivery:
    delivery_key: str
    conversation_id: str
    card: dict[str, Any]
    summary: str
    attempts: int


class Ledger:
    """The deliveries and their status; every method is a short transaction."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def enqueue(
        self, delivery_key: str, conversation_ids: list[str], card: dict[str, Any], summary: str
    ) -> int:
        """Record a card to deliver to each conversation, once: a key already in the
        ledger for a conversation is ignored, so a re-run or a restart sends nothing twice.
        Returns how many new deliveries were recorded."""
        return sum(
            self.db.insert_once(*delivery_row(delivery_key, conversation_id, card, summary))
            for conversation_id in conversation_ids
        )

    def due(self, now: float | None = None, limit: int = 100) -> list[Delivery]:
        with self.db.transaction() as db:
            rows = db.execute(
                text(
                    "SELECT delivery_key, conversation_id, card, summary, attempts "
                    "FROM deliveries WHERE status = 'pending' AND next_attempt_at <= :now "
                    "ORDER BY created_at, delivery_key"
                ),
                {"now": now if now is not None else time.time()},
            ).fetchmany(limit)
        return [Delivery(r[0], r[1], json.loads(r[2]), r[3], r[4]) for r in rows]

    def mark_sending(self, delivery: Delivery) -> None:
        """The card is about to leave: a crash from here until mark_sent leaves the row
        'sending', which the next deliverer finds and settles (Deliverer.settle_in_doubt)."""
        with self.db.transaction() as db:
            db.execute(
                text(
                    "UPDATE deliveries SET status = 'sending' WHERE delivery_key = :key "
                    "AND conversation_id = :id AND status = 'pending'"
                ),
                _row_key(delivery),
            )

    def settle_in_doubt(self) -> list[Delivery]:
        """Rows a crashed process left 'sending', now 'unconfirmed' (see bot/delivery.py)."""
        with self.db.transaction() as db:
            rows = db.execute(
                text(
                    "SELECT delivery_key, conversation_id, card, summary, attempts "
                    "FROM deliveries WHERE status = 'sending'"
                )
            ).all()
            db.execute(
                text(
                    "UPDATE deliveries SET status = 'unconfirmed', attempts = attempts + 1 "
                    "WHERE status = 'sending'"
                )
            )
        return [Delivery(r[0], r[1], json.loads(r[2]), r[3], r[4]) for r in rows]

    def mark_sent(self, delivery: Delivery, activity_id: str | None) -> None:
        with self.db.transaction() as db:
            db.execute(
                text(
                    "UPDATE deliveries SET status = 'sent', activity_id = :activity, "
                    "sent_at = :now, attempts = attempts + 1 "
                    "WHERE delivery_key = :key AND conversation_id = :id"
                ),
                {**_row_key(delivery), "activity": activity_id, "now": time.time()},
            )

    def retry_later(self, delivery: Delivery, at: float) -> None:
        with self.db.transaction() as db:
            db.execute(
                text(
                    "UPDATE deliveries SET status = 'pending', attempts = attempts + 1, "
                    "next_attempt_at = :at WHERE delivery_key = :key AND conversation_id = :id"
                ),
                {**_row_key(delivery), "at": at},
            )

    def drop(self, delivery: Delivery) -> None:
        with self.db.transaction() as db:
            db.execute(
                text(
                    "UPDATE deliveries SET status = 'dropped' "
                    "WHERE delivery_key = :key AND conversation_id = :id"
                ),
                _row_key(delivery),
            )

    def drop_conversation(self, conversation_id: str) -> None:
        """The app was removed or blocked there (403): stop trying, keep the record."""
        with self.db.transaction() as db:
            db.execute(
                text(
                    "UPDATE deliveries SET status = 'dropped' "
                    "WHERE conversation_id = :id AND status IN ('pending', 'sending')"
                ),
                {"id": conversation_id},
            )

    def delivered_card(self, delivery_key: str, conversation_id: str) -> dict[str, Any] | None:
        with self.db.transaction() as db:
            row = db.execute(
                text(
                    "SELECT card FROM deliveries "
                    "WHERE delivery_key = :key AND conversation_id = :id"
                ),
                {"key": delivery_key, "id": conversation_id},
            ).first()
        return json.loads(row[0]) if row else None

    def sent_activity(self, delivery_key: str, conversation_id: str) -> str | None:
        with self.db.transaction() as db:
            row = db.execute(
                text(
                    "SELECT activity_id FROM deliveries "
                    "WHERE delivery_key = :key AND conversation_id = :id"
                ),
                {"key": delivery_key, "id": conversation_id},
            ).first()
        return row[0] if row else None

    def counts(self) -> dict[str, int]:
        """How many deliveries are in each status."""
        with self.db.transaction() as db:
            rows = db.execute(text("SELECT status, COUNT(*) FROM deliveries GROUP BY status"))
            return {status: count for status, count in rows}


def delivery_row(
    key: str, conversation_id: str, card: dict[str, Any], summary: str
) -> tuple[str, str, str, str, dict[str, Any]]:
    """The arguments of `insert_new` for a new pending delivery; public because the
    alerts store adds the cards of the alerts it records in the same transaction."""
    now = time.time()
    return (
        "deliveries",
        "delivery_key = :key AND conversation_id = :id",
        "(delivery_key, conversation_id, card, summary, status, attempts, next_attempt_at, "
        "created_at)",
        ":key, :id, :card, :summary, 'pending', 0, :now, :now",
        {
            "key": key,
            "id": conversation_id,
            "card": json.dumps(card),
            "summary": summary,
            "now": now,
        },
    )


def _row_key(delivery: Delivery) -> dict[str, str]:
    return {"key": delivery.delivery_key, "id": delivery.conversation_id}
