"""The SQL guard (kpi/storage/sql_guard.py), as two tables: the statements it lets
through, each with the statement that then runs, and the statements it refuses, each with
the reason it gives the model. Both dialects it reads: DuckDB and Azure SQL (T-SQL).

What passes is exactly one SELECT (a WITH, a UNION, INTERSECT or EXCEPT of SELECTs) that
reads only the six `ga_data` tables (a CTE's own name too), names only their columns or
aliases the statement defines, calls only allowlisted functions and no table function,
and comes back schema-qualified with at most `max_rows` rows (500 unless the caller says).
"""

from __future__ import annotations

import pytest

from kpi.storage.sql_guard import MAX_ROWS, UnsafeSQL, guard_select
from kpi.storage.warehouse import Warehouse

# (dialect, what the model wrote, what runs)
ACCEPTED = [
    # Tables are qualified with ga_data, and a statement without a LIMIT gets one.
    ("duckdb", "SELECT COUNT(*) FROM Sessions",
     "SELECT COUNT(*) FROM ga_data.Sessions LIMIT 500"),
    ("duckdb", "SELECT COUNT(*) FROM ga_data.Sessions;",
     "SELECT COUNT(*) FROM ga_data.Sessions LIMIT 500"),
    ("duckdb", 'SELECT "CHANNELGROUPING" FROM SESSIONS',
     'SELECT "CHANNELGROUPING" FROM ga_data.SESSIONS LIMIT 500'),
    ("duckdb", "SELECT s.date, SUM(t.totalTransactionRevenue) / 1e6 AS revenue FROM Sessions s JOIN Totals t ON s.session_key = t.session_key WHERE s.date >= DATE '2026-11-01' GROUP BY s.date",
     "SELECT s.date, SUM(t.totalTransactionRevenue) / 1e6 AS revenue FROM ga_data.Sessions AS s JOIN ga_data.Totals AS t ON s.session_key = t.session_key WHERE s.date >= CAST('2026-11-01' AS DATE) GROUP BY s.date LIMIT 500"),
    # A CTE is read by its own name; aliases the statement defines are columns.
    ("duckdb", "WITH daily AS (SELECT date, COUNT(*) AS n FROM Sessions GROUP BY date) SELECT AVG(n) FROM daily",
     "WITH daily AS (SELECT date, COUNT(*) AS n FROM ga_data.Sessions GROUP BY date) SELECT AVG(n) FROM daily LIMIT 500"),
    ("duckdb", "SELECT x FROM (SELECT date FROM Sessions) AS t(x)",
     "SELECT x FROM (SELECT date FROM ga_data.Sessions) AS t(x) LIMIT 500"),
    ("duckdb", "SELECT channelGrouping, COUNT(*) AS n FROM Sessions GROUP BY channelGrouping HAVING n > 10",
     "SELECT channelGrouping, COUNT(*) AS n FROM ga_data.Sessions GROUP BY channelGrouping HAVING n > 10 LIMIT 500"),
    # Set operations of SELECTs; one without its own LIMIT is wrapped to get one.
    ("duckdb", "SELECT country FROM DeviceGeo UNION SELECT country FROM DeviceGeo",
     "SELECT * FROM (SELECT country FROM ga_data.DeviceGeo UNION SELECT country FROM ga_data.DeviceGeo) AS q LIMIT 500"),
    ("duckdb", "SELECT country FROM DeviceGeo UNION ALL SELECT source FROM Traffic LIMIT 5",
     "SELECT country FROM ga_data.DeviceGeo UNION ALL SELECT source FROM ga_data.Traffic LIMIT 5"),
    ("duckdb", "SELECT country FROM DeviceGeo EXCEPT SELECT country FROM DeviceGeo WHERE continent = 'Asia'",
     "SELECT * FROM (SELECT country FROM ga_data.DeviceGeo EXCEPT SELECT country FROM ga_data.DeviceGeo WHERE continent = 'Asia') AS q LIMIT 500"),
    # Allowlisted functions: aggregates, dates, strings, CASE, windows, subqueries.
    ("duckdb", "SELECT date_trunc('week', date) AS week, ROW_NUMBER() OVER (ORDER BY date) FROM Sessions",
     "SELECT DATE_TRUNC('WEEK', date) AS week, ROW_NUMBER() OVER (ORDER BY date) FROM ga_data.Sessions LIMIT 500"),
    ("duckdb", "SELECT CASE WHEN bounces = 1 THEN 'bounce' ELSE 'stay' END AS kind, COUNT(*) FROM Totals GROUP BY 1",
     "SELECT CASE WHEN bounces = 1 THEN 'bounce' ELSE 'stay' END AS kind, COUNT(*) FROM ga_data.Totals GROUP BY 1 LIMIT 500"),
    ("duckdb", "SELECT COUNT(DISTINCT fullVisitorId) AS visitors FROM Sessions WHERE date > current_date - INTERVAL 7 DAY",
     "SELECT COUNT(DISTINCT fullVisitorId) AS visitors FROM ga_data.Sessions WHERE date > CURRENT_DATE - INTERVAL '7' DAY LIMIT 500"),
    ("duckdb", "SELECT quantile_cont(timeOnSite, 0.5) FROM Totals",
     "SELECT QUANTILE_CONT(timeOnSite, 0.5) FROM ga_data.Totals LIMIT 500"),
    ("duckdb", "SELECT v2ProductName FROM HitsProduct WHERE v2ProductName LIKE '%Hoodie%'",
     "SELECT v2ProductName FROM ga_data.HitsProduct WHERE v2ProductName LIKE '%Hoodie%' LIMIT 500"),
    ("duckdb", "SELECT COUNT(*) FROM Sessions WHERE EXISTS (SELECT 1 FROM Hits WHERE Hits.session_key = Sessions.session_key)",
     "SELECT COUNT(*) FROM ga_data.Sessions WHERE EXISTS(SELECT 1 FROM ga_data.Hits WHERE Hits.session_key = Sessions.session_key) LIMIT 500"),
    # The LIMIT rule: a literal LIMIT up to 500 stays; anything else becomes LIMIT 500.
    ("duckdb", "SELECT date FROM Sessions LIMIT 10 OFFSET 5",
     "SELECT date FROM ga_data.Sessions LIMIT 10 OFFSET 5"),
    ("duckdb", "SELECT date FROM Sessions LIMIT 500",
     "SELECT date FROM ga_data.Sessions LIMIT 500"),
    ("duckdb", "SELECT date FROM Sessions LIMIT 501",
     "SELECT date FROM ga_data.Sessions LIMIT 500"),
    ("duckdb", "SELECT date FROM Sessions LIMIT ALL",
     "SELECT date FROM ga_data.Sessions LIMIT 500"),
    ("duckdb", "SELECT date FROM Sessions LIMIT 10 + 1",
     "SELECT date FROM ga_data.Sessions LIMIT 500"),
    # Azure SQL: the same rules, written and returned as T-SQL (TOP for LIMIT).
    ("mssql", "SELECT TOP 10 country, COUNT(*) AS n FROM ga_data.DeviceGeo GROUP BY country ORDER BY n DESC",
     "SELECT TOP 10 country, COUNT(*) AS n FROM ga_data.DeviceGeo GROUP BY country ORDER BY n DESC"),
    ("mssql", "SELECT country FROM ga_data.[DeviceGeo]",
     "SELECT TOP 500 country FROM ga_data.[DeviceGeo]"),
    ("mssql", "SELECT TOP 900 country FROM DeviceGeo",
     "SELECT TOP 500 country FROM ga_data.DeviceGeo"),
    ("mssql", "SELECT country FROM DeviceGeo UNION SELECT country FROM DeviceGeo",
     "SELECT TOP 500 * FROM (SELECT country FROM ga_data.DeviceGeo UNION SELECT country FROM ga_data.DeviceGeo) AS q"),
    ("mssql", "SELECT DATEPART(week, date) AS w, COUNT(*) AS n FROM Sessions GROUP BY DATEPART(week, date)",
     "SELECT TOP 500 DATEPART(week, date) AS w, COUNT(*) AS n FROM ga_data.Sessions GROUP BY DATEPART(week, date)"),
]  # fmt: skip

