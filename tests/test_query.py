"""The metric layer against metrics.md: every metric x a set of dimensions, on DuckDB,
equal to hand-written SQL to 1e-9; every compiled T-SQL statement parses.

The gold SQL below is written from metrics.md alone, in other words than the compiler
uses (EXISTS instead of hit-grain counts, arithmetic instead of date functions), so a
shared mistake is unlikely.
"""

from __future__ import annotations

import datetime as dt
import json
import math
from pathlib import Path

import pytest
import sqlglot

from kpi.metrics.catalog import METRICS, CatalogError
from kpi.metrics.query import MetricQuery, check_filter_values, compile_sql, run_query

ZONE = "Asia/Seoul"
START, END = dt.date(2026, 11, 2), dt.date(2026, 11, 22)

# Sessions-level expressions, written straight from the metric table of metrics.md
# ("NULL counts as 0": a NULL column adds nothing, and 0 where all are NULL).
GOLD_SESSION = {
    "sessions": "COUNT(*)",
    "users": 'COUNT(DISTINCT s."fullVisitorId")',
    "new_users": 'SUM(COALESCE(t."newVisits", 0))',
    "pageviews": "SUM(COALESCE(t.pageviews, 0))",
    "pages_per_session": "SUM(COALESCE(t.pageviews, 0)) / COUNT(*)",
    "bounce_rate": "SUM(COALESCE(t.bounces, 0)) / COUNT(*)",
    "avg_session_duration": 'SUM(COALESCE(t."timeOnSite", 0)) / COUNT(*)',
    "transactions": "SUM(COALESCE(t.transactions, 0))",
    "revenue": 'SUM(COALESCE(t."totalTransactionRevenue", 0)) / 1e6',
    "conversion_rate": "SUM(COALESCE(t.transactions, 0)) / COUNT(*)",
    "aov": 'SUM(COALESCE(t."totalTransactionRevenue", 0)) / 1e6 / NULLIF(SUM(COALESCE(t.transactions, 0)), 0)',
    "revenue_per_session": 'SUM(COALESCE(t."totalTransactionRevenue", 0)) / 1e6 / COUNT(*)',
    "cart_sessions": "SUM(has_cart)",
    "purchase_sessions": "SUM(has_purchase)",
    "cart_abandonment_rate": "1 - SUM(has_purchase) / NULLIF(SUM(has_cart), 0)",
}
GOLD_DIMENSION = {
    None: "'all'",
    "date": "s.date",
    "week": "s.date - CAST(isodow(s.date) - 1 AS INTEGER)",
    "month": "make_date(year(s.date), month(s.date), 1)",
    "weekday": "(dayofweek(s.date) + 6) % 7 + 1",
    "hour": '(("visitStartTime" + 9 * 3600) % 86400) // 3600',  # Seoul has no DST
    "channel": 's."channelGrouping"',
    "source": "tr.source",
    "device": 'dg."deviceCategory"',
    "country": "dg.country",
    "browser": "dg.browser",
}
SESSION_FROM = f"""
    FROM ga_data."Sessions" s
    JOIN ga_data."Totals" t USING (session_key)
    JOIN ga_data."Traffic" tr USING (session_key)
    JOIN ga_data."DeviceGeo" dg USING (session_key)
    CROSS JOIN LATERAL (SELECT
        CASE WHEN EXISTS (SELECT 1 FROM ga_data."Hits" h WHERE h.session_key = s.session_key
                          AND h."actionType" = '3') THEN 1 ELSE 0 END AS has_cart,
        CASE WHEN EXISTS (SELECT 1 FROM ga_data."Hits" h WHERE h.session_key = s.session_key
                          AND h."actionType" = '6') THEN 1 ELSE 0 END AS has_purchase) f
    WHERE s.date BETWEEN DATE '{START}' AND DATE '{END}'"""


def gold(warehouse, metric: str, dim: str | None, where: str = "") -> dict:
    if metric == "product_revenue":
        expression = (
            GOLD_DIMENSION[dim]
            if dim in GOLD_DIMENSION
            else {
                "product_category": "regexp_extract(p.\"v2ProductCategory\", '^[^/]*/([^/]*)', 1)",
                "product_name": 'p."v2ProductName"',
            }[dim]
        )
        sql = f"""SELECT {expression} AS k, SUM(COALESCE(p."productRevenue", 0)) / 1e6 AS v
                  FROM ga_data."HitsProduct" p JOIN ga_data."Hits" h USING (hit_key)
                  JOIN ga_data."Sessions" s USING (session_key)
                  JOIN ga_data."DeviceGeo" dg USING (session_key)
                  JOIN ga_data."Traffic" tr USING (session_key)
                  WHERE h."actionType" = '6' AND s.date BETWEEN DATE '{START}' AND DATE '{END}'
                  {where} GROUP BY 1"""
    else:
        sql = f"SELECT {GOLD_DIMENSION[dim]} AS k, {GOLD_SESSION[metric]} AS v {SESSION_FROM} {where} GROUP BY 1"
    return {row["k"]: row["v"] for row in warehouse.query(sql)}


