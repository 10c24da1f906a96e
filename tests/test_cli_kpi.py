"""`commercy kpi ...` as a person and a reviewer run it: JSON rows keyed by canonical
names, gold values from hand-written SQL, one-line errors with close matches."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import sqlglot
from click.testing import CliRunner

from bot.cli import cli


@pytest.fixture
def run(four_weeks, monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("COMMERCY_DATABASE_URL", str(four_weeks.engine.url))
    monkeypatch.setenv("COMMERCY_TIMEZONE", "Asia/Seoul")

    def invoke(*args: str):
        return CliRunner().invoke(cli, list(args), obj={})

    return invoke


def test_query_json_has_the_query_and_rows_keyed_by_canonical_names(run):
    result = run("kpi", "query", "--metric", "매출", "--metric", "CVR", "--by", "기기별",
                 "--period", "지난주", "--as-of", "2026-11-24", "--json")  # fmt: skip
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["query"]["metrics"] == ["revenue", "conversion_rate"]
    assert data["query"]["start"] == "2026-11-16" and data["query"]["end"] == "2026-11-22"
    assert {tuple(sorted(row)) for row in data["rows"]} == {
        ("conversion_rate", "device", "revenue")
    }
    assert all(0 <= row["conversion_rate"] < 1 for row in data["rows"])  # a fraction


def test_a_known_question_gives_the_gold_value(run, four_weeks):
    # "어제 모바일 전환율" (questions.jsonl), as-of 2026-11-24
    result = run("kpi", "query", "--metric", "conversion_rate", "--filter", "device=mobile",
                 "--period", "어제", "--as-of", "2026-11-24", "--json")  # fmt: skip
    value = json.loads(result.output)["rows"][0]["conversion_rate"]
    gold = four_weeks.query("""
        SELECT SUM(COALESCE(t.transactions, 0)) / COUNT(*) AS v FROM ga_data."Sessions" s
        JOIN ga_data."Totals" t USING (session_key) JOIN ga_data."DeviceGeo" d USING (session_key)
        WHERE s.date = DATE '2026-11-23' AND d."deviceCategory" = 'mobile'""")[0]["v"]
    assert value == pytest.approx(gold, rel=1e-9)


def test_top_n_by_country(run):
    result = run("kpi", "query", "--metric", "users", "--by", "country", "--from", "2026-10-27",
                 "--to", "2026-11-23", "--limit", "10", "--json")  # fmt: skip
    rows = json.loads(result.output)["rows"]
    assert len(rows) == 10 and rows[0]["country"] == "United States"


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["--metric", "revenu"], "did you mean revenue"),
        (["--metric", "revenue", "--by", "devise"], "did you mean device"),
        (
            ["--metric", "revenue", "--filter", "country=United Kingdon"],
            "did you mean United Kingdom",
        ),
        (["--metric", "revenue", "--filter", "device"], "DIMENSION=VALUE"),
        (["--metric", "revenue", "--period", "someday soon"], "can't read"),
    ],
)
def test_unknown_names_and_values_get_one_line_and_exit_2(run, args, expected):
    result = run("kpi", "query", *args, "--as-of", "2026-11-24")
    assert result.exit_code == 2
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and expected in lines[0]


def test_sql_for_azure_sql_parses_as_tsql(run):
    result = run("kpi", "query", "--metric", "revenue", "--by", "week", "--period", "최근 30일",
                 "--as-of", "2026-11-24", "--sql", "--dialect", "mssql")  # fmt: skip
    assert result.exit_code == 0
    sqlglot.parse_one(result.output.strip().rstrip(";"), read="tsql")


def test_summary_json_and_chart(run, tmp_path):
    chart = tmp_path / "summary.png"
    result = run("kpi", "summary", "--date", "2026-11-23", "--json", "--chart", str(chart))
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["date"] == "2026-11-23" and len(data["series"]["revenue"]) == 14
    assert chart.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_why_json_parts_add_up(run):
    result = run(
        "kpi",
        "why",
        "--metric",
        "revenue",
        "--period",
        "last week",
        "--as-of",
        "2026-11-24",
        "--json",
    )
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["current"] == {"start": "2026-11-16", "end": "2026-11-22"}
    assert data["baseline"] == {"start": "2026-11-09", "end": "2026-11-15"}
    assert sum(f["contribution"] for f in data["factors"]) == pytest.approx(data["change"])
    for drivers in data["by_dimension"].values():
        assert sum(d["contribution"] for d in drivers) == pytest.approx(data["change"])


def test_alerts_evaluate_prints_json_and_refuses_a_bad_time(run):
    result = run("alerts", "evaluate", "--at", "2026-11-23T15:00", "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["at"].startswith("2026-11-23T15:00") and isinstance(data["alerts"], list)
    again = json.loads(run("alerts", "evaluate", "--at", "2026-11-23T15:00", "--json").output)
    assert again == data  # deterministic
    bad = run("alerts", "evaluate", "--at", "yesterday afternoon")
    assert bad.exit_code == 2 and "YYYY-MM-DDTHH:MM" in bad.output


def test_ask_and_kpi_query_print_the_same_query_object(run):
    asked = run("ask", "지난주 기기별 매출", "--as-of", "2026-11-24", "--json")
    assert asked.exit_code == 0, asked.output
    queried = run("kpi", "query", "--metric", "revenue", "--by", "device", "--period", "지난주",
                  "--as-of", "2026-11-24", "--json")  # fmt: skip
    assert queried.exit_code == 0, queried.output
    assert json.loads(asked.output)["query"] == json.loads(queried.output)["query"]


@pytest.mark.parametrize(
    ("question", "said"),
    [("지난주 매츨", "('매츨'을 '매출'로 이해했어요.)"),
     ("지난주 세젼수", "('세젼수'를 '세션 수'로 이해했어요.)"),
     ("revnue last week", "(Read 'revnue' as 'revenue'.)")],
)  # fmt: skip
def test_ask_answers_a_typo_as_the_word_it_is_one_edit_from_and_says_so(run, question, said):
    typo = run("ask", question, "--as-of", "2026-11-24")
    right = run("ask", question.replace("매츨", "매출").replace("세젼수", "세션 수")
                .replace("revnue", "revenue"), "--as-of", "2026-11-24")  # fmt: skip
    assert typo.exit_code == 0, typo.output
    assert typo.output == right.output.rstrip("\n") + "\n" + said + "\n"


def test_ask_says_how_it_read_a_word_with_two_meanings_and_offers_the_other(run):
    reply = json.loads(run("ask", "지난주 객단가", "--as-of", "2026-11-24", "--json").output)
    assert reply["query"]["metrics"] == ["aov"]
    assert reply["text"].endswith(
        "('객단가'를 평균 주문 금액으로 봤어요. 다른 뜻이면 아래 버튼을 눌러 주세요.)"
    )
    first = reply["card"]["actions"][0]
    assert (first["title"], first["data"]["text"]) == ("세션당 매출", "지난주 세션당 매출")
