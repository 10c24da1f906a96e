"""The morning KPI summary as a reply ("지금 요약" / "summary now")."""

from __future__ import annotations

import datetime as dt

import cards
from dialogs.context import AskContext, Reply
from kpi.insights.summary import daily_summary
from kpi.metrics.units import format_value


def summary_reply(ctx: AskContext, lang: str, day: dt.date | None = None) -> Reply:
    """The KPI summary card for `day` (default: the day before as-of)."""
    day = day or ctx.as_of - dt.timedelta(days=1)
    summary = daily_summary(ctx.warehouse, day, zone=ctx.zone)
    revenue = summary.kpi("revenue")
    text = (
        f"{day:%m/%d} KPI 요약: 매출 {format_value(revenue.value, 'usd', lang)}"
        if lang == "ko"
        else f"KPI summary for {day:%b %d}: revenue {format_value(revenue.value, 'usd', lang)}"
    )
    return Reply("summary", lang, text, cards.summary_card(summary, lang=lang))
