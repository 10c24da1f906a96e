"""One ingest run: read each source, tag topics, score sentiment, store.

A source that fails (unreachable, not a feed) is reported in `IngestReport.failed` with a
one-line reason and the run goes on: one dead feed must not stop the others.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

from news.feeds import Article, FeedError, load_feed
from news.sentiment import score
from news.store import IngestReport, NewsStore, StoredArticle
from news.topics import DEFAULT_TOPICS, Topics, tag_topics

__all__ = ["IngestReport", "Scorer", "ingest"]

# Scores a batch of new articles in [-1, 1]; None for one it could not score (the
# lexicon scores that one). news/llm_sentiment.py makes one from a chat model.
Scorer = Callable[[Sequence[Article]], Sequence[float | None]]


def ingest(
    sources: Iterable[str | Path],
    store: NewsStore,
    *,
    topics: Topics = DEFAULT_TOPICS,
    on_source: Callable[[str, IngestReport], None] | None = None,
    now: dt.datetime | None = None,
    scorer: Scorer | None = None,
) -> IngestReport:
    """Ingest every source into the store; the report sums them all.

    `on_source(source, report)` is called after each source (for a CLI's progress line).
    `now` stands in for the clock: the time of articles without a date, and ingested_at.
    `scorer` scores the articles not stored yet (an LLM costs per call, so stories seen
    before are not sent again); the lexicon scores the rest and whatever it leaves."""
    total = IngestReport()
    for source in sources:
        name = str(source)
        try:
            feed = load_feed(source, now=now)
        except FeedError as error:
            report = IngestReport(failed=((name, error.reason),))
        else:
            ingested_at = now or dt.datetime.now(dt.UTC)
            sentiments = _scores(feed.articles, store, scorer)
            stored = [
                StoredArticle.of(
                    article,
                    tag_topics(f"{article.title}\n{article.summary}", topics),
                    sentiments[article.article_id],
                    ingested_at,
                )
                for article in feed.articles
            ]
            report = store.add(stored) + IngestReport(skipped=feed.skipped)
        total += report
        if on_source is not None:
            on_source(name, report)
    return total


def _scores(articles: Sequence[Article], store: NewsStore, scorer: Scorer | None) -> dict:
    by_scorer: dict[str, float | None] = {}
    if scorer is not None:
        stored = store.known_ids([a.article_id for a in articles])
        new = [a for a in articles if a.article_id not in stored]
        if new:
            by_scorer = dict(zip((a.article_id for a in new), scorer(new), strict=False))
    return {
        a.article_id: _clamped(by_scorer.get(a.article_id))
        # Title and summary together: a headline alone is often too short to carry a
        # sentiment word.
        if by_scorer.get(a.article_id) is not None
        else score(f"{a.title}. {a.summary}", a.lang)
        for a in articles
    }


def _clamped(value: float | None) -> float:
    return max(-1.0, min(1.0, float(value or 0.0)))
