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


def test_generate_never_deletes_imported_data_without_replace(run, tmp_path: Path) -> None:
    from kpi.warehouse import open_warehouse

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
    assert result.exit_code == 1
    assert "commercy data generate" in result.output
