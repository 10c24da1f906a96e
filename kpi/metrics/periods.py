"""Reporting periods: 지난주 / last week / 11월 1일~15일 as a closed range of dates.

The contract is the "Time" section of metrics.md. A period is a closed range of dates
[start, end], resolved against an as-of date that the caller passes in (today in the bot,
`--as-of` on the CLI). Nothing here reads the clock, the settings or any other I/O.

Decisions the contract leaves open:

- A period with no complete day raises PeriodError. It is never quietly widened or moved:
  이번 주 / this week on a Monday, 이번 달 / this month (or the named current month) on the
  1st, 올해 / this year on 1 January, 최근 0일 / last 0 days.
- `extract_period` returns None when a question names no period. It raises PeriodError when
  the question names a period that cannot be used (11월 31일, a date after as-of,
  "11월 15일까지" with no start). The bot can then say why instead of quietly answering
  for the default period.
- Rolling windows count days. 최근 N주 / last N weeks = 7N days. 최근 한 달 and
  최근 N개월 / last N months = 30N days. Their labels always give the number of days.
- A named month that contains as-of (11월 on 24 November) ends at as-of - 1, like 이번 달.
  A named month or date with a year that starts after as-of raises PeriodError.
  Days written out are kept as written ("11월 20일~30일" keeps the 30th).
- A date without a year is the most recent such date not after as-of. In a range, the
  start's year is inferred that way. The end takes the start's year, or the next year
  when its month comes before the start's (12월 20일~1월 5일). An end earlier in the same
  month is an error (11월 15일~11월 1일).
- "11월 1일부터" / "since Nov 1" run from that date to as-of - 1.
- Extras that prevent a wrong match: 지지난주 / the week before last, 지지난달, 재작년,
  최근 일주일 / past week (7 days), past month (30 days), month ranges ("9월~10월").
- When a question names more than one period, the leftmost one wins (the longest one if
  several start at the same place).
- Labels give the year only when the period is not inside the as-of year. Functions with
  no as-of (`explicit_period` without `as_of`, `comparison_period`) use the year of the
  period they start from.
"""

from __future__ import annotations

import calendar
import datetime as dt
import re
from collections.abc import Callable
from dataclasses import dataclass

ONE_DAY = dt.timedelta(days=1)
COMPARISON_KINDS = ("previous", "week", "year")

_ACCEPTED = (
    "accepted: 어제/yesterday, 그저께/the day before yesterday, 오늘/today, "
    "지난주/last week, 이번 주/this week, 지난달/last month, 이번 달/this month, "
    "최근 N일/last N days, 최근 N주/last N weeks, 올해/this year, 작년/last year, "
    "2016년/in 2016, 2017년 2분기/Q2 2017, 지난 분기/last quarter, 2017년 상반기/H1 2017, "
    "10월/October, 2026년 10월/October 2026, dates like 11월 3일, 2026-11-03, Nov 3, "
    "ranges like 11월 1일~15일, 11/1~11/15, 2026-11-01..2026-11-15, Nov 1-15"
)


class PeriodError(ValueError):
    """A period that cannot be read or has no days; the message is one line for people."""


@dataclass(frozen=True)
class Period:
    """Dates `start`..`end`, both inclusive, with the label an answer shows for them."""

    start: dt.date
    end: dt.date
    label_ko: str
    label_en: str

    def __post_init__(self) -> None:
        if self.end < self.start:
            raise PeriodError(f"end date {self.end} is before start date {self.start}")

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    def label(self, lang: str) -> str:
        """The label in `lang`: "ko" or "en" (a locale such as "ko-KR" also works)."""
        code = lang.lower().split("-")[0].split("_")[0]
        if code == "ko":
            return self.label_ko
        if code == "en":
            return self.label_en
        raise ValueError(f"unknown language {lang!r}; expected 'ko' or 'en'")


# --- Labels ------------------------------------------------------------------------------

# Written out instead of strftime("%b"): strftime follows the process locale.
_EN_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
_EN_MONTH_NAMES = (
    "January", "February", "March", "April", "May", "June",
    "July", "August", "September", "October", "November", "December",
)  # fmt: skip


def _shows_year(start: dt.date, end: dt.date, year: int | None) -> bool:
    """Labels leave the year out when both dates are in `year` (the as-of year)."""
    return year is None or not (start.year == end.year == year)


def dates_ko(start: dt.date, end: dt.date, year: int | None) -> str:
    """ "11월 16일~22일", "10월 27일~11월 2일", "2025년 12월 29일~2026년 1월 4일"; the year
    is given when the dates are not all in `year` (None: always)."""
    if start.year != end.year:
        return f"{start.year}년 {start.month}월 {start.day}일~{dates_ko(end, end, None)}"
    prefix = f"{start.year}년 " if _shows_year(start, end, year) else ""
    if start == end:
        return f"{prefix}{start.month}월 {start.day}일"
    if start.month == end.month:
        return f"{prefix}{start.month}월 {start.day}일~{end.day}일"
    return f"{prefix}{start.month}월 {start.day}일~{end.month}월 {end.day}일"


