"""Cards: every card built from real query results, in Korean and English, passes the
Teams check (tests/test_validation.py specifies the check itself)."""

from __future__ import annotations

import copy
import datetime as dt
import json
import re
from typing import Any

import pytest

from cards import (
    alert_card,
    answer_card,
    card_attachment,
    clarify_card,
    error_card,
    help_card,
    not_available_card,
    summary_card,
    unknown_card,
    validate_card,
    welcome_card,
)
from cards.answer import MAX_TABLE_ROWS, SQL_BLOCK_ID
from cards.charts import Series, line_chart_element
from cards.validation import CARD_LIMIT_BYTES, card_size, plain_view
from kpi.insights.summary import DailySummary, daily_summary
from kpi.metrics.catalog import HEADLINE_METRICS, METRICS
from kpi.metrics.periods import default_period, explicit_period
from kpi.metrics.query import MetricQuery, QueryResult, run_query
from kpi.metrics.units import format_change, format_value
from kpi.sample.generate import generate
from tests.conftest import SEOUL, new_warehouse

ZONE = "Asia/Seoul"
END = dt.date(2026, 11, 23)
LAST_WEEK = (dt.date(2026, 11, 16), dt.date(2026, 11, 22))
TWO_WEEKS = (dt.date(2026, 11, 10), dt.date(2026, 11, 23))
CHART_URL = "https://commercy.example/charts/Zx81kQ.png"
SPARK_URL = "https://commercy.example/charts/spark-{}.png"
HANGUL = re.compile("[가-힣]")
LANGS = ("ko", "en")


# --- Data --------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory: pytest.TempPathFactory):
    w = new_warehouse(tmp_path_factory.mktemp("cards"))
    generate(w, days=15, end=END, zone=SEOUL, scale=0.3, seed=1)
    yield w
    w.close()


def run(warehouse, metrics, start, end, **options) -> QueryResult:
    return run_query(warehouse, MetricQuery.build(metrics, start, end, **options), zone=ZONE)


@pytest.fixture(scope="module")
def scalar(warehouse) -> QueryResult:
    return run(warehouse, ["revenue", "conversion_rate", "bounce_rate"], *LAST_WEEK)


@pytest.fixture(scope="module")
def compared(warehouse) -> QueryResult:
    return run(warehouse, ["revenue", "sessions", "bounce_rate"], *LAST_WEEK, compare="week")


@pytest.fixture(scope="module")
def by_city(warehouse) -> QueryResult:
    result = run(warehouse, ["sessions", "revenue"], *TWO_WEEKS, dimensions=["city"], limit=30)
    assert len(result.rows) == 30
    return result


@pytest.fixture(scope="module")
def by_channel_compared(warehouse) -> QueryResult:
    return run(warehouse, ["revenue"], *LAST_WEEK, dimensions=["channel"], compare="previous")


@pytest.fixture(scope="module")
def daily(warehouse) -> QueryResult:
    return run(warehouse, ["revenue"], *TWO_WEEKS, dimensions=["date"])


@pytest.fixture(scope="module")
def summary(warehouse) -> DailySummary:
    return daily_summary(warehouse, END, zone=ZONE)


def label(start: dt.date, end: dt.date, lang: str) -> str:
    return explicit_period(start, end, as_of=END).label(lang)


def daily_chart(result: QueryResult, lang: str) -> dict[str, Any]:
    series = Series(
        METRICS["revenue"].label(lang),
        [row["date"] for row in result.rows],
        [row["revenue"] for row in result.rows],
    )
    return line_chart_element(series, title=METRICS["revenue"].label(lang), unit="usd", lang=lang)


def follow_ups(lang: str) -> list[tuple[str, str]]:
    if lang == "ko":
        return [("채널별로", "지난주 채널별 매출"), ("기기별로", "지난주 기기별 매출")]
    return [("By channel", "revenue by channel last week"), ("By device", "revenue by device")]


