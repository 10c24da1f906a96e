"""The warehouse: the `ga_data` tables behind a SQLAlchemy engine.

Two implementations of one small protocol: DuckDB (the embedded default, bulk loads
through Arrow) and any other SQLAlchemy URL, meant for Azure SQL or a Fabric warehouse
SQL endpoint through `mssql+pyodbc` (batched `executemany`).
"""

from __future__ import annotations

import contextlib
import logging
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import Engine, Table, create_engine, event, func, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.schema import CreateIndex, CreateSchema

from kpi.storage.schema import (
    ALL_TABLES,
    BACKFILLS,
    SCHEMA,
    TABLES,
    add_column_sql,
    create_table_sql,
    device_geo,
    hits,
    hits_product,
    sample_runs,
    secondary_indexes,
    sessions,
    totals,
    traffic,
)

if TYPE_CHECKING:  # loads and probes need Arrow; a bot that only reads saves ~35 MB
    import pyarrow as pa

log = logging.getLogger(__name__)


class WarehouseError(Exception):
    """The warehouse cannot be reached or used; the message is safe to show a person.

    The subclasses name the state, so a caller can say what to do about it (the library
    knows what is wrong, not which command fixes it)."""

    def __init__(self, message: str, *, where: str = "") -> None:
        super().__init__(message)
        self.where = where  # the file (DuckDB) or server, as a person would name it


class WarehouseMissing(WarehouseError):
    """No DuckDB file at the path (or its folder does not exist)."""


class WarehouseLocked(WarehouseError):
    """Another process holds the DuckDB file (DuckDB admits one writing process)."""

    def __init__(self, message: str, *, where: str = "", pid: int | None = None) -> None:
        super().__init__(message, where=where)
        self.pid = pid


class WarehouseCorrupt(WarehouseError):
    """The file is there but DuckDB cannot read it as a database."""


class WarehouseEmpty(WarehouseError):
    """The database opens but lacks `ga_data` tables."""

    def __init__(self, message: str, *, where: str = "", missing: tuple[str, ...] = ()) -> None:
        super().__init__(message, where=where)
        self.missing = missing


_LOCK_PID = re.compile(r"\(PID (\d+)\)")


