"""Why and what-to-do answered offline (dialogs/why.py): a cause planted in generated data
comes out on top, in Korean and in English; plain noise is called noise; a segment is
set against the store; the playbook that fits is quoted with file and page; every card
passes the Teams check; `ask --json` carries the computed facts."""

from __future__ import annotations

import datetime as dt
import json
import re

import pytest
from click.testing import CliRunner

from bot.cli import cli
from bot.documents import library
from bot.settings import Settings
from cards.validation import validate_card
from dialogs.context import AskContext
from dialogs.parser import parse
from dialogs.router import answer
from dialogs.why import comparison_for, why_reply
from kpi.insights.drivers import explain
from kpi.metrics.query import MetricQuery, run_query
from kpi.metrics.units import format_value
from kpi.sample.generate import generate
from rag_indexer import sample_corpus
from tests.conftest import SEOUL, new_warehouse

ZONE = "Asia/Seoul"
AS_OF = dt.date(2026, 11, 24)  # a Tuesday
LAST_WEEK = (dt.date(2026, 11, 16), dt.date(2026, 11, 22))
WEEK_BEFORE = (dt.date(2026, 11, 9), dt.date(2026, 11, 15))
IN_LAST_WEEK = f"s.date BETWEEN DATE '{LAST_WEEK[0]}' AND DATE '{LAST_WEEK[1]}'"


@pytest.fixture(scope="module")
def ten_weeks(tmp_path_factory):
    """Ten weeks of the store to 2026-11-23: enough history for the usual week-to-week
    movement the noise check measures."""
    warehouse = new_warehouse(tmp_path_factory.mktemp("ten_weeks"))
    generate(warehouse, days=70, end=dt.date(2026, 11, 23), zone=SEOUL, seed=3)
    yield warehouse
    warehouse.close()


@pytest.fixture(scope="module")
def referral_lost(tmp_path_factory):
    """The same ten weeks with every Referral order of last week gone."""
    warehouse = new_warehouse(tmp_path_factory.mktemp("referral_lost"))
    generate(warehouse, days=70, end=dt.date(2026, 11, 23), zone=SEOUL, seed=3)
    with warehouse.engine.begin() as conn:
        conn.exec_driver_sql(
            f"""UPDATE ga_data."Totals" SET transactions = NULL, "totalTransactionRevenue" = NULL
            WHERE session_key IN (SELECT s.session_key FROM ga_data."Sessions" s
                JOIN ga_data."Totals" t USING (session_key)
                WHERE s."channelGrouping" = 'Referral' AND t.transactions > 0
                  AND {IN_LAST_WEEK})"""
        )
    yield warehouse
    warehouse.close()


@pytest.fixture(scope="module")
def playbooks(tmp_path_factory):
    return library(Settings(), sample_corpus.indexed(tmp_path_factory.mktemp("corpus")))


def ask(question: str, warehouse, docs=None) -> dict:
    context = AskContext(warehouse=warehouse, zone=ZONE, as_of=AS_OF, library=docs)
    return answer(question, context).to_dict()


@pytest.mark.parametrize(
    "question", ["지난주 매출이 왜 떨어졌어?", "why did revenue drop last week?"]
)
def test_a_planted_cause_is_the_top_driver_with_the_right_effect(referral_lost, question):
    reply = ask(question, referral_lost)
    facts = reply["facts"]
    assert reply["route"] == "reasoning" and facts["kind"] == "change"
    assert facts["period"] == {"start": "2026-11-16", "end": "2026-11-22"}
    assert facts["comparison"] == {"start": "2026-11-09", "end": "2026-11-15"}
    assert facts["change"] < 0 and not facts["within_noise"]
    assert min(facts["factors"], key=lambda f: f["contribution"])["factor"] == "conversion_rate"
    top = facts["drivers"][0]
    assert (top["dimension"], top["segment"], top["main_effect"]) == (
        "channel", "Referral", "conversion_rate",
    )  # fmt: skip
    assert "Referral" in reply["text"].split("\n", 3)[-1]


def test_the_top_driver_is_the_one_kpi_why_ranks_first(referral_lost):
    facts = ask("지난주 매출 왜 줄었어?", referral_lost)["facts"]
    report = explain(referral_lost, "revenue", LAST_WEEK, WEEK_BEFORE, zone=ZONE)
    first = report.top_drivers[0]
    assert (facts["drivers"][0]["dimension"], facts["drivers"][0]["segment"]) == (
        first.dimension, first.segment,
    )  # fmt: skip
    assert facts["before"] == pytest.approx(report.before)
    assert facts["after"] == pytest.approx(report.after)


