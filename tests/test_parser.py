"""The offline bilingual parser: the reference questions exactly, marketer questions in both
languages, follow-ups, clarifications, unknowns, commands and hostile input."""

from __future__ import annotations

import datetime as dt
import random
import re
import time
from typing import Any

import pytest

from dialogs import parser
from dialogs.parser import Choice, Parsed, detect_language, normalize, parse
from kpi.metrics.catalog import METRICS
from kpi.metrics.query import MetricQuery
from tests import cases
from tests.cases import AS_OF, PARSER_CASES, QUESTIONS, load, run

MONDAY = dt.date(2026, 11, 23)
HANGUL = re.compile(r"[가-힣]")


def d(text: str) -> dt.date:
    return dt.date.fromisoformat(text)


def query(
    metrics: list[str], start: str, end: str, dims: tuple[str, ...] = (), **kwargs: Any
) -> MetricQuery:
    return MetricQuery.build(metrics, d(start), d(end), dims, **kwargs)


def check(case: dict[str, Any], parsed: Parsed) -> None:
    assert parsed.route == case["route"], (case["q"], parsed)
    assert parsed.lang == detect_language(case["q"])
    if "metrics" in case:
        assert cases.actual(parsed) == cases.expected(case), case["q"]
        assert parsed.period is not None
        assert (parsed.period.start, parsed.period.end) == (d(case["start"]), d(case["end"]))
    elif parsed.route not in ("reasoning",):
        assert parsed.query is None
    for key in ("follow_up", "period_is_default", "command", "argument"):
        if key in case:
            assert getattr(parsed, key) == case[key], (case["q"], key)
    if "descending" in case:
        assert parsed.query is not None and parsed.query.descending is case["descending"]
    if "compare" in case:
        assert parsed.query is not None and parsed.query.compare == case["compare"]
    assert [list(fix) for fix in parsed.corrections] == case.get("corrections", []), case["q"]
    if "suggest" in case:
        reached = {m for choice in parsed.choices for m in metrics_behind(choice)}
        assert set(case["suggest"]) <= reached, (case["q"], parsed.choices)


def metrics_behind(choice: Choice) -> tuple[str, ...]:
    """The metrics of the question a button sends."""
    answer = parse(choice.text, as_of=AS_OF)
    return answer.query.metrics if answer.query is not None else ()


# --- The reference questions, exactly ---------------------------------------------------


@pytest.mark.parametrize("case", load(QUESTIONS), ids=lambda c: c["q"])
def test_reference_questions(case: dict[str, Any]) -> None:
    check(case, run(case))


def test_reference_reasoning_question_carries_its_query() -> None:
    parsed = parse("지난주 전환율이 왜 떨어졌어?", as_of=AS_OF)
    assert parsed.route == "reasoning"
    assert parsed.query == query(["conversion_rate"], "2026-11-16", "2026-11-22",
                                 compare="previous")  # fmt: skip


# --- Marketer questions, both languages ---------------------------------------------------


@pytest.mark.parametrize("case", load(PARSER_CASES), ids=lambda c: c["q"])
def test_marketer_questions(case: dict[str, Any]) -> None:
    check(case, run(case))


def test_case_set_is_large_and_bilingual() -> None:
    cases = load(PARSER_CASES)
    korean = [c for c in cases if HANGUL.search(c["q"])]
    assert len(cases) >= 120
    assert len(korean) >= len(cases) / 2
    assert len(cases) - len(korean) >= 40
    routes = {c["route"] for c in cases}
    assert routes == {"sql", "rag", "reasoning", "help", "greeting", "command", "unknown",
                      "clarify"}  # fmt: skip
    assert sum("previous" in c for c in cases) >= 20


# --- Language -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "lang"),
    [
        ("어제 매출", "ko"),
        ("지난주 revenue", "ko"),
        ("AOV 알려줘", "ko"),
        ("revenue yesterday", "en"),
        ("", "en"),
        ("12345", "en"),
        ("😀", "en"),
        ("ㅋㅋ", "ko"),
    ],
)
def test_detect_language(text: str, lang: str) -> None:
    assert detect_language(text) == lang