# (dialect, what the model wrote, a fragment of the reason it gets back)
REJECTED = [
    # Nothing, or not SQL.
    ("duckdb", "", "the statement is empty"),
    ("duckdb", "  ;  ", "the statement is empty"),
    ("duckdb", "SELEC date FROM Sessions", "not valid SQL"),
    ("duckdb", "SELECT 'unterminated FROM Sessions", "not valid SQL"),
    # Exactly one statement.
    ("duckdb", "SELECT 1 FROM Sessions; SELECT 2 FROM Sessions", "exactly one statement is allowed"),
    ("duckdb", "SELECT 1; DROP TABLE ga_data.Sessions", "exactly one statement is allowed"),
    ("mssql", "SELECT 1 AS one; SHUTDOWN", "exactly one statement is allowed"),
    # Only SELECT: nothing that writes, changes the schema, settings or the process.
    ("duckdb", "DROP TABLE ga_data.Sessions", "only SELECT is allowed, not DROP"),
    ("duckdb", "DELETE FROM ga_data.Totals", "only SELECT is allowed, not DELETE"),
    ("duckdb", "UPDATE ga_data.Totals SET bounces = 0", "only SELECT is allowed, not UPDATE"),
    ("duckdb", "INSERT INTO ga_data.Sessions SELECT * FROM ga_data.Sessions", "only SELECT is allowed, not INSERT"),
    ("duckdb", "CREATE TABLE x AS SELECT * FROM Sessions", "only SELECT is allowed, not CREATE"),
    ("duckdb", "VALUES (1)", "only SELECT is allowed, not VALUES"),
    ("duckdb", "DESCRIBE Sessions", "only SELECT is allowed, not DESCRIBE"),
    ("duckdb", "SUMMARIZE Sessions", "only SELECT is allowed, not SUMMARIZE"),
    ("duckdb", "EXPLAIN SELECT * FROM Sessions", "only SELECT is allowed"),
    ("duckdb", "BEGIN TRANSACTION", "only SELECT is allowed, not TRANSACTION"),
    ("duckdb", "SET memory_limit = '1TB'", "only SELECT is allowed, not SET"),
    ("duckdb", "PRAGMA database_list", "only SELECT is allowed, not PRAGMA"),
    ("mssql", "MERGE ga_data.Totals AS t USING ga_data.Totals AS s ON 1 = 1 WHEN MATCHED THEN DELETE;", "only SELECT is allowed, not MERGE"),
    ("mssql", "TRUNCATE TABLE ga_data.Hits", "only SELECT is allowed, not TRUNCATE"),
    ("mssql", "GRANT SELECT ON ga_data.Sessions TO public", "only SELECT is allowed, not GRANT"),
    ("mssql", "EXEC xp_cmdshell 'dir'", "only SELECT is allowed, not EXECUTE"),
    ("mssql", "DECLARE @x int", "only SELECT is allowed, not DECLARE"),
    ("mssql", "USE master", "only SELECT is allowed, not USE"),
    ("mssql", "KILL 52", "only SELECT is allowed, not KILL"),
    # COPY, ATTACH and DuckDB's other doors to files, databases and extensions.
    ("duckdb", "COPY ga_data.Sessions TO '/tmp/out.csv'", "only SELECT is allowed, not COPY"),
    ("duckdb", "COPY (SELECT * FROM Sessions) TO '/tmp/out.csv'", "only SELECT is allowed, not COPY"),
    ("duckdb", "ATTACH '/tmp/other.duckdb' AS other", "only SELECT is allowed, not ATTACH"),
    ("duckdb", "DETACH other", "only SELECT is allowed, not DETACH"),
    ("duckdb", "INSTALL httpfs", "only SELECT is allowed, not INSTALL"),
    ("duckdb", "LOAD httpfs", "only SELECT is allowed"),
    ("duckdb", "CALL pragma_version()", "only SELECT is allowed"),
    # A write hidden in a CTE, or a CTE in front of a write.
    ("duckdb", "WITH gone AS (DELETE FROM ga_data.Totals RETURNING *) SELECT * FROM gone", "DELETE is not allowed inside a SELECT"),
    ("duckdb", "WITH x AS (SELECT 1) DELETE FROM ga_data.Totals", "only SELECT is allowed, not DELETE"),
    # SELECT INTO makes a table; FOR UPDATE takes locks.
    ("duckdb", "SELECT * INTO copy FROM Sessions", "INTO is not allowed inside a SELECT"),
    ("mssql", "SELECT * INTO #copy FROM ga_data.Sessions", "INTO is not allowed inside a SELECT"),
    ("mssql", "WITH x AS (SELECT country FROM DeviceGeo) SELECT country INTO #t FROM x", "INTO is not allowed inside a SELECT"),
    ("duckdb", "SELECT * FROM Sessions FOR UPDATE", "LOCK is not allowed inside a SELECT"),
    # Only the six ga_data tables.
    ("duckdb", "SELECT * FROM Orders", "unknown table Orders; the tables are DeviceGeo, Hits, HitsProduct, Sessions, Totals, Traffic"),
    ("duckdb", "SELECT * FROM 'data.csv'", "unknown table data.csv"),
    ("duckdb", "WITH daily AS (SELECT date FROM Sessions) SELECT date FROM ga_data.daily", "unknown table daily"),
    ("duckdb", "SELECT * FROM main.Sessions", "only the ga_data tables can be read, not main.Sessions"),
    ("duckdb", "SELECT * FROM other.main.Sessions", "only the ga_data tables can be read, not other.main.Sessions"),
    ("duckdb", "SELECT * FROM information_schema.tables", "only the ga_data tables can be read, not information_schema.tables"),
    ("mssql", "SELECT * FROM sys.tables", "only the ga_data tables can be read, not sys.tables"),
    ("mssql", "SELECT * FROM dbo.Sessions", "only the ga_data tables can be read, not dbo.Sessions"),
    ("mssql", "SELECT * FROM master.dbo.sysdatabases", "only the ga_data tables can be read, not master.dbo.sysdatabases"),
    # No table functions, wherever they hide.
    ("duckdb", "SELECT * FROM read_csv('/etc/passwd')", "only the ga_data tables can be read, not table functions"),
    ("duckdb", "SELECT n FROM (SELECT COUNT(*) AS n FROM read_parquet('s3://x/*.parquet')) AS t", "not table functions"),
    ("duckdb", "SELECT * FROM Sessions, LATERAL (SELECT * FROM read_csv('/x')) t", "not table functions"),
    ("duckdb", "SELECT * FROM glob('*')", "not table functions"),
    ("duckdb", "SELECT * FROM range(10)", "not table functions"),
    ("duckdb", "SELECT * FROM duckdb_settings()", "not table functions"),
    ("duckdb", "SELECT * FROM query_table('Sessions')", "not table functions"),
    ("mssql", "SELECT * FROM OPENROWSET('SQLNCLI', 'Server=x;', 'SELECT 1')", "not table functions"),
    ("mssql", "SELECT * FROM OPENQUERY(linked, 'SELECT 1')", "not table functions"),
    # Only allowlisted functions, in a CTE or a subquery as well.
    ("duckdb", "SELECT getenv('HOME')", "the function getenv is not allowed"),
    ("duckdb", "SELECT read_text('/etc/passwd')", "the function read_text is not allowed"),
    ("duckdb", "SELECT current_setting('memory_limit')", "the function current_setting is not allowed"),
    ("duckdb", "SELECT pg_sleep(100)", "the function pg_sleep is not allowed"),
    ("duckdb", "SELECT query_table('Sessions')", "the function query_table is not allowed"),
    ("duckdb", "WITH d AS (SELECT getenv('HOME') AS h) SELECT h FROM d", "the function getenv is not allowed"),
    ("duckdb", "SELECT n FROM (SELECT read_text('/etc/passwd') AS n) AS t", "the function read_text is not allowed"),
    ("mssql", "SELECT xp_cmdshell('dir')", "the function xp_cmdshell is not allowed"),
    # Only the tables' columns and the aliases the statement defines.
    ("duckdb", "SELECT password FROM Sessions", "unknown column password"),
    ("duckdb", "SELECT t.secret FROM Sessions AS t", "unknown column secret"),
    ("mssql", "SELECT password FROM ga_data.Sessions", "unknown column password"),
]  # fmt: skip


