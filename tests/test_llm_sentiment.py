"""News sentiment from a chat model (news/llm_sentiment.py, built from the settings by
bot.llm.news_scorer), over the real openai client and HTTP to
tests/doubles/openai_server.py: the model scores new articles once, clamped, and the
lexicon covers what it leaves out or fails on."""

from __future__ import annotations

import json
import re

from bot.llm import news_scorer
from bot.settings import Settings
from news import NewsStore, ingest, read_feed, score
from news.sample import write_sample_feed
from tests.doubles.openai_server import OpenAICompatibleServer, purpose
from tests.test_bot import TODAY


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
