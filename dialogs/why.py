"""Why did it move, why does it stand there, and what should we do: computed first, then
the team's playbooks. No model is needed; with one, the LLM path words these same facts.

- **change** ("지난주 매출이 왜 떨어졌어?"): the metric over the period against its
  comparison, the change split into its factors (revenue = sessions x conversion x order
  value; a ratio into traffic mix and rate), the three segments of channel, device,
  country and source that drove it most (`kpi.insights.drivers`), unless the change is
  within the metric's usual movement (`kpi.insights.noise`), which the answer then says.
- **state** ("모바일 전환율이 왜 낮아?"): the segment against the store over the same
  days (`kpi.insights.gaps`): shares of sessions and of the metric, its rate against the
  store's, the gap split into its parts.
- **what_to_do** ("이탈률 줄이려면 어떻게 해야 해?"): where the metric stands now
  (against the period before, or the segment against the store), then the playbooks.

Every answer ends with the playbook passages that fit the metric and the drivers, quoted
with file and page, or says that no playbook covers it.

The comparison when a question names no period: with a weekly word ("주간", "weekly")
the last full week against the week before; otherwise yesterday against the same weekday a
week before. A named day is compared with the same weekday a week before, a whole month
with the month before, this month so far with the same days of last month, "this week" so
far with the same days last week, and any other period with as many days right before it.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from typing import Any, Literal, cast

from cards.chart_png import bar_chart_png
from cards.charts import Series, bar_chart_element
from cards.why import Quote, WhyView, why_card
from dialogs.context import AskContext, Reply
from dialogs.parser import Parsed
from dialogs.rag import relevant_hits
from kpi.insights.drivers import DRIVER_DIMENSIONS, DriverReport, Effect, explain
from kpi.insights.gaps import SegmentGap, segment_gap
from kpi.insights.noise import step_days, typical_change, within_noise
from kpi.metrics.catalog import DIMENSIONS, METRICS
from kpi.metrics.periods import dates_en, dates_ko
from kpi.metrics.query import MetricQuery, compile_sql, run_query, run_together
from kpi.metrics.units import format_value
from rag_indexer.index import Hit

Kind = Literal["change", "state", "what_to_do"]
KINDS: tuple[Kind, ...] = ("change", "state", "what_to_do")
DEFAULT_METRIC = "revenue"
TOP_DRIVERS = 3
PLAYBOOK_QUOTES = 3

# A number that moved, said as an event ("떨어졌어", "dropped"), or as a direction ("왜 이렇게
# 낮아졌지", "down this week"); a bare direction after "how do we ..." is a goal, not an event.
_MOVED = re.compile(
    r"떨어졌|떨어진|떨어짐|줄었|줄어들|줄어든|감소|하락|빠졌|빠진|빠짐|늘었|늘어났|늘어난|증가|상승|올랐|오른|올라갔"
    r"|급증|급감|뛰었|튀었|튄|튀어|폭락|폭등|변했|바뀌었|달라졌|꺾였|반토막|주저앉|낮아졌|높아졌|보다\s*(?:낮|높|적|많)"
    r"|(?<![a-z])(?:dropped|fell|falling|declined|declining|decreased|rose|rising|increased|spiked"
    r"|jumped|tank|tanks|tanked|plunged|surged|changed|moved|driving|drove|caused|dipped|slumped|crashed"
    r"|what\s+happened|going\s+on|lower\s+than|higher\s+than|(?:is|are|was|were|went|been)\s+"
    r"(?:down|up))(?![a-z])"
)
_FELL = re.compile(
    r"떨어|줄|감소|하락|빠|급감|폭락|낮아|(?<![a-z])(?:drop|fell|fall|declin|decreas|down|tank|plung|dip|slump|crash)"
)
_ROSE = re.compile(
    r"늘|증가|상승|올랐|오른|급증|폭등|높아|튀|(?<![a-z])(?:rose|rise|rising|increas|up|spik|jump|surg)"
)
_DIRECTION = re.compile(r"(?<![a-z])(?:down|up|drop|fall|decline|spike|jump)(?![a-z])")
_TO_DO = re.compile(
    r"어떻게|개선|대책|전략|방안|해결|해야|줄이|늘리|높이|올리|낮추|뭐부터|뭘\s*해|추천|조언|방법"
    r"|(?<![a-z])(?:what\s+(?:should|can|could|do)\s+we|how\s+(?:do|can|could|should|would)\s+"
    r"(?:we|i)|fix|improv\w*|boost\w*|reduc\w*|get\s+more|grow|plan|recommend\w*|advice"
    r"|tips?|next\s+steps?|what\s+to\s+do)(?![a-z])"
)
_WHY = re.compile(r"왜|이유|원인|때문|(?<![a-z])(?:why|reasons?|what\s+caused)(?![a-z])")
_WEEKLY = re.compile(r"주간|매주|한\s*주|(?<![a-z])(?:weekly|week)(?![a-z])")


@dataclass
class Analysis:
    """The computed part of a why answer: what `ask --json` prints as "facts"."""

    kind: Kind
    metric: str
    segment: dict[str, list[str]]
    period: tuple[dt.date, dt.date]
    comparison: tuple[dt.date, dt.date] | None
    basis: str  # how the comparison was chosen, e.g. "same_weekday_last_week"
    before: float | None = None
    after: float | None = None
    typical_change: float | None = None
    within_noise: bool = False
    report: DriverReport | None = None
    gap: SegmentGap | None = None
    playbooks: list[Hit] = field(default_factory=list)
    sql: str = ""
    held: tuple[dt.date, dt.date] | None = None  # the days the warehouse has, when `period`
    # lies outside them

    @property
    def change(self) -> float | None:
        if self.before is None or self.after is None:
            return None
        return self.after - self.before

    @property
    def factors(self) -> list[Effect]:
        if self.report is None:
            return []
        if self.report.factors:
            return self.report.factors
        if METRICS[self.metric].is_ratio and "channel" in self.report.by_dimension:
            # A ratio's change over the channels: its mix part and its rate part.
            totals: dict[str, float] = {}
            for driver in self.report.by_dimension["channel"]:
                for effect in driver.effects:
                    totals[effect.factor] = totals.get(effect.factor, 0.0) + effect.contribution
            return [Effect(name, value) for name, value in totals.items()]
        return []

    @property
    def drivers(self) -> list[Any]:
        """The top driving segments, each once: the Direct channel and the "(direct)"
        source are the same sessions, so a segment whose part equals one already named is
        the same cause seen from another dimension."""
        if self.report is None or self.within_noise:
            return []
        chosen: list[Any] = []
        for driver in self.report.top_drivers:
            if all(abs(driver.contribution - c.contribution) > 1e-9 * (1 + abs(c.contribution))
                   for c in chosen):  # fmt: skip
                chosen.append(driver)
            if len(chosen) == TOP_DRIVERS:
                break
        return chosen

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "metric": self.metric,
            "segment": self.segment,
            "period": _span(self.period),
            "comparison": _span(self.comparison) if self.comparison else None,
            "basis": self.basis,
            "before": self.before,
            "after": self.after,
            "change": self.change,
            "typical_change": self.typical_change,
            "within_noise": self.within_noise,
            "factors": [{"factor": f.factor, "contribution": f.contribution} for f in self.factors],
            "drivers": [
                {
                    "dimension": d.dimension,
                    "segment": d.segment,
                    "before": d.before,
                    "after": d.after,
                    "contribution": d.contribution,
                    "main_effect": d.main_effect.factor,
                }
                for d in self.drivers
            ],
            "gap": self.gap.to_dict() if self.gap else None,
            "data_range": _span(self.held) if self.held else None,
            "playbooks": [
                {"file": h.file, "page": h.page, "score": h.score} for h in self.playbooks
            ],
        }


def kind_of(text: str, segment: dict[str, list[str]]) -> Kind:
    """Which question this is: a change over time, a segment's standing, or what to do."""
    lowered = text.lower()
    asks_why, to_do = bool(_WHY.search(lowered)), bool(_TO_DO.search(lowered))
    if _MOVED.search(lowered) or (_DIRECTION.search(lowered) and not to_do):
        return "change"
    if to_do and not asks_why:
        return "what_to_do"
    return "state" if segment or asks_why else "what_to_do"


