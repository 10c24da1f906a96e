"""Why a metric moved: exact attributions, and planted causes found on top.

Each planted-cause test generates three weeks of the store, plants one cause in the
last week with plain SQL, and asks the driver analysis about last week against the week
before. Week-to-week noise of the calibrated store is real (revenue moves ~8 % a week on
its own), so the planted causes are ones a marketer would notice: the tests check the
cause comes out on top with the right kind of effect, not a single exact number.
"""

from __future__ import annotations

import datetime as dt
import math

import pytest

from kpi.insights.drivers import explain, shapley
from kpi.sample.generate import generate
from tests.conftest import SEOUL, new_warehouse

ZONE = "Asia/Seoul"
WEEK_BEFORE = (dt.date(2026, 11, 9), dt.date(2026, 11, 15))
LAST_WEEK = (dt.date(2026, 11, 16), dt.date(2026, 11, 22))
IN_LAST_WEEK = f"s.date BETWEEN DATE '{LAST_WEEK[0]}' AND DATE '{LAST_WEEK[1]}'"
SESSION_TABLES = ["Totals", "Traffic", "DeviceGeo", "Hits", "Sessions"]


@pytest.fixture
def store(tmp_path):
    warehouse = new_warehouse(tmp_path)
    generate(warehouse, days=21, end=LAST_WEEK[1], zone=SEOUL, seed=21)
    yield warehouse
    warehouse.close()


def plant(warehouse, sql: str) -> None:
    with warehouse.engine.begin() as conn:
        conn.exec_driver_sql(sql)


def test_shapley_parts_add_up_to_the_change_in_any_order():
    before, after = [1000.0, 0.012, 130.0], [900.0, 0.006, 150.0]
    parts = shapley(before, after, lambda *factors: math.prod(factors))
    assert math.isclose(sum(parts), math.prod(after) - math.prod(before), rel_tol=1e-12)
    assert parts[1] < parts[0] < 0 < parts[2]  # conversion halved hurt most, AOV helped


@pytest.mark.parametrize("metric", ["revenue", "conversion_rate", "bounce_rate", "sessions", "aov"])
def test_segment_parts_add_up_exactly_to_the_total_change(four_weeks, metric):
    report = explain(four_weeks, metric, LAST_WEEK, WEEK_BEFORE, zone=ZONE)
    for dimension, drivers in report.by_dimension.items():
        assert math.isclose(
            sum(d.contribution for d in drivers), report.change, rel_tol=1e-9, abs_tol=1e-12
        ), dimension
        for driver in drivers:
            assert math.isclose(
                sum(e.contribution for e in driver.effects),
                driver.contribution,
                rel_tol=1e-9,
                abs_tol=1e-12,
            )
    if metric == "revenue":
        assert math.isclose(
            sum(f.contribution for f in report.factors), report.change, rel_tol=1e-9
        )


def test_referral_conversion_halved_is_why_revenue_fell(store):
    # Half of last week's Referral orders never happened.
    plant(
        store,
        f"""UPDATE ga_data."Totals" SET transactions = NULL, "totalTransactionRevenue" = NULL
        WHERE session_key IN (SELECT s.session_key FROM ga_data."Sessions" s
            JOIN ga_data."Totals" t USING (session_key)
            WHERE s."channelGrouping" = 'Referral' AND t.transactions = 1 AND {IN_LAST_WEEK}
              AND hash(s.session_key) % 2 = 0)""",
    )
    report = explain(store, "revenue", LAST_WEEK, WEEK_BEFORE, zone=ZONE)
    assert report.change < 0
    assert min(report.factors, key=lambda f: f.contribution).factor == "conversion_rate"
    top = report.top_drivers[0]
    assert (top.dimension, top.segment) == ("channel", "Referral")
    assert top.main_effect.factor == "conversion_rate"


def test_mobile_traffic_halved_is_why_sessions_fell(store):
    doomed = f"""SELECT s.session_key FROM ga_data."Sessions" s JOIN ga_data."DeviceGeo" d USING (session_key)
                 WHERE d."deviceCategory" = 'mobile' AND {IN_LAST_WEEK} AND hash(s.session_key) % 2 = 0"""
    plant(store, f"CREATE TEMP TABLE doomed AS {doomed}")
    for table in SESSION_TABLES:
        plant(
            store,
            f'DELETE FROM ga_data."{table}" WHERE session_key IN (SELECT session_key FROM doomed)',
        )
    report = explain(store, "sessions", LAST_WEEK, WEEK_BEFORE, zone=ZONE)
    top = report.top_drivers[0]
    assert (top.dimension, top.segment) == ("device", "mobile")
    assert top.share_of_change > 0.8


def test_a_flood_of_social_traffic_lowers_conversion_through_mix_not_rate(store):
    # Social visitors (who almost never buy) doubled last week: copies with new keys.
    columns = {t: [r["column_name"] for r in store.query(
        f"SELECT column_name FROM information_schema.columns WHERE table_name = '{t}' ORDER BY ordinal_position")]
        for t in ["Sessions", "Totals", "Traffic", "DeviceGeo"]}  # fmt: skip
    plant(
        store,
        f"""CREATE TEMP TABLE social AS SELECT s.session_key FROM ga_data."Sessions" s
                     WHERE s."channelGrouping" = 'Social' AND {IN_LAST_WEEK}""",
    )
    for table, names in columns.items():
        select = ", ".join(
            "session_key || '-copy'" if c == "session_key" else f'"{c}"' for c in names
        )
        plant(
            store,
            f"""INSERT INTO ga_data."{table}" SELECT {select} FROM ga_data."{table}"
                         WHERE session_key IN (SELECT session_key FROM social)""",
        )
    report = explain(store, "conversion_rate", LAST_WEEK, WEEK_BEFORE, zone=ZONE)
    assert report.change < 0
    top = report.top_drivers[0]
    assert (top.dimension, top.segment) == ("channel", "Social")
    assert top.main_effect.factor == "mix"


def test_why_refuses_metrics_it_cannot_split(four_weeks):
    from kpi.metrics.catalog import CatalogError

    with pytest.raises(CatalogError, match="session metrics"):
        explain(four_weeks, "cart_abandonment_rate", LAST_WEEK, WEEK_BEFORE, zone=ZONE)