def dates_en(start: dt.date, end: dt.date, year: int | None) -> str:
    """ "Nov 16–22", "Oct 27 – Nov 2", "Dec 29, 2025 – Jan 4, 2026"; the year as in dates_ko."""

    def month_day(day: dt.date) -> str:
        return f"{_EN_MONTHS[day.month - 1]} {day.day}"

    if start.year != end.year:
        return f"{month_day(start)}, {start.year} – {month_day(end)}, {end.year}"
    suffix = f", {start.year}" if _shows_year(start, end, year) else ""
    if start == end:
        return f"{month_day(start)}{suffix}"
    if start.month == end.month:
        return f"{month_day(start)}–{end.day}{suffix}"
    return f"{month_day(start)} – {month_day(end)}{suffix}"


def _named(
    start: dt.date,
    end: dt.date,
    year: int | None,
    names: tuple[str, str],
    note: tuple[str, str] = ("", ""),
) -> Period:
    """A period labelled "name (dates)", e.g. "지난주 (11월 16일~22일)". `names` and `note`
    (words after the dates, e.g. "기본값") are (Korean, English)."""
    ko = dates_ko(start, end, year) + (f", {note[0]}" if note[0] else "")
    en = dates_en(start, end, year) + (f", {note[1]}" if note[1] else "")
    return Period(start, end, f"{names[0]} ({ko})", f"{names[1]} ({en})")


def _dated(start: dt.date, end: dt.date, year: int | None) -> Period:
    """A period labelled by its dates only, as written dates are."""
    return Period(start, end, dates_ko(start, end, year), dates_en(start, end, year))


# --- Public functions ------------------------------------------------------------------


def default_period(as_of: dt.date) -> Period:
    """The period of a question that names none: the 7 days before as-of, labelled so."""
    names = ("최근 7일", "last 7 days")
    return _named(as_of - 7 * ONE_DAY, as_of - ONE_DAY, as_of.year, names, ("기본값", "default"))


def explicit_period(start: dt.date, end: dt.date, *, as_of: dt.date | None = None) -> Period:
    """`--from`/`--to`: exactly start..end; PeriodError if end < start. The label gives the
    year unless both dates are in as-of's year (always when as_of is not given)."""
    if end < start:
        raise PeriodError(f"end date {end} is before start date {start}")
    return _dated(start, end, as_of.year if as_of else None)


def comparison_period(period: Period, kind: str) -> Period:
    """The period `period` is compared with.

    "previous": the same number of days right before it (a 31-day month -> the 31 days
    before). "week": the same dates 7 days earlier (the same weekdays last week). "year": the
    same dates one year earlier (29 February -> 28 February).
    """
    year = period.end.year
    if kind == "previous":
        end = period.start - ONE_DAY
        start = end - (period.days - 1) * ONE_DAY
        return _named(start, end, year, ("직전 기간", "previous period"))
    if kind == "week":
        week = 7 * ONE_DAY
        return _named(
            period.start - week, period.end - week, year, ("전주 동기", "same days last week")
        )
    if kind == "year":
        start, end = _year_before(period.start), _year_before(period.end)
        return _named(start, end, year, ("전년 동기", "same period last year"))
    raise PeriodError(f"unknown comparison {kind!r}; accepted: {', '.join(COMPARISON_KINDS)}")


def _year_before(day: dt.date) -> dt.date:
    if day.month == 2 and day.day == 29:
        return dt.date(day.year - 1, 2, 28)
    return day.replace(year=day.year - 1)


def resolve_period(text: str, as_of: dt.date) -> Period:
    """The period that the whole of `text` names ("지난주", "last 7 days",
    "2026-11-01..2026-11-15"). Anything else raises PeriodError, which lists the accepted
    forms."""
    stripped = text.strip().rstrip("?!.。？").strip()
    for rule in _RULES:
        match = rule.pattern.fullmatch(stripped)
        if match:
            period = rule.build(match, as_of)
            if period is not None:
                return period
    raise PeriodError(f"can't read {text.strip()!r} as a period; {_ACCEPTED}")


def extract_period(text: str, as_of: dt.date) -> tuple[Period, tuple[int, int]] | None:
    """The period a free question names and its character span in `text` (end exclusive).
    None when the question names no period. PeriodError when it names one that cannot be
    used (11월 31일). When there are several, the leftmost wins, then the longest."""
    found = [
        (match.start(), match.start() - match.end(), order, match)
        for order, rule in enumerate(_RULES)
        for match in rule.pattern.finditer(text)
    ]
    for start, _, order, match in sorted(found, key=lambda item: item[:3]):
        period = _RULES[order].build(match, as_of)
        if period is not None:
            return period, (start, match.end())
    return None


# --- Relative periods -------------------------------------------------------------------

# Makes the period a rule's match names; None when the match turns out not to be a period.
Build = Callable[[re.Match[str], dt.date], Period | None]


def _monday(day: dt.date) -> dt.date:
    return day - day.weekday() * ONE_DAY