class Warehouse:
    """A warehouse reached through SQLAlchemy; subclasses make bulk loads fast."""

    dialect_name = "generic"

    def __init__(self, engine: Engine, where: str = "") -> None:
        self.engine = engine
        self.where = where or engine.url.render_as_string(hide_password=True)

    def missing_tables(self) -> tuple[str, ...]:
        """The `ga_data` tables (of the six) the warehouse lacks; () when all are there."""
        with self.engine.connect() as conn:
            have = {
                name.lower()
                for (name,) in conn.execute(
                    text(
                        "SELECT TABLE_NAME FROM INFORMATION_SCHEMA.TABLES "
                        "WHERE TABLE_SCHEMA = :schema"
                    ),
                    {"schema": SCHEMA},
                )
            }
        return tuple(table.name for table in TABLES if table.name.lower() not in have)

    def require_tables(self) -> None:
        """Raise WarehouseEmpty unless the six `ga_data` tables exist."""
        missing = self.missing_tables()
        if len(missing) == len(TABLES):
            raise WarehouseEmpty(f"no ga_data tables in {self.where}", where=self.where,
                                 missing=missing)  # fmt: skip
        if missing:
            raise WarehouseEmpty(
                f"{self.where} lacks the ga_data tables {', '.join(missing)}",
                where=self.where, missing=missing,
            )  # fmt: skip

    # -- schema ---------------------------------------------------------------------
    def create_schema(self) -> None:
        """Create the `ga_data` schema, tables and indexes that do not exist yet, and add
        (and fill) the extra columns a warehouse made by an older Commercy lacks."""
        with self.engine.begin() as conn:
            conn.execute(CreateSchema(SCHEMA, if_not_exists=True))
            for table in ALL_TABLES:
                conn.execute(text(create_table_sql(table, self.dialect_name, if_not_exists=True)))
                for index in secondary_indexes(table, self.dialect_name):
                    conn.execute(CreateIndex(index, if_not_exists=True))
            found = conn.execute(
                text(
                    "SELECT TABLE_NAME, COLUMN_NAME FROM INFORMATION_SCHEMA.COLUMNS "
                    "WHERE TABLE_SCHEMA = :schema"
                ),
                {"schema": SCHEMA},
            )
            have = {(t.lower(), c.lower()) for t, c in found}
            for table in ALL_TABLES:
                for column in table.columns:
                    if (table.name.lower(), column.name.lower()) in have:
                        continue
                    log.info("adding the column %s.%s", table.name, column.name)
                    conn.execute(text(add_column_sql(table, column.name, self.dialect_name)))
                    fill = BACKFILLS.get((table.name, column.name), {}).get(self.dialect_name)
                    if fill:
                        conn.execute(text(fill))

    def truncate(self) -> None:
        """Delete every row of the `ga_data` tables (the schema stays)."""
        with self.engine.begin() as conn:
            for table in ALL_TABLES:
                conn.execute(table.delete())

    def last_sample_run(self) -> dict[str, Any] | None:
        """The `commercy data generate` run that reaches furthest: its dates, scale, seed
        and sessions."""
        with self.engine.connect() as conn:
            row = conn.execute(
                select(sample_runs).order_by(sample_runs.c.end_date.desc()).limit(1)
            ).first()
        return dict(row._mapping) if row else None

    def delete_sessions(self, start: Any, end: Any) -> int:
        """Delete the sessions of the days from `start` to `end` and everything that hangs
        off them (totals, traffic, device, hits, product hits), in one transaction; how
        many sessions went."""
        day = sessions.c.date.between(start, end)
        keys = select(sessions.c.session_key).where(day)
        with self.engine.begin() as conn:
            hit_keys = select(hits.c.hit_key).where(hits.c.session_key.in_(keys))
            conn.execute(hits_product.delete().where(hits_product.c.hit_key.in_(hit_keys)))
            for table in (hits, totals, traffic, device_geo):
                conn.execute(table.delete().where(table.c.session_key.in_(keys)))
            return conn.execute(sessions.delete().where(day)).rowcount

    def record_sample_run(self, values: dict[str, Any]) -> None:
        with self.engine.begin() as conn:
            conn.execute(sample_runs.insert(), [values])

    # -- loading --------------------------------------------------------------------
    def append(self, table: Table, rows: pa.Table) -> int:
        """Insert `rows` (columns named as in `table`) and return how many went in."""
        if rows.num_rows == 0:
            return 0
        records = rows.to_pylist()
        with self.engine.begin() as conn:
            conn.execute(table.insert(), records)
        return rows.num_rows

    def append_many(self, parts: Sequence[tuple[Table, pa.Table]]) -> int:
        """Insert rows into several tables in one transaction: all of them or none.

        The importer writes a batch's six tables with it, so an interrupted import never
        leaves a session present in `Sessions` without its hits.
        """
        with self.engine.begin() as conn:
            for table, rows in parts:
                if rows.num_rows:
                    conn.execute(table.insert(), rows.to_pylist())
        return sum(rows.num_rows for _, rows in parts)

    def existing_session_keys(self, keys: Sequence[str]) -> set[str]:
        """Which of `keys` are already in `Sessions` (the importer's idempotency check)."""
        found: set[str] = set()
        with self.engine.connect() as conn:
            for start in range(0, len(keys), 1000):
                chunk = list(keys[start : start + 1000])
                query = select(sessions.c.session_key).where(sessions.c.session_key.in_(chunk))
                found.update(conn.execute(query).scalars())
        return found

    # -- reading --------------------------------------------------------------------
    def row_counts(self) -> dict[str, int]:
        with self.engine.connect() as conn:
            return {
                table.name: conn.execute(select(func.count()).select_from(table)).scalar_one()
                for table in TABLES
            }

    def date_range(self) -> tuple[Any, Any] | None:
        """The first and last `Sessions.date` held, or None when there are no sessions."""
        with self.engine.connect() as conn:
            first, last = conn.execute(
                select(func.min(sessions.c.date), func.max(sessions.c.date))
            ).one()
        return (first, last) if first is not None else None

    def is_empty(self) -> bool:
        with self.engine.connect() as conn:
            return conn.execute(select(sessions.c.session_key).limit(1)).first() is None

    def query(self, sql: str, params: dict[str, Any] | None = None) -> list[dict[str, Any]]:
        """Run a read-only query and return rows as dicts (stats, tests)."""
        with self.engine.connect() as conn:
            result = conn.execute(text(sql), params or {})
            return [dict(row._mapping) for row in result]

    def read_only_rows(
        self, sql: str, *, max_rows: int, timeout_seconds: float
    ) -> tuple[list[str], list[tuple]]:
        """Run a guarded, model-written SELECT: column names and at most `max_rows` rows.

        The transaction is always rolled back; connect as a login that can only read
        (`COMMERCY_READER_DATABASE_URL`) so the server itself refuses a write. The
        statement time-out is the connection's (`StatementTimeout`)."""
        with self.engine.connect() as conn:
            try:
                result = conn.exec_driver_sql(sql)
                names = list(result.keys())
                rows = [tuple(row) for row in result.fetchmany(max_rows)]
            finally:
                conn.rollback()
        return names, rows

    def close(self) -> None:
        self.engine.dispose()


