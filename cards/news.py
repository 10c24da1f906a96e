"""The news mood: how the day's (or the period's) articles read, from -1.0 to 1.0, the
count on each side, how that compares with the week before, and the headlines at both
ends and the newest ones, each a link to the story.

Headlines are third-party text: they go in TextRuns (never read as markdown) and their
links only when they are http(s).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from adaptive_cards import card as ac
from adaptive_cards import types as act

from cards.elements import Element, ask_action, build_card, heading, lang_code, subtle, text, tr

MAX_HEADLINES = 5
TOPIC_NAMES = {
    "parent_company": ("모회사(구글)", "parent company (Google)"),
    "ecommerce": ("이커머스", "e-commerce"),
    "fashion": ("패션", "fashion"),
}
TONES = {
    "positive": ("긍정적", "positive", act.Colors.GOOD),
    "negative": ("부정적", "negative", act.Colors.ATTENTION),
    "neutral": ("중립적", "neutral", act.Colors.DEFAULT),
}


@dataclass(frozen=True)
class Headline:
    title: str
    link: str
    source: str
    sentiment: float


@dataclass(frozen=True)
class NewsMood:
    """What the card shows; dialogs/news.py fills it from the news store."""

    period: str  # "오늘 (11/25)" / "today (Nov 25)", in the card's language
    topic: str | None
    count: int
    mean: float | None
    tone: str | None  # positive / negative / neutral; None without articles
    positive: int
    neutral: int
    negative: int
    before: float | None  # the mean of the 7 days before, for comparison
    best: Headline | None
    worst: Headline | None
    newest: Sequence[Headline] = ()
    note: str | None = None  # e.g. "no articles today yet; the latest day is shown"


def topic_name(topic: str, lang: str) -> str:
    names = TOPIC_NAMES.get(topic)
    return (names[0] if lang_code(lang) == "ko" else names[1]) if names else topic


def signed(value: float) -> str:
    return f"{value:+.2f}"


def news_card(mood: NewsMood, *, lang: str) -> dict[str, Any]:
    code = lang_code(lang)
    about = f" · {topic_name(mood.topic, code)}" if mood.topic else ""
    title = tr(code, "뉴스 분위기", "News mood") + f" · {mood.period}{about}"
    body: list[Element] = [heading(title)]
    if mood.note:
        body.append(subtle(mood.note, spacing=act.Spacing.NONE))
    if mood.count == 0 or mood.mean is None or mood.tone is None:
        body.append(text(tr(code, "이 기간에 수집된 기사가 없어요.",
                            "No articles were collected for this period.")))  # fmt: skip
        return build_card(body, lang=code, summary=title, actions=_actions(code))
    ko, en, color = TONES[mood.tone]
    body.append(text(f"{tr(code, ko, en)} {signed(mood.mean)}", size=act.FontSize.LARGE,
                     weight=act.FontWeight.BOLDER, color=color))  # fmt: skip
    facts = [
        ac.Fact(title=tr(code, "기사", "Articles"), value=_count(mood.count, code)),
        ac.Fact(title=tr(code, "긍정 · 중립 · 부정", "Positive · neutral · negative"),
                value=f"{mood.positive} · {mood.neutral} · {mood.negative}"),
    ]  # fmt: skip
    if mood.before is not None:
        facts.append(ac.Fact(title=tr(code, "직전 7일 평균", "7 days before"),
                             value=signed(mood.before)))  # fmt: skip
    body.append(ac.FactSet(facts=facts))
    ends = [(tr(code, "가장 긍정적", "Most positive"), mood.best),
            (tr(code, "가장 부정적", "Most negative"), mood.worst)]  # fmt: skip
    for label, headline in ends:
        if headline is not None:
            body.append(subtle(label, spacing=act.Spacing.MEDIUM))
            body.append(_headline(headline))
    shown = {h.link for _, h in ends if h is not None}
    newest = [h for h in mood.newest if h.link not in shown][:MAX_HEADLINES]
    if newest:
        body.append(subtle(tr(code, "최신 기사", "Latest"), spacing=act.Spacing.MEDIUM))
        body.extend(_headline(h) for h in newest)
    return build_card(body, lang=code, summary=title, actions=_actions(code))


def _headline(headline: Headline) -> ac.RichTextBlock:
    link = headline.link if headline.link.startswith(("https://", "http://")) else None
    title = ac.TextRun(text=headline.title, select_action=ac.ActionOpenUrl(url=link)
                       if link else None, color=act.Colors.ACCENT if link else None)  # fmt: skip
    tail = ac.TextRun(text=f"  {signed(headline.sentiment)} · {headline.source}",
                      is_subtle=True, size=act.FontSize.SMALL)  # fmt: skip
    return ac.RichTextBlock(inlines=[title, tail], spacing=act.Spacing.SMALL)


def _count(count: int, lang: str) -> str:
    return f"{count}건" if lang == "ko" else f"{count} article{'' if count == 1 else 's'}"


def _actions(lang: str) -> Sequence[ac.ActionExecute]:
    questions = (
        (tr(lang, "어제 뉴스", "Yesterday"), tr(lang, "어제 뉴스 분위기 어때?",
                                                "How was the news yesterday?")),
        (tr(lang, "최근 7일", "Last 7 days"), tr(lang, "최근 7일 뉴스 분위기 어때?",
                                                 "News mood in the last 7 days")),
        (tr(lang, "패션 뉴스", "Fashion news"), tr(lang, "오늘 패션 뉴스 분위기 어때?",
                                                  "How is fashion news today?")),
    )  # fmt: skip
    return [ask_action(title, question) for title, question in questions]