def short(sql: str) -> str:
    return sql[:60] or "(empty)"


@pytest.mark.parametrize(
    ("dialect", "written", "runs"), ACCEPTED, ids=[f"{d}: {short(s)}" for d, s, _ in ACCEPTED]
)
def test_the_guard_lets_a_safe_select_through_qualified_and_limited(
    dialect: str, written: str, runs: str
) -> None:
    assert guard_select(written, dialect=dialect) == runs


@pytest.mark.parametrize(
    ("dialect", "written", "reason"), REJECTED, ids=[f"{d}: {short(s)}" for d, s, _ in REJECTED]
)
def test_the_guard_refuses_with_a_reason_for_the_model(
    dialect: str, written: str, reason: str
) -> None:
    with pytest.raises(UnsafeSQL) as refused:
        guard_select(written, dialect=dialect)
    assert reason in str(refused.value)


def test_the_row_limit_is_500_unless_the_caller_sets_another() -> None:
    assert MAX_ROWS == 500
    written = "SELECT date FROM Sessions LIMIT 50"
    assert guard_select(written, max_rows=20) == "SELECT date FROM ga_data.Sessions LIMIT 20"
    assert guard_select(written, max_rows=20, dialect="mssql") == (
        "SELECT TOP 20 date FROM ga_data.Sessions"
    )


ON_DUCKDB = [runs for dialect, _, runs in ACCEPTED if dialect == "duckdb"]


@pytest.mark.parametrize("runs", ON_DUCKDB, ids=[short(s) for s in ON_DUCKDB])
def test_what_the_guard_lets_through_on_duckdb_runs_on_the_ga_data_schema(
    warehouse: Warehouse, runs: str
) -> None:
    warehouse.read_only_rows(runs, max_rows=MAX_ROWS, timeout_seconds=5)
