"""The ga_data schema: one metadata, DDL for DuckDB and Azure SQL, created idempotently."""

from __future__ import annotations

import datetime as dt

import sqlglot
from click.testing import CliRunner
from sqlalchemy import text
from sqlglot import exp

from bot.cli import cli
from kpi.storage.schema import ALL_TABLES, TABLES, ddl

METRICS_MD_COLUMNS = {
    "Sessions": ["session_key", "visitNumber", "visitId", "visitStartTime", "date",
                 "fullVisitorId", "channelGrouping", "socialEngagementType"],
    "Totals": ["session_key", "visits", "hits", "pageviews", "timeOnSite", "bounces",
               "transactions", "newVisits", "totalTransactionRevenue", "sessionQualityDim"],
    "Traffic": ["session_key", "referralPath", "campaign", "source", "medium", "keyword",
                "adContent", "adwordsPage", "adwordsSlot", "gclId", "adNetworkType",
                "isTrueDirect"],
    "DeviceGeo": ["session_key", "browser", "operatingSystem", "deviceCategory", "continent",
                  "subContinent", "country", "region", "metro", "city"],
    "Hits": ["hit_key", "session_key", "hitNumber", "time", "hour", "minute", "isInteraction",
             "isEntrance", "isExit", "pagePath", "hostname", "pageTitle", "transactionId",
             "eventCategory", "eventAction", "eventLabel", "actionType", "hitType",
             "product_productQuantity"],
    "HitsProduct": ["product_hit_key", "hit_key", "v2ProductName", "v2ProductCategory",
                    "productBrand", "productPrice", "productRevenue", "isImpression", "isClick",
                    "productListName", "productListPosition", "productSKU"],
}  # fmt: skip


def _statements(dialect: str) -> list[str]:
    separator = "\nGO\n" if dialect == "mssql" else ";\n"
    return [s.strip() for s in ddl(dialect).split(separator) if s.strip()]


def test_every_table_and_column_of_the_existing_schema_is_there() -> None:
    tables = {t.name: [c.name for c in t.columns] for t in TABLES}
    assert set(tables) == set(METRICS_MD_COLUMNS)
    for name, columns in METRICS_MD_COLUMNS.items():
        missing = set(columns) - set(tables[name])
        assert not missing, f"{name} lacks {missing}"


def test_money_is_bigint_micros() -> None:
    by_name = {t.name: t for t in TABLES}
    for table, column in [("Totals", "totalTransactionRevenue"), ("HitsProduct", "productPrice"),
                          ("HitsProduct", "productRevenue")]:  # fmt: skip
        assert str(by_name[table].c[column].type) == "BIGINT"


def test_the_tsql_ddl_parses_as_tsql_with_sqlglot() -> None:
    statements = _statements("mssql")
    created = []
    for statement in statements:
        tree = sqlglot.parse_one(statement, read="tsql")
        assert isinstance(tree, exp.Create), statement
        if tree.args.get("kind") == "TABLE":
            created.append(tree.this.this.name)
    assert created == [t.name for t in ALL_TABLES]
    assert any("ix_sessions_visitstarttime" in s for s in statements)
    assert "DATE NOT NULL" in ddl("mssql")  # a real DATE, not SQL Server 2005's DATETIME


def test_the_duckdb_ddl_runs_on_duckdb() -> None:
    import duckdb

    connection = duckdb.connect()
    for statement in _statements("duckdb"):
        connection.execute(statement)
    tables = connection.execute(
        "SELECT table_name FROM information_schema.tables WHERE table_schema = 'ga_data'"
    ).fetchall()
    assert {name for (name,) in tables} == {t.name for t in ALL_TABLES}


def test_creating_the_schema_twice_changes_nothing(warehouse) -> None:
    warehouse.create_schema()
    warehouse.create_schema()
    assert set(warehouse.row_counts().values()) == {0}


def test_a_warehouse_made_before_the_time_columns_gets_them_added_and_filled(tmp_path) -> None:
    from kpi.sample.generate import generate
    from tests.conftest import SEOUL, new_warehouse

    warehouse = new_warehouse(tmp_path)
    generate(warehouse, end=dt.date(2026, 11, 23), days=1, zone=SEOUL, scale=0.05, seed=3)
    with warehouse.engine.begin() as conn:
        for table in ("Totals", "Hits"):  # the layout an older Commercy made
            conn.execute(text(f'ALTER TABLE ga_data."{table}" DROP COLUMN "sessionStartTime"'))

    warehouse.create_schema()

    for table in ("Totals", "Hits"):
        (row,) = warehouse.query(
            f'SELECT count(*) AS n, count(x."sessionStartTime") AS filled, '
            f'count(*) FILTER (WHERE x."sessionStartTime" = s."visitStartTime") AS right '
            f'FROM ga_data."{table}" x JOIN ga_data."Sessions" s USING (session_key)'
        )
        assert row["n"] > 0
        assert row["filled"] == row["right"] == row["n"], table


def test_the_cli_prints_the_ddl_for_each_dialect() -> None:
    runner = CliRunner()
    tsql = runner.invoke(cli, ["data", "ddl", "--dialect", "mssql"], obj={})
    assert tsql.exit_code == 0
    assert "CREATE TABLE ga_data.[Hits]" in tsql.output
    duck = runner.invoke(cli, ["data", "ddl", "--dialect", "duckdb"], obj={})
    assert 'CREATE TABLE ga_data."Hits"' in duck.output
    wrong = runner.invoke(cli, ["data", "ddl", "--dialect", "oracle"], obj={})
    assert wrong.exit_code == 2
