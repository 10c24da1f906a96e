"""`commercy data generate` and `commercy data stats` as a person runs them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from bot.cli import cli


@pytest.fixture
def run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("COMMERCY_DATABASE_URL", f"duckdb:///{tmp_path / 'w.duckdb'}")
    monkeypatch.setenv("COMMERCY_TIMEZONE", "Asia/Seoul")
    runner = CliRunner()

    def invoke(*args: str):
        return runner.invoke(cli, list(args), obj={}, catch_exceptions=False)

    return invoke


def test_generate_then_stats_json_reports_the_sample(run) -> None:
    generated = run("data", "generate", "--days", "7", "--end", "2026-11-23", "--scale", "0.2")
    assert generated.exit_code == 0
    assert "2026-11-17 .. 2026-11-23" in generated.output
    stats = json.loads(run("data", "stats", "--json").output)
    assert stats["period"] == {"first_date": "2026-11-17", "last_date": "2026-11-23", "days": 7}
    assert {c["figure"] for c in stats["checks"]} >= {"behaviour.bounce_rate", "mix.device.desktop"}


def test_stats_in_a_terminal_shows_each_figure_beside_the_real_store(run) -> None:
    run("data", "generate", "--days", "3", "--end", "2026-11-23", "--scale", "0.2")
    shown = run("data", "stats").output
    assert "2026-11-21 .. 2026-11-23 (3 days)" in shown
    assert "49.9 %" in shown  # the real bounce rate, for comparison


def test_generate_again_replaces_a_sample(run) -> None:
    run("data", "generate", "--days", "2", "--end", "2026-11-23", "--scale", "0.2")
    run("data", "generate", "--days", "2", "--end", "2026-10-23", "--scale", "0.2")
    stats = json.loads(run("data", "stats", "--json").output)
    assert stats["period"]["first_date"] == "2026-10-22"
    assert stats["period"]["last_date"] == "2026-10-23"


def test_if_empty_keeps_what_is_there(run) -> None:
    run("data", "generate", "--days", "2", "--end", "2026-11-23", "--scale", "0.2")
    kept = run("data", "generate", "--if-empty")
    assert kept.exit_code == 0
    assert "nothing generated" in kept.output


def test_catch_up_adds_the_days_since_the_sample_at_its_scale_once(run) -> None:
    run("data", "generate", "--days", "3", "--end", "2026-11-20", "--scale", "0.2")
    before = json.loads(run("data", "stats", "--json").output)
    caught = run("data", "generate", "--catch-up", "--end", "2026-11-23")
    assert caught.exit_code == 0 and "2026-11-21 .. 2026-11-23" in caught.output
    after = json.loads(run("data", "stats", "--json").output)
    assert after["period"] == {"first_date": "2026-11-18", "last_date": "2026-11-23", "days": 6}
    # The sample's scale (a fifth of the store), not the full store's five times as many.
    per_day = after["volume"]["sessions_per_day_mean"] / before["volume"]["sessions_per_day_mean"]
    assert 0.5 < per_day < 1.5
    again = run("data", "generate", "--catch-up", "--end", "2026-11-23")
    assert "up to date (to 2026-11-23)" in again.output
    final = json.loads(run("data", "stats", "--json").output)
    assert final["volume"]["sessions"] == after["volume"]["sessions"]


def test_catch_up_makes_whole_days_of_the_days_the_live_replay_began(run, tmp_path) -> None:
    import datetime as dt
    from zoneinfo import ZoneInfo

    from kpi.sample.provenance import LIVE_VISITOR_PATTERN, holds_only_samples
    from kpi.sample.stream import replay
    from kpi.storage.warehouse import open_warehouse

    run("data", "generate", "--days", "2", "--end", "2026-11-20", "--scale", "0.2")
    warehouse = open_warehouse(f"duckdb:///{tmp_path / 'w.duckdb'}")
    seoul = ZoneInfo("Asia/Seoul")  # the bot ran on the 21st from 09:00 to 10:00
    replay(warehouse, start=dt.datetime(2026, 11, 21, 9, tzinfo=seoul), minutes=60, speed=0,
           zone=seoul, seed=0)  # fmt: skip
    warehouse.close()
    caught = run("data", "generate", "--catch-up", "--end", "2026-11-22")
    assert "live-replayed sessions from 2026-11-21 to 2026-11-22" in caught.output
    warehouse = open_warehouse(f"duckdb:///{tmp_path / 'w.duckdb'}")
    by_day = warehouse.query(
        """SELECT s.date AS day, count(*) AS n, count(*) FILTER (WHERE s."fullVisitorId" LIKE
        :live) AS live FROM ga_data."Sessions" s GROUP BY 1 ORDER BY 1""",
        {"live": LIVE_VISITOR_PATTERN},
    )
    orphans = warehouse.query(
        'SELECT count(*) AS n FROM ga_data."Hits" h LEFT JOIN ga_data."Sessions" s '
        "USING (session_key) WHERE s.session_key IS NULL"
    )[0]["n"]
    assert holds_only_samples(warehouse)
    warehouse.close()
    assert [str(r["day"]) for r in by_day] == ["2026-11-19", "2026-11-20", "2026-11-21",
                                                "2026-11-22"]  # fmt: skip
    assert all(r["live"] == 0 for r in by_day) and orphans == 0
    # A whole day at the sample's scale, not one live hour: as many as a sample day.
    assert 0.5 < by_day[2]["n"] / by_day[1]["n"] < 1.5


def test_catch_up_generates_the_year_into_an_empty_warehouse_and_never_touches_imports(
    run, tmp_path: Path
) -> None:
    from kpi.storage.warehouse import open_warehouse

    first = run("data", "generate", "--catch-up", "--days", "2", "--end", "2026-11-23",
                "--scale", "0.1")  # fmt: skip
    assert "2026-11-22 .. 2026-11-23" in first.output
    warehouse = open_warehouse(f"duckdb:///{tmp_path / 'w.duckdb'}")
    with warehouse.engine.begin() as conn:  # stands in for an import: rows no run wrote
        conn.exec_driver_sql('DELETE FROM ga_data."SampleRuns"')
    warehouse.close()
    kept = run("data", "generate", "--catch-up", "--end", "2026-11-25")
    assert kept.exit_code == 0 and "imported data; nothing generated" in kept.output


def test_generate_never_deletes_imported_data_without_replace(run, tmp_path: Path) -> None:
    from kpi.storage.warehouse import open_warehouse

    run("data", "generate", "--days", "1", "--end", "2026-11-23", "--scale", "0.1")
    warehouse = open_warehouse(f"duckdb:///{tmp_path / 'w.duckdb'}")
    with warehouse.engine.begin() as conn:  # stands in for an import: rows no run wrote
        conn.exec_driver_sql('DELETE FROM ga_data."SampleRuns"')
    warehouse.close()
    refused = CliRunner().invoke(cli, ["data", "generate", "--days", "1"], obj={})
    assert refused.exit_code == 1
    assert "--replace" in refused.output


def test_stats_on_an_empty_warehouse_says_what_to_do(run) -> None:
    result = CliRunner().invoke(cli, ["data", "stats"], obj={})
    assert result.exit_code == 2
    assert "commercy data generate" in result.output