def _month_start(day: dt.date, months_back: int) -> dt.date:
    """The first day of the month `months_back` months before `day`'s month."""
    index = day.year * 12 + day.month - 1 - months_back
    return dt.date(index // 12, index % 12 + 1, 1)


def _until_yesterday(start: dt.date, as_of: dt.date, name: str, instead: str) -> dt.date:
    """as_of - 1, the end of a period that runs up to today. PeriodError when that leaves no
    complete day (이번 주 on a Monday)."""
    end = as_of - ONE_DAY
    if end < start:
        raise PeriodError(
            f"{name} has no complete day yet on {as_of} ({_WEEKDAYS[as_of.weekday()]}); "
            f"try {instead}, or 오늘/today for today so far"
        )
    return end


def _days_ago(days: int, names: tuple[str, str], note: tuple[str, str] = ("", "")) -> Build:
    def build(match: re.Match[str], as_of: dt.date) -> Period:
        day = as_of - days * ONE_DAY
        return _named(day, day, as_of.year, names, note)

    return build


def _weeks_ago(weeks: int, names: tuple[str, str]) -> Build:
    def build(match: re.Match[str], as_of: dt.date) -> Period:
        start = _monday(as_of) - 7 * weeks * ONE_DAY
        return _named(start, start + 6 * ONE_DAY, as_of.year, names)

    return build


def _months_ago(months: int, names: tuple[str, str]) -> Build:
    def build(match: re.Match[str], as_of: dt.date) -> Period:
        start = _month_start(as_of, months)
        end = _month_start(as_of, months - 1) - ONE_DAY
        return _named(start, end, as_of.year, names)

    return build


def _years_ago(years: int, names: tuple[str, str]) -> Build:
    def build(match: re.Match[str], as_of: dt.date) -> Period:
        year = as_of.year - years
        return _named(dt.date(year, 1, 1), dt.date(year, 12, 31), as_of.year, names)

    return build


def _this_week(match: re.Match[str], as_of: dt.date) -> Period:
    start = _monday(as_of)
    end = _until_yesterday(start, as_of, "이번 주/this week", "지난주/last week")
    return _named(start, end, as_of.year, ("이번 주", "this week"))


def _this_month(match: re.Match[str], as_of: dt.date) -> Period:
    start = _month_start(as_of, 0)
    end = _until_yesterday(start, as_of, "이번 달/this month", "지난달/last month")
    return _named(start, end, as_of.year, ("이번 달", "this month"))


def _this_year(match: re.Match[str], as_of: dt.date) -> Period:
    start = dt.date(as_of.year, 1, 1)
    end = _until_yesterday(start, as_of, "올해/this year", "작년/last year")
    return _named(start, end, as_of.year, ("올해", "this year"))


# --- Calendar spans: years, quarters, halves -------------------------------------------

_RELATIVE_YEARS = {"재작년": 2, "작년": 1, "지난해": 1, "올해": 0, "금년": 0}
_ORDINALS = {"first": 1, "second": 2, "third": 3, "fourth": 4}


def _year_of(match: re.Match[str], as_of: dt.date) -> int | None:
    """The year a calendar span names: "2017", a relative word (작년), or None."""
    for name in ("y", "y2", "y3", "y4", "y5"):
        if match.groupdict().get(name):
            return int(match.group(name))
    rel = (match.groupdict().get("rel") or "").replace(" ", "")
    return as_of.year - _RELATIVE_YEARS[rel] if rel in _RELATIVE_YEARS else None


def _calendar(first: dt.date, last: dt.date, as_of: dt.date, names: tuple[str, str]) -> Period:
    """A named calendar span; one that runs past yesterday is cut there and says so."""
    yesterday = as_of - ONE_DAY
    if first > yesterday:
        raise PeriodError(f"{names[1]} has not started on {as_of}; the data runs to {yesterday}")
    if last > yesterday:
        return _named(first, yesterday, as_of.year, names, ("어제까지", "through yesterday"))
    return _named(first, last, as_of.year, names)


def _latest_started(
    candidates: list[tuple[dt.date, dt.date]], as_of: dt.date
) -> tuple[dt.date, dt.date]:
    """Of a quarter or half named without a year, the latest that has begun by yesterday."""
    started = [span for span in candidates if span[0] <= as_of - ONE_DAY]
    return max(started) if started else min(candidates)


def _quarter(match: re.Match[str], as_of: dt.date) -> Period:
    groups = match.groupdict()
    if groups.get("ord"):
        number = _ORDINALS[groups["ord"].lower()]
    else:
        number = next(int(groups[k]) for k in ("q", "q2", "q3", "q4") if groups.get(k))
    year = _year_of(match, as_of)
    spans = [
        (dt.date(y, 3 * number - 2, 1), _month_start(dt.date(y, 3 * number - 2, 1), -3) - ONE_DAY)
        for y in ([year] if year else [as_of.year - 1, as_of.year])
    ]
    first, last = _latest_started(spans, as_of)
    return _calendar(
        first, last, as_of, (f"{first.year}년 {number}분기", f"Q{number} {first.year}")
    )


def _relative_quarter(match: re.Match[str], as_of: dt.date) -> Period:
    this = dt.date(as_of.year, 3 * ((as_of.month - 1) // 3) + 1, 1)
    back = 3 if (match.group("which") or match.group("which2")) else 0
    first = _month_start(this, back)
    last = _month_start(first, -3) - ONE_DAY
    names = ("지난 분기", "last quarter") if back else ("이번 분기", "this quarter")
    return _calendar(first, last, as_of, names)


def _half(match: re.Match[str], as_of: dt.date) -> Period:
    groups = match.groupdict()
    word = (groups.get("h") or groups.get("h2") or groups.get("h3") or "").lower()
    second = word in ("하", "2", "second")
    year = _year_of(match, as_of)
    spans = [
        (dt.date(y, 7, 1), dt.date(y, 12, 31)) if second else (dt.date(y, 1, 1), dt.date(y, 6, 30))
        for y in ([year] if year else [as_of.year - 1, as_of.year])
    ]
    first, last = _latest_started(spans, as_of)
    half = "하반기" if second else "상반기"
    return _calendar(
        first, last, as_of, (f"{first.year}년 {half}", f"H{2 if second else 1} {first.year}")
    )


def _year(match: re.Match[str], as_of: dt.date) -> Period:
    year = _year_of(match, as_of)
    assert year is not None
    return _calendar(dt.date(year, 1, 1), dt.date(year, 12, 31), as_of, (f"{year}년", str(year)))


def _relative_year_months(match: re.Match[str], as_of: dt.date) -> Period:
    """작년 12월, 올해 1월부터 3월까지: months of a year named by a relative word."""
    year = _year_of(match, as_of)
    assert year is not None
    first_month = int(match.group("m1"))
    last_month = int(match.group("m2") or first_month)
    if not (1 <= first_month <= last_month <= 12):
        raise PeriodError(f"can't read months {first_month}..{last_month}")
    first = dt.date(year, first_month, 1)
    last = _month_start(dt.date(year, last_month, 1), -1) - ONE_DAY
    months = f"{first_month}월" + (f"~{last_month}월" if last_month != first_month else "")
    en = (
        f"{_EN_MONTH_NAMES[first_month - 1]} {year}"
        if first_month == last_month
        else f"{_EN_MONTHS[first_month - 1]}–{_EN_MONTHS[last_month - 1]} {year}"
    )
    return _calendar(first, last, as_of, (f"{year}년 {months}", en))


# Days in each unit of a rolling window. A month counts 30 days, as 최근 한 달 does.
_UNIT_DAYS = {"일": 1, "day": 1, "주": 7, "주일": 7, "week": 7, "달": 30, "개월": 30, "month": 30}


def _rolling(days: int, as_of: dt.date, text: str) -> Period:
    """The `days` days before as-of: 최근 N일 / last N days."""
    if days < 1:
        raise PeriodError(f"{text!r} has no days; give at least one, as in 최근 7일/last 7 days")
    try:
        start = as_of - days * ONE_DAY
    except OverflowError:
        raise PeriodError(f"{text!r} reaches back before the year 1") from None
    return _named(start, as_of - ONE_DAY, as_of.year, (f"최근 {days}일", f"last {days} days"))


def _last_n(match: re.Match[str], as_of: dt.date) -> Period:
    count = match.group("ko_n") or match.group("en_n")
    unit = (match.group("ko_unit") or match.group("en_unit")).lower().removesuffix("s")
    number = 1 if count == "한" else int(count)
    return _rolling(number * _UNIT_DAYS[unit], as_of, match.group(0))


def _past_span(match: re.Match[str], as_of: dt.date) -> Period:
    unit = (match.group("en_span") or "week").lower()
    return _rolling(_UNIT_DAYS[unit], as_of, match.group(0))


# --- Weeks of a month, days of a week ----------------------------------------------------

_KO_ORDINALS = {"첫": 1, "첫째": 1, "1": 1, "둘째": 2, "두번째": 2, "2": 2,
                "셋째": 3, "세번째": 3, "3": 3, "넷째": 4, "네번째": 4, "4": 4,
                "다섯째": 5, "다섯번째": 5, "5": 5}  # fmt: skip
_EN_ORDINALS = {"first": 1, "1st": 1, "second": 2, "2nd": 2, "third": 3, "3rd": 3,
                "fourth": 4, "4th": 4, "fifth": 5, "5th": 5}  # fmt: skip
_KO_ORDINAL_NAMES = ("첫째", "둘째", "셋째", "넷째", "다섯째")
_EN_ORDINAL_NAMES = ("first", "second", "third", "fourth", "fifth")
_KO_WEEKDAYS = "월화수목금토일"
_THURSDAY = 3


def _weeks_of(month: dt.date) -> list[dt.date]:
    """The Mondays of a month's weeks: Monday-to-Sunday weeks whose Thursday is in the
    month (so a week belongs to the month holding most of its days, as ISO weeks belong to
    years). November 2026 starts on a Sunday: its first week is 2-8 November."""
    thursday = month + ((_THURSDAY - month.weekday()) % 7) * ONE_DAY
    mondays = []
    while thursday.month == month.month:
        mondays.append(thursday - 3 * ONE_DAY)
        thursday += 7 * ONE_DAY
    return mondays


def _month_named(match: re.Match[str], as_of: dt.date) -> dt.date:
    """The first day of the month a week-of-month phrase names: with a year, a relative
    year or month word (작년 11월, 지난달, this month), or alone (the latest begun)."""
    groups = match.groupdict()
    which = (groups.get("which") or groups.get("which2") or groups.get("this") or "").lower()
    if which:
        return _month_start(as_of, 1 if which in ("지난", "저번", "last", "previous") else 0)
    name = groups.get("em")
    month = _month_number(name) if name else int(groups["m"])
    year = _year_of(match, as_of)
    if year is None:
        year = _recent_year(_Written(None, month, None), as_of)
    return dt.date(year, month, 1)


def _week_of_month(match: re.Match[str], as_of: dt.date) -> Period:
    """11월 첫째 주, 2017년 7월 2주차, 지난달 마지막 주, the second week of November 2016."""
    groups = match.groupdict()
    month = _month_named(match, as_of)
    mondays = _weeks_of(month)
    word = re.sub(r"\s+", "", (groups.get("ko_ord") or groups.get("en_ord") or groups["n"]).lower())
    last = word in ("마지막", "last")
    number = len(mondays) if last else _KO_ORDINALS.get(word) or _EN_ORDINALS[word]
    month_ko = f"{month.month}월" if month.year == as_of.year else f"{month.year}년 {month.month}월"
    month_en = _EN_MONTH_NAMES[month.month - 1] + (
        "" if month.year == as_of.year else f" {month.year}"
    )
    if number > len(mondays):
        raise PeriodError(f"{month_en} has {len(mondays)} weeks (Monday to Sunday, "
                          f"counted by their Thursday), not {number}")  # fmt: skip
    monday = mondays[number - 1]
    which_ko = "마지막" if last else _KO_ORDINAL_NAMES[number - 1]
    which_en = "last" if last else _EN_ORDINAL_NAMES[number - 1]
    names = (f"{month_ko} {which_ko} 주", f"the {which_en} week of {month_en}")
    return _calendar(monday, monday + 6 * ONE_DAY, as_of, names)


def _day_of_week(match: re.Match[str], as_of: dt.date) -> Period:
    """지난주 금요일 (Friday of last week), 이번 주 월요일, last Friday / 금요일 (the latest
    Friday before today)."""
    groups = match.groupdict()
    ko_day = groups.get("ko_day")
    weekday = _KO_WEEKDAYS.index(ko_day) if ko_day else [
        d.lower() for d in _WEEKDAYS].index(groups["en_day"].lower())  # fmt: skip
    which = re.sub(r"\s+", "", groups.get("which") or "")
    name_ko, name_en = f"{_KO_WEEKDAYS[weekday]}요일", _WEEKDAYS[weekday]
    if which:
        weeks_back = {"지지난": 2, "저저번": 2, "지난": 1, "저번": 1}.get(which, 0)
        day = _monday(as_of) - 7 * weeks_back * ONE_DAY + weekday * ONE_DAY
        week_ko = {2: "지지난주", 1: "지난주", 0: "이번 주"}[weeks_back]
        week_en = {2: "the week before last", 1: "last week", 0: "this week"}[weeks_back]
        names = (f"{week_ko} {name_ko}", f"{name_en} {week_en}")
    else:
        day = as_of - (((as_of.weekday() - weekday - 1) % 7) + 1) * ONE_DAY
        names = (name_ko, name_en)
    return _calendar(day, day, as_of, names)


# --- Written dates ----------------------------------------------------------------------


@dataclass(frozen=True)
class _Written:
    """A date as written. Any part may be missing: no year, or no day (the whole month), or
    only a day (the end of "11월 1일~15일")."""

    year: int | None
    month: int | None
    day: int | None


def _month_number(name: str) -> int:
    return [m.lower() for m in _EN_MONTHS].index(name[:3].lower()) + 1


def _written(match: re.Match[str], tag: str) -> _Written | None:
    """The date in the groups ending in `tag` (see _date_pattern), or None if none matched."""
    groups = match.groupdict()

    def number(name: str) -> int | None:
        value = groups.get(name + tag)
        return int(value) if value else None

    if groups.get("iy" + tag):
        return _Written(number("iy"), number("im"), number("id"))
    if groups.get("km" + tag):
        return _Written(number("ky"), number("km"), number("kd"))
    if groups.get("sm" + tag):
        return _Written(None, number("sm"), number("sd"))
    if groups.get("em" + tag):
        return _Written(number("ey"), _month_number(groups["em" + tag]), number("ed"))
    if groups.get("dd" + tag):
        return _Written(None, None, number("dd"))
    return None


def _bounds(written: _Written, year: int, text: str) -> tuple[dt.date, dt.date]:
    """The first and last day that `written` covers in `year`: one day or a whole month."""
    assert written.month is not None
    if written.day is None:
        last = calendar.monthrange(year, written.month)[1]
        return dt.date(year, written.month, 1), dt.date(year, written.month, last)
    try:
        day = dt.date(year, written.month, written.day)
    except ValueError:
        no_such_day = f"{year}-{written.month:02}-{written.day:02}"
        raise PeriodError(f"{text!r} is not a date: there is no {no_such_day}") from None
    return day, day


def _recent_year(written: _Written, as_of: dt.date) -> int:
    """The year of the most recent `written` (month, day; no day: the 1st) not after as-of.
    29 February goes back to the latest leap year."""
    assert written.month is not None
    first_day = (written.month, written.day or 1)
    year = as_of.year if first_day <= (as_of.month, as_of.day) else as_of.year - 1
    if first_day == (2, 29):
        while not calendar.isleap(year):
            year -= 1
    return year


def _not_future(start: dt.date, as_of: dt.date, text: str) -> None:
    if start > as_of:
        raise PeriodError(f"{text!r} starts after the as-of date {as_of}; there is no data yet")


def _month_period(first: dt.date, last: dt.date, as_of: dt.date) -> Period:
    """A named month: whole when it is over; up to as-of - 1 when as-of falls inside it."""
    if first.year == as_of.year:
        name_ko, name_en = f"{first.month}월", _EN_MONTH_NAMES[first.month - 1]
    else:
        name_ko = f"{first.year}년 {first.month}월"
        name_en = f"{_EN_MONTH_NAMES[first.month - 1]} {first.year}"
    if last < as_of:
        return Period(first, last, name_ko, name_en)
    end = _until_yesterday(first, as_of, f"{name_ko}/{name_en}", "지난달/last month")
    return _named(first, end, as_of.year, (name_ko, name_en))


# "May" is mostly the verb. A bare may/May (no day, no year) is the month only after a
# preposition ("in may"), or capitalised and not followed by a pronoun ("May I ..."), or when
# it is the whole text (--period may).
_PREPOSITION_BEFORE = re.compile(
    r"(?<![A-Za-z])(?:in|for|of|during|since|from|until|till|by)\s+$", re.IGNORECASE
)
_PRONOUN_AFTER = re.compile(r"\s+(?:i|we|you|they|he|she|it|be|not)(?![A-Za-z])", re.IGNORECASE)


def _is_verb_may(match: re.Match[str], tag: str, written: _Written) -> bool:
    word = match.group("em" + tag) if "em" + tag in match.groupdict() else None
    if not word or word.lower() != "may" or written.day or written.year:
        return False
    text = match.string
    if match.span() == (0, len(text)):
        return False
    start, end = match.span("em" + tag)
    if _PREPOSITION_BEFORE.search(text[:start]):
        return False
    return word[0] != "M" or bool(_PRONOUN_AFTER.match(text, end))


def _single(match: re.Match[str], as_of: dt.date) -> Period | None:
    """One written date or month, perhaps open-ended ("11월 1일부터", "since Nov 1")."""
    written = _written(match, "1")
    if written is None or _is_verb_may(match, "1", written):
        return None
    text = match.group(0)
    lead = (match.group("lead") or "").lower()
    tail = match.group("tail") or ""
    if lead in ("until", "till") or tail == "까지":
        raise PeriodError(
            f"{text!r} gives an end but no start; write a range such as 11월 1일~15일 or Nov 1-15"
        )
    year = written.year or _recent_year(written, as_of)
    first, last = _bounds(written, year, text)
    _not_future(first, as_of, text)
    if lead in ("since", "from") or tail == "부터":
        end = _until_yesterday(first, as_of, repr(text), "an earlier start")
        return _dated(first, end, as_of.year)
    if written.day is None:
        return _month_period(first, last, as_of)
    return _dated(first, last, as_of.year)


def _range(match: re.Match[str], as_of: dt.date) -> Period | None:
    """Two written dates (or months): "11월 1일부터 15일까지", "Oct 27 – Nov 2", "9월~10월"."""
    first, second = _written(match, "1"), _written(match, "2")
    if first is None or second is None:
        return None
    text = match.group(0)
    lead = (match.group("lead") or "").lower()
    if (match.group("word") or "").lower() == "and" and lead != "between":
        return None  # "Nov 1 and Nov 15" are two days, not a range
    day_only = second.month is None
    if day_only and (first.day is None or (match.group("ko") and not match.group("il2"))):
        return None  # "10월~15일" reads as nothing; "11월 1일부터 15개" is a count
    assert first.month is not None
    if first.year:
        start_year = first.year
    elif second.year and not day_only:
        assert second.month is not None
        start_year = second.year - 1 if first.month > second.month else second.year
    else:
        start_year = _recent_year(first, as_of)
    start = _bounds(first, start_year, text)[0]
    if day_only:
        second = _Written(start_year, first.month, second.day)
    elif not second.year:
        # 12월 20일~1월 5일 crosses new year; 11월 15일~11월 1일 is a mistake, reported below.
        crosses = second.month is not None and second.month < first.month
        second = _Written(start_year + 1 if crosses else start_year, second.month, second.day)
    assert second.year is not None
    end = _bounds(second, second.year, text)[1]
    if end < start:
        raise PeriodError(f"{text!r}: end date {end} is before start date {start}")
    _not_future(start, as_of, text)
    if second.day is None and end >= as_of:
        end = _until_yesterday(start, as_of, repr(text), "an earlier end")
    return _dated(start, end, as_of.year)


# --- Patterns ----------------------------------------------------------------------------

# English words must not touch other Latin letters: "marketing" is not March, "weekend" is
# not week. Korean is often written without spaces (지난주매출), so it gets no such edge.
_L = r"(?<![A-Za-z])"
_R = r"(?![A-Za-z])"
# 주 and 달 also start other words: 주문 (order), 주말 (weekend), 주요 (main), 주소, 주식,
# 주제; 달러 (dollar), 달력 (calendar). "이번 주문" is not "this week".
_WEEK_KO = r"\s*주(?![문말요소식제])"
_MONTH_KO = r"\s*달(?![러력])"
# 지지난주 / 저저번 주 is the week before last: 지난주 must not match inside it.
_LAST_KO = r"(?:(?<!지)지난|(?<!저)저번)"
_BEFORE_LAST_KO = r"(?:지지난|저저번)"
# 지난 해외 매출 is overseas revenue, not last year's.
_YEAR_KO = r"\s*해(?![외결])"
_EN_MONTH = (
    r"jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?"
    r"|sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?"
)
_MONTH_NUMBER = r"1[0-2]|0?[1-9]"
_DAY_NUMBER = r"3[01]|[12][0-9]|0?[1-9]"


def _date_pattern(tag: str) -> str:
    """A written date or month, its parts in named groups ending in `tag` (a pattern holds
    two: the start and end of a range). Digits must not touch other digits: 2026 is not 26."""
    iso = (  # 2026-11-03, 2026.11.03, 2026/11/03: year first, always with a day
        rf"(?<![0-9])(?P<iy{tag}>[0-9]{{4}})(?P<sep{tag}>[-./])(?P<im{tag}>[0-9]{{1,2}})"
        rf"(?P=sep{tag})(?P<id{tag}>[0-9]{{1,2}})(?![0-9])"
    )
    korean = (  # 2026년 11월 3일, 11월 3일, 2026년 11월, 11월
        rf"(?<![0-9])(?:(?P<ky{tag}>[0-9]{{4}})\s*년?\s*)?(?P<km{tag}>{_MONTH_NUMBER})\s*월"
        rf"(?:\s*(?P<kd{tag}>[0-9]{{1,2}})\s*일)?"
    )
    slashed = (  # 11/3, month first as in both Korean and US usage; 24/7 is not a date
        rf"(?<![0-9/.])(?P<sm{tag}>{_MONTH_NUMBER})/(?P<sd{tag}>{_DAY_NUMBER})(?![0-9/])"
    )
    english = (  # Nov 3, November 3rd, Nov. 3, 2026, October 2026, Oct
        rf"{_L}(?P<em{tag}>{_EN_MONTH}){_R}\.?"
        rf"(?:\s*(?P<ed{tag}>[0-9]{{1,2}})(?:st|nd|rd|th)?(?![0-9A-Za-z]))?"
        rf"(?:,?\s*(?P<ey{tag}>(?:19|20)[0-9]{{2}})(?![0-9]))?"
    )
    return f"{iso}|{korean}|{slashed}|{english}"


def _day_pattern(tag: str) -> str:
    """The bare day that ends "11월 1일~15일" or "Nov 1-15"; not the month of "9월~10월"."""
    return (
        rf"(?<![0-9])(?P<dd{tag}>{_DAY_NUMBER})"
        rf"(?:\s*(?P<il{tag}>일)|(?:st|nd|rd|th)?(?![0-9A-Za-z])(?!\s*월)(?![/.][0-9]))"
    )


# Between the two ends of a range. English words need spaces around them; "and" only
# counts after "between" (checked in _range).
_CONNECTOR = (
    r"(?:\s*(?:~|〜|～|–|—|-|\.\.)\s*"
    r"|\s*(?P<ko>부터|에서)\s*"
    r"|\s+(?P<word>to|through|thru|until|till|and)\s+)"
)


@dataclass(frozen=True)
class _Rule:
    pattern: re.Pattern[str]
    build: Build


def _rule(pattern: str, build: Build) -> _Rule:
    return _Rule(re.compile(pattern, re.IGNORECASE), build)


_RULES: tuple[_Rule, ...] = (
    _rule(  # 2017년 2분기, 작년 4분기, 3분기, Q2 2017, 2017 Q2, 3Q, the third quarter of 2016
        rf"(?:(?P<y>(?:19|20)[0-9]{{2}})\s*년?\s*|(?P<rel>재작년|작년|지난\s*해|올해|금년)\s*)?"
        rf"(?P<q>[1-4])\s*분기"
        rf"|{_L}(?:Q(?P<q2>[1-4])(?:\s*(?:of\s+)?(?P<y2>(?:19|20)[0-9]{{2}}))?"
        rf"|(?P<y3>(?:19|20)[0-9]{{2}})\s*Q(?P<q3>[1-4])|(?P<q4>[1-4])Q(?:\s*(?P<y4>(?:19|20)[0-9]{{2}}))?"
        rf"|(?:the\s+)?(?P<ord>first|second|third|fourth)\s+quarter(?:\s+of\s+(?P<y5>(?:19|20)[0-9]{{2}}))?){_R}",
        _quarter,
    ),
    _rule(
        rf"(?:(?P<which>지난|저번)|이번)\s*분기|{_L}(?:(?P<which2>last|previous)|this)\s+quarter{_R}",
        _relative_quarter,
    ),
    _rule(  # 2017년 상반기, 작년 하반기, 상반기, H1 2017, the first half of 2016
        rf"(?:(?P<y>(?:19|20)[0-9]{{2}})\s*년?\s*|(?P<rel>재작년|작년|지난\s*해|올해|금년)\s*)?(?P<h>상|하)\s*반기"
        rf"|{_L}(?:H(?P<h2>[12])(?:\s*(?P<y2>(?:19|20)[0-9]{{2}}))?"
        rf"|(?:the\s+)?(?P<h3>first|second)\s+half(?:\s+of\s+(?P<y3>(?:19|20)[0-9]{{2}}))?){_R}",
        _half,
    ),
    _rule(  # 작년 12월, 올해 1월부터 3월까지
        r"(?P<rel>재작년|작년|지난\s*해|올해|금년)\s*(?P<m1>[0-9]{1,2})\s*월(?!\s*[0-9]+\s*일)"
        r"(?:\s*(?:부터|~|-|에서)\s*(?P<m2>[0-9]{1,2})\s*월(?:\s*까지)?)?",
        _relative_year_months,
    ),
    _rule(  # 2016년, in 2016 (a year on its own: not 2016년 12월, 2016년 4분기, 2016년 상반기)
        rf"(?P<y>(?:19|20)[0-9]{{2}})\s*년(?!\s*(?:[0-9]|[상하]\s*반기))"
        rf"|{_L}(?:in|for|during|throughout|of)\s+(?P<y2>(?:19|20)[0-9]{{2}}){_R}(?!\s*[-/.][0-9])",
        _year,
    ),
    _rule(  # 11월 첫째 주, 2017년 7월 2주차, 지난달 마지막 주, the second week of November 2016
        rf"(?:(?:(?P<y>(?:19|20)[0-9]{{2}})\s*년?\s*|(?P<rel>재작년|작년|지난\s*해|올해|금년)\s*)?"
        rf"(?P<m>{_MONTH_NUMBER})\s*월|(?P<which>지난|저번|이번)\s*달|(?<![가-힣])(?P<this>이)달)\s*(?:의\s*)?"
        rf"(?:(?P<ko_ord>첫\s*째|첫|둘\s*째|두\s*번\s*째|셋\s*째|세\s*번\s*째|넷\s*째|네\s*번\s*째"
        rf"|다섯\s*(?:번\s*)?째|마지막)\s*주(?![문말요소식제])|(?P<n>[1-5])\s*주\s*차)"
        rf"|{_L}(?:the\s+)?(?P<en_ord>first|second|third|fourth|fifth|last|1st|2nd|3rd|4th|5th)"
        rf"\s+week\s+(?:of|in)\s+(?:(?P<which2>last|previous|this)\s+month"
        rf"|(?P<em>{_EN_MONTH}){_R}\.?(?:,?\s*(?P<y2>(?:19|20)[0-9]{{2}})(?![0-9]))?)",
        _week_of_month,
    ),
    _rule(  # 지난주 금요일, 이번 주 월요일, 금요일; last Friday, this Monday, on Friday
        rf"(?:(?P<which>지지난|저저번|지난|저번|이번)\s*주\s*)?(?P<ko_day>[월화수목금토일])\s*(?:요일|욜)"
        rf"|{_L}(?:(?:last|previous|on|this)\s+)?(?P<en_day>monday|tuesday|wednesday|thursday"
        rf"|friday|saturday|sunday){_R}",
        _day_of_week,
    ),
    _rule(  # revenue 2017, 2017 매출: a year alone, not a count, an amount or a date
        r"(?<![0-9$₩,.])(?P<y>20[0-9]{2})(?![0-9]|\s*(?:년|[-/.,][0-9]|%|원|달러|명|건|개|회|번|위"
        r"|\$|usd|krw|dollars?|sessions?|users?|orders?|visits?|people|times))",
        _year,
    ),
    _rule(  # 그제 also starts 그제야 / 그제서야 ("only then")
        rf"그저께|그제(?![야서])|{_L}(?:the\s+)?day\s+before\s+yesterday{_R}",
        _days_ago(2, ("그저께", "the day before yesterday")),
    ),
    _rule(rf"어제|{_L}(?:yesterday|yday|yest){_R}", _days_ago(1, ("어제", "yesterday"))),
    _rule(rf"오늘|{_L}today{_R}", _days_ago(0, ("오늘", "today"), note=("집계 중", "so far"))),
    _rule(
        rf"{_BEFORE_LAST_KO}{_WEEK_KO}|{_L}(?:the\s+)?week\s+before\s+last{_R}",
        _weeks_ago(2, ("지지난주", "the week before last")),
    ),
    _rule(
        rf"{_LAST_KO}{_WEEK_KO}|{_L}(?:last|previous)\s+(?:week|wk){_R}",
        _weeks_ago(1, ("지난주", "last week")),
    ),
    _rule(rf"이번{_WEEK_KO}|{_L}this\s+(?:week|wk){_R}", _this_week),
    _rule(
        rf"{_BEFORE_LAST_KO}{_MONTH_KO}|{_L}(?:the\s+)?month\s+before\s+last{_R}",
        _months_ago(2, ("지지난달", "the month before last")),
    ),
    _rule(
        rf"{_LAST_KO}{_MONTH_KO}|{_L}(?:last|previous)\s+month{_R}",
        _months_ago(1, ("지난달", "last month")),
    ),
    # 이달 must not be the tail of another word: "매출이달라" is "매출이 달라".
    _rule(rf"이번{_MONTH_KO}|(?<![가-힣])이달(?![러력])|{_L}this\s+month{_R}", _this_month),
    _rule(
        rf"재작년|{_BEFORE_LAST_KO}{_YEAR_KO}|{_L}(?:the\s+)?year\s+before\s+last{_R}",
        _years_ago(2, ("재작년", "the year before last")),
    ),
    _rule(
        rf"(?<!재)작년|(?<!지)지난{_YEAR_KO}|{_L}(?:last|previous)\s+(?:year|yr){_R}",
        _years_ago(1, ("작년", "last year")),
    ),
    _rule(rf"올해|금년|{_L}this\s+(?:year|yr){_R}", _this_year),
    _rule(  # 최근 7일, 지난 2주, 최근 한 달, 최근 3개월, last 7 days, past 2 weeks
        rf"(?:최근|지난)\s*(?P<ko_n>[0-9]+|한)\s*(?P<ko_unit>주일|주|일|달|개월)(?:\s*(?:간|동안))?"
        rf"|{_L}(?:the\s+)?(?:last|past|previous)\s*(?P<en_n>[0-9]+)\s*"
        rf"(?P<en_unit>days?|weeks?|months?){_R}",
        _last_n,
    ),
    _rule(  # 최근 일주일 / past week = 7 days; past month = 30 days (not the calendar month)
        rf"(?:최근|지난)\s*일\s*주일(?:\s*(?:간|동안))?"
        rf"|{_L}(?:the\s+)?past\s+(?P<en_span>week|month){_R}",
        _past_span,
    ),
    _rule(
        rf"(?:{_L}(?P<lead>from|between)\s+)?(?:{_date_pattern('1')}){_CONNECTOR}"
        rf"(?:{_date_pattern('2')}|{_day_pattern('2')})(?:\s*까지)?",
        _range,
    ),
    _rule(
        rf"(?:{_L}(?P<lead>since|from|until|till)\s+)?(?:{_date_pattern('1')})"
        rf"(?:\s*(?P<tail>부터|까지))?",
        _single,
    ),
)