def reasoning_reply(text: str, parsed: Parsed, ctx: AskContext, kind: str | None = None) -> Reply:
    """The offline answer to a why / what-to-do question the parser routed here; `kind`
    carries a follow-up's ("그럼 모바일은?") from the why answer before it."""
    analysis = analysis_for(text, parsed, ctx, kind)
    return render(analysis, text, ctx, parsed.lang, parsed.query)


def analysis_for(text: str, parsed: Parsed, ctx: AskContext, kind: str | None = None) -> Analysis:
    """What a parsed why question asks, computed, with the playbooks that fit (the offline
    answer shows it; the LLM path words it)."""
    query = parsed.query
    segment = {k: list(v) for k, v in query.filters} if query else {}
    chosen = cast(Kind, kind) if kind in KINDS else kind_of(text, segment)
    metric = _metric(query, chosen)
    period, comparison, basis = comparison_for(text, parsed, ctx.as_of, chosen)
    analysis = analyse(ctx, chosen, metric, segment, period, comparison, basis)
    analysis.playbooks = playbooks(text, analysis, ctx, parsed.lang)
    return analysis


def why_reply(metric_name: str, ctx: AskContext, lang: str) -> Reply:
    """The alert card's Why?: today so far against the same weekday last week, the same
    answer a typed why question gets, playbooks included."""
    today = ctx.as_of
    week_ago = today - dt.timedelta(days=7)
    question = (
        f"오늘 {METRICS[metric_name].label('ko')} 왜 변했어?"
        if lang == "ko"
        else f"Why did {METRICS[metric_name].label('en').lower()} change today?"
    )
    analysis = analyse(ctx, "change", metric_name, {}, (today, today), (week_ago, week_ago),
                       "same_weekday_last_week")  # fmt: skip
    analysis.playbooks = playbooks(question, analysis, ctx, lang)
    return render(analysis, question, ctx, lang, None)