def every_card(warehouse, lang: str) -> dict[str, dict[str, Any]]:
    """One card of every kind, from real results."""
    scalar = run(warehouse, ["revenue", "conversion_rate"], *LAST_WEEK)
    compared = run(warehouse, ["revenue", "bounce_rate"], *LAST_WEEK, compare="week")
    by_city = run(warehouse, ["sessions", "revenue"], *TWO_WEEKS, dimensions=["city"], limit=30)
    by_channel = run(warehouse, ["revenue"], *LAST_WEEK, dimensions=["channel"], compare="previous")
    daily = run(warehouse, ["revenue"], *TWO_WEEKS, dimensions=["date"])
    default = default_period(END)
    summary = daily_summary(warehouse, END, zone=ZONE)
    choices = follow_ups(lang)
    cards = {
        "scalar": answer_card(
            scalar, lang=lang, period_label=label(*LAST_WEEK, lang), follow_ups=choices
        ),
        "comparison": answer_card(compared, lang=lang, period_label=label(*LAST_WEEK, lang)),
        "default period": answer_card(
            run(warehouse, ["sessions"], default.start, default.end),
            lang=lang,
            period_label=default.label(lang),
            period_is_default=True,
        ),
        "grouped, 30 rows": answer_card(
            by_city, lang=lang, period_label=label(*TWO_WEEKS, lang), follow_ups=choices
        ),
        "grouped with comparison": answer_card(
            by_channel, lang=lang, period_label=label(*LAST_WEEK, lang), chart_url=CHART_URL
        ),
        "time series, chart and url": answer_card(
            daily,
            lang=lang,
            period_label=label(*TWO_WEEKS, lang),
            chart_element=daily_chart(daily, lang),
            chart_url=CHART_URL,
            follow_ups=choices,
            note="note" if lang == "en" else "참고",
        ),
        "time series, chart only": answer_card(
            daily,
            lang=lang,
            period_label=label(*TWO_WEEKS, lang),
            chart_element=daily_chart(daily, lang),
        ),
        "no data": answer_card(
            run(warehouse, ["revenue"], dt.date(2020, 1, 1), dt.date(2020, 1, 7)),
            lang=lang,
            period_label=label(dt.date(2020, 1, 1), dt.date(2020, 1, 7), lang),
        ),
        "summary": summary_card(summary, lang=lang),
        "summary with sparklines and chart": summary_card(
            summary,
            lang=lang,
            sparkline_urls={m: SPARK_URL.format(m) for m in HEADLINE_METRICS},
            chart_url=CHART_URL,
        ),
        "help": help_card(lang=lang),
        "error": error_card(lang=lang, correlation_id="c0ffee00-1234-4abc-9def-0123456789ab"),
        "clarify": clarify_card(
            "매출인가요, 상품 매출인가요?" if lang == "ko" else "Revenue or product revenue?",
            choices,
            lang=lang,
        ),
        "unknown": unknown_card("?", choices, lang=lang),
    }
    for scope in ("personal", "groupChat", "team"):
        cards[f"welcome, {scope}"] = welcome_card(lang=lang, scope=scope)
    for route in ("rag", "command"):
        cards[f"not available, {route}"] = not_available_card(route, lang=lang)
    return cards


@pytest.fixture(scope="module")
def cards_by_lang(warehouse) -> dict[str, dict[str, dict[str, Any]]]:
    return {lang: every_card(warehouse, lang) for lang in LANGS}


# --- Walking cards -------------------------------------------------------------------------


def nodes(node: Any):
    if isinstance(node, dict):
        yield node
        for value in node.values():
            yield from nodes(value)
    elif isinstance(node, list):
        for item in node:
            yield from nodes(item)


def strings(node: Any, *, skip_id: str | None = None) -> list[str]:
    """Every string in the card (texts, titles, alt texts, button data), leaving out the
    element with id `skip_id`."""
    if isinstance(node, dict):
        if skip_id is not None and node.get("id") == skip_id:
            return []
        return [s for value in node.values() for s in strings(value, skip_id=skip_id)]
    if isinstance(node, list):
        return [s for item in node for s in strings(item, skip_id=skip_id)]
    return [node] if isinstance(node, str) else []