@pytest.mark.parametrize(
    ("text", "ko_reply"),
    [("지난주 기기별", True), ("last week by device", False), ("요입", True), ("visitrs", False)],
)
def test_prompts_are_in_the_users_language(text: str, ko_reply: bool) -> None:
    parsed = parse(text, as_of=AS_OF)
    assert parsed.prompt
    assert bool(HANGUL.search(parsed.prompt)) is ko_reply
    assert all(bool(HANGUL.search(c.text)) is ko_reply for c in parsed.choices)


def test_normalize() -> None:
    assert normalize("  ＡＯＶ\u3000이번  달\t") == "AOV 이번 달"  # NFKC: full-width letters
    assert normalize("<b>매출</b>\x00\u200b") == "매출"
    assert len(normalize("a" * 10_000)) == parser.MAX_CHARS


def test_full_width_and_html_still_parse() -> None:
    parsed = parse("<p>ＡＯＶ by device</p>", as_of=AS_OF)
    assert parsed.query is not None
    assert (parsed.query.metrics, parsed.query.dimensions) == (("aov",), ("device",))


# --- Korean morphology ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "metrics", "filters"),
    [
        ("매출은", ("revenue",), ()),
        ("전환율이", ("conversion_rate",), ()),
        ("세션수는", ("sessions",), ()),
        ("모바일에서 전환율", ("conversion_rate",), (("device", ("mobile",)),)),
        ("장바구니이탈률", ("cart_abandonment_rate",), ()),
        ("세션당페이지뷰", ("pages_per_session",), ()),
        ("평균 주문 금액은?", ("aov",), ()),
        ("어제 총 매출액", ("revenue",), ()),
    ],
)
def test_particles_and_spacing(text: str, metrics: tuple[str, ...], filters: tuple) -> None:
    parsed = parse(text, as_of=AS_OF)
    assert parsed.route == "sql"
    assert parsed.query is not None
    assert parsed.query.metrics == metrics
    assert parsed.query.filters == filters


@pytest.mark.parametrize(
    ("text", "not_meant"),
    [
        ("재구매율 알려줘", "conversion_rate"),  # not 구매율
        ("지난주 검색량", "Organic Search"),  # not the 검색 channel
        ("이탈률 개선 전략 추천해줘", "Referral"),  # 추천 as a verb
    ],
)
def test_catalog_words_inside_other_words_do_not_count(text: str, not_meant: str) -> None:
    parsed = parse(text, as_of=AS_OF)
    named = () if parsed.query is None else (*parsed.query.metrics, *parsed.query.filter_map)
    values = () if parsed.query is None else sum(parsed.query.filter_map.values(), ())
    assert not_meant not in (*named, *values)


def test_one_kiwi_created_lazily_and_reused() -> None:
    parse("어제 매출", as_of=AS_OF)
    assert parser._kiwi() is parser._kiwi()


# --- Dimensions, filters, top-N ----------------------------------------------------------------


def test_filter_versus_dimension() -> None:
    mobile = parse("모바일 전환율", as_of=AS_OF).query
    by_device = parse("기기별 전환율", as_of=AS_OF).query
    assert mobile is not None and by_device is not None
    assert (mobile.dimensions, mobile.filter_map) == ((), {"device": ("mobile",)})
    assert (by_device.dimensions, by_device.filter_map) == (("device",), {})


def test_top_n_orders_by_the_metric() -> None:
    q = parse("top 5 countries by revenue", as_of=AS_OF).query
    assert q is not None
    assert (q.dimensions, q.limit, q.order_by, q.descending) == (("country",), 5, "revenue", True)
    bottom = parse("하위 3개 채널 전환율 지난주", as_of=AS_OF).query
    assert bottom is not None
    assert (bottom.limit, bottom.order_by, bottom.descending) == (3, "conversion_rate", False)


def test_product_breakdowns_use_product_revenue() -> None:
    q = parse("이번 달 상품 카테고리별 매출", as_of=AS_OF).query
    assert q is not None and q.metrics == ("product_revenue",)


def test_default_period_is_flagged() -> None:
    parsed = parse("매출", as_of=AS_OF)
    assert parsed.period_is_default
    assert parsed.period is not None and "기본값" in parsed.period.label_ko
    named = parse("어제 매출", as_of=AS_OF)
    assert not named.period_is_default


