"""The dialog stack: a message in, a reply (text and card) out, for Teams and the CLI.

`answer()` routes what the parser understood: numbers go to the SQL dialog (metric layer
-> answer card with the number, its change, a table, a chart and its SQL); help,
greetings, clarifying questions and "I don't know that" get their cards; questions about
documents are answered from the indexed PDFs (dialogs/rag.py), and so is a question the
parser cannot place when the documents cover it; the news' mood from the news store
(dialogs/news.py); reasoning is a seam its issue fills,
answered honestly until then. Nothing here knows Teams: the bot and `commercy ask` both
call `answer()`.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

import cards
from cards.chart_png import bar_chart_png, line_chart_png
from cards.charts import Series, bar_chart_element, line_chart_element
from dialogs.parser import Parsed, detect_language, parse
from dialogs.rag import Library, answer_from_documents
from kpi.insights.summary import daily_summary, relative_change
from kpi.metrics.catalog import DIMENSIONS, METRICS, CatalogError
from kpi.metrics.query import MetricQuery, QueryResult, check_filter_values, run_query
from kpi.metrics.units import format_value

log = logging.getLogger(__name__)

TIME_DIMENSIONS = ("date", "week", "month")


@dataclass
class AskContext:
    """What a dialog needs besides the text: the warehouse, the reporting zone, today,
    the conversation's last query, and where chart images go (returns their URL)."""

    warehouse: Any
    zone: str
    as_of: dt.date
    previous: MetricQuery | None = None
    save_chart: Callable[[bytes], str] | None = None
    library: Library | None = None  # the indexed documents; None: not configured
    assistant: Any = None  # dialogs.assistant.Assistant with an LLM; None: offline
    news_path: str | None = None  # the news store (news/); None: no news


@dataclass
class Reply:
    route: str
    lang: str
    text: str
    card: dict[str, Any] | None = None
    query: MetricQuery | None = None
    rows: list[dict[str, Any]] = field(default_factory=list)
    sql: str | None = None
    command: str | None = None  # for the bot to carry out: alerts_on/off, summary_time
    argument: str | None = None
    hits: list[Any] = field(default_factory=list)  # rag: the passages quoted (index.Hit)

    def to_dict(self) -> dict[str, Any]:
        query = None
        if self.query is not None:
            query = {
                "metrics": list(self.query.metrics),
                "dimensions": list(self.query.dimensions),
                "filters": {k: v[0] if len(v) == 1 else list(v) for k, v in self.query.filters},
                "start": self.query.start.isoformat(),
                "end": self.query.end.isoformat(),
                "limit": self.query.limit,
            }
        rows = [
            {k: v.isoformat() if isinstance(v, dt.date) else v for k, v in r.items()}
            for r in self.rows
        ]
        reply = {
            "route": self.route,
            "lang": self.lang,
            "query": query,
            "rows": rows,
            "sql": self.sql,
            "text": self.text,
            "card": self.card,
        }
        if "rag" in self.route.split("+") or (self.route == "reasoning" and self.hits):
            reply["sources"] = [hit.to_dict() for hit in self.hits]
        return reply


def answer(text: str, ctx: AskContext) -> Reply:
    """The reply to one message. Raises only for a broken warehouse or a bug; the caller
    turns that into an apology with a correlation id.

    With an LLM (`ctx.assistant`) everything but help, greetings and commands goes to it;
    when it cannot be reached, the offline answer comes with a note saying so."""
    if ctx.assistant is None:
        return offline_answer(text, ctx)
    parsed = parse(text, as_of=ctx.as_of, previous=ctx.previous)
    if parsed.route in ("help", "greeting", "command", "news"):
        return offline_answer(text, ctx, parsed)
    reply = ctx.assistant.answer(text, ctx, parsed)
    if reply is not None:
        return reply
    from cards.assistant import with_note
    from dialogs.assistant import NOTE_OFFLINE

    reply = offline_answer(text, ctx, parsed)
    note = NOTE_OFFLINE[reply.lang]
    return replace(reply, text=f"{reply.text}\n({note})", card=with_note(reply.card, note))