def shown_text(card: dict[str, Any]) -> str:
    return "\n".join(strings(card))


def element(card: dict[str, Any], element_id: str) -> dict[str, Any]:
    [found] = [n for n in nodes(card) if n.get("id") == element_id]
    return found


def of_type(card: dict[str, Any], kind: str) -> list[dict[str, Any]]:
    return [n for n in nodes(card) if n.get("type") == kind]


# --- Every card is valid ------------------------------------------------------------------


@pytest.mark.parametrize("lang", LANGS)
def test_every_card_passes_the_teams_check(cards_by_lang, lang):
    for name, card in cards_by_lang[lang].items():
        assert validate_card(card) == [], name
        assert card["type"] == "AdaptiveCard" and card["version"] == "1.5", name
        assert card["lang"] == lang
        json.dumps(card)  # JSON-ready: no dates, enums or models left


@pytest.mark.parametrize("lang", LANGS)
def test_every_action_execute_falls_back_to_a_submit_that_sends_the_same_question(
    cards_by_lang, lang
):
    for name, card in cards_by_lang[lang].items():
        for action in of_type(card, "Action.Execute"):
            question = action["data"]["text"]
            assert action["verb"] == "ask", name
            fallback = action["fallback"]
            assert fallback["type"] == "Action.Submit"
            assert fallback["title"] == action["title"]
            assert fallback["data"]["text"] == question
            back = fallback["data"]["msteams"]
            assert back == {"type": "messageBack", "text": question, "displayText": question}


def test_korean_cards_read_korean_and_english_cards_have_no_hangul(cards_by_lang):
    for name, card in cards_by_lang["ko"].items():
        assert HANGUL.search(shown_text(card)), name
    for name, card in cards_by_lang["en"].items():
        assert not HANGUL.search(shown_text(card)), name
    assert "매출" in shown_text(cards_by_lang["ko"]["scalar"])
    assert "Revenue" in shown_text(cards_by_lang["en"]["scalar"])


def test_no_sql_outside_the_hidden_sql_block(cards_by_lang):
    for lang in LANGS:
        for name, card in cards_by_lang[lang].items():
            outside = "\n".join(strings(card, skip_id=SQL_BLOCK_ID))
            assert "SELECT" not in outside and "ga_data" not in outside, (lang, name)


# --- The answer card ----------------------------------------------------------------------


@pytest.mark.parametrize("lang", LANGS)
def test_scalar_answer_shows_each_number_formatted_and_its_sql_behind_a_toggle(scalar, lang):
    card = answer_card(scalar, lang=lang, period_label=label(*LAST_WEEK, lang))
    texts = shown_text(card)
    for name in scalar.query.metrics:
        metric = METRICS[name]
        assert format_value(scalar.total(name), metric.unit, lang) in texts
        assert metric.label(lang) in texts
    assert label(*LAST_WEEK, lang) in texts
    sql = element(card, SQL_BLOCK_ID)
    assert sql["isVisible"] is False
    assert sql["type"] == "RichTextBlock"  # TextRuns are never read as markdown
    [run_] = sql["inlines"]
    assert run_["text"] == scalar.sql and run_["fontType"] == "monospace"
    [toggle] = of_type(card, "Action.ToggleVisibility")
    assert toggle["title"] == ("SQL 보기" if lang == "ko" else "Show SQL")
    assert toggle["targetElements"] == [{"elementId": SQL_BLOCK_ID}]
    assert card["msteams"] == {"width": "Full"}


def test_revenue_formatted_by_format_value_is_on_the_card(warehouse):
    result = run(warehouse, ["revenue"], END, END)
    revenue = result.total("revenue")
    assert revenue and revenue > 0
    card = answer_card(result, lang="ko", period_label="어제 (11월 23일)")
    assert format_value(revenue, "usd", "ko") in shown_text(card)
    assert card["fallbackText"] == f"매출 {format_value(revenue, 'usd')}"