def comparison_for(
    text: str, parsed: Parsed, as_of: dt.date, kind: Kind
) -> tuple[tuple[dt.date, dt.date], tuple[dt.date, dt.date] | None, str]:
    """(period, comparison, basis) by the rules in the module's docstring."""
    yesterday = as_of - dt.timedelta(days=1)
    if parsed.period is None or parsed.period_is_default:
        if _WEEKLY.search(text.lower()):
            monday = as_of - dt.timedelta(days=as_of.weekday() + 7)
            last_week = (monday, monday + dt.timedelta(days=6))
            return last_week, _shift(last_week, 7), "previous_week"
        if kind != "change":
            # Where it stands: the last 7 days, against the 7 before.
            recent = (as_of - dt.timedelta(days=7), yesterday)
            return recent, _shift(recent, 7), "previous_period"
        return (yesterday, yesterday), _shift((yesterday, yesterday), 7), "same_weekday_last_week"
    start, end = parsed.period.start, parsed.period.end
    days = (end - start).days + 1
    if days == 1:
        return (start, end), _shift((start, end), 7), "same_weekday_last_week"
    one_month = (start.year, start.month) == (end.year, end.month)
    if start.day == 1 and one_month and (end + dt.timedelta(days=1)).day == 1:  # a whole month
        last = start - dt.timedelta(days=1)
        return (start, end), (last.replace(day=1), last), "previous_month"
    if start.day == 1 and one_month:  # this month so far: as many days of the month before
        first = (start - dt.timedelta(days=1)).replace(day=1)
        same = min(end.day, (start - dt.timedelta(days=1)).day)
        return (start, end), (first, first.replace(day=same)), "same_days_last_month"
    if start.weekday() == 0 and days < 7 and end == yesterday:
        return (start, end), _shift((start, end), 7), "same_days_last_week"
    if days == 7 and start.weekday() == 0:
        return (start, end), _shift((start, end), 7), "previous_week"
    return (start, end), _shift((start, end), days), "previous_period"