# --- Follow-ups ----------------------------------------------------------------------------------

LAST_WEEK_MOBILE_REVENUE = query(
    ["revenue"], "2026-11-16", "2026-11-22", filters={"device": "mobile"}
)


@pytest.mark.parametrize(
    ("text", "changed"),
    [
        ("데스크톱은?", {"filters": (("device", ("desktop",)),)}),
        ("how about tablets?", {"filters": (("device", ("tablet",)),)}),
        ("지난달은?", {"start": d("2026-10-01"), "end": d("2026-10-31")}),
        ("and last month?", {"start": d("2026-10-01"), "end": d("2026-10-31")}),
        ("채널별로는?", {"dimensions": ("channel",)}),
        ("이번엔 전환율", {"metrics": ("conversion_rate",)}),
        ("what about bounce rate?", {"metrics": ("bounce_rate",)}),
        ("미국은?", {"filters": (("country", ("United States",)), ("device", ("mobile",)))}),
        ("기기별로는?", {"dimensions": ("device",), "filters": ()}),
        ("전체는?", {"filters": ()}),
    ],
)
def test_follow_up_replaces_only_what_it_names(text: str, changed: dict[str, Any]) -> None:
    parsed = parse(text, as_of=AS_OF, previous=LAST_WEEK_MOBILE_REVENUE)
    assert parsed.route == "sql" and parsed.follow_up
    assert parsed.query is not None
    for name in ("metrics", "dimensions", "filters", "start", "end", "limit"):
        want = changed.get(name, getattr(LAST_WEEK_MOBILE_REVENUE, name))
        assert getattr(parsed.query, name) == want, name
    assert not parsed.period_is_default


def test_a_full_new_question_is_not_a_follow_up() -> None:
    parsed = parse("어제 세션 수", as_of=AS_OF, previous=LAST_WEEK_MOBILE_REVENUE)
    assert not parsed.follow_up
    assert parsed.query == query(["sessions"], "2026-11-23", "2026-11-23")


def test_nonsense_after_a_question_is_not_a_follow_up() -> None:
    parsed = parse("asdfgh", as_of=AS_OF, previous=LAST_WEEK_MOBILE_REVENUE)
    assert parsed.route == "unknown"


@pytest.mark.parametrize(
    "text", ["그럼 모바일은?", "모바일은?", "what about mobile?", "지난주 기기별"]
)
def test_fragment_without_previous_asks_which_metric(text: str) -> None:
    parsed = parse(text, as_of=AS_OF)
    assert parsed.route == "clarify"
    assert 3 <= len(parsed.choices) <= 4
    for choice in parsed.choices:
        answer = parse(choice.text, as_of=AS_OF)
        assert answer.route == "sql", choice
        assert answer.query is not None and answer.query.filter_map.get("device") in (
            None,
            ("mobile",),
        )


# --- Clarify and unknown ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "어제 이탈",
        "drop-off rate last week",
        "지난달 주문 금액",
        "지난주 기기별",
        "top 10 countries",
        "지난주 상품별 세션",
    ],
)
def test_clarify_buttons_send_answerable_questions(text: str) -> None:
    parsed = parse(text, as_of=AS_OF)
    assert parsed.route == "clarify" and parsed.prompt
    assert 2 <= len(parsed.choices) <= 5
    for choice in parsed.choices:
        assert choice.label and choice.text
        assert parse(choice.text, as_of=AS_OF).route == "sql", choice


def test_unusable_period_asks_for_another() -> None:
    parsed = parse("이번 주 모바일 매출", as_of=MONDAY)
    assert parsed.route == "clarify"
    assert parsed.prompt is not None and "기간" in parsed.prompt
    assert parsed.choices[0] == Choice("지난주", "지난주 모바일 매출")
    answer = parse(parsed.choices[0].text, as_of=MONDAY)
    assert answer.query is not None and answer.query.filter_map == {"device": ("mobile",)}
    english = parse("revenue this week", as_of=MONDAY)
    assert english.route == "clarify" and english.choices[0].text == "revenue last week"


