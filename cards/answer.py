"""The answer to a numeric question: headline numbers, the change against the comparison,
the period, a table for grouped results, a chart, the SQL behind it and follow-up buttons.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from adaptive_cards import card as ac
from adaptive_cards import types as act

from cards.elements import (
    Element,
    Lang,
    ask_action,
    build_card,
    change_color,
    dimension_noun,
    dimension_value,
    dump,
    heading,
    lang_code,
    literal,
    metric_label,
    subtle,
    text,
    tr,
    with_arrow,
)
from kpi.metrics.catalog import DIMENSIONS, METRICS
from kpi.metrics.periods import comparison_period, explicit_period
from kpi.metrics.query import QueryResult
from kpi.metrics.units import format_change, format_value

MAX_TABLE_ROWS = 15  # beyond that a chat table stops being read; the rest is "… N more"
MAX_TABLE_METRICS = 4  # columns beyond that squeeze to unreadable widths on a phone
MAX_HEADLINE_COLUMNS = 3  # big numbers side by side per row
MAX_FOLLOW_UPS = 5  # Teams shows about six card buttons; the rest hide behind "..."
MAX_SQL_CHARS = 6000  # LLM-written SQL can be long; the card limit is 28 KB for everything
SQL_BLOCK_ID = "sql"


def answer_card(
    result: QueryResult,
    *,
    lang: str,
    period_label: str,
    period_is_default: bool = False,
    chart_url: str | None = None,
    chart_element: dict[str, Any] | None = None,
    follow_ups: Sequence[tuple[str, str]] = (),
    note: str | None = None,
) -> dict[str, Any]:
    """The card answering `result`.

    `period_label` is the period in words (Period.label(lang)); `period_is_default` adds
    that no period was asked for. `chart_element` is a Teams Chart.* dict (cards.charts);
    it gets `chart_url`'s PNG as its Image fallback, or "drop" without one. `chart_url`
    alone is shown as an Image. `follow_ups` are (button title, question) pairs. `note` is
    a line shown under the answer (e.g. how a filter value was read).
    """
    code = lang_code(lang)
    query = result.query
    title = _title(result, code)
    body: list[Element] = [heading(title), subtle(period_label, spacing=act.Spacing.NONE)]
    if period_is_default:
        body.append(
            subtle(
                tr(
                    code,
                    "기본: 최근 7일 — 기간을 말하면 그 기간으로 답해요 (예: 지난주, 11월 1일~15일)",
                    "default: last 7 days — name a period to change it (e.g. last week, Nov 1-15)",
                ),
                spacing=act.Spacing.NONE,
            )
        )
    if query.filters:
        body.append(subtle(_filters_line(result, code), spacing=act.Spacing.NONE))
    if result.comparison is not None:
        body.append(subtle(tr(code, "비교: ", "Compared with: ") + _comparison_label(result, code)))
    summary = title
    if not result.rows:
        body.append(text(tr(code, "이 기간에는 데이터가 없어요.", "No data for this period.")))
    elif not query.dimensions:
        body.extend(_headline(result, code))
        summary = _scalar_summary(result, code)
    else:
        leader = _leader(result, code)
        if leader is not None:
            body.append(leader)
        body.extend(_table(result, code))
    body.extend(chart_block(chart_element, chart_url, alt_text=f"{title} ({period_label})"))
    if note:
        body.append(subtle(note))
    body.extend(sql_block(result.sql, code))
    actions = [ask_action(label, question) for label, question in follow_ups[:MAX_FOLLOW_UPS]]
    return build_card(body, lang=code, actions=actions, summary=summary, full_width=True)


# --- Words -----------------------------------------------------------------------------


def _lower_first(value: str) -> str:
    return value[:1].lower() + value[1:]


def _title(result: QueryResult, lang: Lang) -> str:
    """채널별 매출 · 전환율 / Revenue · Conversion rate by channel / Daily revenue."""
    query = result.query
    metrics = " · ".join(metric_label(m, lang) for m in query.metrics)
    if not query.dimensions:
        return metrics
    dims = [DIMENSIONS[d] for d in query.dimensions]
    if lang == "ko":
        return f"{'·'.join(d.label_ko for d in dims)} {metrics}"
    by = [d.label_en for d in dims if d.label_en.startswith("By ")]
    plain = [d.label_en for d in dims if not d.label_en.startswith("By ")]
    head = f"{' '.join(plain)} {_lower_first(metrics)}" if plain else metrics
    return f"{head} {' and '.join(_lower_first(b) for b in by)}".strip()


def _filters_line(result: QueryResult, lang: Lang) -> str:
    parts = [
        f"{dimension_noun(name, lang)} = {', '.join(values)}"
        for name, values in result.query.filters
    ]
    return tr(lang, "필터: ", "Filter: ") + "; ".join(parts)


def _comparison_label(result: QueryResult, lang: Lang) -> str:
    """전주 동기 (11월 9일~15일) / same days last week (Nov 9–15)."""
    assert result.comparison is not None
    query = result.query
    if query.compare is not None:
        return comparison_period(explicit_period(query.start, query.end), query.compare).label(lang)
    shifted = result.comparison.query
    return explicit_period(shifted.start, shifted.end, as_of=query.end).label(lang)


# --- Scalar answers: the big numbers ---------------------------------------------------


def _headline(result: QueryResult, lang: Lang) -> list[ac.ColumnSet]:
    columns = [_headline_column(result, name, lang) for name in result.query.metrics]
    return [
        ac.ColumnSet(columns=columns[i : i + MAX_HEADLINE_COLUMNS])
        for i in range(0, len(columns), MAX_HEADLINE_COLUMNS)
    ]


def _headline_column(result: QueryResult, name: str, lang: Lang) -> ac.Column:
    metric = METRICS[name]
    value = result.total(name)
    items: list[Any] = [
        subtle(metric.label(lang)),
        text(
            format_value(value, metric.unit, lang),
            size=act.FontSize.EXTRA_LARGE,
            weight=act.FontWeight.BOLDER,
            spacing=act.Spacing.NONE,
        ),
    ]
    if result.comparison is not None:
        before = result.comparison.total(name)
        delta = None if value is None or before is None else value - before
        change = with_arrow(format_change(value, before, metric.unit), delta)
        items.append(
            text(
                change,
                color=change_color(delta, metric.higher_is_better),
                weight=act.FontWeight.BOLDER,
                spacing=act.Spacing.NONE,
            )
        )
        items.append(
            subtle(
                tr(lang, "비교 ", "vs ") + format_value(before, metric.unit, lang),
                spacing=act.Spacing.NONE,
            )
        )
    return ac.Column(items=items, width="stretch")


def _scalar_summary(result: QueryResult, lang: Lang) -> str:
    """One line for fallbackText: 매출 $1,234.56 · 전환율 1.27%."""
    return " · ".join(
        f"{metric_label(m, lang)} {format_value(result.total(m), METRICS[m].unit, lang)}"
        for m in result.query.metrics
    )


# --- Grouped answers: the leader and the table -----------------------------------------


def _is_time(name: str) -> bool:
    return DIMENSIONS[name].is_time or name in ("weekday", "hour")


def _leader(result: QueryResult, lang: Lang) -> ac.ColumnSet | None:
    """The first row of a ranking, big: 1위 Organic Search · $12,345.67. Time series have no
    leader (the chart and the table show them)."""
    query = result.query
    if len(query.dimensions) != 1 or _is_time(query.dimensions[0]):
        return None
    key = query.order_by or query.metrics[0]
    metric = METRICS[key]
    row = result.rows[0]
    rank = tr(lang, "1위", "Top") if query.descending else tr(lang, "최저", "Lowest")
    segment = dimension_value(query.dimensions[0], row[query.dimensions[0]], lang)
    return ac.ColumnSet(
        columns=[
            ac.Column(
                width="stretch",
                items=[
                    subtle(f"{rank} · {metric.label(lang)}"),
                    text(segment, weight=act.FontWeight.BOLDER, spacing=act.Spacing.NONE),
                ],
            ),
            ac.Column(
                width="auto",
                vertical_content_alignment=act.VerticalAlignment.CENTER,
                items=[
                    text(
                        format_value(row.get(key), metric.unit, lang),
                        size=act.FontSize.EXTRA_LARGE,
                        weight=act.FontWeight.BOLDER,
                    )
                ],
            ),
        ]
    )


def _previous_rows(result: QueryResult) -> list[dict[str, Any] | None]:
    """For each row, the comparison row it is measured against: the same segment, or for
    time dimensions the same position (day 1 of this week against day 1 of last week)."""
    if result.comparison is None:
        return [None] * len(result.rows)
    dims = result.query.dimensions
    before = result.comparison.rows
    if any(_is_time(d) for d in dims):
        if len(before) != len(result.rows):
            return [None] * len(result.rows)
        return list(before)
    by_key = {tuple(row[d] for d in dims): row for row in before}
    return [by_key.get(tuple(row[d] for d in dims)) for row in result.rows]


def _cell(value: str, **properties: Any) -> ac.TableCell:
    return ac.TableCell(items=[text(value, **properties)])


def _table(result: QueryResult, lang: Lang) -> list[Element]:
    """A Table (schema 1.5, rendered by Teams desktop, web and mobile): dimension columns,
    up to four metric columns and, with a comparison, the change of the first metric."""
    query = result.query
    dims = list(query.dimensions)
    metrics = list(query.metrics[:MAX_TABLE_METRICS])
    first = METRICS[metrics[0]]
    compare = result.comparison is not None
    right = act.HorizontalAlignment.RIGHT
    columns = [ac.TableColumnDefinition(width=2) for _ in dims]
    columns += [
        ac.TableColumnDefinition(width=1, horizontal_cell_content_alignment=right) for _ in metrics
    ]
    header = [dimension_noun(d, lang) for d in dims] + [metric_label(m, lang) for m in metrics]
    if compare:
        columns.append(ac.TableColumnDefinition(width=1, horizontal_cell_content_alignment=right))
        header.append(tr(lang, f"{first.label(lang)} 변화", f"{first.label(lang)} change"))
    rows = [ac.TableRow(cells=[_cell(h, weight=act.FontWeight.BOLDER) for h in header])]
    shown = result.rows[:MAX_TABLE_ROWS]
    for row, before in zip(shown, _previous_rows(result)[:MAX_TABLE_ROWS], strict=True):
        cells = [_cell(dimension_value(d, row[d], lang)) for d in dims]
        cells += [_cell(format_value(row.get(m), METRICS[m].unit, lang)) for m in metrics]
        if compare:
            now = row.get(first.name)
            then = None if before is None else before.get(first.name)
            delta = None if now is None or then is None else now - then
            change = with_arrow(format_change(now, then, first.unit), delta)
            cells.append(_cell(change, color=change_color(delta, first.higher_is_better)))
        rows.append(ac.TableRow(cells=cells))
    parts: list[Element] = [
        ac.Table(columns=columns, rows=rows, first_row_as_header=True, show_grid_lines=False)
    ]
    hidden = len(result.rows) - len(shown)
    if hidden > 0:
        parts.append(subtle(tr(lang, f"… 외 {hidden}개 더", f"… {hidden} more")))
    if len(query.metrics) > MAX_TABLE_METRICS:
        left_out = ", ".join(metric_label(m, lang) for m in query.metrics[MAX_TABLE_METRICS:])
        parts.append(
            subtle(tr(lang, f"표에서 뺀 지표: {left_out}", f"Not in the table: {left_out}"))
        )
    return parts


# --- Chart and SQL ---------------------------------------------------------------------


def chart_block(
    chart_element: dict[str, Any] | None, chart_url: str | None, *, alt_text: str
) -> list[Element]:
    """The native chart with its PNG as fallback, else the PNG, else nothing.

    Chart.* elements are Teams extensions the adaptive-cards-py models do not have, so the
    element stays a dict; its fallback Image is built with the model. A client that cannot
    draw the chart shows the fallback Image, or drops the element when there is no PNG.
    """
    if chart_element is not None:
        kind = str(chart_element.get("type", ""))
        if not kind.startswith("Chart."):
            raise ValueError(f"chart_element must be a Teams Chart.* element, not {kind!r}")
        element = dict(chart_element)  # the caller's dict stays as it was
        alt = str(chart_element.get("title") or alt_text)
        element["fallback"] = dump(ac.Image(url=chart_url, alt_text=alt)) if chart_url else "drop"
        return [element]
    if chart_url:
        return [ac.Image(url=chart_url, alt_text=alt_text)]
    return []


def sql_block(sql: str, lang: Lang) -> list[Element]:
    """A "SQL 보기" button and the SQL it shows, hidden until then (DESIGN.md: every numeric
    answer can show its SQL)."""
    shown = sql if len(sql) <= MAX_SQL_CHARS else sql[:MAX_SQL_CHARS] + "\n…"
    toggle = ac.ActionToggleVisibility(
        title=tr(lang, "SQL 보기", "Show SQL"),
        target_elements=[ac.TargetElement(element_id=SQL_BLOCK_ID)],
    )
    return [ac.ActionSet(actions=[toggle]), literal(shown, element_id=SQL_BLOCK_ID, visible=False)]
