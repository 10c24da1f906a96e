"""Why a metric moved: the factors and the segments that explain the change most
(`kpi.insights.drivers`), in the user's words. The alert card's Why? button asks here."""

from __future__ import annotations

import datetime as dt

from dialogs.context import AskContext, Reply
from kpi.insights.drivers import DriverReport, explain
from kpi.metrics.catalog import DIMENSIONS, METRICS
from kpi.metrics.units import format_value


def why_reply(metric_name: str, ctx: AskContext, lang: str) -> Reply:
    """Why a metric moved today (so far) against the same weekday last week: the factors
    and the segments that explain it most (kpi.insights.drivers), in words."""
    today = ctx.as_of
    week_ago = today - dt.timedelta(days=7)
    report = explain(
        ctx.warehouse, metric_name, (today, today), (week_ago, week_ago), zone=ctx.zone
    )
    metric = METRICS[report.metric]
    lines = [
        f"{metric.label(lang)}: {format_value(report.before, metric.unit, lang)} → "
        f"{format_value(report.after, metric.unit, lang)}"
        + (" (지난주 같은 요일 → 오늘)" if lang == "ko" else " (same day last week → today)")
    ]
    lines += [f"- {line}" for line in driver_lines(report, lang, limit=3)]
    if len(lines) == 1:
        lines.append(
            "- 뚜렷한 원인 세그먼트가 없어요." if lang == "ko" else "- No segment stands out."
        )
    return Reply("reasoning", lang, "\n".join(lines))


def driver_lines(report: DriverReport, lang: str, *, limit: int) -> list[str]:
    """The segments that moved the metric most, as "채널별 Referral: -$1,234 (sessions)"."""
    unit = METRICS[report.metric].unit
    lines = []
    for driver in report.top_drivers[:limit]:
        amount = (
            f"{driver.contribution * 100:+.2f}%p"
            if unit == "ratio"
            else format_value(driver.contribution, unit, lang)
        )
        label = DIMENSIONS[driver.dimension].label(lang)
        lines.append(f"{label} {driver.segment}: {amount} ({driver.main_effect.factor})")
    return lines