@pytest.mark.parametrize("lang", LANGS)
def test_comparison_shows_the_change_coloured_by_what_is_good_for_the_business(compared, lang):
    card = answer_card(compared, lang=lang, period_label=label(*LAST_WEEK, lang))
    blocks = of_type(card, "TextBlock")
    assert compared.comparison is not None
    shifted = compared.comparison.query
    assert (shifted.start, shifted.end) == (dt.date(2026, 11, 9), dt.date(2026, 11, 15))
    assert ("전주 동기" if lang == "ko" else "same days last week") in shown_text(card)
    for name in compared.query.metrics:
        metric = METRICS[name]
        now, before = compared.total(name), compared.comparison.total(name)
        change = format_change(now, before, metric.unit)
        [block] = [b for b in blocks if b["text"].endswith(change) and b["text"] != change]
        assert block["text"].startswith("▲" if now > before else "▼")
        good = (now > before) == metric.higher_is_better
        assert block["color"] == ("good" if good else "attention"), name
        assert format_value(before, metric.unit, lang) in shown_text(card)


@pytest.mark.parametrize("lang", LANGS)
def test_default_period_is_said(warehouse, lang):
    period = default_period(END)
    result = run(warehouse, ["sessions"], period.start, period.end)
    card = answer_card(result, lang=lang, period_label=period.label(lang), period_is_default=True)
    assert ("기본: 최근 7일" if lang == "ko" else "default: last 7 days") in shown_text(card)
    plain = answer_card(result, lang=lang, period_label=period.label(lang))
    assert "기본: 최근 7일" not in shown_text(plain) and "default: last" not in shown_text(plain)


@pytest.mark.parametrize("lang", LANGS)
def test_grouped_answer_tables_fifteen_rows_and_counts_the_rest(by_city, lang):
    card = answer_card(by_city, lang=lang, period_label=label(*TWO_WEEKS, lang))
    [table] = of_type(card, "Table")
    header, *rows = table["rows"]
    assert table["firstRowAsHeader"] is True
    assert [c["items"][0]["text"] for c in header["cells"]] == (
        ["도시", "세션 수", "매출"] if lang == "ko" else ["City", "Sessions", "Revenue"]
    )
    assert len(rows) == MAX_TABLE_ROWS
    cells = [[c["items"][0]["text"] for c in row["cells"]] for row in rows]
    for shown, row in zip(cells, by_city.rows, strict=False):
        city = (
            row["city"]
            if row["city"] is not None
            else ("(미설정)" if lang == "ko" else "(not set)")
        )
        assert shown == [
            city,
            format_value(row["sessions"], "count", lang),
            format_value(row["revenue"], "usd", lang),
        ]
    more = len(by_city.rows) - MAX_TABLE_ROWS
    assert (f"… 외 {more}개 더" if lang == "ko" else f"… {more} more") in shown_text(card)
    leader = by_city.rows[0]
    assert format_value(leader["sessions"], "count", lang) in shown_text(card)
    assert ("1위" if lang == "ko" else "Top") in shown_text(card)
    assert card_size(card) < CARD_LIMIT_BYTES


def test_grouped_comparison_adds_a_change_column_matched_by_segment(by_channel_compared):
    card = answer_card(by_channel_compared, lang="en", period_label="last week")
    [table] = of_type(card, "Table")
    header, *rows = table["rows"]
    assert header["cells"][-1]["items"][0]["text"] == "Revenue change"
    assert by_channel_compared.comparison is not None
    before = {r["channel"]: r["revenue"] for r in by_channel_compared.comparison.rows}
    for row, shown in zip(by_channel_compared.rows, rows, strict=True):
        change = shown["cells"][-1]["items"][0]["text"]
        expected = format_change(row["revenue"], before.get(row["channel"]), "usd")
        assert change.endswith(expected)


