"""The delivery ledger: every proactive card, one row per (key, conversation).

The key is an alert id or "summary:YYYY-MM-DD". A row already in the ledger is never
added again, so a re-run, a second scheduler or a restart sends nothing twice. A row
goes pending -> sending (just before its POST) -> sent, or back to pending with a later
attempt, or dropped; one a crash left 'sending' becomes 'unconfirmed' (bot/delivery.py
says why it is not sent again).

An alert episode is one card (issue 19). Its first alert's row (kind 'send', keyed by the
episode id) posts the message; each later alert of the episode either rewrites that row's
card while it is still pending (the first send then carries the latest state) or adds a
row of kind 'update', keyed by the later alert's id, that rewrites the posted message in
place (a PUT). Only the newest pending update of an episode in a conversation is kept:
the chat needs the latest state, not every step to it. An update a crash left 'sending'
goes back to pending, since a PUT repeated is harmless, unlike a POST.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, text

from bot.state.db import Database, insert_new


@dataclass(frozen=True)
class Delivery:
    delivery_key: str
    conversation_id: str
    card: dict[str, Any]
    summary: str
    attempts: int
    kind: str = "send"  # 'send' posts a new message; 'update' rewrites episode_key's
    episode_key: str | None = None
    target_activity_id: str | None = None


@dataclass(frozen=True)
class Posted:
    """What a 'send' row says about the message it posted (an update's target)."""

    status: str
    activity_id: str | None
    acknowledged_by: str | None
    acknowledged_at: str | None  # ISO 8601, as the acknowledged card showed it


# apply_update's outcomes, for the risk check's log lines.
REPLACED, QUEUED, ALREADY_QUEUED, NOT_POSTED = "replaced", "queued", "already queued", "not posted"

_COLUMNS = (
    "delivery_key, conversation_id, card, summary, attempts, kind, episode_key, target_activity_id"
)


def _delivery(row: Any) -> Delivery:
    return Delivery(row[0], row[1], json.loads(row[2]), row[3], row[4], row[5] or "send",
                    row[6], row[7])  # fmt: skip


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
                    f"SELECT {_COLUMNS} "
                    "FROM deliveries WHERE status = 'pending' AND next_attempt_at <= :now "
                    "ORDER BY created_at, delivery_key"
                ),
                {"now": now if now is not None else time.time()},
            ).fetchmany(limit)
        return [_delivery(r) for r in rows]

    def pending(self, delivery: Delivery) -> Delivery | None:
        """The row as it is now, if still pending: a pass reads up to 100 due rows and
        sends them one by one, and meanwhile the risk check may rewrite a card (a newer
        state of its episode) or supersede an update. None: nothing to send any more."""
        with self.db.transaction() as db:
            row = db.execute(
                text(
                    f"SELECT {_COLUMNS} FROM deliveries WHERE delivery_key = :key "
                    "AND conversation_id = :id AND status = 'pending'"
                ),
                _row_key(delivery),
            ).first()
        return _delivery(row) if row else None

    def update(
        self,
        update_key: str,
        episode_key: str,
        conversation_id: str,
        card: dict[str, Any],
        summary: str,
    ) -> str:
        """Bring the episode's card in this conversation to `card` (see apply_update)."""
        return self.db.retrying(
            lambda db: apply_update(db, update_key, episode_key, conversation_id, card, summary)
        )

    def conversations_with(self, episode_key: str) -> list[str]:
        """The conversations that have a row for this episode's card, whatever its status."""
        with self.db.transaction() as db:
            rows = db.execute(
                text(
                    "SELECT conversation_id FROM deliveries WHERE delivery_key = :key "
                    "AND kind = 'send' ORDER BY conversation_id"
                ),
                {"key": episode_key},
            ).all()
        return [row[0] for row in rows]

    def posted(self, delivery_key: str, conversation_id: str) -> Posted | None:
        """The message a 'send' row posted: read right before an update goes out, so the
        update targets it and keeps an acknowledgement made since it was queued."""
        with self.db.transaction() as db:
            row = db.execute(
                text(
                    "SELECT status, activity_id, acknowledged_by, acknowledged_at "
                    "FROM deliveries WHERE delivery_key = :key AND conversation_id = :id "
                    "AND kind = 'send'"
                ),
                {"key": delivery_key, "id": conversation_id},
            ).first()
        return Posted(*row) if row else None

    def acknowledge(self, delivery_key: str, conversation_id: str, name: str, when: str) -> bool:
        """Someone acknowledged the card this row posted; updates keep the note."""
        with self.db.transaction() as db:
            return bool(
                db.execute(
                    text(
                        "UPDATE deliveries SET acknowledged_by = :name, acknowledged_at = :at "
                        "WHERE delivery_key = :key AND conversation_id = :id"
                    ),
                    {"key": delivery_key, "id": conversation_id, "name": name, "at": when},
                ).rowcount
            )

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
        """Sends a crashed process left 'sending', now 'unconfirmed' (see bot/delivery.py).
        Updates left 'sending' go back to pending: a PUT repeated changes nothing."""
        with self.db.transaction() as db:
            rows = db.execute(
                text(
                    f"SELECT {_COLUMNS} FROM deliveries WHERE status = 'sending' AND kind = 'send'"
                )
            ).all()
            db.execute(
                text(
                    "UPDATE deliveries SET status = 'unconfirmed', attempts = attempts + 1 "
                    "WHERE status = 'sending' AND kind = 'send'"
                )
            )
            db.execute(
                text(
                    "UPDATE deliveries SET status = 'pending', attempts = attempts + 1 "
                    "WHERE status = 'sending' AND kind = 'update'"
                )
            )
        return [_delivery(r) for r in rows]

    def mark_sent(self, delivery: Delivery, activity_id: str | None) -> None:
        """Sent: for an update, `activity_id` is the message it rewrote, and the episode's
        row takes the new card, which an Acknowledge then shows (bot/handler.py)."""
        with self.db.transaction() as db:
            db.execute(
                text(
                    "UPDATE deliveries SET status = 'sent', activity_id = :activity, "
                    "sent_at = :now, attempts = attempts + 1 "
                    "WHERE delivery_key = :key AND conversation_id = :id"
                ),
                {**_row_key(delivery), "activity": activity_id, "now": time.time()},
            )
            if delivery.kind == "update" and delivery.episode_key:
                db.execute(
                    text(
                        "UPDATE deliveries SET card = :card, summary = :summary "
                        "WHERE delivery_key = :key AND conversation_id = :id"
                    ),
                    {
                        "key": delivery.episode_key,
                        "id": delivery.conversation_id,
                        "card": json.dumps(delivery.card),
                        "summary": delivery.summary,
                    },
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
        card = self._column("card", delivery_key, conversation_id)
        return json.loads(card) if card is not None else None

    def sent_activity(self, delivery_key: str, conversation_id: str) -> str | None:
        return self._column("activity_id", delivery_key, conversation_id)

    def _column(self, column: str, delivery_key: str, conversation_id: str) -> Any:
        """One column of the row (the card a message showed, the message it became)."""
        with self.db.transaction() as db:
            row = db.execute(
                text(
                    f"SELECT {column} FROM deliveries "  # a column name from this module only
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


def apply_update(
    db: Connection,
    update_key: str,
    episode_key: str,
    conversation_id: str,
    card: dict[str, Any],
    summary: str,
) -> str:
    """In the caller's transaction: bring the card of `episode_key` in this conversation
    to `card`, a later alert (`update_key`) of the same episode.

    - the episode's row still pending: its card and summary are replaced, so the one
      message posted shows the latest state (REPLACED);
    - posted (an activity id) or being posted right now: an 'update' row keyed
      `update_key`, added once, which supersedes any older update still pending (QUEUED,
      or ALREADY_QUEUED on a re-run);
    - no row, dropped, or 'unconfirmed' without an activity id: nothing to update, and no
      new card either (NOT_POSTED).
    """
    row = db.execute(
        text(
            "SELECT status, activity_id FROM deliveries WHERE delivery_key = :key "
            "AND conversation_id = :id AND kind = 'send'"
        ),
        {"key": episode_key, "id": conversation_id},
    ).first()
    if row is None:
        return NOT_POSTED
    status, activity_id = row
    if status == "pending":
        db.execute(
            text(
                "UPDATE deliveries SET card = :card, summary = :summary "
                "WHERE delivery_key = :key AND conversation_id = :id AND status = 'pending'"
            ),
            {"key": episode_key, "id": conversation_id, "card": json.dumps(card),
             "summary": summary},
        )  # fmt: skip
        return REPLACED
    # 'sending': the POST is in flight; the update learns its target when it goes out.
    if activity_id is None and status != "sending":
        return NOT_POSTED
    now = time.time()
    added = insert_new(
        db,
        "deliveries",
        "delivery_key = :key AND conversation_id = :id",
        "(delivery_key, conversation_id, card, summary, status, attempts, next_attempt_at, "
        "created_at, kind, episode_key, target_activity_id)",
        ":key, :id, :card, :summary, 'pending', 0, :now, :now, 'update', :episode, :target",
        {"key": update_key, "id": conversation_id, "card": json.dumps(card), "summary": summary,
         "now": now, "episode": episode_key, "target": activity_id},
    )  # fmt: skip
    if not added:
        return ALREADY_QUEUED
    db.execute(
        text(
            "UPDATE deliveries SET status = 'dropped' WHERE kind = 'update' "
            "AND episode_key = :episode AND conversation_id = :id AND status = 'pending' "
            "AND delivery_key <> :key"
        ),
        {"episode": episode_key, "id": conversation_id, "key": update_key},
    )
    return QUEUED


def _row_key(delivery: Delivery) -> dict[str, str]:
    return {"key": delivery.delivery_key, "id": delivery.conversation_id}
