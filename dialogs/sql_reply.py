"""The numbers dialog: a parsed metric question -> the metric layer's rows -> the answer
card (the number, its change, the period in words, a table, a chart, its SQL) and a text."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import replace
from typing import Any

import cards
from cards.chart_png import bar_chart_png, line_chart_png
from cards.charts import Series, bar_chart_element, line_chart_element
from dialogs.context import AskContext, Reply
from dialogs.parser import Parsed
from kpi.insights.summary import relative_change
from kpi.metrics.catalog import DIMENSIONS, METRICS, CatalogError
from kpi.metrics.periods import dates_en, dates_ko
from kpi.metrics.query import MetricQuery, QueryResult, check_filter_values, run_query
from kpi.metrics.units import format_value

TIME_DIMENSIONS = ("date", "week", "month")


def sql_reply(parsed: Parsed, ctx: AskContext) -> Reply:
    lang = parsed.lang
    query = parsed.query
    assert query is not None
    try:
        query = check_filter_values(ctx.warehouse, query, zone=ctx.zone)
    except CatalogError as exc:
        return _unknown_value(str(exc), lang)
    if not query.dimensions and query.compare is None:
        query = replace(query, compare="previous")
    held = ctx.warehouse.date_range()
    outside = held is None or query.end < held[0] or query.start > held[1]
    result = run_query(ctx.warehouse, query, zone=ctx.zone)
    if outside:  # a sum over no days is 0: say there is nothing rather than show $0.00
        result = replace(result, rows=[], comparison=None)
    period_label = parsed.period.label(lang) if parsed.period else f"{query.start} ~ {query.end}"
    chart_url, chart_element = _chart(result, lang, period_label, ctx)
    text = describe(result, lang, period_label, parsed.period_is_default)
    coverage = coverage_note(query.start, query.end, held, lang)
    if outside:
        text = f"{period_label}: " + (
            "이 기간에는 데이터가 없어요." if lang == "ko" else "there is no data for this period."
        )
    if coverage:
        text += f" ({coverage})"
    card = cards.answer_card(
        result,
        lang=lang,
        period_label=period_label,
        period_is_default=parsed.period_is_default,
        chart_url=chart_url,
        chart_element=chart_element,
        follow_ups=[(c.label, c.text) for c in parsed.choices] + follow_ups(query, lang),
        note=coverage,
    )
    return Reply("sql", lang, text, card, query, result.rows, result.sql)


def coverage_note(
    start: dt.date, end: dt.date, held: tuple[dt.date, dt.date] | None, lang: str
) -> str | None:
    """What the warehouse holds, when the period asked about is not all inside it."""
    if held is None:
        return "창고에 데이터가 없어요" if lang == "ko" else "the warehouse holds no data"
    first, last = held
    if first <= start and end <= last:
        return None
    span = dates_ko(first, last, None) if lang == "ko" else dates_en(first, last, None)
    return f"보유 데이터: {span}" if lang == "ko" else f"the data covers {span}"


def describe(result: QueryResult, lang: str, period_label: str, period_is_default: bool) -> str:
    """One or two sentences with the numbers, for the message text and `commercy ask`."""
    query = result.query
    parts = []
    if not query.dimensions:
        row = result.rows[0] if result.rows else {}
        before = result.comparison.rows[0] if result.comparison and result.comparison.rows else {}
        for name in query.metrics:
            metric = METRICS[name]
            value = format_value(row.get(name), metric.unit, lang)
            change = relative_change(row.get(name), before.get(name), metric.unit == "ratio")
            parts.append(f"{metric.label(lang)} {value}{_change_words(change, metric.unit, lang)}")
        body = ", ".join(parts)
    else:
        name = query.metrics[0]
        unit = METRICS[name].unit
        dims = " · ".join(DIMENSIONS[d].label(lang) for d in query.dimensions)
        shown = [
            f"{_segment_name(r, query.dimensions)} {format_value(r.get(name), unit, lang)}"
            for r in result.rows[:5]
        ]
        more = len(result.rows) - len(shown)
        tail = (f" 외 {more}개" if lang == "ko" else f" and {more} more") if more > 0 else ""
        body = f"{dims} {METRICS[name].label(lang)}: {', '.join(shown) or '—'}{tail}"
    default = (
        (
            " (기간을 말하지 않아 최근 7일로 봤어요)"
            if lang == "ko"
            else " (no period given, so the last 7 days)"
        )
        if period_is_default
        else ""
    )
    return f"{period_label}: {body}{default}"


def _segment_name(row: dict[str, Any], dimensions: tuple[str, ...]) -> str:
    return " / ".join(str(row[d]) for d in dimensions)


def _change_words(change: float | None, unit: str, lang: str) -> str:
    if change is None:
        return ""
    amount = f"{change * 100:+.2f}%p" if unit == "ratio" else f"{change * 100:+.1f}%"
    return f" (직전 기간 대비 {amount})" if lang == "ko" else f" ({amount} vs the previous period)"


def follow_ups(query: MetricQuery, lang: str) -> list[tuple[str, str]]:
    """Buttons for the next question; each sends a follow-up the parser resolves."""
    options = []
    if "device" not in query.dimensions and "device" not in query.filter_map:
        options.append(
            ("기기별로 보기", "기기별로는?") if lang == "ko" else ("By device", "by device?")
        )
    if "channel" not in query.dimensions and "channel" not in query.filter_map:
        options.append(
            ("채널별로 보기", "채널별로는?") if lang == "ko" else ("By channel", "by channel?")
        )
    if "date" not in query.dimensions:
        options.append(("일별 추이", "일별로는?") if lang == "ko" else ("Daily trend", "daily?"))
    options.append(
        ("지난달은?", "지난달은?") if lang == "ko" else ("Last month?", "what about last month?")
    )
    return options[:4]


def _chart(
    result: QueryResult, lang: str, title: str, ctx: AskContext
) -> tuple[str | None, dict | None]:
    """A chart for one metric by one dimension: a line over time, bars by segment."""
    query = result.query
    if len(query.dimensions) != 1 or not result.rows:
        return None, None
    name, dim = query.metrics[0], query.dimensions[0]
    metric = METRICS[name]
    heading = f"{metric.label(lang)} · {title}"
    series = Series(
        metric.label(lang),
        [r[dim] if dim in TIME_DIMENSIONS else str(r[dim]) for r in result.rows],
        [r.get(name) for r in result.rows],
    )
    if dim in TIME_DIMENSIONS:
        element = line_chart_element(series, title=heading, unit=metric.unit, lang=lang)
        png = (
            line_chart_png(series, unit=metric.unit, title=heading, lang=lang)
            if ctx.save_chart
            else None
        )
    else:
        element = bar_chart_element(series, title=heading, unit=metric.unit, lang=lang)
        png = (
            bar_chart_png(series, unit=metric.unit, title=heading, lang=lang)
            if ctx.save_chart
            else None
        )
    url = ctx.save_chart(png) if ctx.save_chart and png else None
    return url, element


_CLOSE = re.compile(r"did you mean (.+)\?")


def _unknown_value(message: str, lang: str) -> Reply:
    """A filter value the data does not have: say so and offer the close ones."""
    match = _CLOSE.search(message)
    names = [n.strip() for n in match.group(1).split(",")] if match else []
    asked = message.split("'")[1] if "'" in message else ""
    prompt = (
        f"'{asked}'에 해당하는 데이터가 없어요."
        if lang == "ko"
        else f"There is no data for '{asked}'."
    )
    if names:
        prompt += " 혹시 이것인가요?" if lang == "ko" else " Did you mean one of these?"
    choices = [(n, n) for n in names]
    return Reply("unknown", lang, prompt, cards.unknown_card(prompt, choices, lang=lang))
