"""Why did a metric move? Exact attribution of a change between two periods.

Revenue is sessions x conversion rate x order value. The change of the whole is split
among those factors, and among the segments of channel, device, country and source: a
segment's revenue is its sessions x its conversion rate x its order value, so its part
of the change splits into a traffic effect and two rate effects. A ratio metric
(conversion rate = transactions / sessions) is the sessions-weighted mean of the
segments' rates, so a segment's part splits into a *mix* effect (its share of sessions
moved; measured against the store's average rate, so more traffic of a weak segment
counts against that segment, not against the strong ones it displaced) and a *rate*
effect (its own rate moved). A count (sessions) moves by each segment's own change;
distinct counts (users) are not additive, since one visitor can sit in two segments.

Each split is a Shapley value: the average marginal effect of a factor over every order
in which the factors could change. Shapley parts add up to the total change exactly,
need no logarithms (zeros are fine) and do not depend on which factor is named first.

Which segment explains a change best is not the one with the largest part (desktop
"explains" nearly all revenue moves because it earns nearly all revenue) but the one
whose part most exceeds its size: `concentration` = its share of the change minus its
share of the baseline. The top drivers are ranked by that.
"""

from __future__ import annotations

import datetime as dt
import itertools
import math
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from kpi.metrics.catalog import METRICS, CatalogError, metric
from kpi.metrics.query import MetricQuery, run_query, run_together

DRIVER_DIMENSIONS = ("channel", "device", "country", "source")


def shapley(
    before: Sequence[float], after: Sequence[float], value: Callable[..., float]
) -> list[float]:
    """Each factor's share of value(*after) - value(*before), exactly additive."""
    n = len(before)
    shares = [0.0] * n
    orders = list(itertools.permutations(range(n)))
    for order in orders:
        current = list(before)
        previous_value = value(*current)
        for factor in order:
            current[factor] = after[factor]
            new_value = value(*current)
            shares[factor] += new_value - previous_value
            previous_value = new_value
    return [share / len(orders) for share in shares]


def _product(*factors: float) -> float:
    return math.prod(factors)


@dataclass(frozen=True)
class Effect:
    """One part of the change: a factor of the whole, or of one segment."""

    factor: str  # sessions | conversion_rate | aov | mix | volume | rate | change
    contribution: float


@dataclass(frozen=True)
class SegmentDriver:
    dimension: str
    segment: str
    before: float | None
    after: float | None
    contribution: float  # the segment's part of the total change; effects add up to it
    effects: tuple[Effect, ...]
    share_of_baseline: float = 0.0  # its weight in the baseline (revenue, sessions, ...)
    share_of_change: float = 0.0  # contribution / total change

    @property
    def concentration(self) -> float:
        return self.share_of_change - self.share_of_baseline

    @property
    def main_effect(self) -> Effect:
        return max(self.effects, key=lambda e: abs(e.contribution))


@dataclass
class DriverReport:
    metric: str
    current: tuple[dt.date, dt.date]
    baseline: tuple[dt.date, dt.date]
    before: float | None
    after: float | None
    change: float | None
    factors: list[Effect] = field(default_factory=list)  # the whole, e.g. sessions x cvr x aov
    by_dimension: dict[str, list[SegmentDriver]] = field(default_factory=dict)

    @property
    def top_drivers(self) -> list[SegmentDriver]:
        """Segments of every dimension that moved the metric the way it went, the most
        concentrated cause first (see the module's docstring)."""
        direction = 1 if (self.change or 0) >= 0 else -1
        every = [d for drivers in self.by_dimension.values() for d in drivers]
        pushing = [d for d in every if d.contribution * direction > 0 and d.segment != "(other)"]
        # Names break ties, so every process ranks the same (segments come from sets).
        return sorted(pushing, key=lambda d: (-d.concentration, -abs(d.contribution),
                                              d.dimension, d.segment))  # fmt: skip

    def to_dict(self) -> dict[str, Any]:
        return {
            "metric": self.metric,
            "current": {"start": self.current[0].isoformat(), "end": self.current[1].isoformat()},
            "baseline": {
                "start": self.baseline[0].isoformat(),
                "end": self.baseline[1].isoformat(),
            },
            "before": self.before,
            "after": self.after,
            "change": self.change,
            "factors": [asdict(f) for f in self.factors],
            "top_drivers": [
                {**asdict(d), "concentration": d.concentration} for d in self.top_drivers[:10]
            ],
            "by_dimension": {k: [asdict(d) for d in v] for k, v in self.by_dimension.items()},
        }


def _components(metric_name: str) -> tuple[str, ...]:
    """Metrics whose values rebuild `metric_name` for a segment (the query asks for them)."""
    if metric_name == "revenue":
        return ("sessions", "conversion_rate", "aov", "revenue")
    m = METRICS[metric_name]
    if m.is_ratio:
        return (metric_name, denominator_metric(metric_name))
    return (metric_name,)


def denominator_metric(metric_name: str) -> str:
    """The count a ratio metric divides by, as a metric (conversion_rate -> sessions)."""
    denominator = METRICS[metric_name].denominator
    for name, candidate in METRICS.items():
        if candidate.numerator == denominator and candidate.denominator is None:
            return name
    raise CatalogError(f"{metric_name} cannot be broken down into segments")


