"""The morning KPI summary: every headline KPI with its value and its change against the
day before and the same weekday a week before, the segments that moved most, optional
sparklines and a chart, and buttons that ask why and for details.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from adaptive_cards import card as ac
from adaptive_cards import types as act

from cards.elements import (
    Element,
    Lang,
    arrow,
    ask_action,
    build_card,
    change_color,
    day_label,
    dimension_noun,
    dimension_value,
    heading,
    lang_code,
    metric_label,
    subtle,
    text,
    tr,
    with_arrow,
)
from kpi.insights.summary import SPARKLINE_DAYS, DailySummary, KpiLine, Mover
from kpi.metrics.catalog import METRICS
from kpi.metrics.periods import dates_en, dates_ko
from kpi.metrics.units import Unit, format_change, format_value

MAX_MOVERS = 12  # daily_summary's default: 2 per metric for 3 dimensions and 2 metrics
WHY_METRIC = "revenue"  # the number a marketer asks about first


def summary_card(
    summary: DailySummary,
    *,
    lang: str,
    sparkline_urls: Mapping[str, str] | None = None,
    chart_url: str | None = None,
) -> dict[str, Any]:
    """The card for `summary`. `sparkline_urls` maps metric names to small trend PNGs
    (cards.chart_png.sparkline_png served by the bot); `chart_url` is a larger chart."""
    code = lang_code(lang)
    sparklines = dict(sparkline_urls or {})
    title = tr(code, "KPI 요약", "KPI summary") + " · " + day_label(summary.date, code)
    body: list[Element] = [
        heading(title),
        subtle(
            tr(
                code,
                "전일 대비와 지난주 같은 요일 대비",
                "vs the day before and the same weekday last week",
            ),
            spacing=act.Spacing.NONE,
        ),
        _kpi_table(summary.kpis, code, sparklines),
    ]
    if summary.movers:
        body.extend(_movers(summary.movers, code))
    if chart_url:
        body.append(ac.Image(url=chart_url, alt_text=title))
    why, details = _questions(summary, code)
    actions = [
        ask_action(tr(code, "왜 변했어?", "Why did it change?"), why),
        ask_action(tr(code, "자세히", "Details"), details),
    ]
    return build_card(body, lang=code, actions=actions, summary=title, full_width=True)


def _change(line: KpiLine, before: float | None, lang: Lang) -> ac.TableCell:
    metric = METRICS[line.metric]
    delta = None if line.value is None or before is None else line.value - before
    return ac.TableCell(
        items=[
            text(
                with_arrow(format_change(line.value, before, metric.unit), delta),
                color=change_color(delta, metric.higher_is_better),
            )
        ]
    )


def _kpi_table(lines: list[KpiLine], lang: Lang, sparklines: dict[str, str]) -> ac.Table:
    right = act.HorizontalAlignment.RIGHT
    with_trend = any(line.metric in sparklines for line in lines)
    header = [
        tr(lang, "지표", "KPI"),
        tr(lang, "값", "Value"),
        tr(lang, "전일 대비", "vs day before"),
        tr(lang, "전주 같은 요일 대비", "vs last week"),
    ]
    columns = [ac.TableColumnDefinition(width=3)] + [
        ac.TableColumnDefinition(width=2, horizontal_cell_content_alignment=right) for _ in range(3)
    ]
    if with_trend:
        header.append(tr(lang, f"{SPARKLINE_DAYS}일 추이", f"{SPARKLINE_DAYS} days"))
        columns.append(ac.TableColumnDefinition(width=2))
    rows = [
        ac.TableRow(
            cells=[ac.TableCell(items=[text(h, weight=act.FontWeight.BOLDER)]) for h in header]
        )
    ]
    for line in lines:
        metric = METRICS[line.metric]
        cells = [
            ac.TableCell(items=[text(metric.label(lang))]),
            ac.TableCell(
                items=[
                    text(
                        format_value(line.value, metric.unit, lang),
                        weight=act.FontWeight.BOLDER,
                    )
                ]
            ),
            _change(line, line.previous_day, lang),
            _change(line, line.week_ago, lang),
        ]
        if with_trend:
            cells.append(_sparkline_cell(sparklines.get(line.metric), metric.label(lang)))
        rows.append(ac.TableRow(cells=cells))
    return ac.Table(columns=columns, rows=rows, first_row_as_header=True, show_grid_lines=False)


def _sparkline_cell(url: str | None, label: str) -> ac.TableCell:
    if not url:
        return ac.TableCell(items=[])
    image = ac.Image(url=url, alt_text=f"{label} {SPARKLINE_DAYS}d", height="24px")
    return ac.TableCell(items=[image])


def _signed(value: float, unit: Unit, lang: Lang) -> str:
    """+$596.20 / -56 / +1m 5s: the sign outside, so durations format from their size."""
    sign = "+" if value > 0 else "-" if value < 0 else ""
    return sign + format_value(abs(value), unit, lang)


def _movers(movers: list[Mover], lang: Lang) -> list[Element]:
    parts: list[Element] = [
        text(
            tr(lang, "크게 움직인 세그먼트", "Biggest movers"),
            weight=act.FontWeight.BOLDER,
            separator=True,
        ),
        subtle(
            tr(lang, "지난주 같은 요일 대비", "vs the same weekday last week"),
            spacing=act.Spacing.NONE,
        ),
    ]
    for mover in movers[:MAX_MOVERS]:
        metric = METRICS[mover.metric]
        segment = dimension_value(mover.dimension, mover.segment, lang)
        line = (
            f"{arrow(mover.change)} {dimension_noun(mover.dimension, lang)} {segment} · "
            f"{metric.label(lang)} {format_value(mover.value, metric.unit, lang)} "
            f"({_signed(mover.change, metric.unit, lang)})"
        )
        parts.append(
            text(
                line.strip(),
                color=change_color(mover.change, metric.higher_is_better),
                spacing=act.Spacing.SMALL,
            )
        )
    return parts


def _questions(summary: DailySummary, lang: Lang) -> tuple[str, str]:
    """The questions behind the two buttons, with the dates written out, so that a click a
    few days later still asks about this summary's day."""
    day = summary.date
    names = [line.metric for line in summary.kpis]
    name = WHY_METRIC if WHY_METRIC in names or not names else names[0]
    label = metric_label(name, lang)
    first = day - dt.timedelta(days=SPARKLINE_DAYS - 1)
    if lang == "ko":
        why = f"{day.month}월 {day.day}일 {label} 왜 변했어?"
        details = f"{dates_ko(first, day, day.year)} 일별 {label}"
    else:
        why = f"Why did {label.lower()} change on {dates_en(day, day, day.year)}?"
        details = f"Daily {label.lower()} {dates_en(first, day, day.year)}"
    return why, details