@pytest.mark.parametrize(
    ("text", "typed", "read_as"),
    [("지난주 매츨", "매츨", "매출"), ("지난주 세선 수", "세선", "세션"),
     ("지난주매츨", "매츨", "매출"), ("모바일 전환뉼", "전환뉼", "전환율"),
     ("revnue last week", "revnue", "revenue"), ("cart abandonmnet rate", "abandonmnet", "abandonment"),
     ("Sesions by device", "Sesions", "sessions")],
)  # fmt: skip
def test_a_word_one_edit_from_one_catalog_word_is_read_as_it_and_said(
    text: str, typed: str, read_as: str
) -> None:
    parsed = parse(text, as_of=AS_OF)
    assert parsed.corrections == ((typed, read_as),)
    assert parsed.query == parse(text.replace(typed, read_as), as_of=AS_OF).query


@pytest.mark.parametrize(
    ("word", "apart"),
    [("매츨", True), ("매출액", False), ("sesions", True), ("sessoins", True), ("sesion", False),
     ("ab", False), ("revenue", False)],
)  # fmt: skip
def test_one_edit_counts_jamo_for_hangul_and_swaps_as_one(word: str, apart: bool) -> None:
    target = (
        "매출" if parser._HANGUL.search(word) else "sessions" if word.startswith("s") else "revenue"
    )
    assert parser.one_edit_apart(parser._jamo(word), parser._jamo(target)) is apart


def test_a_typo_one_edit_from_two_words_asks_which_with_both_as_buttons() -> None:
    parsed = parse("지난주 요입", as_of=AS_OF)  # 유입 (sessions) or 요일 (weekday)?
    assert (parsed.route, parsed.corrections) == ("unknown", ())
    assert [c.text for c in parsed.choices[:2]] == ["지난주 유입", "지난주 요일"]
    assert 3 <= len(parsed.choices) <= 5
    assert parser._EXAMPLES["ko"][0] in [c.text for c in parsed.choices]


def test_a_word_far_from_every_catalog_word_is_not_guessed() -> None:
    parsed = parse("지난주 구독자", as_of=AS_OF)
    assert parsed.corrections == () and parsed.query is None


def test_unsupported_metrics_say_so() -> None:
    parsed = parse("지난주 ROAS 알려줘", as_of=AS_OF)
    assert parsed.route == "unknown"
    assert parsed.prompt is not None and "ROAS" in parsed.prompt
    assert all(parse(c.text, as_of=AS_OF).route == "sql" for c in parsed.choices)


# --- Routes -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "route"),
    [
        ("도움말", "help"),
        ("what can you do", "help"),
        ("?", "help"),
        ("안녕", "greeting"),
        ("hello", "greeting"),
        ("반품 정책 PDF 찾아줘", "rag"),
        ("what does the playbook say about promotions?", "rag"),
        ("왜 매출이 줄었지", "reasoning"),
        ("how can we improve AOV?", "reasoning"),
    ],
)
def test_routes(text: str, route: str) -> None:
    assert parse(text, as_of=AS_OF).route == route


@pytest.mark.parametrize(
    ("text", "command", "argument"),
    [
        ("알림 끄기", "alerts_off", None),
        ("alerts off", "alerts_off", None),
        ("알림 켜기", "alerts_on", None),
        ("alerts on", "alerts_on", None),
        ("요약 08:30", "summary_time", "08:30"),
        ("summary at 8:30", "summary_time", "08:30"),
        ("요약 오후 6시", "summary_time", "18:00"),
        ("summary at 7pm", "summary_time", "19:00"),
        ("지금 요약", "summary_now", None),
        ("summary now", "summary_now", None),
    ],
)
def test_commands(text: str, command: str, argument: str | None) -> None:
    parsed = parse(text, as_of=AS_OF)
    assert (parsed.route, parsed.command, parsed.argument) == ("command", command, argument)


def test_summary_of_a_metric_is_a_question_not_a_command() -> None:
    assert parse("어제 매출 요약해줘", as_of=AS_OF).route == "sql"


def test_impossible_summary_time_asks_again() -> None:
    parsed = parse("요약 25:00", as_of=AS_OF)
    assert parsed.route == "clarify"
    assert all(parse(c.text, as_of=AS_OF).command == "summary_time" for c in parsed.choices)