def explain(
    warehouse: Any,
    metric_name: str,
    current: tuple[dt.date, dt.date],
    baseline: tuple[dt.date, dt.date],
    *,
    zone: str,
    dimensions: Sequence[str] = DRIVER_DIMENSIONS,
    filters: dict[str, str] | None = None,
    segments_per_dimension: int = 8,
) -> DriverReport:
    """Decompose the change of `metric_name` from `baseline` to `current`."""
    name = metric(metric_name).name
    if METRICS[name].grain != "session":
        raise CatalogError(f"why-analysis covers session metrics; {name} is not one")
    fields = _components(name)

    def fetch(period: tuple[dt.date, dt.date], dims: Sequence[str]) -> list[dict[str, Any]]:
        query = MetricQuery.build(fields, period[0], period[1], dims, filters)
        return run_query(warehouse, query, zone=zone).rows

    # The totals and every dimension in both periods: independent scans, run side by side.
    calls = [lambda p=p, d=d: fetch(p, d) for d in ([], *([dim] for dim in dimensions))
             for p in (current, baseline)]  # fmt: skip
    fetched = run_together(*calls)
    (total_now,), (total_then,) = fetched[0], fetched[1]
    report = DriverReport(name, current, baseline, total_then[name], total_now[name], None)
    if report.before is not None and report.after is not None:
        report.change = report.after - report.before
    if name == "revenue":
        report.factors = _revenue_factors(total_then, total_now)
    for n, dim in enumerate(dimensions, start=1):
        now = {str(r[dim]): r for r in fetched[2 * n]}
        then = {str(r[dim]): r for r in fetched[2 * n + 1]}
        drivers = [
            _segment(name, dim, segment, then.get(segment), now.get(segment), total_then,
                     total_now, report.change or 0.0)
            for segment in set(now) | set(then)
        ]  # fmt: skip
        drivers.sort(key=lambda d: (-abs(d.contribution), d.segment))
        report.by_dimension[dim] = _fold_tail(drivers, segments_per_dimension, dim)
    return report


def _revenue_factors(then: dict, now: dict) -> list[Effect]:
    before = [then["sessions"] or 0, then["conversion_rate"] or 0, then["aov"] or 0]
    after = [now["sessions"] or 0, now["conversion_rate"] or 0, now["aov"] or 0]
    parts = shapley(before, after, _product)
    return [
        Effect(f, c) for f, c in zip(("sessions", "conversion_rate", "aov"), parts, strict=True)
    ]


def _segment(name: str, dim: str, segment: str, then: dict | None, now: dict | None,
             total_then: dict, total_now: dict, change: float) -> SegmentDriver:  # fmt: skip
    """A segment's part of the total change, split into its effects."""
    then, now = then or {}, now or {}
    if name == "revenue":
        # revenue_k = sessions_k x conversion_k x aov_k
        factors = ("sessions", "conversion_rate", "aov")
        before = [then.get(f) or 0.0 for f in factors]
        after = [now.get(f) or 0.0 for f in factors]
        parts = shapley(before, after, _product)
        baseline_share = _share(then.get("revenue"), total_then.get("revenue"))
    elif METRICS[name].is_ratio:
        # metric = average + sum_k share_k x (rate_k - average), average = the baseline's
        denominator = denominator_metric(name)
        average = total_then.get(name) or 0.0
        factors = ("mix", "rate")
        before = _ratio_terms(then, total_then, name, denominator, average)
        after = _ratio_terms(now, total_now, name, denominator, average)
        parts = shapley(before, after, _product)
        baseline_share = before[0]
    else:
        factors = ("change",)
        parts = [(now.get(name) or 0) - (then.get(name) or 0)]
        baseline_share = _share(then.get(name), total_then.get(name))
    effects = tuple(Effect(f, p) for f, p in zip(factors, parts, strict=True))
    contribution = sum(parts)
    return SegmentDriver(
        dim, segment, then.get(name), now.get(name), contribution, effects,
        share_of_baseline=baseline_share,
        share_of_change=contribution / change if change else 0.0,
    )  # fmt: skip


def _share(part: float | None, whole: float | None) -> float:
    return (part or 0.0) / whole if whole else 0.0


def _ratio_terms(
    row: dict, total: dict, name: str, denominator: str, average: float
) -> list[float]:
    share = _share(row.get(denominator), total.get(denominator))
    rate = row.get(name)
    return [share, (rate if rate is not None else average) - average]


def _fold_tail(drivers: list[SegmentDriver], keep: int, dim: str) -> list[SegmentDriver]:
    """The largest segments, and the rest summed as "(other)" so the parts still add up."""
    if len(drivers) <= keep:
        return drivers
    head, tail = drivers[:keep], drivers[keep:]
    factors: dict[str, float] = {}
    for driver in tail:
        for effect in driver.effects:
            factors[effect.factor] = factors.get(effect.factor, 0.0) + effect.contribution
    other = SegmentDriver(
        dim, "(other)", None, None, sum(d.contribution for d in tail),
        tuple(Effect(f, c) for f, c in factors.items()),
        share_of_baseline=sum(d.share_of_baseline for d in tail),
        share_of_change=sum(d.share_of_change for d in tail),
    )  # fmt: skip
    return [*head, other]
