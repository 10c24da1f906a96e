"""The bot's own state: what must survive a restart and be shared by every bot instance.

- conversation references (where proactive cards go), with the conversation's language
  and scope; written on install and on every message, removed on uninstall or a 403;
- activity ids already answered, so a Teams retry (~15 s) is answered once;
- the last query of each conversation, for follow-ups ("그럼 모바일은?");
- the delivery ledger, alert cooldowns, snoozes, the scheduler's lease, chart images.

One implementation over SQLAlchemy, two databases by `COMMERCY_STATE_URL`: a SQLite file
(the default; WAL mode lets the processes of one machine share it) or Azure SQL
(`mssql+pyodbc://...`), which several bot instances share when the bot scales out. The
SQL is the portable subset both speak: an insert that must not duplicate is
`INSERT ... SELECT ... WHERE NOT EXISTS`, an upsert is an UPDATE and then that insert,
and two instances racing on the same key end in the database's own unique-key error,
which counts as "already there"; the lease is one conditional UPDATE, atomic in both.
"""

from __future__ import annotations

import json
import secrets
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import (
    Column,
    Connection,
    Float,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    UnicodeText,
    create_engine,
    event,
    text,
)
from sqlalchemy.dialects import mssql
from sqlalchemy.engine import make_url
from sqlalchemy.exc import IntegrityError

# Keys are short ASCII or Teams ids; 450 characters keeps them indexable on Azure SQL
# (a key is at most 900 bytes there), and SQLite ignores the length.
KEY = String(450)
# JSON and text without a bound: NVARCHAR(max) on Azure SQL, never the deprecated NTEXT.
LONG_TEXT = UnicodeText().with_variant(mssql.NVARCHAR("max"), "mssql")
BLOB = LargeBinary().with_variant(mssql.VARBINARY("max"), "mssql")
metadata = MetaData()


def _table(name: str, *columns: Column) -> Table:
    return Table(name, metadata, *columns)


conversations = _table(
    "conversations",
    Column("conversation_id", KEY, primary_key=True),
    Column("reference", LONG_TEXT, nullable=False),  # ConversationReference as JSON
    Column("scope", String(16), nullable=False, server_default="personal"),
    Column("lang", String(8), nullable=False, server_default="ko"),
    Column("updated_at", Float, nullable=False),
)
processed_activities = _table(
    "processed_activities",
    Column("activity_key", KEY, primary_key=True),  # conversation id + activity id
    Column("received_at", Float, nullable=False),
)
last_queries = _table(
    "last_queries",
    Column("conversation_id", KEY, primary_key=True),
    Column("query", LONG_TEXT, nullable=False),  # MetricQuery as JSON
    Column("updated_at", Float, nullable=False),
)
welcomed = _table(  # Teams announces an install twice (two activities)
    "welcomed",
    Column("conversation_id", KEY, primary_key=True),
    Column("welcomed_at", Float, nullable=False),
)
subscriptions = _table(
    "subscriptions",
    Column("conversation_id", KEY, primary_key=True),
    Column("alerts_on", Integer, nullable=False, server_default="1"),
    Column("summary_time", String(5), nullable=False, server_default="09:00"),  # HH:MM
    Column("updated_at", Float, nullable=False),
)
deliveries = _table(
    "deliveries",
    Column("delivery_key", String(200), primary_key=True),  # alert id, "summary:YYYY-MM-DD"
    Column("conversation_id", String(250), primary_key=True),
    Column("card", LONG_TEXT, nullable=False),  # the Adaptive Card as JSON
    Column("summary", LONG_TEXT, nullable=False),  # the notification text
    # pending | sending | sent | unconfirmed | dropped
    Column("status", String(16), nullable=False),
    Column("attempts", Integer, nullable=False, server_default="0"),
    Column("next_attempt_at", Float, nullable=False),
    Column("activity_id", String(450)),  # the sent message, for in-place updates
    Column("created_at", Float, nullable=False),
    Column("sent_at", Float),
)
leases = _table(
    "leases",
    Column("name", String(100), primary_key=True),  # "scheduler": one leader runs the jobs
    Column("holder", String(450), nullable=False),
    Column("expires_at", Float, nullable=False),
)
snoozes = _table(
    "snoozes",
    Column("conversation_id", String(250), primary_key=True),
    Column("rule", String(50), primary_key=True),
    Column("scope", String(150), primary_key=True),
    Column("until", Float, nullable=False),
)
raised_alerts = _table(  # what the rules raised, for their cooldowns
    "raised_alerts",
    Column("alert_id", KEY, primary_key=True),
    Column("alert", LONG_TEXT, nullable=False),  # Alert.to_dict() as JSON
    Column("raised_at", Float, nullable=False),
)
marks = _table(  # "risk_check": the last window the rules checked
    "marks",
    Column("name", String(100), primary_key=True),
    Column("value", LONG_TEXT, nullable=False),
)
examples = _table(  # questions people confirmed the answer to, and their QueryDraft JSON
    "examples",
    Column("question", KEY, primary_key=True),
    Column("query", LONG_TEXT, nullable=False),
    Column("confirmed_at", Float, nullable=False),
)
charts = _table(
    "charts",
    Column("chart_id", String(64), primary_key=True),
    Column("png", BLOB, nullable=False),
    Column("expires_at", Float, nullable=False),
)

