"""Why a segment stands where it does: a segment against the whole store, same period.

"Social brings many sessions but almost no revenue" and "mobile converts badly" are not
changes over time but gaps between a segment and the store. The gap is split so the
answer can say which part of it is the segment's own doing:

- revenue (or any count): the segment's share of sessions against its share of the
  metric, and its revenue per session against the store's, split (Shapley, exactly
  additive) into conversion rate and order value;
- a ratio (conversion rate, bounce rate, ...): split across a second dimension into *mix*
  (the segment's traffic sits in parts of the store that do better or worse anyway) and
  *rate* (within the same parts, the segment itself does better or worse).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from kpi.insights.drivers import Effect, denominator_metric, shapley
from kpi.metrics.catalog import METRICS
from kpi.metrics.query import MetricQuery, run_query


@dataclass(frozen=True)
class SubSegment:
    """One part of the second dimension: its rate in the segment and in the store."""

    dimension: str
    name: str
    segment_rate: float | None
    store_rate: float | None
    segment_share: float  # of the segment's denominator (its sessions)


@dataclass
class SegmentGap:
    metric: str
    segment: dict[str, list[str]]
    period: tuple[dt.date, dt.date]
    segment_value: float | None
    store_value: float | None
    share_of_sessions: float | None
    share_of_metric: float | None = None  # counts only: the segment's share of the metric
    parts: list[Effect] = field(default_factory=list)  # add up to the gap they explain
    explained: str = ""  # what the parts split: "revenue_per_session" or the metric
    by: list[SubSegment] = field(default_factory=list)  # ratios: largest rate gaps first

    @property
    def gap(self) -> float | None:
        if self.segment_value is None or self.store_value is None:
            return None
        return self.segment_value - self.store_value

    def to_dict(self) -> dict[str, Any]:
        return {
            "metric": self.metric,
            "segment": self.segment,
            "period": {"start": self.period[0].isoformat(), "end": self.period[1].isoformat()},
            "segment_value": self.segment_value,
            "store_value": self.store_value,
            "gap": self.gap,
            "share_of_sessions": self.share_of_sessions,
            "share_of_metric": self.share_of_metric,
            "explained": self.explained,
            "parts": [asdict(p) for p in self.parts],
            "by": [asdict(s) for s in self.by[:3]],
        }


def segment_gap(
    warehouse: Any,
    metric_name: str,
    segment: Mapping[str, Sequence[str]],
    period: tuple[dt.date, dt.date],
    *,
    zone: str,
) -> SegmentGap:
    """The segment (`{"device": ["mobile"]}`) against the store over `period`."""
    metric = METRICS[metric_name]
    filters = {k: list(v) for k, v in segment.items()}

    def fetch(names: Sequence[str], dims: Sequence[str] = (), where=None) -> list[dict]:
        query = MetricQuery.build(names, period[0], period[1], dims, where)
        return run_query(warehouse, query, zone=zone).rows

    fields = ("sessions", metric_name, "conversion_rate", "aov", "revenue_per_session")
    fields = (
        tuple(dict.fromkeys(fields)) if metric.grain == "session" else ("sessions", metric_name)
    )
    store = (fetch(fields) or [{}])[0]
    mine = (fetch(fields, where=filters) or [{}])[0]
    gap = SegmentGap(metric_name, filters, period, mine.get(metric_name), store.get(metric_name),
                     _share(mine.get("sessions"), store.get("sessions")))  # fmt: skip
    if not metric.is_ratio:
        gap.share_of_metric = _share(mine.get(metric_name), store.get(metric_name))
        if metric_name == "revenue":
            before = [store.get("conversion_rate") or 0.0, store.get("aov") or 0.0]
            after = [mine.get("conversion_rate") or 0.0, mine.get("aov") or 0.0]
            parts = shapley(before, after, lambda cvr, aov: cvr * aov)
            gap.parts = [Effect("conversion_rate", parts[0]), Effect("aov", parts[1])]
            gap.explained = "revenue_per_session"
        return gap
    by = _second_dimension(filters)
    denominator = denominator_metric(metric_name)
    store_rows = {str(r[by]): r for r in fetch((metric_name, denominator), [by])}
    mine_rows = {str(r[by]): r for r in fetch((metric_name, denominator), [by], filters)}
    store_total = sum(r.get(denominator) or 0 for r in store_rows.values())
    mine_total = sum(r.get(denominator) or 0 for r in mine_rows.values())
    mix = rate = 0.0
    subs = []
    for name in set(store_rows) | set(mine_rows):
        s_row, m_row = store_rows.get(name, {}), mine_rows.get(name, {})
        s_share = _share(s_row.get(denominator), store_total) or 0.0
        m_share = _share(m_row.get(denominator), mine_total) or 0.0
        s_rate, m_rate = s_row.get(metric_name), m_row.get(metric_name)
        mix += (m_share - s_share) * (s_rate or 0.0)
        if m_share and m_rate is not None:
            rate += m_share * (m_rate - (s_rate or 0.0))
        subs.append(SubSegment(by, name, m_rate, s_rate, m_share))
    gap.parts = [Effect("mix", mix), Effect("rate", rate)]
    gap.explained = metric_name
    gap.by = sorted(
        (s for s in subs if s.segment_rate is not None and s.store_rate is not None),
        key=lambda s: -abs(s.segment_share * (s.segment_rate - s.store_rate)),  # type: ignore[operator]
    )
    return gap


def _second_dimension(segment: Mapping[str, Sequence[str]]) -> str:
    """The dimension to split a ratio's gap over: channel, unless the segment is a channel."""
    return "device" if "channel" in segment else "channel"


def _share(part: float | None, whole: float | None) -> float | None:
    return (part or 0.0) / whole if whole else None
