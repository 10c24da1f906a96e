"""Building blocks the card builders share: the language, texts, the "ask" button, change
colours, value formatting for table cells, and the assembly of a card into a JSON-ready dict.

Cards are built from adaptive-cards-py models (they check property names and enum values
as the card is made) and dumped once, at the end, with camelCase names and no nulls. The
package has no models for Teams' own extensions (the `Chart.*` elements), so those travel
as plain dicts and are spliced into the dumped body at their place.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any, Literal

from adaptive_cards import card as ac
from adaptive_cards import types as act
from pydantic import BaseModel

from kpi.metrics.catalog import DIMENSIONS, METRICS
from kpi.metrics.units import MISSING

Lang = Literal["ko", "en"]

# Teams desktop and web render schema 1.5, and Action.Execute needs it (DESIGN.md).
CARD_VERSION = "1.5"
# The verb every question button carries; the bot's adaptiveCard/action handler answers
# `data.text` as if it had been typed.
ASK_VERB = "ask"

Element = ac.ElementT | dict[str, Any]

_WEEKDAYS_KO = ("월", "화", "수", "목", "금", "토", "일")
_WEEKDAYS_EN = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_WEEKDAY_NAMES_EN = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
_MONTHS_EN = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def lang_code(lang: str) -> Lang:
    """ "ko" or "en" from "ko", "en" or a locale ("ko-KR"); anything else is a caller bug."""
    code = lang.lower().split("-")[0].split("_")[0]
    if code in ("ko", "en"):
        return code  # type: ignore[return-value]
    raise ValueError(f"unknown language {lang!r}; expected 'ko' or 'en'")


def tr(lang: Lang, ko: str, en: str) -> str:
    return ko if lang == "ko" else en


# --- Elements --------------------------------------------------------------------------


def text(value: str, **properties: Any) -> ac.TextBlock:
    """A wrapping TextBlock: Teams cuts unwrapped text at the card's edge, mid-word."""
    return ac.TextBlock(text=value, wrap=True, **properties)


def heading(value: str) -> ac.TextBlock:
    return text(value, size=act.FontSize.MEDIUM, weight=act.FontWeight.BOLDER)


def subtle(value: str, **properties: Any) -> ac.TextBlock:
    return text(value, is_subtle=True, size=act.FontSize.SMALL, **properties)


def literal(value: str, *, element_id: str | None = None, visible: bool = True) -> ac.RichTextBlock:
    """Text shown exactly as given, monospace. A TextRun is never read as markdown, unlike a
    TextBlock, where the two "*" of `count(*) ... count(*)` would turn the SQL between them
    italic; and the renderer keeps its line breaks. A RichTextBlock always wraps."""
    run = ac.TextRun(text=value, font_type=act.FontType.MONOSPACE, size=act.FontSize.SMALL)
    return ac.RichTextBlock(inlines=[run], id=element_id, is_visible=None if visible else False)


def bullets(lines: Sequence[str]) -> ac.TextBlock:
    """A markdown list: Teams renders "- " lines in a TextBlock as bullets."""
    return text("\n".join(f"- {line}" for line in lines))


def ask_action(title: str, question: str) -> ac.ActionExecute:
    """A button whose click asks `question`.

    Teams clients with Universal Actions send an `adaptiveCard/action` invoke (verb "ask",
    data.text). Older clients ignore Action.Execute and render its `fallback` instead
    (Microsoft Learn, "Work with Universal Actions for Adaptive Cards", backward
    compatibility: "include the fallback property and set its value to Action.Submit").
    That Action.Submit carries Teams' `messageBack` (Learn, "Card actions", Adaptive Cards
    with messageBack action): `text` reaches the bot as the message text and `displayText`
    appears in the chat as the user's message, so the click reads and works like typing the
    question. The rest of `data` (verb, text) arrives as activity.value.
    """
    fallback = ac.ActionSubmit(
        title=title,
        data={
            "verb": ASK_VERB,
            "text": question,
            "msteams": {"type": "messageBack", "text": question, "displayText": question},
        },
    )
    return ac.ActionExecute(title=title, verb=ASK_VERB, data={"text": question}, fallback=fallback)


def ask_buttons(choices: Sequence[tuple[str, str]], per_row: int = 3) -> list[ac.ActionSet]:
    """(title, question) pairs as ActionSets of `per_row` buttons. Teams shows a limited
    number of buttons per set and hides the rest behind "..."; short sets show them all."""
    actions = [ask_action(title, question) for title, question in choices]
    return [ac.ActionSet(actions=actions[i : i + per_row]) for i in range(0, len(actions), per_row)]


# --- Numbers and changes ---------------------------------------------------------------


def arrow(delta: float | None) -> str:
    if delta is None or delta == 0:
        return ""
    return "▲" if delta > 0 else "▼"


