"""The news dialog (dialogs/news.py) through the bot: "오늘 뉴스 분위기 어때?" is answered
from the store the 뉴스 tab reads, and without news the bot says so in the user's
language."""

from __future__ import annotations

import asyncio
import datetime as dt

import pytest
from aiohttp import ClientSession

from news import NewsStore, ingest
from news.sample import write_sample_feed
from tests.doubles.botkit import activity, post
from tests.test_bot import TODAY, bot, card_text
from tests.test_bot import settings as settings  # the fixture

YESTERDAY = TODAY - dt.timedelta(days=1)


@pytest.fixture
def sample_news(tmp_path):
    """The sample feed as `make run` writes it on TODAY, ingested: (store path, feed path)."""
    feed = write_sample_feed(tmp_path / "news-sample.xml", TODAY)
    path = tmp_path / "news.sqlite3"
    with NewsStore(path) as store:
        assert ingest([feed], store).added == 40
    return path, feed


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