SUPPORTED = ("sqlite", "mssql")

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
    """The state store; every method is a short transaction, safe across threads."""

    def __init__(self, location: str | Path) -> None:
        """`location`: a SQLite file path, or a URL (sqlite:///PATH, mssql+pyodbc://...)."""
        url = str(location)
        if "://" not in url:
            url = f"sqlite:///{url}"
        parsed = make_url(url)
        if parsed.get_backend_name() not in SUPPORTED:
            raise ValueError(
                f"the state store takes sqlite:///PATH or mssql+pyodbc://..., not {url}"
            )
        self.url = url
        self.is_sqlite = parsed.get_backend_name() == "sqlite"
        self._lock = threading.Lock()
        if self.is_sqlite:
            path = parsed.database or ":memory:"
            if path != ":memory:":
                Path(path).parent.mkdir(parents=True, exist_ok=True)
            self.engine = create_engine(
                url, connect_args={"check_same_thread": False, "timeout": 30}
            )
            event.listen(self.engine, "connect", _sqlite_pragmas)
        else:
            self.engine = create_engine(url, pool_pre_ping=True)
        metadata.create_all(self.engine)

    @classmethod
    def from_url(cls, url: str) -> StateStore:
        return cls(url)

    @contextmanager
    def _transaction(self) -> Iterator[Connection]:
        # One writer at a time within a process: SQLite would otherwise make threads wait
        # on its file lock, and the calls are milliseconds.
        with self._lock, self.engine.begin() as connection:
            yield connection

    def _retrying(self, work: Any) -> Any:
        """Run `work(connection)` in a transaction; when another instance inserted the
        same key first (a unique-key error), run it once more: it then updates."""
        try:
            with self._transaction() as db:
                return work(db)
        except IntegrityError:
            with self._transaction() as db:
                return work(db)

    def close(self) -> None:
        self.engine.dispose()

    # -- conversations ------------------------------------------------------------------
    def save_conversation(
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
                _insert_new(
                    db,
                    "conversations",
                    "conversation_id = :id",
                    "(conversation_id, reference, scope, lang, updated_at)",
                    ":id, :reference, :scope, COALESCE(:lang, 'ko'), :now",
                    values,
                )

        self._retrying(work)

    def forget_conversation(self, conversation_id: str) -> None:
        with self._transaction() as db:
            for table in ("conversations", "last_queries", "welcomed", "subscriptions"):
                db.execute(
                    text(f"DELETE FROM {table} WHERE conversation_id = :id"),
                    {"id": conversation_id},
                )

    def first_welcome(self, conversation_id: str) -> bool:
        """True once per installation: Teams sends both installationUpdate and
        conversationUpdate when the app is added, and the welcome must come once."""
        return self._insert_once(
            "welcomed",
            "conversation_id = :id",
            "(conversation_id, welcomed_at)",
            ":id, :now",
            {"id": conversation_id, "now": time.time()},
        )

    def conversation(self, conversation_id: str) -> StoredConversation | None:
        with self._transaction() as db:
            row = db.execute(
                text(
                    "SELECT conversation_id, reference, scope, lang FROM conversations "
                    "WHERE conversation_id = :id"
                ),
                {"id": conversation_id},
            ).first()
        return StoredConversation(row[0], json.loads(row[1]), row[2], row[3]) if row else None

    def conversations(self) -> list[StoredConversation]:
        with self._transaction() as db:
            rows = db.execute(
                text(
                    "SELECT conversation_id, reference, scope, lang FROM conversations "
                    "ORDER BY conversation_id"
                )
            ).all()
        return [StoredConversation(r[0], json.loads(r[1]), r[2], r[3]) for r in rows]

    # -- subscriptions ------------------------------------------------------------------
    def subscribe(self, conversation_id: str) -> None:
        """Installing subscribes: alerts on, the summary at 09:00 (kept if already set)."""
        self._insert_once(
            "subscriptions",
            "conversation_id = :id",
            "(conversation_id, alerts_on, summary_time, updated_at)",
            ":id, 1, '09:00', :now",
            {"id": conversation_id, "now": time.time()},
        )

    def set_alerts(self, conversation_id: str, on: bool) -> None:
        self.subscribe(conversation_id)
        with self._transaction() as db:
            db.execute(
                text(
                    "UPDATE subscriptions SET alerts_on = :on, updated_at = :now "
                    "WHERE conversation_id = :id"
                ),
                {"on": int(on), "now": time.time(), "id": conversation_id},
            )

    def set_summary_time(self, conversation_id: str, hhmm: str) -> None:
        self.subscribe(conversation_id)
        with self._transaction() as db:
            db.execute(
                text(
                    "UPDATE subscriptions SET summary_time = :hhmm, updated_at = :now "
                    "WHERE conversation_id = :id"
                ),
                {"hhmm": hhmm, "now": time.time(), "id": conversation_id},
            )

    def subscription(self, conversation_id: str) -> Subscription | None:
        with self._transaction() as db:
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
        with self._transaction() as db:
            return [row[0] for row in db.execute(text(sql + " ORDER BY s.conversation_id"), params)]

    # -- the delivery ledger --------------------------------------------------------------
    def enqueue(
        self, delivery_key: str, conversation_ids: list[str], card: dict[str, Any], summary: str
    ) -> int:
        """Record a card to deliver to each conversation, once: a key already in the
        ledger for a conversation is ignored, so a re-run or a restart sends nothing twice.
        Returns how many new deliveries were recorded."""
        return sum(
            self._insert_once(*_delivery_row(delivery_key, conversation_id, card, summary))
            for conversation_id in conversation_ids
        )

    def due_deliveries(self, now: float | None = None, limit: int = 100) -> list[Delivery]:
        with self._transaction() as db:
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
        with self._transaction() as db:
            db.execute(
                text(
                    "UPDATE deliveries SET status = 'sending' WHERE delivery_key = :key "
                    "AND conversation_id = :id AND status = 'pending'"
                ),
                _delivery_key(delivery),
            )

    def settle_in_doubt(self) -> list[Delivery]:
        """Rows a crashed process left 'sending', now 'unconfirmed' (see bot/delivery.py)."""
        with self._transaction() as db:
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
        with self._transaction() as db:
            db.execute(
                text(
                    "UPDATE deliveries SET status = 'sent', activity_id = :activity, "
                    "sent_at = :now, attempts = attempts + 1 "
                    "WHERE delivery_key = :key AND conversation_id = :id"
                ),
                {**_delivery_key(delivery), "activity": activity_id, "now": time.time()},
            )

    def retry_later(self, delivery: Delivery, at: float) -> None:
        with self._transaction() as db:
            db.execute(
                text(
                    "UPDATE deliveries SET status = 'pending', attempts = attempts + 1, "
                    "next_attempt_at = :at WHERE delivery_key = :key AND conversation_id = :id"
                ),
                {**_delivery_key(delivery), "at": at},
            )

    def drop_conversation_deliveries(self, conversation_id: str) -> None:
        """The app was removed or blocked there (403): stop trying, keep the record."""
        with self._transaction() as db:
            db.execute(
                text(
                    "UPDATE deliveries SET status = 'dropped' "
                    "WHERE conversation_id = :id AND status IN ('pending', 'sending')"
                ),
                {"id": conversation_id},
            )

    def delivered_card(self, delivery_key: str, conversation_id: str) -> dict[str, Any] | None:
        with self._transaction() as db:
            row = db.execute(
                text(
                    "SELECT card FROM deliveries "
                    "WHERE delivery_key = :key AND conversation_id = :id"
                ),
                {"key": delivery_key, "id": conversation_id},
            ).first()
        return json.loads(row[0]) if row else None

    def snooze(self, conversation_id: str, rule: str, scope: str, seconds: float) -> None:
        values = {
            "id": conversation_id,
            "rule": rule,
            "scope": scope,
            "until": time.time() + seconds,
        }
        where = "conversation_id = :id AND rule = :rule AND scope = :scope"

        def work(db: Connection) -> None:
            if not db.execute(
                text(f"UPDATE snoozes SET until = :until WHERE {where}"), values
            ).rowcount:
                _insert_new(
                    db,
                    "snoozes",
                    where,
                    "(conversation_id, rule, scope, until)",
                    ":id, :rule, :scope, :until",
                    values,
                )

        self._retrying(work)

    def snoozed(self, conversation_id: str, rule: str, scope: str) -> bool:
        with self._transaction() as db:
            row = db.execute(
                text(
                    "SELECT until FROM snoozes "
                    "WHERE conversation_id = :id AND rule = :rule AND scope = :scope"
                ),
                {"id": conversation_id, "rule": rule, "scope": scope},
            ).first()
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

        def work(db: Connection) -> None:
            for alert in alerts:
                _insert_new(
                    db,
                    "raised_alerts",
                    "alert_id = :id",
                    "(alert_id, alert, raised_at)",
                    ":id, :alert, :now",
                    {"id": alert["alert_id"], "alert": json.dumps(alert), "now": now},
                )
            db.execute(
                text("DELETE FROM raised_alerts WHERE raised_at < :old"), {"old": now - 7 * 86_400}
            )
            for key, conversation_id, card, summary in deliveries:
                _insert_new(db, *_delivery_row(key, conversation_id, card, summary))
            if checked is not None:
                _set_mark(db, "risk_check", checked)

        self._retrying(work)

    def mark(self, name: str) -> str | None:
        with self._transaction() as db:
            row = db.execute(
                text("SELECT value FROM marks WHERE name = :name"), {"name": name}
            ).first()
        return row[0] if row else None

    def recent_alerts(self, seconds: float) -> list[dict[str, Any]]:
        with self._transaction() as db:
            rows = db.execute(
                text(
                    "SELECT alert FROM raised_alerts WHERE raised_at >= :since ORDER BY raised_at"
                ),
                {"since": time.time() - seconds},
            ).all()
        return [json.loads(row[0]) for row in rows]

    def drop_delivery(self, delivery: Delivery) -> None:
        with self._transaction() as db:
            db.execute(
                text(
                    "UPDATE deliveries SET status = 'dropped' "
                    "WHERE delivery_key = :key AND conversation_id = :id"
                ),
                _delivery_key(delivery),
            )

    def sent_activity(self, delivery_key: str, conversation_id: str) -> str | None:
        with self._transaction() as db:
            row = db.execute(
                text(
                    "SELECT activity_id FROM deliveries "
                    "WHERE delivery_key = :key AND conversation_id = :id"
                ),
                {"key": delivery_key, "id": conversation_id},
            ).first()
        return row[0] if row else None

    def delivery_counts(self) -> dict[str, int]:
        with self._transaction() as db:
            rows = db.execute(text("SELECT status, COUNT(*) FROM deliveries GROUP BY status"))
            return {status: count for status, count in rows}

    # -- leadership -----------------------------------------------------------------------
    def acquire_lease(self, name: str, holder: str, ttl_seconds: float) -> bool:
        """Take or renew the lease `name` for `holder`; True while `holder` leads.

        Every bot instance calls this before running a scheduled job; only the holder of
        an unexpired lease runs it, and a crashed leader's lease lapses after the TTL.
        The take is one conditional UPDATE (atomic in SQLite and Azure SQL alike); the
        first lease ever is an insert, and of two instances inserting it, one wins.
        """
        now = time.time()
        values = {"name": name, "holder": holder, "now": now, "until": now + ttl_seconds}
        try:
            with self._transaction() as db:
                taken = db.execute(
                    text(
                        "UPDATE leases SET holder = :holder, expires_at = :until "
                        "WHERE name = :name AND (holder = :holder OR expires_at < :now)"
                    ),
                    values,
                ).rowcount
                if taken:
                    return True
                return bool(
                    _insert_new(
                        db,
                        "leases",
                        "name = :name",
                        "(name, holder, expires_at)",
                        ":name, :holder, :until",
                        values,
                    )
                )
        except IntegrityError:  # another instance took it first
            return False

    def release_lease(self, name: str, holder: str) -> None:
        with self._transaction() as db:
            db.execute(
                text("DELETE FROM leases WHERE name = :name AND holder = :holder"),
                {"name": name, "holder": holder},
            )

    # -- duplicates ---------------------------------------------------------------------
    def first_time(self, conversation_id: str, activity_id: str) -> bool:
        """True the first time an activity is seen; False for a retry of it."""
        now = time.time()
        inserted = self._insert_once(
            "processed_activities",
            "activity_key = :key",
            "(activity_key, received_at)",
            ":key, :now",
            {"key": f"{conversation_id}\x1f{activity_id}", "now": now},
        )
        with self._transaction() as db:
            db.execute(
                text("DELETE FROM processed_activities WHERE received_at < :old"),
                {"old": now - PROCESSED_KEEP_SECONDS},
            )
        return inserted

    # -- follow-ups ---------------------------------------------------------------------
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
                _insert_new(
                    db,
                    "last_queries",
                    "conversation_id = :id",
                    "(conversation_id, query, updated_at)",
                    ":id, :query, :now",
                    values,
                )

        self._retrying(work)

    def last_query(self, conversation_id: str) -> dict[str, Any] | None:
        with self._transaction() as db:
            row = db.execute(
                text("SELECT query FROM last_queries WHERE conversation_id = :id"),
                {"id": conversation_id},
            ).first()
        return json.loads(row[0]) if row else None

    # -- confirmed examples (few-shot for the LLM) -------------------------------------
    def save_example(self, question: str, query: dict[str, Any]) -> None:
        self._insert_once(
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
        with self._transaction() as db:
            rows = db.execute(text("SELECT question, query FROM examples ORDER BY confirmed_at"))
            return [(question, json.loads(query)) for question, query in rows]

    # -- charts -------------------------------------------------------------------------
    def save_chart(self, png: bytes, ttl_seconds: int) -> str:
        """Store a PNG and return its id: 128 random bits, so ids cannot be guessed."""
        chart_id = secrets.token_urlsafe(16)
        now = time.time()
        with self._transaction() as db:
            db.execute(text("DELETE FROM charts WHERE expires_at < :now"), {"now": now})
            db.execute(
                charts.insert().values(chart_id=chart_id, png=png, expires_at=now + ttl_seconds)
            )
        return chart_id

    def chart(self, chart_id: str) -> bytes | None:
        with self._transaction() as db:
            row = db.execute(
                text("SELECT png FROM charts WHERE chart_id = :id AND expires_at >= :now"),
                {"id": chart_id, "now": time.time()},
            ).first()
        return bytes(row[0]) if row else None

    def ping(self) -> None:
        with self._transaction() as db:
            db.execute(text("SELECT 1")).first()

    # -- helpers --------------------------------------------------------------------------
    def _insert_once(self, *args: Any) -> bool:
        """Insert a row unless its key is there; True when this call inserted it."""
        try:
            with self._transaction() as db:
                return bool(_insert_new(db, *args))
        except IntegrityError:  # another instance inserted it between our check and insert
            return False


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def _insert_new(
    db: Connection,
    table: str,
    key_match: str,
    columns: str,
    values_sql: str,
    values: dict[str, Any],
) -> int:
    """INSERT INTO table columns SELECT values WHERE NOT EXISTS (the row with that key):
    how both databases insert "unless it is there" in one statement. Returns rows added."""
    return db.execute(
        text(
            f"INSERT INTO {table} {columns} SELECT {values_sql} "
            f"WHERE NOT EXISTS (SELECT 1 FROM {table} WHERE {key_match})"
        ),
        values,
    ).rowcount


def _delivery_row(
    key: str, conversation_id: str, card: dict[str, Any], summary: str
) -> tuple[str, str, str, str, dict[str, Any]]:
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


def _delivery_key(delivery: Delivery) -> dict[str, str]:
    return {"key": delivery.delivery_key, "id": delivery.conversation_id}


def _set_mark(db: Connection, name: str, value: str) -> None:
    values = {"name": name, "value": value}
    if not db.execute(text("UPDATE marks SET value = :value WHERE name = :name"), values).rowcount:
        _insert_new(db, "marks", "name = :name", "(name, value)", ":name, :value", values)