@pytest.mark.parametrize(
    ("question", "words"),
    [
        ("어제 세션 왜 바뀌었어?", "뚜렷한 원인"),
        ("why did sessions change yesterday?", "no clear cause"),
    ],
)
def test_a_change_within_the_usual_movement_is_called_noise(ten_weeks, question, words):
    facts = ask(question, ten_weeks)["facts"]
    assert facts["comparison"] == {"start": "2026-11-16", "end": "2026-11-16"}  # same weekday
    assert facts["within_noise"] and facts["typical_change"] > abs(facts["change"]) / 2
    reply = ask(question, ten_weeks)
    assert words in reply["text"] and facts["drivers"] == []


def test_a_state_question_names_the_segments_rate_and_the_stores(ten_weeks):
    reply = ask("모바일 전환율이 왜 낮아?", ten_weeks)
    gap = reply["facts"]["gap"]
    assert reply["facts"]["kind"] == "state" and gap["segment"] == {"device": ["mobile"]}
    start, end = (
        dt.date.fromisoformat(gap["period"]["start"]),
        dt.date.fromisoformat(gap["period"]["end"]),
    )
    store = run_query(ten_weeks, MetricQuery.build(["conversion_rate"], start, end), zone=ZONE)
    mobile = run_query(
        ten_weeks,
        MetricQuery.build(["conversion_rate"], start, end, filters={"device": "mobile"}),
        zone=ZONE,
    )
    assert gap["store_value"] == pytest.approx(store.total("conversion_rate"))
    assert gap["segment_value"] == pytest.approx(mobile.total("conversion_rate"))
    assert gap["segment_value"] < gap["store_value"]
    for value in (gap["segment_value"], gap["store_value"]):
        assert format_value(value, "ratio", "ko") in reply["text"]
    parts = sum(p["contribution"] for p in gap["parts"])
    assert parts == pytest.approx(gap["gap"], abs=1e-12)  # mix + rate is the whole gap


def test_the_playbook_that_fits_is_quoted_with_file_and_page(ten_weeks, playbooks):
    reply = ask("Social brings lots of sessions but almost no revenue, why?", ten_weeks, playbooks)
    assert reply["facts"]["metric"] == "revenue"
    assert reply["facts"]["segment"] == {"channel": ["Social"]}
    cited = [source["file"] for source in reply["sources"]]
    assert cited and cited[0] == "channel-strategy.en.pdf"
    shown = json.dumps(reply["card"], ensure_ascii=False)
    assert re.search(r"channel-strategy\.en\.pdf p\.\d+", shown)
    assert "channel-strategy.en.pdf" in reply["text"]


def test_without_a_fitting_playbook_the_answer_says_so(ten_weeks):
    reply = ask("어제 세션 왜 바뀌었어?", ten_weeks)  # no documents indexed
    assert "플레이북은 찾지 못했어요" in reply["text"]


@pytest.mark.parametrize(
    "question",
    [
        "지난주 매출이 왜 떨어졌어?",
        "why did conversion rate drop yesterday?",
        "모바일 전환율이 왜 낮아?",
        "what should we do about the high bounce rate on mobile?",
        "장바구니 이탈 줄이려면 어떻게 해야 돼?",
        "매출 개선하려면 뭐부터 해야 할까",
    ],
)
def test_every_why_card_passes_the_teams_check(referral_lost, playbooks, question):
    reply = ask(question, referral_lost, playbooks)
    assert reply["route"] == "reasoning"
    assert validate_card(reply["card"]) == []
    assert not re.search(r"곧 제공|coming soon|Traceback|SELECT", reply["text"])


def test_what_to_do_starts_from_where_the_metric_stands(ten_weeks, playbooks):
    reply = ask("what should we do about the high bounce rate on mobile?", ten_weeks, playbooks)
    facts = reply["facts"]
    assert facts["kind"] == "what_to_do" and facts["metric"] == "bounce_rate"
    assert facts["gap"]["segment"] == {"device": ["mobile"]}
    assert reply["text"].index("Bounce rate") < reply["text"].index("From the playbooks")


