"""What the bot says around an answer, computed from the question and the reply alone:
the progress line a slow answer streams first ("지난주 매출 변화를 분석하고 있어요…")
and the next questions offered under a text-only answer (Teams suggested actions).

Pure functions, no Teams: bot/streaming.py puts them on activities. Every suggestion is
a question the parser answers as a follow-up of the reply's query (tests check each)."""

from __future__ import annotations

import datetime as dt

from dialogs.context import Reply
from dialogs.parser import parse
from kpi.metrics.catalog import METRICS
from kpi.metrics.query import MetricQuery
from language.particles import object_particle

# Teams shows at most three suggested actions.
MAX_SUGGESTIONS = 3

_WORKING = {"ko": "답을 준비하고 있어요…", "en": "Working on your answer…"}
_SEARCHING = {"ko": "문서에서 근거를 찾고 있어요…", "en": "Searching the documents…"}
_NEWS = {"ko": "뉴스를 모으고 있어요…", "en": "Gathering the news…"}

# After an answer with no query (a command, help): the product's best first questions.
_STARTERS = {
    "ko": ("어제 매출 알려줘", "지난주 매출 왜 떨어졌어?", "지난주 채널별 매출"),
    "en": ("revenue yesterday", "why did revenue drop last week?", "revenue by channel last week"),
}


def progress_line(text: str, *, as_of: dt.date, previous: MetricQuery | None = None) -> str:
    """The line shown at once while `text` is answered: what is being done, in the
    question's language, naming the metric and period when the parser can tell them."""
    parsed = parse(text, as_of=as_of, previous=previous)
    lang = parsed.lang
    query = parsed.query
    if parsed.route == "rag":
        return _SEARCHING[lang]
    if parsed.route == "news":
        return _NEWS[lang]
    if query is None or not query.metrics or query.metrics[0] not in METRICS:
        return _WORKING[lang]
    metric = METRICS[query.metrics[0]].label(lang)
    if lang == "en" and metric[1:2].islower():  # "Revenue" mid-sentence; "AOV" stays
        metric = metric[0].lower() + metric[1:]
    period = parsed.period.label(lang) if parsed.period else ""
    if parsed.route == "reasoning":
        if lang == "ko":
            subject = f"{period} {metric} 변화".strip()
            return f"{subject}{object_particle(subject)} 분석하고 있어요…"
        return f"Analysing the change in {metric}{f', {period}' if period else ''}…"
    if lang == "ko":
        subject = f"{period} {metric}".strip()
        return f"{subject}{object_particle(subject)} 계산하고 있어요…"
    return f"Calculating {metric}{f', {period}' if period else ''}…"


def suggested_questions(reply: Reply) -> list[str]:
    """Up to three next questions for a text-only reply, none for a reply with a card
    (its buttons already offer them, and suggested actions do not render on
    attachments) or with quoted passages (citation pills do not render beside them)."""
    if reply.card is not None or reply.hits or reply.route in ("error", "clarify", "unknown"):
        return []
    lang = "ko" if reply.lang == "ko" else "en"
    query = reply.query
    if query is None:
        return list(_STARTERS[lang][:MAX_SUGGESTIONS])
    options: list[str] = []
    if "device" not in query.dimensions and "device" not in query.filter_map:
        options.append("모바일만 보기" if lang == "ko" else "mobile only")
    options.append("지난달은?" if lang == "ko" else "what about last month?")
    if reply.route == "reasoning":
        if "channel" not in query.dimensions and "channel" not in query.filter_map:
            options.append("채널별로 보기" if lang == "ko" else "by channel?")
    else:
        options.append("왜 변했어?" if lang == "ko" else "why did it change?")
    return options[:MAX_SUGGESTIONS]