def analyse(
    ctx: AskContext,
    kind: Kind,
    metric: str,
    segment: dict[str, list[str]],
    period: tuple[dt.date, dt.date],
    comparison: tuple[dt.date, dt.date] | None,
    basis: str,
) -> Analysis:
    """The numbers: the change and its drivers, its usual noise, the segment's gap."""
    analysis = Analysis(kind, metric, segment, period, comparison, basis)
    query = MetricQuery.build([metric], period[0], period[1], filters=segment or None,
                              compare=None)  # fmt: skip
    analysis.sql = compile_sql(query, dialect=ctx.warehouse.dialect_name, zone=ctx.zone)
    held = ctx.warehouse.date_range()
    if held is None or period[1] < held[0] or period[0] > held[1]:
        analysis.held = held
        return analysis  # nothing to compute; the answer names the days there are
    session_metric = METRICS[metric].grain == "session"
    # A segment's standing is answered by its gap to the store; its drivers over time
    # would cost ten scans for a part of the answer nobody asked for.
    standing = bool(segment) and kind != "change"
    if comparison is not None:
        dims = [d for d in DRIVER_DIMENSIONS if d not in segment]

        def change() -> DriverReport | tuple[float | None, float | None]:
            if session_metric and not standing:
                return explain(ctx.warehouse, metric, period, comparison, zone=ctx.zone,
                               dimensions=dims, filters=segment or None)  # fmt: skip
            return _totals(ctx, metric, segment, period, comparison)

        def noise() -> float | None:
            return typical_change(ctx.warehouse, metric, comparison, zone=ctx.zone,
                                  step=step_days(*period), filters=segment or None)  # fmt: skip

        moved, analysis.typical_change = run_together(change, noise)
        if isinstance(moved, DriverReport):
            analysis.report = moved
            moved = (moved.before, moved.after)
        analysis.before, analysis.after = moved
        analysis.within_noise = within_noise(analysis.change, analysis.typical_change)
    if standing and session_metric:
        analysis.gap = segment_gap(ctx.warehouse, metric, segment, period, zone=ctx.zone)
    return analysis


def playbooks(text: str, analysis: Analysis, ctx: AskContext, lang: str) -> list[Hit]:
    """The passages that fit the metric and what drove it, best first (none offline without
    an index). The search text names the metric and the segments in both languages, so an
    English playbook answers a Korean question too."""
    if ctx.library is None:
        return []
    metric = METRICS[analysis.metric]
    names = [metric.label("ko"), metric.label("en")]
    names += [value for values in analysis.segment.values() for value in values]
    names += [d.segment for d in analysis.drivers[:2]]
    found: dict[tuple[str, int], Hit] = {}
    for question in (text, " ".join(names)):
        for hit in relevant_hits(question, ctx.library, top=5):
            found.setdefault((hit.file, hit.page), hit)
    return sorted(found.values(), key=lambda h: -h.score)[:PLAYBOOK_QUOTES]


# -- words --------------------------------------------------------------------------------

_EFFECT = {
    "sessions": ("세션 수", "traffic"),
    "conversion_rate": ("전환율", "conversion"),
    "aov": ("주문 금액", "order value"),
    "mix": ("트래픽 비중", "traffic mix"),
    "rate": ("자체 비율", "its own rate"),
    "change": ("자체 변화", "its own change"),
    "volume": ("규모", "volume"),
}
_BASIS = {
    "same_weekday_last_week": ("지난주 같은 요일 대비", "against the same weekday a week before"),
    "previous_week": (
        "지난 한 주(월~일)를 그 전 주와 비교",
        "the last full week against the one before",
    ),
    "same_days_last_week": ("지난주 같은 날들 대비", "against the same days last week"),
    "previous_month": ("지난달 대비", "against the month before"),
    "same_days_last_month": ("지난달 같은 날짜 대비", "against the same days of last month"),
    "previous_period": ("직전 같은 길이의 기간 대비", "against as many days right before"),
}