def test_ask_json_prints_the_reasoning_route_and_its_facts(ten_weeks, monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("COMMERCY_DATABASE_URL", str(ten_weeks.engine.url))
    result = CliRunner().invoke(
        cli, ["ask", "why did revenue drop last week?", "--as-of", "2026-11-24", "--json"], obj={}
    )
    assert result.exit_code == 0, result.output
    reply = json.loads(result.output)
    assert reply["route"] == "reasoning"
    assert set(reply["facts"]) >= {"kind", "metric", "period", "comparison", "change",
                                   "factors", "drivers", "typical_change"}  # fmt: skip
    assert {f["factor"] for f in reply["facts"]["factors"]} == {
        "sessions",
        "conversion_rate",
        "aov",
    }


def test_the_alert_cards_why_gives_the_same_answer_with_playbooks(ten_weeks, playbooks):
    context = AskContext(warehouse=ten_weeks, zone=ZONE, as_of=dt.date(2026, 11, 23),
                         library=playbooks)  # fmt: skip
    reply = why_reply("sessions", context, "en")
    assert reply.route == "reasoning" and reply.facts["metric"] == "sessions"
    assert reply.facts["comparison"] == {"start": "2026-11-16", "end": "2026-11-16"}
    assert reply.hits and validate_card(reply.card) == []


def test_a_follow_up_after_a_why_answer_keeps_the_question_and_its_periods(referral_lost):
    context = AskContext(warehouse=referral_lost, zone=ZONE, as_of=AS_OF)
    first = answer("why did revenue drop last week?", context)
    follow = AskContext(warehouse=referral_lost, zone=ZONE, as_of=AS_OF, previous=first.query,
                        previous_why=first.facts["kind"])  # fmt: skip
    reply = answer("what about mobile?", follow)
    assert reply.route == "reasoning" and reply.facts["kind"] == "change"
    assert reply.facts["segment"] == {"device": ["mobile"]}
    assert (reply.facts["period"], reply.facts["comparison"]) == (
        first.facts["period"], first.facts["comparison"],
    )  # fmt: skip
    assert "device" not in {d["dimension"] for d in reply.facts["drivers"]}


@pytest.mark.parametrize(
    ("question", "period", "comparison"),
    [
        ("어제 매출 왜 줄었어?", ("2026-11-23", "2026-11-23"), ("2026-11-16", "2026-11-16")),
        (
            "why did revenue drop last week?",
            ("2026-11-16", "2026-11-22"),
            ("2026-11-09", "2026-11-15"),
        ),
        (
            "weekly revenue dropped, why?",
            ("2026-11-16", "2026-11-22"),
            ("2026-11-09", "2026-11-15"),
        ),
        ("지난달 매출 왜 떨어졌어?", ("2026-10-01", "2026-10-31"), ("2026-09-01", "2026-09-30")),
        ("이번 달 매출 왜 줄었어?", ("2026-11-01", "2026-11-23"), ("2026-10-01", "2026-10-23")),
        ("이번 주 매출 왜 줄었어?", ("2026-11-23", "2026-11-23"), ("2026-11-16", "2026-11-16")),
        ("최근 14일 매출 왜 줄었어?", ("2026-11-10", "2026-11-23"), ("2026-10-27", "2026-11-09")),
    ],
)
def test_each_change_question_is_compared_as_the_readme_says(question, period, comparison):
    found, against, _ = comparison_for(question, parse(question, as_of=AS_OF), AS_OF, "change")
    assert (iso(found), iso(against)) == (period, comparison)


def iso(span: tuple[dt.date, dt.date]) -> tuple[str, str]:
    return span[0].isoformat(), span[1].isoformat()


def test_a_period_outside_the_data_says_so_and_names_the_days_there_are(ten_weeks):
    reply = ask("2025년 매출 왜 떨어졌어?", ten_weeks)
    assert reply["route"] == "reasoning" and reply["facts"]["drivers"] == []
    assert reply["facts"]["data_range"] == {"start": "2026-09-15", "end": "2026-11-23"}
    assert "데이터가 없어요" in reply["text"] and "9월 15일~11월 23일" in reply["text"]


def test_a_period_not_begun_is_asked_about_not_replaced(ten_weeks):
    reply = ask("2030년 매출 왜 떨어졌어?", ten_weeks)
    assert reply["route"] == "clarify" and "아직 시작되지 않았어요" in reply["text"]