@pytest.mark.parametrize("lang", LANGS)
def test_chart_element_gets_the_png_as_fallback_and_plain_clients_see_the_image(daily, lang):
    chart = daily_chart(daily, lang)
    untouched = copy.deepcopy(chart)
    card = answer_card(daily, lang=lang, period_label="p", chart_element=chart, chart_url=CHART_URL)
    assert chart == untouched  # the caller's element is not changed
    [line] = of_type(card, "Chart.Line")
    assert line["fallback"]["type"] == "Image" and line["fallback"]["url"] == CHART_URL
    assert line["fallback"]["altText"]
    plain = plain_view(card)
    assert not of_type(plain, "Chart.Line") and "msteams" not in json.dumps(plain)
    assert [i["url"] for i in of_type(plain, "Image")] == [CHART_URL]
    [table] = of_type(card, "Table")  # the numbers stay readable without the chart
    header, first, *_ = table["rows"]
    assert header["cells"][0]["items"][0]["text"] == ("날짜" if lang == "ko" else "Date")
    assert [c["items"][0]["text"] for c in first["cells"]] == [
        "11/10 (화)" if lang == "ko" else "Tue 11/10",
        format_value(daily.rows[0]["revenue"], "usd", lang),
    ]


def test_chart_element_without_url_is_dropped_for_plain_clients_and_url_alone_is_an_image(daily):
    card = answer_card(daily, lang="en", period_label="p", chart_element=daily_chart(daily, "en"))
    [line] = of_type(card, "Chart.Line")
    assert line["fallback"] == "drop"
    assert not of_type(plain_view(card), "Chart.Line") and not of_type(plain_view(card), "Image")
    image_only = answer_card(daily, lang="en", period_label="p", chart_url=CHART_URL)
    assert [i["url"] for i in of_type(image_only, "Image")] == [CHART_URL]
    with pytest.raises(ValueError, match="Chart"):
        answer_card(daily, lang="en", period_label="p", chart_element={"type": "Image"})


def test_follow_ups_are_ask_buttons(scalar):
    questions = follow_ups("ko")
    card = answer_card(scalar, lang="ko", period_label="p", follow_ups=questions)
    assert [(a["title"], a["data"]["text"]) for a in card["actions"]] == questions


# --- The summary card ---------------------------------------------------------------------


@pytest.mark.parametrize("lang", LANGS)
def test_summary_shows_every_kpi_with_both_changes(summary, lang):
    card = summary_card(summary, lang=lang)
    [table] = of_type(card, "Table")
    header, *rows = table["rows"]
    assert header["cells"][0]["items"][0]["text"] == ("지표" if lang == "ko" else "KPI")
    assert len(rows) == len(HEADLINE_METRICS)
    for line, row in zip(summary.kpis, rows, strict=True):
        metric = METRICS[line.metric]
        texts = [c["items"][0]["text"] for c in row["cells"]]
        assert texts[0] == metric.label(lang)
        assert texts[1] == format_value(line.value, metric.unit, lang)
        for cell, before in zip(row["cells"][2:4], (line.previous_day, line.week_ago), strict=True):
            block = cell["items"][0]
            assert block["text"].endswith(format_change(line.value, before, metric.unit))
            if line.value != before:
                good = (line.value > before) == metric.higher_is_better
                assert block["color"] == ("good" if good else "attention"), line.metric
    day = "11월 23일 (월)" if lang == "ko" else "Mon, Nov 23"
    assert day in shown_text(card)
    for mover in summary.movers:
        assert mover.segment in shown_text(card)


@pytest.mark.parametrize("lang", LANGS)
def test_summary_buttons_ask_why_and_for_details_about_that_day(summary, lang):
    card = summary_card(summary, lang=lang)
    why, details = card["actions"]
    assert why["title"] == ("왜 변했어?" if lang == "ko" else "Why did it change?")
    assert details["title"] == ("자세히" if lang == "ko" else "Details")
    if lang == "ko":
        assert why["data"]["text"] == "11월 23일 매출 왜 변했어?"
        assert details["data"]["text"] == "11월 10일~23일 일별 매출"
    else:
        assert why["data"]["text"] == "Why did revenue change on Nov 23?"
        assert details["data"]["text"] == "Daily revenue Nov 10–23"