def render(
    analysis: Analysis, question: str, ctx: AskContext, lang: str, query: MetricQuery | None
) -> Reply:
    lines = _headline(analysis, question, lang)
    factor_lines = _factor_lines(analysis, lang)
    driver_sentences = _driver_sentences(analysis, lang)
    gap_lines = _gap_lines(analysis, lang)
    quotes = [
        Quote(f"{h.file} p.{h.page}", ctx.library.link(h) if ctx.library else None,
              _clip(h.text, 220))
        for h in analysis.playbooks
    ]  # fmt: skip
    text_lines = [*lines, *factor_lines, *gap_lines]
    if driver_sentences:
        text_lines.append("주요 원인:" if lang == "ko" else "What drove it:")
        text_lines += [f"- {s}" for s in driver_sentences]
    if quotes:
        text_lines.append("플레이북:" if lang == "ko" else "From the playbooks:")
        # [n] is the n-th passage in `hits`: Teams shows it as a citation pill (bot/teams_ai.py).
        text_lines += [f"- {q.label}: {q.text} [{n}]" for n, q in enumerate(quotes, start=1)]
    else:
        text_lines.append(_NO_PLAYBOOK[lang])
    chart_url, chart_element = _chart(analysis, lang, ctx)
    card = why_card(
        WhyView(
            question=question,
            headline=lines,
            factors=factor_lines,
            gap=gap_lines,
            drivers=driver_sentences,
            quotes=quotes,
            no_playbook=_NO_PLAYBOOK[lang],
            chart_element=chart_element,
            chart_url=chart_url,
            sql=analysis.sql,
            follow_ups=_follow_ups(analysis, lang),
        ),
        lang=lang,
    )
    return Reply("reasoning", lang, "\n".join(text_lines), card, query, sql=analysis.sql,
                 hits=analysis.playbooks, facts=analysis.to_dict())  # fmt: skip


_NO_PLAYBOOK = {
    "ko": "이 상황을 다루는 플레이북은 찾지 못했어요.",
    "en": "No playbook covers this yet.",
}


def fact_lines(analysis: Analysis, lang: str) -> list[str]:
    """The computed part of the answer as sentences, in the order the answer shows them
    (the LLM path words these same facts)."""
    return [
        *_headline(analysis, "", lang),
        *_factor_lines(analysis, lang),
        *_gap_lines(analysis, lang),
        *_driver_sentences(analysis, lang),
    ]


def _headline(analysis: Analysis, question: str, lang: str) -> list[str]:
    metric = METRICS[analysis.metric]
    unit = metric.unit
    scope = " · ".join(v for values in analysis.segment.values() for v in values)
    subject = f"{scope} {metric.label(lang)}".strip()
    lines: list[str] = []
    period_words = _dates(analysis.period, lang)
    if analysis.comparison is not None and analysis.change is not None:
        basis = _BASIS[analysis.basis][0 if lang == "ko" else 1]
        lines.append(
            f"{subject}: {format_value(analysis.before, unit, lang)} → "
            f"{format_value(analysis.after, unit, lang)} ({_signed(analysis.change, unit, lang)}), "
            f"{period_words}, {basis} ({_dates(analysis.comparison, lang)})"
        )
        contrary = _contrary(question, analysis.change)
        if contrary:
            lines.append(contrary[0 if lang == "ko" else 1])
        if analysis.within_noise:
            lines.append(_noise_sentence(analysis, lang))
    elif analysis.held is not None or analysis.comparison is not None:
        held = (
            _dates(analysis.held, lang) if analysis.held else ("없음" if lang == "ko" else "none")
        )
        lines.append(
            f"{subject}: {period_words}에는 데이터가 없어요 (보유 기간: {held})." if lang == "ko"
            else f"{subject}: there is no data for {period_words} (the data covers {held})."
        )  # fmt: skip
    return lines


def _driver_sentences(analysis: Analysis, lang: str) -> list[str]:
    return [_driver_sentence(d, analysis, lang) for d in analysis.drivers]


def _contrary(question: str, change: float | None) -> tuple[str, str] | None:
    """A question that says "dropped" about a number that rose (or the other way): say so
    before explaining a move that did not happen."""
    lowered = question.lower()
    fell, rose = bool(_FELL.search(lowered)), bool(_ROSE.search(lowered))
    if change is None or change == 0 or fell == rose:
        return None
    if fell and change > 0:
        return ("참고: 이 기간에는 줄지 않고 늘었어요.", "Note: over these days it rose, not fell.")
    if rose and change < 0:
        return ("참고: 이 기간에는 늘지 않고 줄었어요.", "Note: over these days it fell, not rose.")
    return None


