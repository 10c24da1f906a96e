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
from collections.abc import Iterator
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
CREATE TABLE IF NOT EXISTS charts (
    chart_id TEXT PRIMARY KEY,
    png BLOB NOT NULL,
    expires_at REAL NOT NULL
);
"""

# Teams retries within seconds; a day of ids is plenty and keeps the table small.
PROCESSED_KEEP_SECONDS = 86_400


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
