"""How much a metric moves on its own, so an answer can tell a cause from chance.

A change between a period and its comparison means something only when it is larger than
the metric usually moves between two such periods. `typical_change` measures that: the
standard deviation of the change between consecutive comparable periods in the weeks
before (a day against the same weekday a week earlier, a week against the week before,
...). A change within `NOISE_SIGMAS` of it is "within normal noise".

One query by day serves every period: a count adds up over days, and a ratio is rebuilt
from its daily values weighted by their denominator (sum of rate x sessions / sum of
sessions is the period's conversion rate exactly). A distinct count (users) is summed over
days, which overcounts returning visitors a little; for its noise that is close enough.
"""

from __future__ import annotations

import datetime as dt
import itertools
import statistics
from collections.abc import Mapping, Sequence
from typing import Any

from kpi.insights.drivers import denominator_metric
from kpi.metrics.catalog import METRICS
from kpi.metrics.query import MetricQuery, run_query

SAMPLES = 8  # changes measured: two months of weekly steps
NOISE_SIGMAS = 2.0  # a change under 2 sigma happens about one week in twenty by chance


def step_days(start: dt.date, end: dt.date) -> int:
    """How far apart comparable periods lie: a week for up to 7 days (the same weekdays),
    else the period's own length."""
    days = (end - start).days + 1
    return 7 if days <= 7 else days


def typical_change(
    warehouse: Any,
    metric_name: str,
    baseline: tuple[dt.date, dt.date],
    *,
    zone: str,
    step: int,
    filters: Mapping[str, Sequence[str]] | None = None,
    samples: int = SAMPLES,
) -> float | None:
    """The standard deviation of the change between consecutive periods `step` days apart,
    over the `samples` changes that end at `baseline` (the comparison period itself is the
    newest). None when fewer than three changes have data."""
    metric = METRICS[metric_name]
    fields = (metric_name, denominator_metric(metric_name)) if metric.is_ratio else (metric_name,)
    first = baseline[0] - dt.timedelta(days=samples * step)
    query = MetricQuery.build(fields, first, baseline[1], ["date"], filters or None)
    daily = {row["date"]: row for row in run_query(warehouse, query, zone=zone).rows}
    values = []
    for back in range(samples + 1):
        shift = dt.timedelta(days=back * step)
        days = _days(baseline[0] - shift, baseline[1] - shift)
        values.append(_period_value(metric_name, fields, [daily.get(d) for d in days]))
    changes = [
        newer - older
        for newer, older in itertools.pairwise(values)
        if newer is not None and older is not None
    ]
    return statistics.stdev(changes) if len(changes) >= 3 else None


def within_noise(change: float | None, typical: float | None) -> bool:
    """True when `change` is no larger than chance moves the metric (False without data)."""
    if change is None or typical is None:
        return False
    return abs(change) <= NOISE_SIGMAS * typical


def _days(start: dt.date, end: dt.date) -> list[dt.date]:
    return [start + dt.timedelta(days=n) for n in range((end - start).days + 1)]


def _period_value(name: str, fields: tuple[str, ...], rows: list[dict | None]) -> float | None:
    present = [row for row in rows if row is not None]
    if not present:
        return None
    if len(fields) == 1:
        return float(sum(row.get(name) or 0 for row in present))
    denominator = fields[1]
    weight = sum(row.get(denominator) or 0 for row in present)
    if not weight:
        return None
    return sum((row.get(name) or 0) * (row.get(denominator) or 0) for row in present) / weight