def _noise_sentence(analysis: Analysis, lang: str) -> str:
    typical = format_value(analysis.typical_change, METRICS[analysis.metric].unit, lang)
    if METRICS[analysis.metric].unit == "ratio" and analysis.typical_change is not None:
        typical = f"{analysis.typical_change * 100:.2f}%p"
    return (
        f"이 정도 변화는 평소 변동 범위(보통 ±{typical}) 안이라 뚜렷한 원인이 있다고 보기 어려워요."
        if lang == "ko"
        else f"This is within the metric's normal movement (typically ±{typical}), so no clear "
        "cause stands out."
    )


def _factor_lines(analysis: Analysis, lang: str) -> list[str]:
    factors = analysis.factors
    if not factors or analysis.change is None or analysis.within_noise:
        return []
    unit = METRICS[analysis.metric].unit
    parts = " + ".join(
        f"{_EFFECT.get(f.factor, (f.factor, f.factor))[0 if lang == 'ko' else 1]} "
        f"{_signed(f.contribution, unit, lang)}"
        for f in factors
    )
    head = "변화 분해" if lang == "ko" else "The change, by factor"
    return [f"{head}: {_signed(analysis.change, unit, lang)} = {parts}"]


def _driver_sentence(driver: Any, analysis: Analysis, lang: str) -> str:
    metric = METRICS[analysis.metric]
    unit = metric.unit
    dim = DIMENSIONS[driver.dimension].label(lang)
    share = abs(driver.share_of_change)
    effect = _EFFECT.get(driver.main_effect.factor, (driver.main_effect.factor,) * 2)
    if lang == "ko":
        return (
            f"{dim} {driver.segment}: {metric.label('ko')} "
            f"{format_value(driver.before, unit, 'ko')} → {format_value(driver.after, unit, 'ko')}"
            ", 전체 변화 중 "
            f"{_signed(driver.contribution, unit, 'ko')}({share:.0%}), 주로 {effect[0]} 때문"
        )
    return (
        f"{dim} {driver.segment}: {metric.label('en').lower()} "
        f"{format_value(driver.before, unit, 'en')} → {format_value(driver.after, unit, 'en')}, "
        f"{_signed(driver.contribution, unit, 'en')} of the change ({share:.0%}), mostly "
        f"{effect[1]}"
    )


def _gap_lines(analysis: Analysis, lang: str) -> list[str]:
    gap = analysis.gap
    if gap is None:
        return []
    metric = METRICS[analysis.metric]
    unit = metric.unit
    scope = " · ".join(v for values in gap.segment.values() for v in values)
    store = "스토어 전체" if lang == "ko" else "the whole store"
    lines = [
        f"{scope} {metric.label(lang)} {format_value(gap.segment_value, unit, lang)} vs "
        f"{store} {format_value(gap.store_value, unit, lang)}"
    ]
    if gap.share_of_sessions is not None:
        sessions = f"{gap.share_of_sessions:.1%}"
        if gap.share_of_metric is not None:
            lines.append(
                f"{scope}: 세션의 {sessions}, {metric.label('ko')}의 {gap.share_of_metric:.1%}"
                if lang == "ko"
                else f"{scope}: {sessions} of sessions, {gap.share_of_metric:.1%} of "
                f"{metric.label('en').lower()}"
            )
        else:
            lines.append(
                f"{scope}: 세션의 {sessions}"
                if lang == "ko"
                else f"{scope}: {sessions} of sessions"
            )
    if gap.parts:
        explained_unit = "usd" if gap.explained == "revenue_per_session" else unit
        what = (
            METRICS["revenue_per_session"].label(lang)
            if gap.explained == "revenue_per_session"
            else metric.label(lang)
        )
        parts = " + ".join(
            f"{_EFFECT.get(p.factor, (p.factor, p.factor))[0 if lang == 'ko' else 1]} "
            f"{_signed(p.contribution, explained_unit, lang)}"
            for p in gap.parts
        )
        head = "차이 분해" if lang == "ko" else "The gap, by part"
        lines.append(f"{head} ({what}): {parts}")
    for sub in gap.by[:2]:
        dim = DIMENSIONS[sub.dimension].label(lang)
        lines.append(
            f"{dim} {sub.name}: {format_value(sub.segment_rate, unit, lang)} vs "
            f"{store} {format_value(sub.store_rate, unit, lang)}"
        )
    return lines


