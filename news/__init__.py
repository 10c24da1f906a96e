"""News for the dashboard's 뉴스 / News tab and the bot's "오늘 뉴스 분위기 어때?".

Pure and self-contained: feeds are read with feedparser, topics are tagged by keyword,
sentiment is scored with a Korean and English lexicon, and articles are kept in a SQLite
file. Nothing here reads settings or imports the bot; callers pass paths and options.
"""

from news.feeds import Article, FeedError, read_feed
from news.ingest import ingest
from news.sentiment import score
from news.store import DailySentiment, IngestReport, Mood, NewsStore, StoredArticle
from news.topics import DEFAULT_TOPICS, load_topics, tag_topics

__all__ = [
    "DEFAULT_TOPICS",
    "Article",
    "DailySentiment",
    "FeedError",
    "IngestReport",
    "Mood",
    "NewsStore",
    "StoredArticle",
    "ingest",
    "load_topics",
    "read_feed",
    "score",
    "tag_topics",
]