class DuckDBWarehouse(Warehouse):
    """The embedded default: a DuckDB file, loaded through Arrow in one statement a table."""

    dialect_name = "duckdb"

    def append(self, table: Table, rows: pa.Table) -> int:
        if rows.num_rows == 0:
            return 0
        columns = ", ".join(f'"{name}"' for name in rows.column_names)
        with self.engine.connect() as conn:
            raw = conn.connection.driver_connection
            raw.register("_incoming", rows)
            try:
                raw.execute(
                    f'INSERT INTO {SCHEMA}."{table.name}" ({columns}) '
                    f"SELECT {columns} FROM _incoming"
                )
            finally:
                raw.unregister("_incoming")
            conn.commit()
        return rows.num_rows

    def append_many(self, parts: Sequence[tuple[Table, pa.Table]]) -> int:
        views: list[str] = []
        with self.engine.connect() as conn:
            raw = conn.connection.driver_connection
            raw.begin()
            try:
                for table, rows in parts:
                    if rows.num_rows == 0:
                        continue
                    view = f"_incoming_{len(views)}"
                    raw.register(view, rows)
                    views.append(view)
                    columns = ", ".join(f'"{name}"' for name in rows.column_names)
                    raw.execute(
                        f'INSERT INTO {SCHEMA}."{table.name}" ({columns}) '
                        f"SELECT {columns} FROM {view}"
                    )
                raw.commit()
            except BaseException:
                raw.rollback()
                raise
            finally:
                # After the commit or rollback: an aborted transaction refuses even this.
                for view in views:
                    raw.unregister(view)
        return sum(rows.num_rows for _, rows in parts)

    def read_only_rows(
        self, sql: str, *, max_rows: int, timeout_seconds: float
    ) -> tuple[list[str], list[tuple]]:
        """DuckDB: a READ ONLY transaction (a write fails inside DuckDB itself) on its own
        cursor, interrupted when it runs past `timeout_seconds`."""
        import threading

        with self.engine.connect() as conn:
            cursor = conn.connection.driver_connection.cursor()
            timer = threading.Timer(timeout_seconds, cursor.interrupt)
            try:
                cursor.execute("BEGIN TRANSACTION READ ONLY")
                timer.start()
                cursor.execute(sql)
                names = [d[0] for d in cursor.description or ()]
                rows = cursor.fetchmany(max_rows)
            except Exception as exc:
                if "INTERRUPT" in str(exc).upper():
                    raise TimeoutError(f"the query ran longer than {timeout_seconds:g} s") from None
                raise
            finally:
                timer.cancel()
                with contextlib.suppress(Exception):  # nothing to roll back: BEGIN failed
                    cursor.execute("ROLLBACK")
                cursor.close()
        return names, rows

    def existing_session_keys(self, keys: Sequence[str]) -> set[str]:
        if not keys:
            return set()
        import pyarrow as pa

        probe = pa.table({"session_key": pa.array(list(keys), pa.string())})
        with self.engine.connect() as conn:
            raw = conn.connection.driver_connection
            raw.register("_probe", probe)
            try:
                found = raw.execute(
                    f'SELECT p.session_key FROM _probe p JOIN {SCHEMA}."Sessions" s '
                    "USING (session_key)"
                ).fetchall()
            finally:
                raw.unregister("_probe")
        return {key for (key,) in found}