def _chart(analysis: Analysis, lang: str, ctx: AskContext) -> tuple[str | None, dict | None]:
    """Bars of what moved the metric: its factors, then its top driving segments."""
    unit = METRICS[analysis.metric].unit
    labels: list[str] = []
    values: list[float | None] = []
    # Teams draws no bar below zero, so each bar is the size of its part and its label
    # carries the direction.
    for factor in analysis.factors if not analysis.within_noise else []:
        name = _EFFECT.get(factor.factor, (factor.factor,) * 2)[0 if lang == "ko" else 1]
        labels.append(f"{name} {_arrow(factor.contribution)}")
        values.append(abs(factor.contribution))
    for driver in analysis.drivers:
        labels.append(f"{driver.segment} {_arrow(driver.contribution)}")
        values.append(abs(driver.contribution))
    if not labels:
        return None, None
    title = (
        "변화에 대한 기여 (크기, ▲ 늘림 ▼ 줄임)" if lang == "ko"
        else "Contribution to the change (size; ▲ raised it, ▼ lowered it)"
    )  # fmt: skip
    series = Series(title, labels, values)
    element = bar_chart_element(series, title=title, unit=unit, lang=lang)
    url = None
    if ctx.save_chart is not None:
        url = ctx.save_chart(bar_chart_png(series, unit=unit, title=title, lang=lang))
    return url, element


def _arrow(value: float) -> str:
    return "▲" if value > 0 else "▼" if value < 0 else ""


def _follow_ups(analysis: Analysis, lang: str) -> list[tuple[str, str]]:
    metric = METRICS[analysis.metric]
    period = _dates(analysis.period, lang)
    options = []
    for driver in analysis.drivers[:1]:
        title = f"{driver.segment}만 보기" if lang == "ko" else f"Only {driver.segment}"
        question = (
            f"{period} {driver.segment} {metric.label('ko')} 일별로"
            if lang == "ko"
            else f"daily {metric.label('en').lower()} for {driver.segment} {period}"
        )
        options.append((title, question))
    if analysis.kind == "change":
        options.append(
            (f"{metric.label('ko')} 개선 방법", f"{metric.label('ko')} 개선하려면 어떻게 해야 해?")
            if lang == "ko"
            else ("What should we do?", f"how do we improve {metric.label('en').lower()}?")
        )
    return options


def _metric(query: MetricQuery | None, kind: Kind) -> str:
    if query is None:
        return DEFAULT_METRIC
    metrics = list(query.metrics)
    if kind == "state" and len(metrics) > 1:
        return metrics[-1]  # "many sessions but almost no revenue": revenue is the question
    return metrics[0]


def _totals(ctx: AskContext, metric: str, segment: dict[str, list[str]],
            period: tuple[dt.date, dt.date], comparison: tuple[dt.date, dt.date]
            ) -> tuple[float | None, float | None]:  # fmt: skip
    def value(span: tuple[dt.date, dt.date]) -> float | None:
        query = MetricQuery.build([metric], span[0], span[1], filters=segment or None)
        rows = run_query(ctx.warehouse, query, zone=ctx.zone).rows
        return rows[0].get(metric) if rows else None

    before, after = run_together(lambda: value(comparison), lambda: value(period))
    return before, after


def _shift(span: tuple[dt.date, dt.date], days: int) -> tuple[dt.date, dt.date]:
    delta = dt.timedelta(days=days)
    return span[0] - delta, span[1] - delta


def _span(span: tuple[dt.date, dt.date]) -> dict[str, str]:
    return {"start": span[0].isoformat(), "end": span[1].isoformat()}


def _dates(span: tuple[dt.date, dt.date], lang: str) -> str:
    year = span[1].year
    return dates_ko(span[0], span[1], year) if lang == "ko" else dates_en(span[0], span[1], year)


def _signed(value: float | None, unit: str, lang: str) -> str:
    if value is None:
        return "—"
    if unit == "ratio":
        return f"{value * 100:+.2f}%p"
    sign = "+" if value >= 0 else "-"
    return sign + format_value(abs(value), unit, lang)


def _clip(value: str, limit: int) -> str:
    value = " ".join(value.split())
    return value if len(value) <= limit else value[: limit - 1].rstrip() + "…"