def test_reasoning_carries_the_query_it_names() -> None:
    parsed = parse("what should we do to improve mobile conversion?", as_of=AS_OF)
    assert parsed.route == "reasoning"
    assert parsed.query == query(["conversion_rate"], "2026-11-17", "2026-11-23",
                                 filters={"device": "mobile"})  # fmt: skip
    assert parsed.period_is_default
    assert parse("전략 좀 알려줘", as_of=AS_OF).query is None
    assert parse("가이드 문서에서 전환율 내용 찾아줘", as_of=AS_OF).query is None


# --- Hostile input --------------------------------------------------------------------------------

HOSTILE = [
    "",
    "   ",
    "\x00\x01\x02\x7f",
    "a" * 10_000,
    "매출" * 5_000,
    "'; DROP TABLE ga_data.Sessions; --",
    "SELECT * FROM ga_data.Sessions",
    "Robert'); DROP TABLE Students;--",
    "😀📈💸",
    "????",
    "<script>alert(1)</script>",
    "<img src=x onerror=alert(1)>",
    "\u202e\u200b\ufeff",
    "\ud800",
    "%s %d {0} \\n",
    "ㅋㅋㅋㅋ",
    "상위 999999999999개 국가 매출",
    "top 0 countries by revenue",
    "요약 99:99",
    "1" * 600,
]


@pytest.mark.parametrize("text", HOSTILE, ids=range(len(HOSTILE)))
def test_hostile_input_never_raises_and_is_quick(text: str) -> None:
    parse("워밍업", as_of=AS_OF)  # the Korean model loads once, outside the timing
    started = time.perf_counter()
    parsed = parse(text, as_of=AS_OF, previous=LAST_WEEK_MOBILE_REVENUE)
    assert time.perf_counter() - started < 0.5
    assert isinstance(parsed, Parsed)
    assert parsed.route in ("sql", "unknown", "help", "clarify")


@pytest.mark.parametrize("text", ["", "'; DROP TABLE ga_data.Sessions; --", "😀📈💸"])
def test_hostile_input_is_unknown(text: str) -> None:
    parsed = parse(text, as_of=AS_OF)
    assert parsed.route == "unknown" and parsed.query is None


def test_not_a_string_is_unknown() -> None:
    assert parse(None, as_of=AS_OF).route == "unknown"  # type: ignore[arg-type]


def test_every_metric_label_parses_to_its_metric() -> None:
    for name, m in METRICS.items():
        for label in (m.label_ko, m.label_en):
            parsed = parse(f"{label} 어제" if HANGUL.search(label) else f"{label} yesterday",
                           as_of=AS_OF)  # fmt: skip
            assert parsed.query is not None and parsed.query.metrics == (name,), label


def test_word_salad_never_raises_and_buttons_parse() -> None:
    """Random mixes of every known word, periods, cues and junk, with and without a
    previous query: a Parsed every time, 2-5 buttons on clarify, buttons that parse."""
    rng = random.Random(7)
    words = [t.surface for t in parser._terms()] + [
        "어제", "지난주", "이번 주", "최근 7일", "top 5", "상위 3개", "그럼", "은?", "what about",
        "왜", "why", "전주 대비", "vs", "말고", "요약", "알림", "08:30", "11월 31일", "😀", "<b>", ";",
    ]  # fmt: skip
    previous = [
        None,
        LAST_WEEK_MOBILE_REVENUE,
        query(["product_revenue"], "2026-11-16", "2026-11-22", ("product_name",)),
    ]
    for _ in range(400):
        text = " ".join(rng.choice(words) for _ in range(rng.randint(1, 6)))
        parsed = parse(text, as_of=AS_OF, previous=rng.choice(previous))
        assert isinstance(parsed, Parsed)
        if parsed.route == "clarify":
            assert 2 <= len(parsed.choices) <= 5, text
        for choice in parsed.choices:
            assert isinstance(parse(choice.text, as_of=AS_OF), Parsed)


def test_proper_noun_with_particle_inside_one_morpheme() -> None:
    """kiwipiepy tags "캐나다로" as one proper noun; the country still counts."""
    parsed = parse("지난달 캐나다로 들어온 세션", as_of=AS_OF)
    assert parsed.query is not None
    assert parsed.query.filter_map == {"country": ("Canada",)}