def test_summary_sparklines_sit_beside_their_kpi(summary):
    urls = {m: SPARK_URL.format(m) for m in HEADLINE_METRICS}
    card = summary_card(summary, lang="ko", sparkline_urls=urls, chart_url=CHART_URL)
    [table] = of_type(card, "Table")
    for line, row in zip(summary.kpis, table["rows"][1:], strict=True):
        assert row["cells"][-1]["items"][0]["url"] == urls[line.metric]
    assert CHART_URL in [i["url"] for i in of_type(card, "Image")]
    assert validate_card(card) == []


# --- The conversational cards -------------------------------------------------------------


@pytest.mark.parametrize("lang", LANGS)
def test_welcome_says_what_commercy_does_and_how_to_ask_in_each_scope(lang):
    personal = shown_text(welcome_card(lang=lang, scope="personal"))
    team = shown_text(welcome_card(lang=lang, scope="team"))
    group = shown_text(welcome_card(lang=lang, scope="groupChat"))
    for words in ["5분", "9시", "PDF"] if lang == "ko" else ["5 minutes", "09:00", "PDF"]:
        assert words in personal
    assert "@Commercy" in team and "@Commercy" in group and "@Commercy" not in personal
    with pytest.raises(ValueError, match="scope"):
        welcome_card(lang=lang, scope="channel")


def test_clarify_buttons_send_the_choice_text():
    choices = [("매출", "어제 매출"), ("상품 매출", "어제 상품 매출")]
    card = clarify_card("어떤 매출이요?", choices, lang="ko")
    assert [(a["title"], a["data"]["text"]) for a in of_type(card, "Action.Execute")] == choices
    assert "어떤 매출이요?" in shown_text(card)


def test_error_card_gives_the_reference_and_nothing_technical():
    card = error_card(lang="en", correlation_id="c0ffee00-42")
    text = shown_text(card)
    assert "c0ffee00-42" in text
    assert not re.search(r"Traceback|Exception|Error:|SELECT", text)


def test_a_route_that_cannot_answer_says_what_to_do_and_promises_nothing():
    assert "data/playbooks/" in shown_text(not_available_card("rag", lang="en"))
    assert "알림 켜기" in shown_text(not_available_card("command", lang="ko"))
    for route in ("rag", "command"):
        for lang in ("ko", "en"):
            assert not re.search(
                r"soon|coming|준비 중|곧", shown_text(not_available_card(route, lang=lang))
            )
    with pytest.raises(ValueError, match="route"):
        not_available_card("reasoning", lang="en")


def test_unknown_language_is_refused():
    with pytest.raises(ValueError, match="language"):
        help_card(lang="fr")
    assert help_card(lang="ko-KR")["lang"] == "ko"


def test_attachment_wraps_the_card_for_the_activity():
    card = help_card(lang="en")
    assert card_attachment(card) == {
        "contentType": "application/vnd.microsoft.card.adaptive",
        "content": card,
    }


def test_the_alert_card_says_seen_against_expected_when_it_began_and_how_long_it_lasted():
    from zoneinfo import ZoneInfo

    from kpi.insights.alerts import Alert

    seoul = ZoneInfo("Asia/Seoul")
    at = dt.datetime(2026, 12, 6, 15, 0, tzinfo=seoul)
    alert = Alert(
        rule="traffic_drop", severity="critical", window_start=at - dt.timedelta(minutes=8),
        window_end=at, scope="store", value=2, expected=17.6, score=5.4,
        message_ko="세션 수가 평소보다 89% 적습니다", message_en="Sessions are 89% below usual",
        onset=at - dt.timedelta(minutes=25), episode_id="abc",
    )  # fmt: skip
    ko = json.dumps(alert_card(alert, lang="ko", zone=seoul), ensure_ascii=False)
    assert "시작: 14:35쯤 (지금까지 25분, 마지막 확인 15:00)" in ko
    assert "본 값 2 · 예상 약 18 (14:52~15:00)" in ko and "어디: 스토어 전체" in ko
    en = json.dumps(alert_card(alert, lang="en", zone=seoul), ensure_ascii=False)
    assert "Began: about 14:35 (25 min so far, last checked 15:00)" in en
    # Its buttons name the episode, so Acknowledge finds the card the first alert sent.
    assert '"alert_id": "abc"' in en
