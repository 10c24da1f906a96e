"""The bot's own state, in one SQLite file by default: what must survive a restart and
be shared by every bot instance.

- conversation references (where proactive cards go), with the conversation's language
  and scope; written on install and on every message, removed on uninstall or a 403;
- activity ids already answered, so a Teams retry (~15 s) is answered once;
- the last query of each conversation, for follow-ups ("그럼 모바일은?");
- chart images behind unguessable ids that expire.

SQLite in WAL mode lets several processes on one machine share the file; a scaled-out
deployment points the same protocol at a shared database (a later issue).
"""

from __future__ import annotations

import json
import secrets
import sqlite3
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

SCHEMA = """
CREATE TABLE IF NOT EXISTS conversations (
    conversation_id TEXT PRIMARY KEY,
    reference TEXT NOT NULL,          -- ConversationReference as JSON
    scope TEXT NOT NULL DEFAULT 'personal',
    lang TEXT NOT NULL DEFAULT 'ko',
    updated_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS processed_activities (
    activity_key TEXT PRIMARY KEY,    -- conversation id + activity id
    received_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS last_queries (
    conversation_id TEXT PRIMARY KEY,
    query TEXT NOT NULL,              -- MetricQuery as JSON
    updated_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS welcomed (
    conversation_id TEXT PRIMARY KEY,  -- Teams announces an install twice (two activities)
    welcomed_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS subscriptions (
    conversation_id TEXT PRIMARY KEY,
    alerts_on INTEGER NOT NULL DEFAULT 1,
    summary_time TEXT NOT NULL DEFAULT '09:00',  -- HH:MM in the reporting time zone
    updated_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS deliveries (
    delivery_key TEXT NOT NULL,       -- an alert id, or "summary:YYYY-MM-DD"
    conversation_id TEXT NOT NULL,
    card TEXT NOT NULL,               -- the Adaptive Card as JSON
    summary TEXT NOT NULL,            -- the notification text
    status TEXT NOT NULL,             -- pending | sending | sent | unconfirmed | dropped
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at REAL NOT NULL,
    activity_id TEXT,                 -- the sent message, for in-place updates
    created_at REAL NOT NULL,
    sent_at REAL,
    PRIMARY KEY (delivery_key, conversation_id)
);
CREATE TABLE IF NOT EXISTS leases (
    name TEXT PRIMARY KEY,            -- "scheduler": one leader runs the jobs
    holder TEXT NOT NULL,
    expires_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS snoozes (
    conversation_id TEXT NOT NULL,
    rule TEXT NOT NULL,
    scope TEXT NOT NULL,
    until REAL NOT NULL,
    PRIMARY KEY (conversation_id, rule, scope)
);
CREATE TABLE IF NOT EXISTS raised_alerts (
    alert_id TEXT PRIMARY KEY,        -- what the rules raised, for their cooldowns
    alert TEXT NOT NULL,              -- Alert.to_dict() as JSON
    raised_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS marks (
    name TEXT PRIMARY KEY,            -- "risk_check": the last window the rules checked
    value TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS examples (
    question TEXT PRIMARY KEY,        -- a question people confirmed the answer to
    query TEXT NOT NULL,              -- the QueryDraft it was read as (JSON)
    confirmed_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS charts (
    chart_id TEXT PRIMARY KEY,
    png BLOB NOT NULL,
    expires_at REAL NOT NULL
);
"""

# Teams retries within seconds; a day of ids is plenty and keeps the table small.
PROCESSED_KEEP_SECONDS = 86_400


@dataclass(frozen=True)
class Subscription:
    conversation_id: str
    alerts_on: bool
    summary_time: str


@dataclass(frozen=True)
class Delivery:
    delivery_key: str
    conversation_id: str
    card: dict[str, Any]
    summary: str
    attempts: int


@dataclass(frozen=True)
class StoredConversation:
    conversation_id: str
    reference: dict[str, Any]
    scope: str
    lang: str


