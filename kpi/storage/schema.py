"""The six `ga_data` tables of the existing Commercy Azure SQL database, as one metadata.

Table and column names are those of the existing schema (../shared/metrics.md), so the
bot can point at that database unchanged. Money is USD micros in BIGINT: micros overflow
a 32-bit INTEGER above about $2,147. There are no foreign keys: GA exports arrive as
independent tables and bulk loads must not pay for constraint checks; the importer and
the generator keep the keys consistent instead.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Date,
    Float,
    Index,
    Integer,
    MetaData,
    SmallInteger,
    String,
    Table,
    Unicode,
)
from sqlalchemy.dialects import mssql
from sqlalchemy.engine import Dialect
from sqlalchemy.schema import CreateIndex, CreateTable

SCHEMA = "ga_data"

metadata = MetaData(schema=SCHEMA)

# Keys are "fullVisitorId-visitId[-hitNumber[-position]]": ASCII and short, so VARCHAR(n),
# which Azure SQL can index (it cannot index NVARCHAR(max)).
KEY = String(64)
TEXT = Unicode(256)
LONG_TEXT = Unicode(2048)

sessions = Table(
    "Sessions",
    metadata,
    Column("session_key", KEY, primary_key=True),
    Column("visitNumber", Integer),
    Column("visitId", BigInteger),
    Column("visitStartTime", BigInteger, nullable=False),  # UNIX seconds, UTC
    Column("date", Date, nullable=False),  # calendar date in the reporting time zone
    Column("fullVisitorId", String(32), nullable=False),
    Column("channelGrouping", TEXT),
    Column("socialEngagementType", TEXT),
    Index("ix_sessions_date", "date"),
    Index("ix_sessions_visitstarttime", "visitStartTime"),
    Index("ix_sessions_fullvisitorid", "fullVisitorId"),
)

totals = Table(
    "Totals",
    metadata,
    Column("session_key", KEY, primary_key=True),
    Column("visits", Integer),
    Column("hits", Integer),
    Column("pageviews", Integer),
    Column("timeOnSite", Integer),  # seconds; NULL for a bounce, as in the export
    Column("bounces", Integer),
    Column("transactions", Integer),
    Column("newVisits", Integer),
    # The store's revenue (GA `totals.transactionRevenue`, the figure public analyses
    # and ga-facts.md sum), USD micros.
    Column("totalTransactionRevenue", BigInteger),
    Column("sessionQualityDim", Integer),
    # Extra: GA's `totals.totalTransactionRevenue` (with tax and shipping), kept so an
    # import loses nothing; no metric reads it.
    Column("grossTransactionRevenue", BigInteger),
    # Extra: a copy of the session's `Sessions.visitStartTime`, so a query on a time
    # window prunes this table by its zone maps instead of joining a year of it. Its own
    # name, so SQL that joins Sessions and names visitStartTime bare stays unambiguous.
    Column("sessionStartTime", BigInteger),
)

traffic = Table(
    "Traffic",
    metadata,
    Column("session_key", KEY, primary_key=True),
    Column("referralPath", LONG_TEXT),
    Column("campaign", TEXT),
    Column("source", TEXT),
    Column("medium", TEXT),
    Column("keyword", TEXT),
    Column("adContent", TEXT),
    Column("adwordsPage", Integer),
    Column("adwordsSlot", TEXT),
    Column("gclId", TEXT),
    Column("adNetworkType", TEXT),
    Column("isTrueDirect", Boolean),
)

device_geo = Table(
    "DeviceGeo",
    metadata,
    Column("session_key", KEY, primary_key=True),
    Column("browser", TEXT),
    Column("operatingSystem", TEXT),
    Column("deviceCategory", TEXT),
    Column("continent", TEXT),
    Column("subContinent", TEXT),
    Column("country", TEXT),
    Column("region", TEXT),
    Column("metro", TEXT),
    Column("city", TEXT),
)

hits = Table(
    "Hits",
    metadata,
    Column("hit_key", KEY, primary_key=True),
    Column("session_key", KEY, nullable=False),
    Column("hitNumber", Integer, nullable=False),
    Column("time", Integer),  # ms since the session started
    Column("hour", SmallInteger),
    Column("minute", SmallInteger),
    Column("isInteraction", Boolean),
    Column("isEntrance", Boolean),
    Column("isExit", Boolean),
    Column("pagePath", LONG_TEXT),
    Column("hostname", TEXT),
    Column("pageTitle", LONG_TEXT),
    Column("transactionId", TEXT),
    Column("eventCategory", TEXT),
    Column("eventAction", TEXT),
    Column("eventLabel", LONG_TEXT),
    Column("actionType", String(2)),  # '0'..'8', GA enhanced e-commerce
    Column("hitType", String(16)),  # 'PAGE', 'EVENT'
    Column("product_productQuantity", Integer),  # units on a purchase hit
    # Extra: the hit's transaction revenue (GA `transaction.transactionRevenue`), micros.
    Column("transactionRevenue", BigInteger),
    # Extra: the session's `Sessions.visitStartTime`, as in Totals.
    Column("sessionStartTime", BigInteger),
    Index("ix_hits_session_key", "session_key"),
    Index("ix_hits_actiontype", "actionType"),
)

hits_product = Table(
    "HitsProduct",
    metadata,
    Column("product_hit_key", KEY, primary_key=True),
    Column("hit_key", KEY, nullable=False),
    Column("v2ProductName", TEXT),
    Column("v2ProductCategory", TEXT),
    Column("productBrand", TEXT),
    Column("productPrice", BigInteger),  # USD micros
    Column("productRevenue", BigInteger),  # USD micros, on purchase hits
    Column("isImpression", Boolean),
    Column("isClick", Boolean),
    Column("productListName", TEXT),
    Column("productListPosition", Integer),
    Column("productSKU", String(64)),
    # Extras: units and variant, so units sold can be counted per product.
    Column("productQuantity", Integer),
    Column("productVariant", TEXT),
    Index("ix_hitsproduct_hit_key", "hit_key"),
)

TABLES: tuple[Table, ...] = (sessions, totals, traffic, device_geo, hits, hits_product)

# Extra table: one row per `commercy data generate` run. It tells a generated sample
# (which a new run may replace) from imported or production data (which it must not).
sample_runs = Table(
    "SampleRuns",
    metadata,
    Column("generated_at", BigInteger, nullable=False),  # UNIX seconds
    Column("start_date", Date, nullable=False),
    Column("end_date", Date, nullable=False),
    Column("scale", Float, nullable=False),
    Column("seed", BigInteger, nullable=False),
    Column("sessions", BigInteger, nullable=False),
)
ALL_TABLES: tuple[Table, ...] = (*TABLES, sample_runs)


def dialect_named(name: str) -> Dialect:
    """The SQLAlchemy dialect for `duckdb` or `mssql` (Azure SQL, Fabric SQL endpoint)."""
    if name == "mssql":
        dialect = mssql.dialect()
        # Azure SQL reports 12.x; without a version the dialect assumes SQL Server 2005
        # and writes DATETIME for DATE.
        dialect.server_version_info = (12, 0)
        return dialect
    if name == "duckdb":
        from duckdb_engine import Dialect as DuckDBDialect

        return DuckDBDialect()
    raise ValueError(f"unknown dialect {name!r}; use duckdb or mssql")


def ddl(dialect_name: str) -> str:
    """The CREATE statements for every table and index, as the warehouse runs them."""
    dialect = dialect_named(dialect_name)
    statements = [f"CREATE SCHEMA {SCHEMA}"]
    for table in ALL_TABLES:
        statements.append(create_table_sql(table, dialect_name))
        statements.extend(
            str(CreateIndex(index).compile(dialect=dialect)).strip()
            for index in secondary_indexes(table, dialect_name)
        )
    separator = "\nGO\n" if dialect_name == "mssql" else ";\n\n"
    return separator.join(statements) + ("\nGO\n" if dialect_name == "mssql" else ";\n")


def create_table_sql(table: Table, dialect_name: str, *, if_not_exists: bool = False) -> str:
    """CREATE TABLE for `table`.

    On DuckDB the primary key is left out: DuckDB enforces it with an ART index that
    takes four times the table's own space and a third of the load time, and it speeds
    up no analytic query. Keys stay unique all the same: the generator makes them so and
    the importer skips sessions that are already present.
    """
    dialect = dialect_named(dialect_name)
    if dialect_name != "duckdb":
        return str(CreateTable(table, if_not_exists=if_not_exists).compile(dialect=dialect)).strip()
    preparer = dialect.identifier_preparer
    columns = ",\n".join(
        f"\t{preparer.quote(c.name)} {c.type.compile(dialect)}{'' if c.nullable else ' NOT NULL'}"
        for c in table.columns
    )
    exists = "IF NOT EXISTS " if if_not_exists else ""
    return f"CREATE TABLE {exists}{SCHEMA}.{preparer.quote(table.name)} (\n{columns}\n)"


def secondary_indexes(table: Table, dialect_name: str) -> list[Index]:
    """The indexes worth having on this dialect.

    Azure SQL needs them for date ranges and joins. DuckDB does not use ART indexes for
    range scans or hash joins and they slow bulk loads: rows are loaded in time order, so
    its zone maps prune by `date` and `visitStartTime` already.
    """
    if dialect_name == "duckdb":
        return []
    return sorted(table.indexes, key=lambda index: index.name or "")


# Extra columns added after a warehouse may already exist, with the SQL that fills them
# for the rows it holds: create_schema adds and fills them once.
BACKFILLS: dict[tuple[str, str], dict[str, str]] = {
    (table, "sessionStartTime"): {
        "duckdb": f'UPDATE {SCHEMA}."{table}" AS x SET "sessionStartTime" = s."visitStartTime" '
        f'FROM {SCHEMA}."Sessions" AS s WHERE s.session_key = x.session_key',
        "mssql": f"UPDATE x SET sessionStartTime = s.visitStartTime FROM {SCHEMA}.{table} AS x "
        f"JOIN {SCHEMA}.Sessions AS s ON s.session_key = x.session_key",
    }
    for table in ("Totals", "Hits")
}


def add_column_sql(table: Table, column: str, dialect_name: str) -> str:
    """ALTER TABLE that adds a nullable extra column to a table that predates it."""
    dialect = dialect_named(dialect_name)
    preparer = dialect.identifier_preparer
    type_sql = table.c[column].type.compile(dialect)
    add = "ADD COLUMN" if dialect_name == "duckdb" else "ADD"
    return (
        f"ALTER TABLE {SCHEMA}.{preparer.quote(table.name)} {add} {preparer.quote(column)} "
        f"{type_sql} NULL"
    )