# --- The marketers' vocabulary (blind batches metrics_2, real_calendar_2) -----------------


@pytest.mark.parametrize(
    ("text", "metrics", "dimensions"),
    [("세션당 PV 기기별로 ㄱㄱ", ("pages_per_session",), ("device",)),
     ("pv per session last week", ("pages_per_session",), ()),
     ("rank product categories by product revenue", ("product_revenue",), ("product_category",)),
     ("구매전환율 지난주", ("conversion_rate",), ()),
     ("장바구니 담은 세션 어제", ("cart_sessions",), ()),
     ("sessions with add to cart yesterday", ("cart_sessions",), ()),
     ("어제 유입", ("sessions",), ()),
     ("지난주 방문수", ("sessions",), ())],
)  # fmt: skip
def test_marketers_words_for_metrics_and_breakdowns(text, metrics, dimensions):
    parsed = parse(text, as_of=AS_OF)
    assert parsed.query is not None
    assert (parsed.query.metrics, parsed.query.dimensions) == (metrics, dimensions)


@pytest.mark.parametrize(
    ("text", "usual", "other"),
    [("지난달 객단가", "aov", "지난달 세션당 매출"),
     ("지난주 전환이 어땠어?", "conversion_rate", "지난주 거래 수가 어땠어?")],
)  # fmt: skip
def test_a_word_with_a_second_meaning_is_answered_in_its_usual_one_with_the_other_offered(
    text, usual, other
):
    parsed = parse(text, as_of=AS_OF)
    assert parsed.query is not None and parsed.query.metrics == (usual,)
    assert [c.text for c in parsed.choices] == [other]
    assert parse(other, as_of=AS_OF).query.metrics != (usual,)


def test_values_asked_for_together_are_one_total():
    parsed = parse("데스크톱이랑 태블릿 합쳐서 지난달 세션", as_of=AS_OF)
    assert parsed.query is not None and parsed.query.dimensions == ()
    assert parsed.query.filter_map == {"device": ("desktop", "tablet")}


def test_which_n_of_a_breakdown_is_a_top_n():
    parsed = parse("which 3 sources drove the most transactions last month?", as_of=AS_OF)
    assert parsed.query is not None and parsed.query.limit == 3


def test_a_likeness_to_a_value_does_not_stop_an_answer_that_names_a_metric():
    parsed = parse("How much revenue did Organic Search bring in last month?", as_of=AS_OF)
    assert parsed.route == "sql" and parsed.query is not None


def test_a_recommendation_about_nothing_in_the_store_is_not_a_why_question():
    assert parse("오늘 lunch 메뉴 추천좀", as_of=AS_OF).route == "unknown"
    assert parse("뭐가 문제야?", as_of=AS_OF).route == "reasoning"


@pytest.mark.parametrize(
    "text", ["can you pull the numbers for the thing we talked about", "아까 그거 다시 보여줘",
             "how'd the launch go?"],
)  # fmt: skip
def test_a_message_pointing_back_with_nothing_before_asks_what_it_means(text):
    parsed = parse(text, as_of=AS_OF)
    assert parsed.route == "clarify" and parsed.choices
    assert parse(parsed.choices[0].text, as_of=AS_OF).route == "sql"


@pytest.mark.parametrize(
    ("text", "limit"),
    [("which device had the highest conversion rate last month?", 1),
     ("top product category by product revenue last month", 1),
     ("매출 가장 높은 국가 지난달", 1),
     ("top products by revenue last month", None),
     ("국가별 매출 가장 높은 순으로", None),
     ("conversion rate by device, highest first", None)],
)  # fmt: skip
def test_a_superlative_about_one_segment_asks_for_that_one(text, limit):
    parsed = parse(text, as_of=AS_OF)
    assert parsed.query is not None and parsed.query.limit == limit


