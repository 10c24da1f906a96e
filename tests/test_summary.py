"""The morning summary: the same numbers as the metric layer, changes, movers, trends."""

from __future__ import annotations

import datetime as dt
import math

import pytest

from kpi.insights.summary import daily_summary, relative_change
from kpi.metrics.catalog import HEADLINE_METRICS
from kpi.metrics.query import MetricQuery, run_query

ZONE = "Asia/Seoul"
DAY = dt.date(2026, 11, 23)


@pytest.fixture(scope="module")
def summary(four_weeks):
    return daily_summary(four_weeks, DAY, zone=ZONE)


def value_on(warehouse, metric: str, day: dt.date):
    return run_query(warehouse, MetricQuery.build([metric], day, day), zone=ZONE).total(metric)


def test_every_headline_metric_is_there_with_the_metric_layers_numbers(four_weeks, summary):
    assert [line.metric for line in summary.kpis] == list(HEADLINE_METRICS)
    for line in summary.kpis:
        assert line.value == pytest.approx(value_on(four_weeks, line.metric, DAY), rel=1e-12)
        assert line.previous_day == pytest.approx(
            value_on(four_weeks, line.metric, DAY - dt.timedelta(days=1)), rel=1e-12
        )
        assert line.week_ago == pytest.approx(
            value_on(four_weeks, line.metric, DAY - dt.timedelta(days=7)), rel=1e-12
        )


def test_changes_are_relative_for_amounts_and_in_points_for_rates(summary):
    revenue = summary.kpi("revenue")
    assert revenue.change_vs_week_ago == pytest.approx(revenue.value / revenue.week_ago - 1)
    conversion = summary.kpi("conversion_rate")
    assert conversion.change_vs_previous_day == pytest.approx(
        conversion.value - conversion.previous_day
    )
    assert relative_change(5.0, 0.0, False) is None
    assert relative_change(None, 1.0, False) is None


def test_fourteen_days_of_each_metric_end_on_the_day(summary):
    for points in summary.series.values():
        assert [d for d, _ in points] == [DAY - dt.timedelta(days=13 - i) for i in range(14)]
    assert summary.series["sessions"][-1][1] == summary.kpi("sessions").value


def test_movers_are_the_largest_changes_against_the_same_weekday(four_weeks, summary):
    assert {m.dimension for m in summary.movers} == {"channel", "device", "country"}
    for mover in summary.movers:
        assert math.isclose(mover.change, mover.value - mover.week_ago, abs_tol=1e-9)
    devices = run_query(
        four_weeks,
        MetricQuery.build(["sessions"], DAY - dt.timedelta(days=7), DAY, ["date", "device"]),
        zone=ZONE,
    ).rows
    change = {d: sum(r["sessions"] for r in devices if r["device"] == d and r["date"] == DAY)
              - sum(r["sessions"] for r in devices if r["device"] == d and r["date"] == DAY - dt.timedelta(days=7))
              for d in ("desktop", "mobile", "tablet")}  # fmt: skip
    biggest = max(change, key=lambda d: abs(change[d]))
    session_movers = [
        m for m in summary.movers if m.dimension == "device" and m.metric == "sessions"
    ]
    assert session_movers[0].segment == biggest


def test_a_day_without_data_gives_empty_values_not_an_error(four_weeks):
    empty = daily_summary(four_weeks, dt.date(2020, 1, 1), zone=ZONE)
    assert all(line.value is None for line in empty.kpis)
    assert empty.movers == []
    assert empty.to_dict()["date"] == "2020-01-01"
