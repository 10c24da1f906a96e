"""The warehouse (kpi/storage/warehouse.py) a database URL opens: Azure SQL through
pyodbc with a statement time-out on every connection, DuckDB with its buffer pool capped."""

from __future__ import annotations

from types import SimpleNamespace

from sqlalchemy import text

from kpi.storage.warehouse import StatementTimeout, open_warehouse


def test_an_azure_sql_url_gives_an_mssql_warehouse_with_a_query_timeout() -> None:
    url = (
        "mssql+pyodbc://commercy:secret@example.database.windows.net:1433/ga"
        "?driver=ODBC+Driver+18+for+SQL+Server&Encrypt=yes&TrustServerCertificate=no"
    )
    warehouse = open_warehouse(url, query_timeout_seconds=12)  # builds; connects lazily
    assert warehouse.engine.dialect.name == "mssql"
    assert warehouse.engine.dialect.fast_executemany
    # pyodbc has no URL option for a statement time-out: each new connection gets one.
    hooks = [h for h in warehouse.engine.pool.dispatch.connect if isinstance(h, StatementTimeout)]
    assert len(hooks) == 1
    connection = SimpleNamespace(timeout=0)  # stands in for a pyodbc connection
    hooks[0](connection, None)
    assert connection.timeout == 12


def test_a_memory_limit_caps_duckdbs_buffer_pool_unless_the_url_sets_its_own(tmp_path) -> None:
    def limit(url: str) -> str:
        warehouse = open_warehouse(url, memory_limit="256MB")
        with warehouse.engine.connect() as conn:
            value = conn.execute(text("SELECT current_setting('memory_limit')")).scalar_one()
        warehouse.engine.dispose()
        return value

    assert limit(f"duckdb:///{tmp_path / 'a.duckdb'}") == "244.1 MiB"  # DuckDB shows MiB
    assert limit(f"duckdb:///{tmp_path / 'b.duckdb'}?memory_limit=1GB") == "953.6 MiB"
