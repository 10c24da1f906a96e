"""`commercy news ingest` as a person runs it: the configured feeds read, and a missing or
bad setting is one line."""

from __future__ import annotations

from click.testing import CliRunner

from bot.cli import cli
from news.sample import write_sample_feed
from tests.test_bot import TODAY


def test_news_ingest_reads_the_configured_feeds_and_a_bad_setting_is_one_line(
    tmp_path, monkeypatch
):
    monkeypatch.chdir(tmp_path)
    feed = write_sample_feed(tmp_path / "feed.xml", TODAY)
    monkeypatch.setenv("COMMERCY_NEWS_PATH", str(tmp_path / "news.sqlite3"))
    result = CliRunner().invoke(cli, ["news", "ingest"], obj={})
    assert result.exit_code == 2 and "COMMERCY_NEWS_FEEDS" in result.output
    monkeypatch.setenv("COMMERCY_NEWS_FEEDS", f"{feed}, {tmp_path / 'gone.xml'}")
    result = CliRunner().invoke(cli, ["news", "ingest"], obj={})
    assert result.exit_code == 1 and "40 added" in result.output
    assert "gone.xml: no such file" in result.output
    monkeypatch.setenv("COMMERCY_NEWS_TOPICS", str(tmp_path / "topics.json"))
    result = CliRunner().invoke(cli, ["news", "ingest"], obj={})
    assert result.exit_code == 2
    assert result.output.strip().endswith("topics.json: no such file")
    assert "Traceback" not in result.output