def measured(warehouse, metric: str, dim: str | None, filters=None) -> dict:
    query = MetricQuery.build([metric], START, END, [dim] if dim else [], filters)
    rows = run_query(warehouse, query, zone=ZONE).rows
    return {(row[dim] if dim else "all"): row[metric] for row in rows}


def assert_same(expected: dict, actual: dict) -> None:
    # A group with no cart hits has no hit-grain row; the gold counts it as 0 (or NULL).
    for key, value in expected.items():
        got = actual.get(key)
        if got is None:
            assert value in (0, None), (key, value)
        else:
            assert value is not None and math.isclose(got, value, rel_tol=1e-9, abs_tol=1e-9), (
                key,
                got,
                value,
            )
    assert set(actual) <= set(expected)


SESSION_DIMENSIONS = [
    None,
    "date",
    "week",
    "month",
    "weekday",
    "hour",
    "channel",
    "source",
    "device",
    "country",
]


@pytest.mark.parametrize("dim", SESSION_DIMENSIONS)
@pytest.mark.parametrize("metric", [m for m in METRICS if m != "product_revenue"])
def test_every_metric_by_every_dimension_equals_the_hand_written_sql(four_weeks, metric, dim):
    assert_same(gold(four_weeks, metric, dim), measured(four_weeks, metric, dim))


@pytest.mark.parametrize("dim", [None, "product_category", "product_name", "device", "date"])
def test_product_revenue_by_product_dimensions(four_weeks, dim):
    assert_same(
        gold(four_weeks, "product_revenue", dim), measured(four_weeks, "product_revenue", dim)
    )


@pytest.mark.parametrize("metric", ["revenue", "conversion_rate", "cart_abandonment_rate", "users"])
def test_filters_restrict_to_the_named_segment(four_weeks, metric):
    expected = gold(four_weeks, metric, "channel", "AND dg.\"deviceCategory\" = 'mobile'")
    assert_same(expected, measured(four_weeks, metric, "channel", {"device": "모바일"}))


def test_product_revenue_equals_revenue_when_every_purchase_lists_its_products(four_weeks):
    query = MetricQuery.build(["revenue", "product_revenue"], START, END)
    row = run_query(four_weeks, query, zone=ZONE).rows[0]
    assert math.isclose(row["revenue"], row["product_revenue"], rel_tol=1e-9)


def test_a_ratio_over_nothing_is_none_not_an_error(four_weeks):
    query = MetricQuery.build(
        ["conversion_rate", "aov", "sessions"], dt.date(2020, 1, 1), dt.date(2020, 1, 2)
    )
    assert run_query(four_weeks, query, zone=ZONE).rows == [
        {"conversion_rate": None, "aov": None, "sessions": 0}
    ]


def test_limit_and_order_give_the_top_segments(four_weeks):
    query = MetricQuery.build(["users"], START, END, ["country"], limit=3)
    rows = run_query(four_weeks, query, zone=ZONE).rows
    assert [r["country"] for r in rows][:1] == ["United States"]
    assert len(rows) == 3
    assert rows[0]["users"] >= rows[1]["users"] >= rows[2]["users"]


def test_time_dimensions_come_in_time_order(four_weeks):
    rows = run_query(
        four_weeks, MetricQuery.build(["revenue"], START, END, ["date"]), zone=ZONE
    ).rows
    assert [r["date"] for r in rows] == [START + dt.timedelta(days=i) for i in range(21)]


def test_metrics_of_several_grains_come_back_in_one_row_per_segment(four_weeks):
    query = MetricQuery.build(["revenue", "cart_abandonment_rate"], START, END, ["device"])
    rows = run_query(four_weeks, query, zone=ZONE).rows
    assert {r["device"] for r in rows} == {"desktop", "mobile", "tablet"}
    assert all(set(r) == {"device", "revenue", "cart_abandonment_rate"} for r in rows)
    assert rows[0]["device"] == "desktop"  # ordered by the first metric


def test_comparison_runs_the_same_query_on_the_shifted_period(four_weeks):
    query = MetricQuery.build(
        ["sessions"], dt.date(2026, 11, 16), dt.date(2026, 11, 22), compare="previous"
    )
    result = run_query(four_weeks, query, zone=ZONE)
    previous = gold_sessions(four_weeks, dt.date(2026, 11, 9), dt.date(2026, 11, 15))
    assert result.comparison is not None
    assert result.comparison.rows[0]["sessions"] == previous
    assert result.to_dict()["comparison"]["start"] == "2026-11-09"


def gold_sessions(warehouse, start, end) -> int:
    return warehouse.query(f"""SELECT COUNT(*) AS n FROM ga_data."Sessions"
                               WHERE date BETWEEN DATE '{start}' AND DATE '{end}'""")[0]["n"]


