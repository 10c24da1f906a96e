"""News beyond the package: the bot answers "오늘 뉴스 분위기 어때?" from the store the 뉴스
tab reads, the bot ingests the configured feeds on a schedule, `make run`'s sample feed
ends yesterday on any day, and with a chat model the LLM scores new articles (the real
openai client over HTTP to tests/doubles/openai_server.py), the lexicon covering its failures."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import re

import pytest
from aiohttp import ClientSession
from click.testing import CliRunner

from bot import jobs
from bot.cli import cli
from bot.llm import news_scorer
from bot.settings import Settings
from bot.state import StateStore
from news import NewsStore, ingest, read_feed, score
from news.sample import write_sample_feed
from tests.doubles.botkit import activity, post
from tests.doubles.openai_server import OpenAICompatibleServer, purpose
from tests.test_bot import TODAY, bot, card_text
from tests.test_bot import settings as settings  # the fixture
from tests.test_jobs import SEOUL, runtime

YESTERDAY = TODAY - dt.timedelta(days=1)


@pytest.fixture
def sample_news(tmp_path):
    """The sample feed as `make run` writes it on TODAY, ingested: (store path, feed path)."""
    feed = write_sample_feed(tmp_path / "news-sample.xml", TODAY)
    path = tmp_path / "news.sqlite3"
    with NewsStore(path) as store:
        assert ingest([feed], store).added == 40
    return path, feed


def test_the_sample_feed_ends_yesterday_whatever_the_day_and_rewriting_adds_nothing(tmp_path):
    later = dt.date(2027, 3, 1)
    feed = write_sample_feed(tmp_path / "feed.xml", later)
    articles = read_feed(feed)
    newest = max(a.published for a in articles).astimezone(SEOUL).date()
    assert len(articles) == 40 and newest == later - dt.timedelta(days=1)
    with NewsStore(tmp_path / "news.sqlite3") as store:
        assert ingest([feed], store).added == 40
        again = write_sample_feed(tmp_path / "feed.xml", later + dt.timedelta(days=9))
        assert ingest([again], store).added == 0  # the same stories, not new ones


def test_the_bot_answers_todays_news_mood_from_the_store_the_tab_reads(
    settings, four_weeks, tmp_path, sample_news
):
    news_path, _ = sample_news
    with NewsStore(news_path) as store:
        latest = store.mood(YESTERDAY, "Asia/Seoul")  # no news yet today: the latest day
        fashion = store.mood(TODAY - dt.timedelta(days=7), "Asia/Seoul", "fashion",
                             end=YESTERDAY)  # fmt: skip
    configured = settings.model_copy(update={"news_path": str(news_path)})

    async def scenario():
        async with bot(configured, four_weeks, tmp_path) as (base, connector, _), ClientSession() as http:  # fmt: skip
            await post(http, base, activity("오늘 뉴스 분위기 어때?", connector=connector))
            await connector.wait_for("conv-1", 1)
            card = card_text(connector.cards("conv-1")[0])
            assert "뉴스 분위기" in card and "어제(11/23)" in card and "오늘은 아직" in card
            assert f"{latest.mean_sentiment:+.2f}" in card and f"{latest.count}건" in card
            assert latest.most_negative.title in card
            body = activity("how was fashion news in the last 7 days?", connector=connector,
                            conversation="conv-2")  # fmt: skip
            await post(http, base, body)
            await connector.wait_for("conv-2", 1)
            card = card_text(connector.cards("conv-2")[0])
            assert "News mood" in card and "fashion" in card
            assert f"{fashion.count} articles" in card
            assert f"{fashion.mean_sentiment:+.2f}" in card

    asyncio.run(scenario())


def test_without_news_the_bot_says_so_in_the_users_language(settings, four_weeks, tmp_path):
    configured = settings.model_copy(update={"news_path": str(tmp_path / "none.sqlite3")})

    async def scenario():
        async with bot(configured, four_weeks, tmp_path) as (base, connector, _), ClientSession() as http:  # fmt: skip
            await post(http, base, activity("what's the news mood today?", connector=connector))
            await connector.wait_for("conv-1", 1)
            assert "No news has been collected yet" in card_text(connector.cards("conv-1")[0])

    asyncio.run(scenario())


def test_the_scheduled_ingest_reads_the_feeds_once_and_goes_on_past_a_broken_one(
    tmp_path, four_weeks, caplog
):
    feed = write_sample_feed(tmp_path / "news-sample.xml", TODAY)
    broken = tmp_path / "broken.xml"
    broken.write_text("<rss><channel><item><title>half", encoding="utf-8")
    news_path = tmp_path / "news.sqlite3"
    state = StateStore(tmp_path / "state.db")
    jobs.RUNTIME = runtime(state, four_weeks, dt.datetime(2026, 11, 24, 9, tzinfo=SEOUL), [])
    jobs.RUNTIME.news_feeds = (str(broken), str(feed), str(tmp_path / "gone.xml"))
    jobs.RUNTIME.news_path = str(news_path)
    try:
        asyncio.run(jobs.news_ingest())
        asyncio.run(jobs.news_ingest())  # the next run: the same stories, nothing twice
    finally:
        jobs.RUNTIME = None
    with NewsStore(news_path) as store:
        assert store.count() == 40
    failures = [
        r.getMessage() for r in caplog.records if r.name == "bot.jobs" and r.levelname == "WARNING"
    ]
    assert failures and "gone.xml: no such file" in failures[0] and "40 added" in failures[0]


def test_the_news_job_is_scheduled_only_while_feeds_are_set(tmp_path, four_weeks):
    url = f"sqlite:///{tmp_path / 'state.db'}"
    state = StateStore(tmp_path / "state.db")

    async def scheduled(feeds: tuple[str, ...]) -> list[str]:
        now = dt.datetime.now(SEOUL)
        run = runtime(state, four_weeks, now, [])
        run.news_feeds, run.news_path = feeds, str(tmp_path / "news.sqlite3")
        scheduler = jobs.start_scheduler(run, url, news_every_minutes=30)
        ids = sorted(job.id for job in scheduler.get_jobs())
        scheduler.shutdown(wait=False)
        return ids

    try:
        assert "news_ingest" in asyncio.run(scheduled(("https://news.example.com/rss",)))
        assert "news_ingest" not in asyncio.run(scheduled(()))  # unset: gone from the store
    finally:
        jobs.RUNTIME = None


def _scores_for(body: dict, value) -> str:
    human = next(m["content"] for m in body["messages"] if m["role"] == "user")
    ids = [int(i) for i in re.findall(r"^\[(\d+)\]", human, flags=re.MULTILINE)]
    return json.dumps({"scores": [{"id": i, "sentiment": value(i)} for i in ids]})


def test_with_a_chat_model_the_llm_scores_new_articles_once(tmp_path):
    feed = write_sample_feed(tmp_path / "news-sample.xml", TODAY)
    with OpenAICompatibleServer() as server:
        # 3.0 is out of range and id 1 is left out: clamped to 1.0, and the lexicon's.
        server.responder = lambda body: (_scores_for(body, lambda i: 3.0 if i == 0 else -0.5)
                                         .replace('{"id": 1, "sentiment": -0.5}, ', ""))  # fmt: skip
        settings = Settings(COMMERCY_CHAT_MODEL="gpt-4o-mini", COMMERCY_OPENAI_BASE_URL=server.base_url)  # fmt: skip
        with NewsStore(tmp_path / "news.sqlite3") as store:
            report = ingest([feed], store, scorer=news_scorer(settings))
            asked = [purpose(r) for r in server.requests]
            assert report.added == 40 and asked == ["sentiment", "sentiment"]  # 20 a batch
            assert ingest([feed], store, scorer=news_scorer(settings)).added == 0
            assert len(server.requests) == 2  # stories already stored are not sent again
            stored = {a.title: a.sentiment for a in store.articles(limit=100)}
    articles = read_feed(feed)
    assert stored[articles[0].title] == 1.0
    assert stored[articles[1].title] == score(f"{articles[1].title}. {articles[1].summary}",
                                              articles[1].lang)  # fmt: skip
    assert stored[articles[2].title] == -0.5


def test_when_the_model_fails_the_lexicon_scores_and_the_ingest_goes_on(tmp_path):
    feed = write_sample_feed(tmp_path / "news-sample.xml", TODAY)
    with OpenAICompatibleServer() as server:
        server.responder = lambda body: 500
        settings = Settings(COMMERCY_CHAT_MODEL="gpt-4o-mini", COMMERCY_OPENAI_BASE_URL=server.base_url,
                            COMMERCY_LLM_MAX_RETRIES=0)  # fmt: skip
        with NewsStore(tmp_path / "news.sqlite3") as store:
            assert ingest([feed], store, scorer=news_scorer(settings)).added == 40
            stored = {a.title: a.sentiment for a in store.articles(limit=100)}
    assert stored == {a.title: score(f"{a.title}. {a.summary}", a.lang) for a in read_feed(feed)}


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