def offline_answer(text: str, ctx: AskContext, parsed: Parsed | None = None) -> Reply:
    """The reply without an LLM: the bilingual parser, the metric layer, the documents."""
    parsed = parsed or parse(text, as_of=ctx.as_of, previous=ctx.previous)
    lang = parsed.lang
    if parsed.route == "sql" and parsed.query is not None:
        return sql_reply(parsed, ctx)
    if parsed.route in ("help", "greeting"):
        return Reply(parsed.route, lang, _HELP_TEXT[lang], cards.help_card(lang=lang))
    if parsed.route == "clarify":
        prompt = parsed.prompt or _WHICH[lang]
        choices = [(c.label, c.text) for c in parsed.choices]
        return Reply("clarify", lang, prompt, cards.clarify_card(prompt, choices, lang=lang))
    if parsed.route == "command" and parsed.command == "summary_now":
        return summary_reply(ctx, lang)
    if parsed.route == "command" and parsed.command in _CONFIRM:
        text = _CONFIRM[parsed.command][lang].format(time=parsed.argument or "09:00")
        return Reply("command", lang, text, command=parsed.command, argument=parsed.argument)
    if parsed.route == "rag" and ctx.library is not None:
        found = answer_from_documents(text, ctx.library, lang)
        return Reply("rag", lang, found.text, found.card, hits=found.hits)
    if parsed.route == "news":
        from dialogs.news import news_answer

        said, card = news_answer(ctx.news_path, period=parsed.period, topic=parsed.argument,
                                 lang=lang, zone=ctx.zone, as_of=ctx.as_of)  # fmt: skip
        return Reply("news", lang, said, card)
    if parsed.route == "reasoning" and ctx.library is not None:
        # Until the reasoning dialog computes why, a playbook that covers "what should we
        # do" is the best answer there is; otherwise the honest "not yet" below.
        found = answer_from_documents(text, ctx.library, lang)
        if found.covered:
            return Reply("rag", lang, found.text, found.card, hits=found.hits)
    if parsed.route in ("rag", "reasoning", "command"):
        return Reply(
            parsed.route,
            lang,
            _NOT_YET[lang][parsed.route],
            cards.not_yet_card(parsed.route, lang=lang),
        )
    if ctx.library is not None:
        # Not a KPI question the parser knows: the playbooks may answer it ("결제 오류 나면
        # 누구한테 연락해?"); if they do not, the usual "what I can answer" follows.
        found = answer_from_documents(text, ctx.library, lang)
        if found.covered:
            return Reply("rag", lang, found.text, found.card, hits=found.hits)
    prompt = parsed.prompt or _UNKNOWN[lang]
    choices = [(c.label, c.text) for c in parsed.choices]
    return Reply("unknown", lang, prompt, cards.unknown_card(prompt, choices, lang=lang))


def why_reply(metric_name: str, ctx: AskContext, lang: str) -> Reply:
    """Why a metric moved today (so far) against the same weekday last week: the factors
    and the segments that explain it most (kpi.insights.drivers), in words."""
    from kpi.insights.drivers import explain

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


def driver_lines(report: Any, lang: str, *, limit: int) -> list[str]:
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
    result = run_query(ctx.warehouse, query, zone=ctx.zone)
    period_label = parsed.period.label(lang) if parsed.period else f"{query.start} ~ {query.end}"
    chart_url, chart_element = _chart(result, lang, period_label, ctx)
    text = describe(result, lang, period_label, parsed.period_is_default)
    card = cards.answer_card(
        result,
        lang=lang,
        period_label=period_label,
        period_is_default=parsed.period_is_default,
        chart_url=chart_url,
        chart_element=chart_element,
        follow_ups=follow_ups(query, lang),
    )
    return Reply("sql", lang, text, card, query, result.rows, result.sql)


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


_CONFIRM = {
    "alerts_off": {
        "ko": "이 대화의 위험 알림을 껐어요. '알림 켜기'로 다시 켤 수 있어요.",
        "en": "Risk alerts are off for this chat. Say 'alerts on' to turn them back on.",
    },
    "alerts_on": {
        "ko": "이 대화의 위험 알림을 켰어요. 이상 징후가 보이면 5분 안에 알려 드릴게요.",
        "en": "Risk alerts are on for this chat: I'll post within 5 minutes of a problem.",
    },
    "summary_time": {
        "ko": "매일 {time}에 KPI 요약을 보내 드릴게요.",
        "en": "I'll send the KPI summary every day at {time}.",
    },
}

_HELP_TEXT = {
    "ko": "매출, 전환율, 이탈률 같은 지표를 물어보세요. "
    "예: '어제 매출', '지난주 채널별 전환율', '최근 14일 일별 세션'.",
    "en": "Ask about revenue, conversion, bounce rate and more, e.g. 'revenue yesterday', "
    "'conversion rate by channel last week', 'daily sessions in the last 14 days'.",
}
_WHICH = {"ko": "어떤 지표를 볼까요?", "en": "Which metric would you like?"}
_UNKNOWN = {
    "ko": "아직 이해하지 못했어요. 매출, 세션, 전환율 같은 지표와 기간으로 물어봐 주세요.",
    "en": "I didn't catch that. Ask about a metric such as revenue, sessions or conversion rate, "
    "and a period.",
}
_NOT_YET = {
    "ko": {
        "rag": "문서(플레이북) 검색 답변은 곧 제공됩니다. 지금은 지표 질문에 답할 수 있어요.",
        "reasoning": "'왜'와 '어떻게' 질문에 대한 분석 답변은 곧 제공됩니다. "
        "지금은 지표 질문에 답할 수 있어요.",
        "command": "알림 설정은 곧 제공됩니다.",
    },
    "en": {
        "rag": "Answers from documents (playbooks) are coming soon. "
        "For now I answer metric questions.",
        "reasoning": "Answers to 'why' and 'what should we do' are coming soon. For now I answer "
        "metric questions.",
        "command": "Alert settings are coming soon.",
    },
}


def language_of(text: str) -> str:
    """The reply language for `text` (for apologies when answering failed)."""
    try:
        return detect_language(text or "")
    except Exception:  # the apology path must not fail
        return "ko"
