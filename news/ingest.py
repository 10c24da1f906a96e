"""One ingest run: read each source, tag topics, score sentiment, store.

A source that fails (unreachable, not a feed) is reported in `IngestReport.failed` with a
one-line reason and the run goes on: one dead feed must not stop the others.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from pathlib import Path

from news.feeds import FeedError, load_feed
from news.sentiment import score
from news.store import IngestReport, NewsStore, StoredArticle
from news.topics import DEFAULT_TOPICS, Topics, tag_topics

__all__ = ["IngestReport", "ingest"]


def ingest(
    sources: Iterable[str | Path],
    store: NewsStore,
    *,
    topics: Topics = DEFAULT_TOPICS,
    on_source: Callable[[str, IngestReport], None] | None = None,
    now: dt.datetime | None = None,
) -> IngestReport:
    """Ingest every source into the store; the report sums them all.

    `on_source(source, report)` is called after each source (for a CLI's progress line).
    `now` stands in for the clock: the time of articles without a date, and ingested_at."""
    total = IngestReport()
    for source in sources:
        name = str(source)
        try:
            feed = load_feed(source, now=now)
        except FeedError as error:
            report = IngestReport(failed=((name, error.reason),))
        else:
            ingested_at = now or dt.datetime.now(dt.UTC)
            stored = [
                StoredArticle.of(
                    article,
                    tag_topics(f"{article.title}\n{article.summary}", topics),
                    # Title and summary together: a headline alone is often too short
                    # to carry a sentiment word.
                    score(f"{article.title}. {article.summary}", article.lang),
                    ingested_at,
                )
                for article in feed.articles
            ]
            report = store.add(stored) + IngestReport(skipped=feed.skipped)
        total += report
        if on_source is not None:
            on_source(name, report)
    return total