@pytest.mark.parametrize(
    ("text", "metrics", "limit"),
    [("지난달 미국 데스크탑 세션당 매출", ("revenue_per_session",), None),  # 탑 + 세 is no top 3
     ("상위 세개 채널 매출", ("revenue",), 3),
     ("장바구니 세션수 어제", ("cart_sessions",), None)],  # 수 after a catalog word
)  # fmt: skip
def test_korean_words_that_only_look_like_a_top_n_or_a_second_metric(text, metrics, limit):
    parsed = parse(text, as_of=AS_OF)
    assert parsed.query is not None
    assert (parsed.query.metrics, parsed.query.limit) == (metrics, limit)


@pytest.mark.parametrize(
    ("first", "then", "start", "end"),
    [("revenue last week", "and the week before that?", "2026-11-09", "2026-11-15"),
     ("지난주 매출", "그 전주는?", "2026-11-09", "2026-11-15"),
     ("지난달 세션", "그 전달은?", "2026-09-01", "2026-09-30"),  # a whole month: the month
     ("어제 전환율", "그 전날은?", "2026-11-22", "2026-11-22"),
     ("최근 7일 매출", "그 전 기간은?", "2026-11-10", "2026-11-16")],
)  # fmt: skip
def test_the_period_before_the_last_questions_is_a_follow_up(first, then, start, end):
    previous = parse(first, as_of=AS_OF).query
    parsed = parse(then, as_of=AS_OF, previous=previous)
    assert parsed.query is not None and parsed.follow_up
    assert parsed.query.metrics == previous.metrics
    assert (str(parsed.query.start), str(parsed.query.end)) == (start, end)


# --- Confidence: what a configured model is never asked about (dialogs/router.py) ----------


@pytest.mark.parametrize(
    "text",
    [
        "어제 매출 얼마였어?",  # a complete query
        "지난주 국가별 매출 top 5 ㄱㄱ",  # a request word does not count as unknown
        "why did revenue drop last week?",  # a why question with its metric and period
        "알림 끄기",  # a command
        "오늘 뉴스 분위기 어때?",  # news
        "프로모션 가이드에서 쿠폰 중복 사용 규칙 알려줘",  # documents, no number asked
        "그거 다시 뽑아줘",  # nothing said before to point at: the parser must ask
        "지난주 매출, 왜 떨어졌어?",  # a topic, then its question: one question
    ],
)
def test_a_message_placed_whole_is_confident(text: str) -> None:
    assert parse(text, as_of=AS_OF).confident


@pytest.mark.parametrize(
    "text",
    [
        "지난주 매출 얼마였는지 사장님 보고용으로",  # an unknown word
        "Which pages were viewed most last week?",  # phrasing outside the grammar
        "지난주 효율 제일 좋은 채널 어디야?",  # a word with two meanings
        "플레이북에서 전환율 경보 기준이 몇 %야?",  # documents and a number: two questions
        "오늘 점심 뭐 먹을까",  # nothing the parser knows
        "어제 매출 얼마야? 그리고 매출 떨어진 이유도 분석해줘",  # a number, then a why
        "최근 7일 장바구니 이탈률 뽑아주고 이거 개선하려면 뭐 해야 되는지도",
        "what was revenue last week? also, where's the doc on our returns policy?",
    ],
)
def test_a_message_with_something_left_over_is_not_confident(text: str) -> None:
    assert not parse(text, as_of=AS_OF).confident


def test_heard_is_what_the_message_itself_names_not_the_follow_up_it_continues() -> None:
    previous = MetricQuery.build(["revenue"], dt.date(2026, 11, 16), dt.date(2026, 11, 22))
    parsed = parse("그럼 모바일은?", as_of=AS_OF, previous=previous)
    assert parsed.query.metrics == ("revenue",)  # continued from the previous question
    assert parsed.heard.metrics == () and parsed.heard.period is None  # not said here
    assert parsed.heard.filters == (("device", ("mobile",)),)


@pytest.mark.parametrize(
    ("text", "metrics"),
    [
        ("AOV for desktop users last month?", ("aov",)),  # the users of a segment
        ("conversion rate among mobile users yesterday", ("conversion_rate",)),
        ("sessions and users for mobile last week", ("sessions", "users")),  # both asked
        ("how many mobile users last week", ("users",)),
    ],
)
def test_users_after_a_segment_that_follows_a_metric_name_the_segment(text, metrics) -> None:
    parsed = parse(text, as_of=AS_OF)
    assert parsed.query.metrics == metrics and parsed.confident