class StateStore:
    """SQLite-backed state; every method is a short transaction, safe across threads."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        if str(self.path) != ":memory:":
            self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._connection = sqlite3.connect(str(self.path), check_same_thread=False, timeout=30)
        self._connection.execute("PRAGMA journal_mode=WAL")
        self._connection.execute("PRAGMA synchronous=NORMAL")
        self._connection.executescript(SCHEMA)

    @classmethod
    def from_url(cls, url: str) -> StateStore:
        return cls(url.removeprefix("sqlite:///"))

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        with self._lock, self._connection:
            yield self._connection

    def close(self) -> None:
        self._connection.close()

    # -- conversations ------------------------------------------------------------------
    def save_conversation(
        self,
        conversation_id: str,
        reference: dict[str, Any],
        *,
        scope: str,
        lang: str | None = None,
    ) -> None:
        with self._transaction() as db:
            db.execute(
                """INSERT INTO conversations (conversation_id, reference, scope, lang, updated_at)
                   VALUES (?, ?, ?, COALESCE(?, 'ko'), ?)
                   ON CONFLICT (conversation_id) DO UPDATE SET reference = excluded.reference,
                       scope = excluded.scope, lang = COALESCE(?, conversations.lang),
                       updated_at = excluded.updated_at""",
                (conversation_id, json.dumps(reference), scope, lang, time.time(), lang),
            )

    def forget_conversation(self, conversation_id: str) -> None:
        with self._transaction() as db:
            db.execute("DELETE FROM conversations WHERE conversation_id = ?", (conversation_id,))
            db.execute("DELETE FROM last_queries WHERE conversation_id = ?", (conversation_id,))
            db.execute("DELETE FROM welcomed WHERE conversation_id = ?", (conversation_id,))
            db.execute("DELETE FROM subscriptions WHERE conversation_id = ?", (conversation_id,))

    def first_welcome(self, conversation_id: str) -> bool:
        """True once per installation: Teams sends both installationUpdate and
        conversationUpdate when the app is added, and the welcome must come once."""
        with self._transaction() as db:
            return (
                db.execute(
                    "INSERT OR IGNORE INTO welcomed (conversation_id, welcomed_at) VALUES (?, ?)",
                    (conversation_id, time.time()),
                ).rowcount
                == 1
            )

    def conversation(self, conversation_id: str) -> StoredConversation | None:
        with self._transaction() as db:
            row = db.execute(
                "SELECT conversation_id, reference, scope, lang FROM conversations "
                "WHERE conversation_id = ?",
                (conversation_id,),
            ).fetchone()
        return StoredConversation(row[0], json.loads(row[1]), row[2], row[3]) if row else None

    def conversations(self) -> list[StoredConversation]:
        with self._transaction() as db:
            rows = db.execute(
                "SELECT conversation_id, reference, scope, lang FROM conversations ORDER BY 1"
            ).fetchall()
        return [StoredConversation(r[0], json.loads(r[1]), r[2], r[3]) for r in rows]

    # -- subscriptions ------------------------------------------------------------------
    def subscribe(self, conversation_id: str) -> None:
        """Installing subscribes: alerts on, the summary at 09:00 (kept if already set)."""
        with self._transaction() as db:
            db.execute(
                "INSERT OR IGNORE INTO subscriptions (conversation_id, updated_at) VALUES (?, ?)",
                (conversation_id, time.time()),
            )

    def set_alerts(self, conversation_id: str, on: bool) -> None:
        self.subscribe(conversation_id)
        with self._transaction() as db:
            db.execute(
                "UPDATE subscriptions SET alerts_on = ?, updated_at = ? WHERE conversation_id = ?",
                (int(on), time.time(), conversation_id),
            )

    def set_summary_time(self, conversation_id: str, hhmm: str) -> None:
        self.subscribe(conversation_id)
        with self._transaction() as db:
            db.execute(
                "UPDATE subscriptions SET summary_time = ?, updated_at = ? "
                "WHERE conversation_id = ?",
                (hhmm, time.time(), conversation_id),
            )

    def subscription(self, conversation_id: str) -> Subscription | None:
        with self._transaction() as db:
            row = db.execute(
                "SELECT conversation_id, alerts_on, summary_time FROM subscriptions "
                "WHERE conversation_id = ?",
                (conversation_id,),
            ).fetchone()
        return Subscription(row[0], bool(row[1]), row[2]) if row else None

    def subscribers(
        self, *, alerts: bool | None = None, summary_time: str | None = None
    ) -> list[str]:
        """Conversations still installed that take alerts, or their summary at a time."""
        sql = (
            "SELECT s.conversation_id FROM subscriptions s JOIN conversations c "
            "USING (conversation_id) WHERE 1 = 1"
        )
        params: list[Any] = []
        if alerts is not None:
            sql += " AND s.alerts_on = ?"
            params.append(int(alerts))
        if summary_time is not None:
            sql += " AND s.summary_time = ?"
            params.append(summary_time)
        with self._transaction() as db:
            return [row[0] for row in db.execute(sql + " ORDER BY 1", params)]

    # -- the delivery ledger --------------------------------------------------------------
    def enqueue(
        self, delivery_key: str, conversation_ids: list[str], card: dict[str, Any], summary: str
    ) -> int:
        """Record a card to deliver to each conversation, once: a key already in the
        ledger for a conversation is ignored, so a re-run or a restart sends nothing twice.
        Returns how many new deliveries were recorded."""
        with self._transaction() as db:
            return sum(
                _insert_delivery(db, delivery_key, conversation_id, card, summary)
                for conversation_id in conversation_ids
            )

    def due_deliveries(self, now: float | None = None, limit: int = 100) -> list[Delivery]:
        with self._transaction() as db:
            rows = db.execute(
                "SELECT delivery_key, conversation_id, card, summary, attempts FROM deliveries "
                "WHERE status = 'pending' AND next_attempt_at <= ? "
                "ORDER BY created_at, delivery_key LIMIT ?",
                (now if now is not None else time.time(), limit),
            ).fetchall()
        return [Delivery(r[0], r[1], json.loads(r[2]), r[3], r[4]) for r in rows]

    def mark_sending(self, delivery: Delivery) -> None:
        """The card is about to leave: a crash from here until mark_sent leaves the row
        'sending', which the next deliverer finds and settles (Deliverer.settle_in_doubt)."""
        with self._transaction() as db:
            db.execute(
                "UPDATE deliveries SET status = 'sending' "
                "WHERE delivery_key = ? AND conversation_id = ? AND status = 'pending'",
                (delivery.delivery_key, delivery.conversation_id),
            )

    def settle_in_doubt(self) -> list[Delivery]:
        """Rows a crashed process left 'sending', now 'unconfirmed' (see bot/delivery.py)."""
        with self._transaction() as db:
            rows = db.execute(
                "SELECT delivery_key, conversation_id, card, summary, attempts FROM deliveries "
                "WHERE status = 'sending'"
            ).fetchall()
            db.execute(
                "UPDATE deliveries SET status = 'unconfirmed', attempts = attempts + 1 "
                "WHERE status = 'sending'"
            )
        return [Delivery(r[0], r[1], json.loads(r[2]), r[3], r[4]) for r in rows]

    def mark_sent(self, delivery: Delivery, activity_id: str | None) -> None:
        with self._transaction() as db:
            db.execute(
                "UPDATE deliveries SET status = 'sent', activity_id = ?, sent_at = ?, "
                "attempts = attempts + 1 WHERE delivery_key = ? AND conversation_id = ?",
                (activity_id, time.time(), delivery.delivery_key, delivery.conversation_id),
            )

    def retry_later(self, delivery: Delivery, at: float) -> None:
        with self._transaction() as db:
            db.execute(
                "UPDATE deliveries SET status = 'pending', attempts = attempts + 1, "
                "next_attempt_at = ? WHERE delivery_key = ? AND conversation_id = ?",
                (at, delivery.delivery_key, delivery.conversation_id),
            )

    def drop_conversation_deliveries(self, conversation_id: str) -> None:
        """The app was removed or blocked there (403): stop trying, keep the record."""
        with self._transaction() as db:
            db.execute(
                "UPDATE deliveries SET status = 'dropped' "
                "WHERE conversation_id = ? AND status IN ('pending', 'sending')",
                (conversation_id,),
            )

    def delivered_card(self, delivery_key: str, conversation_id: str) -> dict[str, Any] | None:
        with self._transaction() as db:
            row = db.execute(
                "SELECT card FROM deliveries WHERE delivery_key = ? AND conversation_id = ?",
                (delivery_key, conversation_id),
            ).fetchone()
        return json.loads(row[0]) if row else None

    def snooze(self, conversation_id: str, rule: str, scope: str, seconds: float) -> None:
        with self._transaction() as db:
            db.execute(
                "INSERT INTO snoozes (conversation_id, rule, scope, until) VALUES (?, ?, ?, ?) "
                "ON CONFLICT (conversation_id, rule, scope) DO UPDATE SET until = excluded.until",
                (conversation_id, rule, scope, time.time() + seconds),
            )

    def snoozed(self, conversation_id: str, rule: str, scope: str) -> bool:
        with self._transaction() as db:
            row = db.execute(
                "SELECT until FROM snoozes WHERE conversation_id = ? AND rule = ? AND scope = ?",
                (conversation_id, rule, scope),
            ).fetchone()
        return bool(row and row[0] > time.time())

    def record_alerts(
        self,
        alerts: list[dict[str, Any]],
        deliveries: Sequence[tuple[str, str, dict[str, Any], str]] = (),
        *,
        checked: str | None = None,
    ) -> None:
        """In one transaction: the alerts the rules raised (for their cooldowns), their
        cards in the ledger as (key, conversation, card, summary), and the last window
        checked. A crash leaves all of it or none: never an alert recorded (so its
        cooldown silences it) without its cards."""
        now = time.time()
        with self._transaction() as db:
            db.executemany(
                "INSERT OR IGNORE INTO raised_alerts (alert_id, alert, raised_at) VALUES (?, ?, ?)",
                [(a["alert_id"], json.dumps(a), now) for a in alerts],
            )
            db.execute("DELETE FROM raised_alerts WHERE raised_at < ?", (now - 7 * 86_400,))
            for key, conversation_id, card, summary in deliveries:
                _insert_delivery(db, key, conversation_id, card, summary)
            if checked is not None:
                _set_mark(db, "risk_check", checked)

    def mark(self, name: str) -> str | None:
        with self._transaction() as db:
            row = db.execute("SELECT value FROM marks WHERE name = ?", (name,)).fetchone()
        return row[0] if row else None

    def recent_alerts(self, seconds: float) -> list[dict[str, Any]]:
        with self._transaction() as db:
            rows = db.execute(
                "SELECT alert FROM raised_alerts WHERE raised_at >= ? ORDER BY raised_at",
                (time.time() - seconds,),
            ).fetchall()
        return [json.loads(row[0]) for row in rows]

    def drop_delivery(self, delivery: Delivery) -> None:
        with self._transaction() as db:
            db.execute(
                "UPDATE deliveries SET status = 'dropped' "
                "WHERE delivery_key = ? AND conversation_id = ?",
                (delivery.delivery_key, delivery.conversation_id),
            )

    def sent_activity(self, delivery_key: str, conversation_id: str) -> str | None:
        with self._transaction() as db:
            row = db.execute(
                "SELECT activity_id FROM deliveries WHERE delivery_key = ? AND conversation_id = ?",
                (delivery_key, conversation_id),
            ).fetchone()
        return row[0] if row else None

    def delivery_counts(self) -> dict[str, int]:
        with self._transaction() as db:
            return dict(db.execute("SELECT status, COUNT(*) FROM deliveries GROUP BY status"))

    # -- leadership -----------------------------------------------------------------------
    def acquire_lease(self, name: str, holder: str, ttl_seconds: float) -> bool:
        """Take or renew the lease `name` for `holder`; True while `holder` leads.

        Every bot instance calls this before running a scheduled job; only the holder of
        an unexpired lease runs it, and a crashed leader's lease lapses after the TTL.
        BEGIN IMMEDIATE makes the check-and-take atomic across processes.
        """
        now = time.time()
        with self._lock:
            db = self._connection
            db.execute("BEGIN IMMEDIATE")
            try:
                row = db.execute(
                    "SELECT holder, expires_at FROM leases WHERE name = ?", (name,)
                ).fetchone()
                if row is None or row[0] == holder or row[1] < now:
                    db.execute(
                        "INSERT INTO leases (name, holder, expires_at) VALUES (?, ?, ?) "
                        "ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, "
                        "expires_at = excluded.expires_at",
                        (name, holder, now + ttl_seconds),
                    )
                    db.execute("COMMIT")
                    return True
                db.execute("COMMIT")
                return False
            except Exception:
                db.execute("ROLLBACK")
                raise

    def release_lease(self, name: str, holder: str) -> None:
        with self._transaction() as db:
            db.execute("DELETE FROM leases WHERE name = ? AND holder = ?", (name, holder))

    # -- duplicates ---------------------------------------------------------------------
    def first_time(self, conversation_id: str, activity_id: str) -> bool:
        """True the first time an activity is seen; False for a retry of it."""
        now = time.time()
        with self._transaction() as db:
            inserted = db.execute(
                "INSERT OR IGNORE INTO processed_activities (activity_key, received_at) "
                "VALUES (?, ?)",
                (f"{conversation_id}\x1f{activity_id}", now),
            ).rowcount
            db.execute(
                "DELETE FROM processed_activities WHERE received_at < ?",
                (now - PROCESSED_KEEP_SECONDS,),
            )
        return inserted == 1

    # -- follow-ups ---------------------------------------------------------------------
    def save_last_query(self, conversation_id: str, query: dict[str, Any]) -> None:
        with self._transaction() as db:
            db.execute(
                """INSERT INTO last_queries (conversation_id, query, updated_at) VALUES (?, ?, ?)
                   ON CONFLICT (conversation_id) DO UPDATE SET query = excluded.query,
                       updated_at = excluded.updated_at""",
                (conversation_id, json.dumps(query), time.time()),
            )

    def last_query(self, conversation_id: str) -> dict[str, Any] | None:
        with self._transaction() as db:
            row = db.execute(
                "SELECT query FROM last_queries WHERE conversation_id = ?", (conversation_id,)
            ).fetchone()
        return json.loads(row[0]) if row else None

    # -- confirmed examples (few-shot for the LLM) -------------------------------------
    def save_example(self, question: str, query: dict[str, Any]) -> None:
        with self._transaction() as db:
            db.execute(
                "INSERT OR IGNORE INTO examples (question, query, confirmed_at) VALUES (?, ?, ?)",
                (question, json.dumps(query, ensure_ascii=False), time.time()),
            )

    def examples(self) -> list[tuple[str, dict[str, Any]]]:
        with self._transaction() as db:
            rows = db.execute("SELECT question, query FROM examples ORDER BY confirmed_at")
            return [(question, json.loads(query)) for question, query in rows]

    # -- charts -------------------------------------------------------------------------
    def save_chart(self, png: bytes, ttl_seconds: int) -> str:
        """Store a PNG and return its id: 128 random bits, so ids cannot be guessed."""
        chart_id = secrets.token_urlsafe(16)
        now = time.time()
        with self._transaction() as db:
            db.execute("DELETE FROM charts WHERE expires_at < ?", (now,))
            db.execute(
                "INSERT INTO charts (chart_id, png, expires_at) VALUES (?, ?, ?)",
                (chart_id, png, now + ttl_seconds),
            )
        return chart_id

    def chart(self, chart_id: str) -> bytes | None:
        with self._transaction() as db:
            row = db.execute(
                "SELECT png FROM charts WHERE chart_id = ? AND expires_at >= ?",
                (chart_id, time.time()),
            ).fetchone()
        return bytes(row[0]) if row else None

    def ping(self) -> None:
        with self._transaction() as db:
            db.execute("SELECT 1").fetchone()


def _insert_delivery(
    db: sqlite3.Connection, key: str, conversation_id: str, card: dict[str, Any], summary: str
) -> int:
    now = time.time()
    return db.execute(
        "INSERT OR IGNORE INTO deliveries (delivery_key, conversation_id, card, summary, status,"
        " next_attempt_at, created_at) VALUES (?, ?, ?, ?, 'pending', ?, ?)",
        (key, conversation_id, json.dumps(card), summary, now, now),
    ).rowcount


def _set_mark(db: sqlite3.Connection, name: str, value: str) -> None:
    db.execute(
        "INSERT INTO marks (name, value) VALUES (?, ?) "
        "ON CONFLICT (name) DO UPDATE SET value = excluded.value",
        (name, value),
    )
