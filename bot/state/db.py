"""The state database: its tables, and the one engine the stores share.

One implementation over SQLAlchemy, two databases by `COMMERCY_STATE_URL`: a SQLite file
(the default; WAL mode lets the processes of one machine share it) or Azure SQL
(`mssql+pyodbc://...`), which several bot instances share when the bot scales out. The
SQL is the portable subset both speak: an insert that must not duplicate is
`INSERT ... SELECT ... WHERE NOT EXISTS`, an upsert is an UPDATE and then that insert,
and two instances racing on the same key end in the database's own unique-key error,
which counts as "already there"; the lease is one conditional UPDATE, atomic in both.

Every table is declared here, whichever store reads it, so the schema is created (and
checked for Azure SQL's key limits) in one place. `create_all` adds a table a release
introduces to an existing database on the next start (it creates only what is missing);
a new feature adds a table rather than altering one, so no migration step is needed.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import (
    Column,
    Connection,
    Engine,
    Float,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Unicode,
    UnicodeText,
    create_engine,
    event,
    inspect,
    text,
)
from sqlalchemy.dialects import mssql
from sqlalchemy.engine import make_url
from sqlalchemy.exc import IntegrityError, OperationalError, ProgrammingError

T = TypeVar("T")

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
    # Issue 19: an alert episode is one card, updated in place. 'send' posts a new message;
    # 'update' (keyed by the later alert's id) rewrites the message its episode's row
    # (`episode_key`, same conversation) posted, `target_activity_id` once known.
    Column("kind", String(16), nullable=False, server_default="send"),
    Column("episode_key", String(200)),
    Column("target_activity_id", String(450)),
    # Who acknowledged the message a 'send' row posted, and when (ISO 8601, as the card
    # showed it): an update re-applies the note to the new card, so the name and time are
    # kept rather than the acknowledged card, which has lost its buttons and old numbers.
    Column("acknowledged_by", String(200)),
    Column("acknowledged_at", String(40)),
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
alert_log = _table(  # every alert raised, a few columns kept for months: `alerts status`
    "alert_log",
    Column("alert_id", KEY, primary_key=True),
    Column("rule", String(50), nullable=False),
    Column("scope", String(150), nullable=False),
    Column("severity", String(16), nullable=False),
    Column("raised_at", Float, nullable=False),
)
alert_feedback = _table(  # what people made of an alert: one verdict per alert and person
    "alert_feedback",
    Column("alert_id", String(200), primary_key=True),
    Column("user_id", String(250), primary_key=True),  # aadObjectId, else the channel's id
    Column("rule", String(50), nullable=False),
    Column("scope", String(150), nullable=False),
    Column("conversation_id", String(450), nullable=False),
    Column("user_name", Unicode(200), nullable=False, server_default=""),  # Korean names
    Column("verdict", String(16), nullable=False),  # useful | not_useful
    Column("marked_at", Float, nullable=False),
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
# Issue 20: every answer message the bot sent (an answer with a card and cited text is two
# messages, one answer id), so a Teams 👍/👎 on a message finds its question and query;
# Teams itself keeps no feedback.
answers = _table(
    "answers",
    Column("message_key", KEY, primary_key=True),  # conversation id + message id
    Column("answer_id", String(64), nullable=False),
    Column("conversation_id", String(450), nullable=False),
    Column("message_id", String(450), nullable=False),
    Column("question", LONG_TEXT, nullable=False),
    Column("route", String(64), nullable=False),
    Column("lang", String(8), nullable=False),
    Column("query", LONG_TEXT),  # MetricQuery.to_dict() as JSON; null for no query
    Column("example", LONG_TEXT),  # the model's QueryDraft as JSON: a 👍 keeps it
    Column("text", LONG_TEXT, nullable=False),
    Column("sent_at", Float, nullable=False),
)
answer_feedback = _table(  # every 👍/👎 on an answer, with what it was about
    "answer_feedback",
    Column("feedback_id", String(64), primary_key=True),
    Column("answer_id", String(64)),  # null: the message was not found among the answers
    Column("conversation_id", String(450), nullable=False),
    Column("message_id", String(450)),
    Column("reaction", String(16), nullable=False),  # like | dislike
    Column("comment", LONG_TEXT, nullable=False, server_default=""),
    Column("question", LONG_TEXT, nullable=False, server_default=""),
    Column("route", String(64), nullable=False, server_default=""),
    Column("query", LONG_TEXT),
    Column("user_id", String(250), nullable=False),
    Column("user_name", Unicode(200), nullable=False, server_default=""),
    Column("at", Float, nullable=False),
)
charts = _table(
    "charts",
    Column("chart_id", String(64), primary_key=True),
    Column("png", BLOB, nullable=False),
    Column("expires_at", Float, nullable=False),
)

SUPPORTED = ("sqlite", "mssql")


class Database:
    """The engine and the transactions every store runs; safe across threads."""

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
        add_missing_columns(self.engine)

    @contextmanager
    def transaction(self) -> Iterator[Connection]:
        # One writer at a time within a process: SQLite would otherwise make threads wait
        # on its file lock, and the calls are milliseconds.
        with self._lock, self.engine.begin() as connection:
            yield connection

    def retrying(self, work: Callable[[Connection], T]) -> T:
        """Run `work(connection)` in a transaction; when another instance inserted the
        same key first (a unique-key error), run it once more: it then updates."""
        try:
            with self.transaction() as db:
                return work(db)
        except IntegrityError:
            with self.transaction() as db:
                return work(db)

    def insert_once(
        self, table: str, key_match: str, columns: str, values_sql: str, values: dict[str, Any]
    ) -> bool:
        """Insert a row unless its key is there; True when this call inserted it."""
        try:
            with self.transaction() as db:
                return bool(insert_new(db, table, key_match, columns, values_sql, values))
        except IntegrityError:  # another instance inserted it between our check and insert
            return False

    def ping(self) -> None:
        with self.transaction() as db:
            db.execute(text("SELECT 1")).first()

    def close(self) -> None:
        self.engine.dispose()


def insert_new(
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


def add_missing_columns(engine: Engine) -> list[str]:
    """Add the columns declared since a table was created: create_all makes missing
    tables only, and a state database from an earlier release must keep working. Every
    column added later is nullable or has a server default, so ADD COLUMN fills the rows
    already there. Returns "table.column" for each column added."""
    added = []
    existing = set(inspect(engine).get_table_names())
    for table in metadata.sorted_tables:
        if table.name not in existing:
            continue
        have = {column["name"] for column in inspect(engine).get_columns(table.name)}
        for column in table.columns:
            if column.name in have:
                continue
            try:
                with engine.begin() as db:
                    db.execute(text(_add_column_sql(engine, table, column)))
            except (OperationalError, ProgrammingError):
                # Another instance added it between our look and our ALTER.
                have = {c["name"] for c in inspect(engine).get_columns(table.name)}
                if column.name not in have:
                    raise
                continue
            added.append(f"{table.name}.{column.name}")
    return added


def _add_column_sql(engine: Engine, table: Table, column: Column) -> str:
    dialect = engine.dialect
    quote = dialect.identifier_preparer.quote
    sql = column.type.compile(dialect)
    if column.server_default is not None:  # our defaults are plain strings
        sql += f" DEFAULT '{column.server_default.arg}'"
    elif not column.nullable:
        raise ValueError(f"{table.name}.{column.name}: a column added later needs a default")
    sql += "" if column.nullable else " NOT NULL"
    add = "ADD COLUMN" if dialect.name == "sqlite" else "ADD"  # T-SQL: ALTER TABLE t ADD c
    return f"ALTER TABLE {quote(table.name)} {add} {quote(column.name)} {sql}"


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()