@pytest.mark.parametrize(
    "dim", [*SESSION_DIMENSIONS[1:], "campaign", "medium", "os", "continent", "city"]
)
def test_every_compiled_tsql_statement_parses(dim):
    for metric in METRICS:
        dims = [dim] if metric != "product_revenue" else ["product_category", dim]
        query = MetricQuery.build([metric], START, END, dims, {"device": "mobile"}, limit=5)
        for statement in compile_sql(query, dialect="mssql", zone=ZONE).split(";\n\n"):
            sqlglot.parse_one(statement.rstrip(";"), read="tsql")


def test_tsql_uses_tsql_spellings():
    query = MetricQuery.build(["revenue"], START, END, ["week"], limit=5)
    sql = compile_sql(query, dialect="mssql", zone=ZONE)
    assert sql.startswith("SELECT TOP 5")
    assert "@@DATEFIRST" in sql and "date_trunc" not in sql


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (lambda: MetricQuery.build(["revenu"], START, END), "did you mean revenue"),
        (lambda: MetricQuery.build(["revenue"], START, END, ["devise"]), "did you mean device"),
        (
            lambda: MetricQuery.build(["revenue"], START, END, ["product_category"]),
            "product metrics only",
        ),
        (lambda: MetricQuery.build(["revenue"], END, START), "before it starts"),
        (lambda: MetricQuery.build([], START, END), "at least one metric"),
    ],
)
def test_bad_names_get_a_clear_message_with_close_matches(build, message):
    with pytest.raises(CatalogError, match=message):
        build()


def test_an_unknown_filter_value_lists_close_matches(four_weeks):
    query = MetricQuery.build(["sessions"], START, END, filters={"country": "United Kingdon"})
    with pytest.raises(CatalogError, match="did you mean United Kingdom"):
        check_filter_values(four_weeks, query, zone=ZONE)
    fixed = check_filter_values(
        four_weeks,
        MetricQuery.build(["sessions"], START, END, filters={"device": "MOBILE"}),
        zone=ZONE,
    )
    assert fixed.filters == (("device", ("mobile",)),)


def test_the_example_questions_meanings_run(four_weeks):
    path = Path(__file__).resolve().parents[2] / "shared" / "questions.jsonl"
    for line in path.read_text().splitlines():
        q = json.loads(line)
        if q["route"] != "sql":
            continue
        query = MetricQuery.build(
            q["metrics"],
            dt.date.fromisoformat(q["start"]),
            dt.date.fromisoformat(q["end"]),
            q["dimensions"],
            q["filters"],
            limit=q.get("limit"),
        )
        result = run_query(four_weeks, check_filter_values(four_weeks, query, zone=ZONE), zone=ZONE)
        assert result.rows, q["q"]


def test_visitor_type_splits_sessions_by_their_first_visit_flag(four_weeks):
    query = MetricQuery.build(["sessions"], dt.date(2026, 11, 1), dt.date(2026, 11, 22),
                              ["visitor_type"], {"country": "United States"})  # fmt: skip
    got = {r["visitor_type"]: r["sessions"] for r in run_query(four_weeks, query, zone=ZONE).rows}
    expected = four_weeks.query(
        "SELECT CASE WHEN t.newVisits = 1 THEN 'new' ELSE 'returning' END AS kind, COUNT(*) AS n "
        "FROM ga_data.Sessions s JOIN ga_data.Totals t USING (session_key) "
        "JOIN ga_data.DeviceGeo d USING (session_key) WHERE s.date BETWEEN '2026-11-01' AND "
        "'2026-11-22' AND d.country = 'United States' GROUP BY 1"
    )
    assert got == {r["kind"]: r["n"] for r in expected}


# --- The query contract: one JSON shape everywhere ---------------------------------------


def test_a_query_reads_back_from_its_dict_unchanged():
    query = MetricQuery.build(["revenue", "sessions"], START, END, ["device"],
                              {"channel": ["Referral", "Direct"]}, order_by="revenue",
                              descending=False, limit=3, compare="week")  # fmt: skip
    data = json.loads(json.dumps(query.to_dict()))
    assert MetricQuery.from_dict(data) == query


def test_a_query_dict_may_name_one_filter_value_as_a_string_and_leave_out_the_optional_keys():
    data = {"metrics": ["매출"], "start": "2026-11-02", "end": "2026-11-22",
            "filters": {"기기": "모바일"}}  # fmt: skip
    assert MetricQuery.from_dict(data) == MetricQuery.build(
        ["revenue"], START, END, filters={"device": ["mobile"]}
    )


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"metrics": ["revenue"], "start": "2026-11-02"}, "a query needs end"),
        ({"metrics": ["revenu"], "start": "2026-11-02", "end": "2026-11-22"}, "revenue"),
        ({"metrics": ["revenue"], "start": "11/02", "end": "2026-11-22"}, "isoformat"),
    ],
)
def test_a_damaged_query_dict_is_refused_with_a_reason(data, message):
    with pytest.raises((CatalogError, ValueError), match=message):
        MetricQuery.from_dict(data)
