"""Periods: every form in metrics.md "Time", in Korean and English, against one as-of date."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

from kpi.metrics.periods import (
    Period,
    PeriodError,
    comparison_period,
    default_period,
    explicit_period,
    extract_period,
    resolve_period,
)

AS_OF = dt.date(2026, 11, 24)  # a Tuesday
MONDAY = dt.date(2026, 11, 23)
QUESTIONS = Path(__file__).resolve().parents[2] / "shared" / "questions.jsonl"


def d(text: str) -> dt.date:
    return dt.date.fromisoformat(text)


def dates(text: str, as_of: dt.date = AS_OF) -> tuple[dt.date, dt.date]:
    period = resolve_period(text, as_of)
    return period.start, period.end


# --- Every form, Korean and English ---------------------------------------------------

YESTERDAY = (d("2026-11-23"), d("2026-11-23"))
LAST_WEEK = (d("2026-11-16"), d("2026-11-22"))
LAST_MONTH = (d("2026-10-01"), d("2026-10-31"))
THIS_MONTH = (d("2026-11-01"), d("2026-11-23"))
LAST_7_DAYS = (d("2026-11-17"), d("2026-11-23"))
NOV_1_15 = (d("2026-11-01"), d("2026-11-15"))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("어제", YESTERDAY),
        ("yesterday", YESTERDAY),
        ("Yesterday", YESTERDAY),
        ("그저께", (d("2026-11-22"), d("2026-11-22"))),
        ("그제", (d("2026-11-22"), d("2026-11-22"))),
        ("the day before yesterday", (d("2026-11-22"), d("2026-11-22"))),
        ("오늘", (AS_OF, AS_OF)),
        ("today", (AS_OF, AS_OF)),
        ("지난주", LAST_WEEK),
        ("지난 주", LAST_WEEK),
        ("저번 주", LAST_WEEK),
        ("저번주", LAST_WEEK),
        ("last week", LAST_WEEK),
        ("LAST WEEK", LAST_WEEK),
        ("이번 주", (MONDAY, MONDAY)),
        ("이번주", (MONDAY, MONDAY)),
        ("this week", (MONDAY, MONDAY)),
        ("이번 달", THIS_MONTH),
        ("이번달", THIS_MONTH),
        ("이달", THIS_MONTH),
        ("this month", THIS_MONTH),
        ("지난달", LAST_MONTH),
        ("지난 달", LAST_MONTH),
        ("저번 달", LAST_MONTH),
        ("last month", LAST_MONTH),
        ("최근 7일", LAST_7_DAYS),
        ("최근7일", LAST_7_DAYS),
        ("지난 7일", LAST_7_DAYS),
        ("최근 7일간", LAST_7_DAYS),
        ("최근 일주일", LAST_7_DAYS),
        ("최근 1주", LAST_7_DAYS),
        ("최근 2주", (d("2026-11-10"), d("2026-11-23"))),
        ("최근 한 달", (d("2026-10-25"), d("2026-11-23"))),
        ("최근 한달", (d("2026-10-25"), d("2026-11-23"))),
        ("last 7 days", LAST_7_DAYS),
        ("the last 7 days", LAST_7_DAYS),
        ("past 7 days", LAST_7_DAYS),
        ("Last 7 Days", LAST_7_DAYS),
        ("last 2 weeks", (d("2026-11-10"), d("2026-11-23"))),
        ("past week", LAST_7_DAYS),
        ("last 30 days", (d("2026-10-25"), d("2026-11-23"))),
        ("올해", (d("2026-01-01"), d("2026-11-23"))),
        ("this year", (d("2026-01-01"), d("2026-11-23"))),
        ("작년", (d("2025-01-01"), d("2025-12-31"))),
        ("지난해", (d("2025-01-01"), d("2025-12-31"))),
        ("last year", (d("2025-01-01"), d("2025-12-31"))),
    ],
)
def test_relative_forms_resolve_against_the_as_of_date(
    text: str, expected: tuple[dt.date, dt.date]
) -> None:
    assert dates(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # a month that is over: the most recent one, possibly last year
        ("10월", LAST_MONTH),
        ("October", LAST_MONTH),
        ("Oct", LAST_MONTH),
        ("oct", LAST_MONTH),
        ("9월", (d("2026-09-01"), d("2026-09-30"))),
        ("12월", (d("2025-12-01"), d("2025-12-31"))),
        ("December", (d("2025-12-01"), d("2025-12-31"))),
        # the month as-of falls in: up to yesterday, like 이번 달
        ("11월", THIS_MONTH),
        ("November", THIS_MONTH),
        # with a year: that month
        ("2026년 10월", LAST_MONTH),
        ("2026년10월", LAST_MONTH),
        ("October 2026", LAST_MONTH),
        ("Oct 2026", LAST_MONTH),
        ("2024년 2월", (d("2024-02-01"), d("2024-02-29"))),
        ("December 2026", None),
    ],
)
def test_month_names_are_the_most_recent_such_month_that_has_started(
    text: str, expected: tuple[dt.date, dt.date] | None
) -> None:
    if expected is None:
        with pytest.raises(PeriodError, match="after the as-of date"):
            resolve_period(text, AS_OF)
    else:
        assert dates(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "11월 1일부터 15일까지",
        "11월1일부터15일까지",
        "11월 1일부터 11월 15일까지",
        "11월 1일~15일",
        "11월 1일 ~ 11월 15일",
        "11월 1일-15일",
        "11/1~11/15",
        "11/1-11/15",
        "2026-11-01 ~ 2026-11-15",
        "2026-11-01..2026-11-15",
        "2026-11-01 to 2026-11-15",
        "2026.11.01~2026.11.15",
        "2026년 11월 1일부터 15일까지",
        "from Nov 1 to Nov 15",
        "From November 1 to November 15",
        "Nov 1-15",
        "Nov 1 – 15",
        "Nov 1st to 15th",
        "between Nov 1 and Nov 15",
    ],
)
def test_written_ranges_are_taken_as_written(text: str) -> None:
    assert dates(text) == NOV_1_15


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("11월 3일", d("2026-11-03")),
        ("11월3일", d("2026-11-03")),
        ("2026-11-03", d("2026-11-03")),
        ("2026년 11월 3일", d("2026-11-03")),
        ("11/3", d("2026-11-03")),
        ("Nov 3", d("2026-11-03")),
        ("Nov 3rd", d("2026-11-03")),
        ("November 3, 2026", d("2026-11-03")),
        ("11월 24일", AS_OF),  # as-of itself: today, a partial day
        # year left out: the most recent such date not after as-of
        ("12월 25일", d("2025-12-25")),
        ("Dec 25", d("2025-12-25")),
        ("11월 25일", d("2025-11-25")),
        ("2월 29일", d("2024-02-29")),
    ],
)
def test_single_dates_without_a_year_are_the_most_recent_one(text: str, expected: dt.date) -> None:
    assert dates(text) == (expected, expected)


def test_a_range_across_new_year_gives_the_end_the_next_year() -> None:
    assert dates("12월 20일~1월 5일", as_of=d("2027-01-10")) == (d("2026-12-20"), d("2027-01-05"))
    assert dates("Dec 20 - Jan 5", as_of=d("2027-01-10")) == (d("2026-12-20"), d("2027-01-05"))
    assert dates("12/20~1/5") == (d("2025-12-20"), d("2026-01-05"))
    assert dates("12월 20일~2026년 1월 5일") == (d("2025-12-20"), d("2026-01-05"))


@pytest.mark.parametrize("text", ["11월 15일~11월 1일", "Nov 15-1", "11월 15일~2026년 11월 1일"])
def test_a_range_ending_earlier_in_the_same_month_is_an_error(text: str) -> None:
    with pytest.raises(PeriodError, match="before start date"):
        resolve_period(text, AS_OF)


def test_a_range_of_months_covers_both_whole_months_up_to_yesterday() -> None:
    assert dates("9월~10월") == (d("2026-09-01"), d("2026-10-31"))
    assert dates("Sep - Oct") == (d("2026-09-01"), d("2026-10-31"))
    assert dates("10월부터 11월까지") == (d("2026-10-01"), d("2026-11-23"))


def test_from_a_date_alone_runs_to_yesterday() -> None:
    assert dates("11월 1일부터") == THIS_MONTH
    assert dates("since Nov 1") == THIS_MONTH
    assert dates("9월부터") == (d("2026-09-01"), d("2026-11-23"))


def test_written_days_after_yesterday_are_kept_as_written() -> None:
    assert dates("11월 20일~30일") == (d("2026-11-20"), d("2026-11-30"))


def test_rolling_months_count_thirty_days_each() -> None:
    assert dates("최근 3개월") == (d("2026-08-26"), d("2026-11-23"))
    assert dates("last 3 months") == (d("2026-08-26"), d("2026-11-23"))


def test_periods_before_last_are_not_mistaken_for_last() -> None:
    assert dates("지지난주") == (d("2026-11-09"), d("2026-11-15"))
    assert dates("the week before last") == (d("2026-11-09"), d("2026-11-15"))
    assert dates("지지난달") == (d("2026-09-01"), d("2026-09-30"))
    assert dates("재작년") == (d("2024-01-01"), d("2024-12-31"))


# --- Labels ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "ko", "en"),
    [
        ("지난주", "지난주 (11월 16일~22일)", "last week (Nov 16–22)"),
        ("어제", "어제 (11월 23일)", "yesterday (Nov 23)"),
        ("최근 7일", "최근 7일 (11월 17일~23일)", "last 7 days (Nov 17–23)"),
        ("최근 2주", "최근 14일 (11월 10일~23일)", "last 14 days (Nov 10–23)"),
        ("오늘", "오늘 (11월 24일, 집계 중)", "today (Nov 24, so far)"),
        ("이번 달", "이번 달 (11월 1일~23일)", "this month (Nov 1–23)"),
        ("최근 30일", "최근 30일 (10월 25일~11월 23일)", "last 30 days (Oct 25 – Nov 23)"),
        ("작년", "작년 (2025년 1월 1일~12월 31일)", "last year (Jan 1 – Dec 31, 2025)"),
        ("10월", "10월", "October"),
        ("12월", "2025년 12월", "December 2025"),
        ("11월", "11월 (11월 1일~23일)", "November (Nov 1–23)"),
        ("11월 1일~15일", "11월 1일~15일", "Nov 1–15"),
        ("10월 27일~11월 2일", "10월 27일~11월 2일", "Oct 27 – Nov 2"),
        ("12월 25일", "2025년 12월 25일", "Dec 25, 2025"),
        (
            "2025-12-29~2026-01-04",
            "2025년 12월 29일~2026년 1월 4일",
            "Dec 29, 2025 – Jan 4, 2026",
        ),
    ],
)
def test_labels_name_the_period_and_its_dates_with_the_year_only_when_not_this_year(
    text: str, ko: str, en: str
) -> None:
    period = resolve_period(text, AS_OF)
    assert (period.label_ko, period.label_en) == (ko, en)
    assert (period.label("ko"), period.label("en"), period.label("ko-KR")) == (ko, en, ko)


def test_a_period_in_last_year_seen_from_january_shows_the_year() -> None:
    period = resolve_period("지난달", d("2027-01-15"))
    assert (period.start, period.end) == (d("2026-12-01"), d("2026-12-31"))
    assert period.label_ko == "지난달 (2026년 12월 1일~31일)"
    assert period.label_en == "last month (Dec 1–31, 2026)"


def test_label_in_an_unknown_language_is_an_error() -> None:
    with pytest.raises(ValueError, match="'ko' or 'en'"):
        resolve_period("어제", AS_OF).label("ja")


def test_days_counts_both_ends() -> None:
    assert resolve_period("어제", AS_OF).days == 1
    assert resolve_period("지난주", AS_OF).days == 7
    assert resolve_period("지난달", AS_OF).days == 31


# --- Extracting a period from a question ----------------------------------------------


@pytest.mark.parametrize(
    ("question", "words", "expected"),
    [
        ("지난주 채널별 매출 알려줘", "지난주", LAST_WEEK),
        ("지난주매출", "지난주", LAST_WEEK),
        ("채널별 매출 지난주", "지난주", LAST_WEEK),
        ("최근7일 기기별 세션", "최근7일", LAST_7_DAYS),
        ("Revenue by channel LAST WEEK please", "LAST WEEK", LAST_WEEK),
        ("sessions in the last 7 days by device", "the last 7 days", LAST_7_DAYS),
        ("11월 1일부터 15일까지 세션 수", "11월 1일부터 15일까지", NOV_1_15),
        ("Nov 1-15 revenue", "Nov 1-15", NOV_1_15),
        ("revenue from Nov 1 to Nov 15 by device", "from Nov 1 to Nov 15", NOV_1_15),
        ("10월 매출", "10월", LAST_MONTH),
        ("2026년 10월 매출", "2026년 10월", LAST_MONTH),
        ("revenue for May", "May", (d("2026-05-01"), d("2026-05-31"))),
        ("May I see revenue for last week?", "last week", LAST_WEEK),
        ("11월 1일부터 15개 상품 매출", "11월 1일부터", THIS_MONTH),
        ("이번 주 대비 지난주", "이번 주", (MONDAY, MONDAY)),  # the leftmost one
    ],
)
def test_extract_finds_the_period_and_its_span_inside_a_question(
    question: str, words: str, expected: tuple[dt.date, dt.date]
) -> None:
    found = extract_period(question, AS_OF)
    assert found is not None
    period, (start, end) = found
    assert question[start:end] == words
    assert (period.start, period.end) == expected


@pytest.mark.parametrize(
    "question",
    [
        "채널별 매출 알려줘",
        "what should we do to improve mobile conversion?",
        "이번 주문 건수",  # 주문 is an order, not 주 (week)
        "지난 주말 매출",  # a weekend is not a week
        "지난 해외 매출",  # 해외 is overseas, not 해 (year)
        "이번 달러 매출",  # 달러 is the dollar
        "그제야 알았어",
        "What may have caused the drop?",
        "marketing spend by channel",
        "24/7 support sessions",
        "최근 한국 매출",
        "상위 10개 상품",
        "bounce rate on tablets",
    ],
)
def test_extract_finds_nothing_in_a_question_without_a_period(question: str) -> None:
    assert extract_period(question, AS_OF) is None


def test_extract_reads_two_dates_joined_by_and_as_two_days_not_a_range() -> None:
    found = extract_period("Nov 1 and Nov 15 compared", AS_OF)
    assert found is not None
    assert (found[0].start, found[0].end, found[1]) == (d("2026-11-01"), d("2026-11-01"), (0, 5))


def test_extract_raises_for_a_period_it_recognises_but_cannot_use() -> None:
    with pytest.raises(PeriodError, match="not a date"):
        extract_period("11월 31일 매출", AS_OF)
    with pytest.raises(PeriodError, match="no complete day"):
        extract_period("이번 주 매출", MONDAY)
    with pytest.raises(PeriodError, match="no start"):
        extract_period("11월 15일까지 매출", AS_OF)


def _questions() -> list[dict]:
    lines = QUESTIONS.read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines if line.strip()]


def test_the_shared_question_file_has_25_questions() -> None:
    assert len(_questions()) == 25


@pytest.mark.parametrize(
    "row", [row for row in _questions() if "start" in row], ids=lambda row: row["q"]
)
def test_shared_questions_with_dates_give_exactly_those_dates(row: dict) -> None:
    as_of = d(row["as_of"])
    expected = (d(row["start"]), d(row["end"]))
    found = extract_period(row["q"], as_of)
    period = found[0] if found else default_period(as_of)
    assert (period.start, period.end) == expected


def test_every_shared_question_with_dates_names_its_period() -> None:
    # So the test above checks extract_period on each of them, never the default.
    rows = [row for row in _questions() if "start" in row]
    assert all(extract_period(row["q"], d(row["as_of"])) for row in rows)


@pytest.mark.parametrize(
    ("question", "expected"),
    [
        ("체크아웃 이탈을 줄이는 방법에 대한 가이드 문서 내용 알려줘", None),
        ("지난주 전환율이 왜 떨어졌어?", LAST_WEEK),
        ("what should we do to improve mobile conversion?", None),
    ],
)
def test_shared_questions_without_dates_find_a_period_only_when_they_name_one(
    question: str, expected: tuple[dt.date, dt.date] | None
) -> None:
    # The file gives no dates for the rag and reasoning rows; these are the readings we want.
    assert question in {row["q"] for row in _questions() if "start" not in row}
    found = extract_period(question, AS_OF)
    assert ((found[0].start, found[0].end) if found else None) == expected


# --- Default, explicit and comparison periods -----------------------------------------


def test_a_question_with_no_period_means_the_last_7_days_and_says_so() -> None:
    period = default_period(AS_OF)
    assert (period.start, period.end) == LAST_7_DAYS
    assert period.label_ko == "최근 7일 (11월 17일~23일, 기본값)"
    assert period.label_en == "last 7 days (Nov 17–23, default)"


def test_explicit_period_is_exactly_from_and_to() -> None:
    period = explicit_period(d("2026-11-01"), d("2026-11-15"))
    assert (period.start, period.end, period.days) == (*NOV_1_15, 15)
    assert period.label_en == "Nov 1–15, 2026"
    assert (
        explicit_period(d("2026-11-01"), d("2026-11-15"), as_of=AS_OF).label_ko == "11월 1일~15일"
    )
    assert explicit_period(AS_OF, AS_OF).days == 1


def test_explicit_period_with_the_end_before_the_start_is_an_error() -> None:
    with pytest.raises(PeriodError, match="before start date"):
        explicit_period(d("2026-11-15"), d("2026-11-01"))
    with pytest.raises(PeriodError, match="before start date"):
        resolve_period("11월 15일~11월 1일", AS_OF)
    with pytest.raises(PeriodError, match="before start date"):
        Period(d("2026-11-15"), d("2026-11-01"), "", "")


def test_previous_period_is_the_same_length_right_before() -> None:
    previous = comparison_period(resolve_period("지난주", AS_OF), "previous")
    assert (previous.start, previous.end) == (d("2026-11-09"), d("2026-11-15"))
    assert previous.label_ko == "직전 기간 (11월 9일~15일)"
    assert previous.label_en == "previous period (Nov 9–15)"


def test_previous_period_of_a_month_keeps_the_same_number_of_days() -> None:
    october = resolve_period("지난달", AS_OF)
    previous = comparison_period(october, "previous")
    assert (previous.start, previous.end) == (d("2026-08-31"), d("2026-09-30"))
    assert previous.days == october.days == 31


def test_week_comparison_is_the_same_weekdays_a_week_earlier() -> None:
    week = comparison_period(resolve_period("어제", AS_OF), "week")
    assert (week.start, week.end) == (d("2026-11-16"), d("2026-11-16"))
    assert week.start.weekday() == MONDAY.weekday()
    assert week.label_en == "same days last week (Nov 16)"


def test_year_comparison_is_the_same_dates_a_year_earlier() -> None:
    year = comparison_period(resolve_period("지난달", AS_OF), "year")
    assert (year.start, year.end) == (d("2025-10-01"), d("2025-10-31"))
    assert year.label_ko == "전년 동기 (2025년 10월 1일~31일)"


def test_year_comparison_moves_29_february_to_the_28th() -> None:
    leap = explicit_period(d("2028-02-01"), d("2028-02-29"))
    year = comparison_period(leap, "year")
    assert (year.start, year.end) == (d("2027-02-01"), d("2027-02-28"))


def test_unknown_comparison_is_an_error_naming_the_kinds() -> None:
    with pytest.raises(PeriodError, match="previous, week, year"):
        comparison_period(default_period(AS_OF), "month")


# --- Edge cases -----------------------------------------------------------------------


def test_this_week_on_a_monday_has_no_complete_day_and_is_an_error() -> None:
    with pytest.raises(PeriodError, match="this week has no complete day yet on 2026-11-23"):
        resolve_period("이번 주", MONDAY)
    with pytest.raises(PeriodError, match="Monday"):
        resolve_period("this week", MONDAY)


def test_this_month_and_this_year_on_their_first_day_are_errors() -> None:
    with pytest.raises(PeriodError, match="no complete day"):
        resolve_period("이번 달", d("2026-11-01"))
    with pytest.raises(PeriodError, match="no complete day"):
        resolve_period("11월", d("2026-11-01"))
    with pytest.raises(PeriodError, match="no complete day"):
        resolve_period("올해", d("2027-01-01"))


def test_last_month_in_january_is_december_of_last_year() -> None:
    assert dates("지난달", d("2027-01-05")) == (d("2026-12-01"), d("2026-12-31"))
    assert dates("last month", d("2027-01-05")) == (d("2026-12-01"), d("2026-12-31"))


def test_last_week_seen_from_a_monday_and_a_sunday() -> None:
    assert dates("지난주", MONDAY) == LAST_WEEK
    assert dates("지난주", d("2026-11-29")) == LAST_WEEK


@pytest.mark.parametrize("text", ["최근 0일", "last 0 days", "최근 0주"])
def test_a_rolling_window_of_zero_days_is_an_error(text: str) -> None:
    with pytest.raises(PeriodError, match="at least one"):
        resolve_period(text, AS_OF)


def test_a_huge_rolling_window_is_an_error_not_a_crash() -> None:
    with pytest.raises(PeriodError, match="before the year 1"):
        resolve_period("최근 99999999999일", AS_OF)


@pytest.mark.parametrize(
    "text", ["2월 30일", "2026-02-30", "Feb 30", "2026-13-01", "2025년 2월 29일"]
)
def test_a_day_that_does_not_exist_is_an_error(text: str) -> None:
    with pytest.raises(PeriodError, match="not a date"):
        resolve_period(text, AS_OF)


def test_a_written_date_after_the_as_of_date_is_an_error() -> None:
    with pytest.raises(PeriodError, match="after the as-of date 2026-11-24"):
        resolve_period("2027-01-05", AS_OF)


@pytest.mark.parametrize("text", ["asdfgh", "", "   ", "매출", "지난주 매출", "next week", "최근"])
def test_anything_but_a_period_is_an_error_of_one_line_naming_the_accepted_forms(
    text: str,
) -> None:
    with pytest.raises(PeriodError) as error:
        resolve_period(text, AS_OF)
    message = str(error.value)
    assert "\n" not in message
    assert message.startswith("can't read")
    assert "지난주/last week" in message
    assert "최근 N일/last N days" in message


def test_resolve_ignores_surrounding_space_and_a_final_question_mark() -> None:
    assert dates("  지난주?  ") == LAST_WEEK
    assert dates("last week.") == LAST_WEEK


def test_periods_are_frozen_and_compare_by_value() -> None:
    period = resolve_period("지난주", AS_OF)
    assert period == resolve_period("last week", AS_OF)
    with pytest.raises(AttributeError):
        period.start = AS_OF  # type: ignore[misc]


# --- Calendar spans: years, quarters, halves (README "Periods") --------------------------

REAL_AS_OF = dt.date(2017, 8, 2)  # the day after the real store's sessions end


@pytest.mark.parametrize(
    ("text", "start", "end"),
    [
        ("2016년 매출", "2016-01-01", "2016-12-31"),
        ("How many sessions did we have in 2016?", "2016-01-01", "2016-12-31"),
        ("2017년 매출", "2017-01-01", "2017-08-01"),  # cut at as-of - 1
        ("revenue in Q2 2017", "2017-04-01", "2017-06-30"),
        ("2017 Q2 sessions", "2017-04-01", "2017-06-30"),
        ("2016년 4분기 거래 수", "2016-10-01", "2016-12-31"),
        ("작년4분기 전환율", "2016-10-01", "2016-12-31"),
        ("the third quarter of 2016", "2016-07-01", "2016-09-30"),
        ("3Q 매출", "2017-07-01", "2017-08-01"),  # no year: the latest begun, cut
        ("1분기 매출", "2017-01-01", "2017-03-31"),
        ("지난 분기 매출", "2017-04-01", "2017-06-30"),
        ("this quarter revenue", "2017-07-01", "2017-08-01"),
        ("2017년 상반기 세션", "2017-01-01", "2017-06-30"),
        ("H2 2016 bounce rate", "2016-07-01", "2016-12-31"),
        ("mobile bounce rate in the second half of 2016", "2016-07-01", "2016-12-31"),
        ("하반기 매출", "2017-07-01", "2017-08-01"),
        ("작년 12월 aov", "2016-12-01", "2016-12-31"),
        ("올해 1월부터 3월까지 월별 매출", "2017-01-01", "2017-03-31"),
        ("2016년 12월 매출", "2016-12-01", "2016-12-31"),
    ],
)
def test_years_quarters_and_halves_resolve_on_the_real_calendar(text, start, end):
    period, _ = extract_period(text, REAL_AS_OF)
    assert (period.start.isoformat(), period.end.isoformat()) == (start, end)


def test_a_span_cut_at_yesterday_says_so_in_both_languages():
    period, _ = extract_period("2017년 매출", REAL_AS_OF)
    assert "어제까지" in period.label("ko") and "through yesterday" in period.label("en")


def test_a_span_that_has_not_begun_names_the_last_day_there_is():
    with pytest.raises(PeriodError, match="2017-08-01"):
        extract_period("2018년 매출", REAL_AS_OF)


def test_quarterly_as_a_dimension_is_no_period():
    assert extract_period("분기별 매출", REAL_AS_OF) is None


@pytest.mark.parametrize(
    ("text", "start", "end"),
    [
        ("2017 상반기 세션", "2017-01-01", "2017-06-30"),  # a year without 년
        ("2016 4분기 매출", "2016-10-01", "2016-12-31"),
        ("2017 3월 매출", "2017-03-01", "2017-03-31"),
        ("top 10 products by revenue 2017", "2017-01-01", "2017-08-01"),  # a bare year
        ("2016 매출", "2016-01-01", "2016-12-31"),
    ],
)
def test_a_year_written_without_a_word_around_it(text, start, end):
    period, _ = extract_period(text, REAL_AS_OF)
    assert (period.start.isoformat(), period.end.isoformat()) == (start, end)


@pytest.mark.parametrize(
    "text", ["매출 2000명 넘은 날", "2017개 주문", "$2017 이상", "2017-03 매출"]
)  # fmt: skip
def test_a_number_that_is_a_count_or_an_amount_is_no_year(text):
    found = extract_period(text, REAL_AS_OF)
    assert found is None or found[0].days < 365


# --- Weeks of a month, days of a week (README "Periods") ------------------------------

THURSDAY = dt.date(2026, 12, 3)


@pytest.mark.parametrize(
    ("text", "as_of", "start", "end"),
    [
        # A month's weeks run Monday to Sunday and belong to the month holding their
        # Thursday: November 2026 starts on a Sunday, so its first week is 2-8 November.
        ("11월 첫째 주 매출", THURSDAY, "2026-11-02", "2026-11-08"),
        ("11월 둘째주 세션", THURSDAY, "2026-11-09", "2026-11-15"),
        ("the second week of November", THURSDAY, "2026-11-09", "2026-11-15"),
        ("11월 마지막 주", THURSDAY, "2026-11-23", "2026-11-29"),
        ("the last week of November", THURSDAY, "2026-11-23", "2026-11-29"),
        ("지난달 셋째 주", THURSDAY, "2026-11-16", "2026-11-22"),
        ("이번 달 첫 주", THURSDAY, "2026-11-30", "2026-12-02"),  # Dec 3 is its Thursday; cut
        ("2017년 7월 첫째 주", REAL_AS_OF, "2017-07-03", "2017-07-09"),  # Jul 1 is a Saturday
        ("2017년 7월 2주차", REAL_AS_OF, "2017-07-10", "2017-07-16"),
        ("first week of May 2017", REAL_AS_OF, "2017-05-01", "2017-05-07"),
        ("지난주 금요일 매출", THURSDAY, "2026-11-27", "2026-11-27"),
        ("이번 주 월요일", THURSDAY, "2026-11-30", "2026-11-30"),
        ("last Friday", THURSDAY, "2026-11-27", "2026-11-27"),  # the latest Friday
        ("목요일 매출", THURSDAY, "2026-11-26", "2026-11-26"),  # today is not a whole day
        ("yday bounce rate", THURSDAY, "2026-12-02", "2026-12-02"),
        ("daily sessions this wk", THURSDAY, "2026-11-30", "2026-12-02"),
    ],
)
def test_weeks_of_a_month_and_days_of_a_week(text, as_of, start, end):
    period, _ = extract_period(text, as_of)
    assert (period.start.isoformat(), period.end.isoformat()) == (start, end)


def test_a_week_of_a_month_is_named_in_the_answer():
    period, _ = extract_period("the first week of December 2016", REAL_AS_OF)
    assert period.label("ko") == "2016년 12월 첫째 주 (2016년 11월 28일~12월 4일)"
    assert period.label("en") == "the first week of December 2016 (Nov 28 – Dec 4, 2016)"


def test_a_fifth_week_a_month_does_not_have_is_a_one_line_error():
    with pytest.raises(PeriodError, match="has 4 weeks"):
        extract_period("2026년 11월 다섯째 주", THURSDAY)


def test_a_day_of_this_week_still_to_come_is_an_error():
    with pytest.raises(PeriodError, match="has not started"):
        extract_period("이번 주 금요일 매출", THURSDAY)


def test_the_weekday_breakdown_is_no_day():
    assert extract_period("요일별 매출", THURSDAY) is None
