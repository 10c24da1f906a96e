"""The dashboard tab's numbers: 요약 (summary), 매출 (sales), 유입·이탈 (traffic and
drop-off), each for one period and the same filters (country, visitor type, device,
channel), from the metric layer the bot answers with, so a number on the tab equals the
number in chat.

What the catalog has comes from `run_query`. The rest of the original dashboard (the
purchase funnel, landing and exit pages, product and category conversion) are
hit-level counts the catalog does not name; they are built here on the same scope
(`kpi.metrics.query.scoped`: the same tables, period and filters), so they agree with it.
Pure: no I/O but the warehouse passed in, no settings.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from itertools import pairwise
from typing import Any

from sqlalchemy import Double, and_, case, cast, distinct, func
from sqlalchemy import select as sa_select

from kpi.insights.summary import relative_change
from kpi.metrics.catalog import DIMENSIONS, METRICS, CatalogError, canonical_value
from kpi.metrics.query import (
    MetricQuery,
    QueryResult,
    dimension_expression,
    known_values,
    plain_value,
    run_query,
    run_together,
    scoped,
)

TABS = ("summary", "sales", "traffic")
FILTERS = ("country", "visitor_type", "device", "channel")
PERIODS = {"7d": 7, "14d": 14, "28d": 28, "30d": 30, "90d": 90}
DEFAULT_PERIOD = "28d"
SUMMARY_METRICS = ("sessions", "users", "revenue", "transactions", "conversion_rate", "aov",
                   "bounce_rate", "avg_session_duration")  # fmt: skip
FUNNEL = (("2", "product_view"), ("3", "add_to_cart"), ("5", "checkout"), ("6", "purchase"))
MAX_DAYS = 400
TOP = 10


class FilterError(ValueError):
    """A filter the dashboard cannot use; the message names it and says what it takes."""


@dataclass(frozen=True)
class View:
    """One view of the dashboard: a closed range of dates and the filters."""

    start: dt.date
    end: dt.date
    filters: tuple[tuple[str, str], ...] = ()

    def query(self, metrics: tuple[str, ...], dimensions: tuple[str, ...] = (),
              **options: Any) -> MetricQuery:  # fmt: skip
        return MetricQuery.build(metrics, self.start, self.end, dimensions,
                                 dict(self.filters) or None, **options)  # fmt: skip

    def to_dict(self) -> dict[str, Any]:
        return {"start": self.start.isoformat(), "end": self.end.isoformat(),
                "filters": dict(self.filters)}  # fmt: skip


def parse_view(
    params: Mapping[str, str],
    *,
    as_of: dt.date,
    warehouse: Any = None,
    zone: str = "Asia/Seoul",
    known: Callable[[str], list[str]] | None = None,
) -> View:
    """The view a URL's query string names: `period` (7d, 14d, 28d, 30d, 90d; default
    28d) or `start` and `end` (YYYY-MM-DD), and any of country, visitor_type, device,
    channel. A bad value raises FilterError; with a warehouse, filter values are matched
    to the stored ones (any case) and one the data does not have is an error too.
    `known(dimension)` may stand in for reading the stored values each time (a cache)."""
    if params.get("start") or params.get("end"):
        try:
            start = dt.date.fromisoformat(params.get("start", ""))
            end = dt.date.fromisoformat(params.get("end", ""))
        except ValueError:
            raise FilterError("start and end must both be dates such as 2026-11-01") from None
        if end < start:
            raise FilterError(f"the period ends ({end}) before it starts ({start})")
        if (end - start).days + 1 > MAX_DAYS:
            raise FilterError(f"a period of at most {MAX_DAYS} days, please")
    else:
        period = params.get("period") or DEFAULT_PERIOD
        if period not in PERIODS:
            raise FilterError(f"period must be one of {', '.join(PERIODS)}, not {period!r}")
        end = as_of - dt.timedelta(days=1)
        start = end - dt.timedelta(days=PERIODS[period] - 1)
    filters = []
    for name in FILTERS:
        value = (params.get(name) or "").strip()
        if not value or value.lower() == "all":
            continue
        dim = DIMENSIONS[name]
        try:
            if known is not None:
                stored = known(name)
            elif warehouse is not None:
                stored = known_values(warehouse, name, zone=zone)
            else:
                stored = None
            filters.append((name, canonical_value(dim, value, stored)))
        except CatalogError as exc:
            raise FilterError(f"{name}: {exc}") from None
    return View(start, end, tuple(filters))


def _change(now: Any, then: Any, unit: str) -> float | None:
    return relative_change(now, then, unit == "ratio")


def summary(warehouse: Any, view: View, *, zone: str) -> dict[str, Any]:
    """Headline KPIs with their change against the period before, and a daily sparkline."""
    totals, daily = run_together(
        lambda: run_query(warehouse, view.query(SUMMARY_METRICS, compare="previous"), zone=zone),
        lambda: run_query(warehouse, view.query(SUMMARY_METRICS, ("date",)), zone=zone),
    )
    now = totals.rows[0] if totals.rows else {}
    comparison = totals.comparison
    then = comparison.rows[0] if comparison and comparison.rows else {}
    kpis = []
    for name in SUMMARY_METRICS:
        metric = METRICS[name]
        kpis.append({
            "metric": name, "label_ko": metric.label_ko, "label_en": metric.label_en,
            "unit": metric.unit, "higher_is_better": metric.higher_is_better,
            "value": now.get(name), "previous": then.get(name),
            "change": _change(now.get(name), then.get(name), metric.unit),
            "series": [row.get(name) for row in daily.rows],
        })  # fmt: skip
    return {
        "tab": "summary", "view": view.to_dict(),
        "previous": {"start": comparison.query.start.isoformat(),
                     "end": comparison.query.end.isoformat()} if comparison else None,
        "dates": [row["date"].isoformat() for row in daily.rows],
        "kpis": kpis, "sql": totals.sql,
    }  # fmt: skip


def sales(warehouse: Any, view: View, *, zone: str) -> dict[str, Any]:
    """Revenue, conversion and order value by day; conversion by product category and
    the best-selling products."""
    metrics = ("revenue", "conversion_rate", "aov", "transactions")
    daily, categories, products = run_together(
        lambda: run_query(warehouse, view.query(metrics, ("date",)), zone=zone),
        lambda: _product_conversion(warehouse, view, "product_category", zone=zone),
        lambda: _product_conversion(warehouse, view, "product_name", zone=zone),
    )
    return {
        "tab": "sales", "view": view.to_dict(),
        "daily": _series(daily, metrics),
        "categories": categories, "products": products, "sql": daily.sql,
    }  # fmt: skip


def traffic(warehouse: Any, view: View, *, zone: str) -> dict[str, Any]:
    """Sessions and bounce rate by day and by channel, the purchase funnel with the
    drop-off at each step, landing pages (with their bounce rate) and exit pages (with
    their exit rate)."""
    metrics = ("sessions", "bounce_rate", "pages_per_session")
    channel_metrics = ("sessions", "bounce_rate", "conversion_rate")
    daily, channels, totals, steps, landing, exits = run_together(
        lambda: run_query(warehouse, view.query(metrics, ("date",)), zone=zone),
        lambda: run_query(warehouse, view.query(channel_metrics, ("channel",)), zone=zone),
        lambda: run_query(warehouse, view.query(("sessions",)), zone=zone),
        lambda: funnel_counts(warehouse, view, zone=zone),
        lambda: _pages(warehouse, view, "entrance", zone=zone),
        lambda: _pages(warehouse, view, "exit", zone=zone),
    )
    return {
        "tab": "traffic", "view": view.to_dict(),
        "daily": _series(daily, metrics),
        "channels": channels.rows,
        "funnel": funnel_steps(totals.total("sessions") or 0, steps),
        "landing_pages": landing, "exit_pages": exits,
        "sql": daily.sql,
    }  # fmt: skip


def tab(name: str, warehouse: Any, view: View, *, zone: str) -> dict[str, Any]:
    """The tab's numbers, with the catalog's labels of every metric (the page names them
    as the chat does)."""
    if name not in TABS:
        raise FilterError(f"tab must be one of {', '.join(TABS)}, not {name!r}")
    numbers = {"summary": summary, "sales": sales, "traffic": traffic}[name]
    return {**numbers(warehouse, view, zone=zone), "labels": LABELS}


LABELS = {name: {"ko": m.label_ko, "en": m.label_en} for name, m in METRICS.items()}


# --- Hit-level counts on the catalog's scope ----------------------------------------------


def _series(result: QueryResult, metrics: tuple[str, ...]) -> dict[str, list]:
    return {"dates": [row["date"].isoformat() for row in result.rows],
            **{m: [row.get(m) for row in result.rows] for m in metrics}}  # fmt: skip


def _rows(warehouse: Any, statement: Any) -> list[dict[str, Any]]:
    with warehouse.engine.connect() as conn:
        return [{k: plain_value(v) for k, v in row.items()}
                for row in conn.execute(statement).mappings()]  # fmt: skip


def funnel_counts(warehouse: Any, view: View, *, zone: str) -> dict[str, int]:
    """Sessions that viewed a product, added to the cart, reached checkout and bought
    (GA's enhanced e-commerce action types 2, 3, 5, 6), by the step's name in FUNNEL."""
    tables, conditions = scoped(view.query(("sessions",)), "hit", zone=zone)
    h = tables["h"]
    columns = [
        func.count(distinct(case((h.c.actionType == code, h.c.session_key)))).label(step)
        for code, step in FUNNEL
    ]
    statement = (
        sa_select(*columns)
        .select_from(tables.from_clause())
        .where(and_(*conditions, h.c.actionType.in_([code for code, _ in FUNNEL])))
    )
    return _rows(warehouse, statement)[0]


def funnel_steps(sessions: int, counts: Mapping[str, int | None]) -> list[dict[str, Any]]:
    """The funnel from all sessions down, each step with the share of the step before
    that did not go on (its drop-off)."""
    steps: list[dict[str, Any]] = [{"step": "sessions", "sessions": sessions}]
    steps += [{"step": step, "sessions": counts[step] or 0} for _, step in FUNNEL]
    for before, step in pairwise(steps):
        step["drop_off"] = 1 - step["sessions"] / before["sessions"] if before["sessions"] else None
    return steps


def _pages(warehouse: Any, view: View, kind: str, *, zone: str) -> list[dict[str, Any]]:
    """Top landing pages (entrances, bounce rate) or exit pages (exits, exit rate)."""
    tables, conditions = scoped(view.query(("sessions",)), "hit", zone=zone)
    h = tables["h"]
    conditions.append(h.c.hitType == "PAGE")
    if kind == "entrance":
        t = tables["t"]
        entrances = func.count(case((h.c.isEntrance.is_(True), 1)))
        bounces = func.count(case((and_(h.c.isEntrance.is_(True), t.c.bounces == 1), 1)))
        columns = [
            entrances.label("entrances"),
            (cast(bounces, Double) / func.nullif(entrances, 0)).label("bounce_rate"),
        ]
        order = entrances  # fmt: skip
    else:
        exits = func.count(case((h.c.isExit.is_(True), 1)))
        columns = [
            exits.label("exits"),
            func.count().label("pageviews"),
            (cast(exits, Double) / func.nullif(func.count(), 0)).label("exit_rate"),
        ]
        order = exits  # fmt: skip
    statement = (
        sa_select(h.c.pagePath.label("page"), *columns)
        .select_from(tables.from_clause())
        .where(and_(*conditions))
        .group_by(h.c.pagePath)
        .order_by(order.desc(), h.c.pagePath)
        .limit(TOP)
    )
    return _rows(warehouse, statement)


def _product_conversion(warehouse: Any, view: View, dimension: str, *, zone: str) -> list:
    """Per product or category: sessions that viewed it, bought it, the conversion
    between, and its revenue (the catalog's product_revenue)."""
    # Product dimensions pair with product metrics only (metrics.md), so the session
    # filters are applied through the product grain's joins, as the catalog does.
    tables, conditions = scoped(view.query(("product_revenue",)), "product", zone=zone)
    h, hp = tables["h"], tables["hp"]
    key = dimension_expression(DIMENSIONS[dimension], tables, zone)
    viewed = func.count(distinct(case((h.c.actionType == "2", h.c.session_key))))
    bought = func.count(distinct(case((h.c.actionType == "6", h.c.session_key))))
    revenue = (
        cast(func.coalesce(func.sum(case((h.c.actionType == "6", hp.c.productRevenue))), 0), Double)
        / 1_000_000.0
    )
    statement = (
        sa_select(
            key.label(dimension),
            viewed.label("viewed"),
            bought.label("bought"),
            (cast(bought, Double) / func.nullif(viewed, 0)).label("conversion_rate"),
            revenue.label("product_revenue"),
        )
        .select_from(tables.from_clause())
        .where(and_(*conditions, h.c.actionType.in_(["2", "6"])))
        .group_by(key)
        .order_by(revenue.desc(), viewed.desc())
        .limit(TOP)
    )
    return _rows(warehouse, statement)
