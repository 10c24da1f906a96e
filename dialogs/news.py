"""The news dialog: "오늘 뉴스 분위기 어때?" answered from the news store the dashboard's
뉴스 tab reads (news/), so the chat and the tab agree.

Today (the default) early in the morning has no articles yet: the reply then covers the
latest day with news in the week before and says so, rather than answering "nothing".
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from zoneinfo import ZoneInfo

from cards.elements import dimension_value, lang_code, tr
from cards.news import Headline, NewsMood, news_card, signed, topic_name
from kpi.metrics.periods import Period
from news import NewsStore, StoredArticle

LOOK_BACK_DAYS = 7  # how far "today" may fall back to the latest day with news
BASELINE_DAYS = 7  # the days before the period its mean is compared with


def news_answer(
    news_path: str | None,
    *,
    period: Period | None,
    topic: str | None,
    lang: str,
    zone: str,
    as_of: dt.date,
) -> tuple[str, dict]:
    """The reply's text and card for the news over `period` (None: today)."""
    if not news_path or not Path(news_path).exists():
        return _no_news(lang, as_of)
    with NewsStore(news_path) as store:
        if store.count() == 0:
            return _no_news(lang, as_of)
        start, end = (period.start, period.end) if period else (as_of, as_of)
        label = _label(period, as_of, lang)
        note = None
        mood = store.mood(start, zone, topic, end=end)
        if mood.count == 0 and _is_today(period, as_of):
            latest = store.articles(as_of - dt.timedelta(days=LOOK_BACK_DAYS), as_of, topic,
                                    limit=1, zone=zone)  # fmt: skip
            if latest:
                day = latest[0].published.astimezone(ZoneInfo(zone)).date()
                start = end = day
                mood = store.mood(day, zone, topic)
                label = _label(Period(day, day, "", ""), as_of, lang)
                note = tr(lang, "오늘은 아직 수집된 기사가 없어 가장 최근 날을 보여 드려요.",
                          "No articles today yet; here is the latest day with news.")  # fmt: skip
        before = store.mood(start - dt.timedelta(days=BASELINE_DAYS), zone, topic,
                            end=start - dt.timedelta(days=1))  # fmt: skip
    view = NewsMood(
        period=label, topic=topic, count=mood.count, mean=mood.mean_sentiment, tone=mood.tone,
        positive=mood.positive, neutral=mood.neutral, negative=mood.negative,
        before=before.mean_sentiment,
        best=_headline(mood.most_positive), worst=_headline(mood.most_negative),
        newest=[h for a in mood.articles[:8] if (h := _headline(a)) is not None], note=note,
    )  # fmt: skip
    return _text(view, lang), news_card(view, lang=lang)


def _text(mood: NewsMood, lang: str) -> str:
    about = f" {topic_name(mood.topic, lang)}" if mood.topic else ""
    if mood.mean is None or mood.tone is None:
        return tr(lang, f"{mood.period}{about} 뉴스는 수집된 기사가 없어요.",
                  f"No{about} articles were collected for {mood.period}.")  # fmt: skip
    tone_ko = {"positive": "긍정적", "negative": "부정적", "neutral": "중립적"}[mood.tone]
    split_ko = f"긍정 {mood.positive} · 중립 {mood.neutral} · 부정 {mood.negative}"
    split_en = f"{mood.positive} positive, {mood.neutral} neutral, {mood.negative} negative"
    lines = [tr(
        lang,
        f"{mood.period}{about} 뉴스 분위기는 {tone_ko}이에요: 기사 {mood.count}건, 평균 "
        f"{signed(mood.mean)} ({split_ko}).",
        f"The{about} news for {mood.period} reads {mood.tone}: {mood.count} articles, mean "
        f"{signed(mood.mean)} ({split_en}).",
    )]  # fmt: skip
    if mood.before is not None:
        lines.append(tr(lang, f"직전 7일 평균: {signed(mood.before)}",
                        f"The 7 days before averaged {signed(mood.before)}."))  # fmt: skip
    if mood.best is not None:
        lines.append(tr(lang, "가장 긍정적: ", "Most positive: ")
                     + f"“{mood.best.title}” ({signed(mood.best.sentiment)})")  # fmt: skip
    if mood.worst is not None:
        lines.append(tr(lang, "가장 부정적: ", "Most negative: ")
                     + f"“{mood.worst.title}” ({signed(mood.worst.sentiment)})")  # fmt: skip
    if mood.note:
        lines.insert(0, mood.note)
    return "\n".join(lines)


def _label(period: Period | None, as_of: dt.date, lang: str) -> str:
    """오늘(11/25), 어제(11/24), 11/16 (월) – 11/22 (일); today (Nov 25), yesterday, ..."""
    code = lang_code(lang)
    if period is None or period.start == period.end == as_of:
        return tr(code, f"오늘({_short(as_of, code)})", f"today ({_short(as_of, code)})")
    if period.start == period.end:
        day = period.start
        if day == as_of - dt.timedelta(days=1):
            return tr(code, f"어제({_short(day, code)})", f"yesterday ({_short(day, code)})")
        return dimension_value("date", day, code)
    first, last = (dimension_value("date", day, code) for day in (period.start, period.end))
    return f"{first} – {last}"


def _short(day: dt.date, lang: str) -> str:
    return f"{day.month}/{day.day}" if lang == "ko" else f"{day:%b} {day.day}"


def _is_today(period: Period | None, as_of: dt.date) -> bool:
    return period is None or period.start == period.end == as_of


def _headline(article: StoredArticle | None) -> Headline | None:
    if article is None:
        return None
    return Headline(article.title, article.link, article.source, article.sentiment)


def _no_news(lang: str, as_of: dt.date) -> tuple[str, dict]:
    message = tr(
        lang,
        "아직 수집된 뉴스가 없어요. 관리자에게 뉴스 피드 연결을 요청해 주세요.",
        "No news has been collected yet. Ask your admin to connect news feeds.",
    )
    view = NewsMood(period=_label(None, as_of, lang), topic=None, count=0, mean=None, tone=None,
                    positive=0, neutral=0, negative=0, before=None, best=None, worst=None,
                    note=message)  # fmt: skip
    return message, news_card(view, lang=lang)
