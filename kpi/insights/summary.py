"""The morning KPI summary for one day: every headline metric with its change against
the day before and the same weekday a week before, the segments that moved most, and
14 days of each metric for a sparkline.

Four queries in all: the headline metrics by date over 15 days (which gives the day,
both comparisons and the sparkline), then sessions and revenue by date and segment for
channel, device and country on the day and a week before.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass, field
from typing import Any

from kpi.metrics.catalog import HEADLINE_METRICS, METRICS
from kpi.metrics.query import MetricQuery, run_query

MOVER_DIMENSIONS = ("channel", "device", "country")
MOVER_METRICS = ("sessions", "revenue")
SPARKLINE_DAYS = 14


@dataclass(frozen=True)
class KpiLine:
    metric: str
    value: float | None
    previous_day: float | None
    week_ago: float | None

    @property
    def change_vs_previous_day(self) -> float | None:
        return relative_change(self.value, self.previous_day, METRICS[self.metric].unit == "ratio")

    @property
    def change_vs_week_ago(self) -> float | None:
        return relative_change(self.value, self.week_ago, METRICS[self.metric].unit == "ratio")


@dataclass(frozen=True)
class Mover:
    dimension: str
    segment: str
    metric: str
    value: float
    week_ago: float
    change: float  # absolute, in the metric's unit


@dataclass
class DailySummary:
    date: dt.date
    kpis: list[KpiLine]
    movers: list[Mover]
    series: dict[str, list[tuple[dt.date, float | None]]] = field(default_factory=dict)

    def kpi(self, metric: str) -> KpiLine:
        return next(line for line in self.kpis if line.metric == metric)

    def to_dict(self) -> dict[str, Any]:
        return {
            "date": self.date.isoformat(),
            "kpis": [
                {
                    **asdict(line),
                    "change_vs_previous_day": line.change_vs_previous_day,
                    "change_vs_week_ago": line.change_vs_week_ago,
                }
                for line in self.kpis
            ],
            "movers": [asdict(m) for m in self.movers],
            "series": {
                name: [{"date": d.isoformat(), "value": v} for d, v in points]
                for name, points in self.series.items()
            },
        }


def relative_change(current: float | None, previous: float | None, is_ratio: bool) -> float | None:
    """Change as a fraction of before (0.12 = +12 %); for ratio metrics the difference
    itself (0.002 = +0.2 percentage points), which is how marketers read rates."""
    if current is None or previous is None:
        return None
    if is_ratio:
        return current - previous
    if previous == 0:
        return None
    return (current - previous) / abs(previous)


def daily_summary(
    warehouse: Any, day: dt.date, *, zone: str, movers_per_dimension: int = 2
) -> DailySummary:
    """The summary of `day` (usually yesterday in the reporting time zone)."""
    first = day - dt.timedelta(days=SPARKLINE_DAYS)
    query = MetricQuery.build(HEADLINE_METRICS, first, day, ["date"])
    by_date = {row["date"]: row for row in run_query(warehouse, query, zone=zone).rows}

    def value(name: str, when: dt.date) -> float | None:
        return by_date.get(when, {}).get(name)

    kpis = [
        KpiLine(name, value(name, day), value(name, day - dt.timedelta(days=1)),
                value(name, day - dt.timedelta(days=7)))
        for name in HEADLINE_METRICS
    ]  # fmt: skip
    spark_days = [day - dt.timedelta(days=i) for i in range(SPARKLINE_DAYS - 1, -1, -1)]
    series = {name: [(d, value(name, d)) for d in spark_days] for name in HEADLINE_METRICS}
    movers = _movers(warehouse, day, zone, movers_per_dimension)
    return DailySummary(day, kpis, movers, series)


def _movers(warehouse: Any, day: dt.date, zone: str, per_dimension: int) -> list[Mover]:
    week_ago = day - dt.timedelta(days=7)
    movers: list[Mover] = []
    for dim in MOVER_DIMENSIONS:
        query = MetricQuery.build(MOVER_METRICS, week_ago, day, ["date", dim])
        rows = [
            r for r in run_query(warehouse, query, zone=zone).rows if r["date"] in (day, week_ago)
        ]
        for name in MOVER_METRICS:
            now = {str(r[dim]): r[name] or 0 for r in rows if r["date"] == day}
            then = {str(r[dim]): r[name] or 0 for r in rows if r["date"] == week_ago}
            changes = [
                Mover(dim, segment, name, now.get(segment, 0), then.get(segment, 0),
                      now.get(segment, 0) - then.get(segment, 0))
                for segment in set(now) | set(then)
            ]  # fmt: skip
            changes.sort(key=lambda m: (-abs(m.change), m.segment))
            movers.extend(m for m in changes[:per_dimension] if m.change != 0)
    return movers