def change_color(delta: float | None, higher_is_better: bool) -> act.Colors | None:
    """Good (green) when the metric moved the way the business wants, attention (red) when
    it moved the other way: bounce rate going up is bad news even though it is "up"."""
    if delta is None or delta == 0:
        return None
    return act.Colors.GOOD if (delta > 0) == higher_is_better else act.Colors.ATTENTION


def with_arrow(change: str, delta: float | None) -> str:
    mark = arrow(delta)
    return f"{mark} {change}" if mark and change != MISSING else change


def metric_label(name: str, lang: Lang) -> str:
    return METRICS[name].label(lang)


# Column headings for the time dimensions, whose catalog labels are adverbs (일별 / Daily).
_TIME_NOUNS = {
    "date": ("날짜", "Date"),
    "week": ("주", "Week"),
    "month": ("월", "Month"),
    "weekday": ("요일", "Weekday"),
    "hour": ("시간대", "Hour"),
}


def dimension_noun(name: str, lang: Lang) -> str:
    """The dimension as a column heading: 채널 / Channel (the catalog labels read 채널별 /
    By channel, which suit titles)."""
    if name in _TIME_NOUNS:
        return tr(lang, *_TIME_NOUNS[name])
    dim = DIMENSIONS[name]
    if lang == "ko":
        return dim.label_ko.removesuffix("별")
    label = dim.label_en.removeprefix("By ")
    return label[:1].upper() + label[1:]


def as_date(value: dt.date | str) -> dt.date:
    return value if isinstance(value, dt.date) else dt.date.fromisoformat(str(value))


def day_label(day: dt.date, lang: Lang, *, year: bool = False) -> str:
    """2026년 11월 23일 (월) / Mon, Nov 23, 2026 (year optional)."""
    if lang == "ko":
        prefix = f"{day.year}년 " if year else ""
        return f"{prefix}{day.month}월 {day.day}일 ({_WEEKDAYS_KO[day.weekday()]})"
    suffix = f", {day.year}" if year else ""
    return f"{_WEEKDAYS_EN[day.weekday()]}, {_MONTHS_EN[day.month - 1]} {day.day}{suffix}"


def dimension_value(name: str, value: Any, lang: Lang) -> str:
    """A dimension value as a person reads it: dates with their weekday, ISO weekdays and
    hours in words, a missing value as (not set) like GA's own placeholder."""
    if value is None or value == "":
        return tr(lang, "(미설정)", "(not set)")
    if name == "date":
        day = as_date(value)
        weekday = day.weekday()
        return tr(
            lang,
            f"{day.month}/{day.day} ({_WEEKDAYS_KO[weekday]})",
            f"{_WEEKDAYS_EN[weekday]} {day.month}/{day.day}",
        )
    if name == "week":
        day = as_date(value)
        return tr(lang, f"{day.month}/{day.day} 주", f"Week of {day.month}/{day.day}")
    if name == "month":
        day = as_date(value)
        return tr(lang, f"{day.year}년 {day.month}월", f"{_MONTHS_EN[day.month - 1]} {day.year}")
    if name == "weekday" and str(value).isdigit() and 1 <= int(value) <= 7:
        index = int(value) - 1
        return tr(lang, f"{_WEEKDAYS_KO[index]}요일", _WEEKDAY_NAMES_EN[index])
    if name == "hour" and str(value).isdigit():
        hour = int(value)
        return tr(lang, f"{hour}시", f"{hour:02d}:00")
    return str(value)


# --- Assembly --------------------------------------------------------------------------


def dump(model: BaseModel) -> dict[str, Any]:
    """A model as Adaptive Card JSON: camelCase names, enums as strings, no nulls."""
    return model.model_dump(mode="json", by_alias=True, exclude_none=True)


def build_card(
    body: Sequence[Element],
    *,
    lang: Lang,
    actions: Sequence[ac.ActionT] = (),
    summary: str | None = None,
    full_width: bool = False,
) -> dict[str, Any]:
    """The card as a JSON-ready dict.

    `body` holds models and, for Teams extensions the package lacks (Chart.*), plain dicts,
    which keep their place. `summary` becomes `fallbackText`, what a client that cannot
    render 1.5 shows instead. `full_width` sets Teams' msteams.width "Full" so tables and
    charts get the whole message width.
    """
    models = [part for part in body if not isinstance(part, dict)]
    card = ac.AdaptiveCard(
        version=CARD_VERSION,
        body=models,
        actions=list(actions) or None,
        lang=lang,
        fallback_text=summary,
        msteams=act.MSTeams(width=act.MSTeamsCardWidth.FULL) if full_width else None,
    )
    data = dump(card)
    dumped = iter(data.get("body", []))
    data["body"] = [dict(part) if isinstance(part, dict) else next(dumped) for part in body]
    return data