def open_warehouse(
    url: str,
    *,
    query_timeout_seconds: int = 30,
    memory_limit: str | None = None,
    create: bool = True,
) -> Warehouse:
    """Connect to the warehouse at `url` (duckdb:///PATH or mssql+pyodbc://...).

    `memory_limit` caps DuckDB's buffer pool (a long-running bot wants a small one; a
    bulk load, the default of 80 % of RAM). Options in the URL's query string win.
    With `create` false a DuckDB file that does not exist is WarehouseMissing instead
    of a new empty database (and its folder is not made): readers must not leave one."""
    parsed = make_url(url)
    if parsed.drivername == "duckdb":
        return _open_duckdb(url, parsed.database or ":memory:", dict(parsed.query),
                            memory_limit=memory_limit, create=create)  # fmt: skip
    if parsed.drivername.startswith("mssql"):
        engine = create_engine(url, fast_executemany=True, pool_pre_ping=True)
        _set_statement_timeout(engine, query_timeout_seconds)
        return Warehouse(engine)
    raise WarehouseError(f"unsupported warehouse URL scheme {parsed.drivername!r}")


def _open_duckdb(
    url: str, database: str, query: dict[str, Any], *, memory_limit: str | None, create: bool
) -> DuckDBWarehouse:
    where = database
    if database != ":memory:":
        path = Path(database).expanduser()
        if not path.exists() and not create:
            raise WarehouseMissing(f"no warehouse at {where}", where=where)
        if path.is_dir():
            raise WarehouseCorrupt(f"{where} is a folder, not a DuckDB database", where=where)
        path.parent.mkdir(parents=True, exist_ok=True)
    config: dict[str, str] = {}
    if memory_limit:
        # Freed query memory goes back to the OS instead of the allocator's cache.
        config = {"memory_limit": memory_limit, "allocator_flush_threshold": "8MB"}
    config = {k: v for k, v in config.items() if k not in query}
    try:
        engine = create_engine(url, connect_args={"config": config} if config else {})
        with engine.connect():
            pass
    except Exception as exc:  # duckdb raises its own IOException on a locked file
        message = str(getattr(exc, "orig", None) or exc).splitlines()[0]
        if "Could not set lock" in message or "Conflicting lock" in message:
            found = _LOCK_PID.search(message)
            pid = int(found[1]) if found else None
            held = f" (PID {pid})" if pid else ""
            raise WarehouseLocked(f"{where} is in use by another process{held}", where=where,
                                  pid=pid) from None  # fmt: skip
        if "not a valid DuckDB database" in message or "Corrupt" in message:
            raise WarehouseCorrupt(f"{where} is not a readable DuckDB database",
                                   where=where) from None  # fmt: skip
        raise WarehouseError(
            f"cannot open the DuckDB warehouse {where}: {message}", where=where
        ) from None
    return DuckDBWarehouse(engine, where)


@dataclass(frozen=True)
class StatementTimeout:
    """pyodbc has no URL option for a query time-out: this sets it on every new connection."""

    seconds: int

    def __call__(self, dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.timeout = self.seconds


def _set_statement_timeout(engine: Engine, seconds: int) -> None:
    event.listen(engine, "connect", StatementTimeout(seconds))


def batched(items: Iterable[Any], size: int) -> Iterable[list[Any]]:
    batch: list[Any] = []
    for item in items:
        batch.append(item)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch
