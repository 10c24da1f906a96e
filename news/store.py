"""Where ingested articles live: one SQLite file, shared by the ingest job, the bot and
the dashboard.

SQLite (stdlib, WAL) because news is small (thousands of rows), is written by one job and
read by a few threads, and must not need the warehouse to be up. Every call takes the
store's lock and runs one short transaction, so a NewsStore can be shared across threads.

Duplicates: an article is stored once per article_id (its normalised link) and once per
normalised title and source, so a story a site republishes under a new link is not
counted twice. Re-ingesting a feed adds nothing.

Days are local days: `daily_sentiment` and `mood` take an IANA zone (Asia/Seoul by
default) because "today's news" means the marketer's today, not UTC's.
"""

from __future__ import annotations

import datetime as dt
import sqlite3
import threading
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple
from zoneinfo import ZoneInfo

from news.feeds import Article, normalise_title

DEFAULT_ZONE = "Asia/Seoul"
# A day's tone: a mean sentiment at or beyond ±TONE_THRESHOLD is positive / negative.
TONE_THRESHOLD = 0.1

_SCHEMA = """
CREATE TABLE IF NOT EXISTS articles (
    article_id  TEXT PRIMARY KEY,
    title       TEXT NOT NULL,
    summary     TEXT NOT NULL,
    link        TEXT NOT NULL,
    source      TEXT NOT NULL,
    published   REAL NOT NULL,   -- unix seconds, UTC
    lang        TEXT NOT NULL,   -- ko | en
    topics      TEXT NOT NULL,   -- comma-joined topic names, '' for none
    sentiment   REAL NOT NULL,   -- [-1, 1]
    ingested_at REAL NOT NULL,   -- unix seconds
    title_key   TEXT NOT NULL    -- normalised source and title: the second duplicate check
);
CREATE UNIQUE INDEX IF NOT EXISTS articles_title_key ON articles (title_key);
CREATE INDEX IF NOT EXISTS articles_published ON articles (published);
"""
_COLUMNS = (
    "article_id, title, summary, link, source, published, lang, topics, sentiment, ingested_at"
)


@dataclass(frozen=True)
class StoredArticle:
    article_id: str
    title: str
    summary: str
    link: str
    source: str
    published: dt.datetime  # UTC
    lang: str
    topics: tuple[str, ...]
    sentiment: float
    ingested_at: dt.datetime  # UTC

    @classmethod
    def of(
        cls,
        article: Article,
        topics: tuple[str, ...],
        sentiment: float,
        ingested_at: dt.datetime | None = None,
    ) -> StoredArticle:
        return cls(
            article.article_id, article.title, article.summary, article.link, article.source,
            article.published, article.lang, tuple(topics), float(sentiment),
            ingested_at or dt.datetime.now(dt.UTC),
        )  # fmt: skip


@dataclass(frozen=True)
class IngestReport:
    added: int = 0
    duplicates: int = 0
    skipped: int = 0  # entries without a title and link, or over a source's cap
    failed: tuple[tuple[str, str], ...] = ()  # (source, one-line reason)

    def __add__(self, other: IngestReport) -> IngestReport:
        return IngestReport(
            self.added + other.added,
            self.duplicates + other.duplicates,
            self.skipped + other.skipped,
            self.failed + other.failed,
        )

    @property
    def ok(self) -> bool:
        return not self.failed

    def summary(self) -> str:
        """One line for a CLI or a log: "38 added, 2 duplicates, 1 skipped, 1 source failed"."""
        parts = [
            f"{self.added} added",
            f"{self.duplicates} duplicate{'' if self.duplicates == 1 else 's'}",
            f"{self.skipped} skipped",
        ]
        if self.failed:
            count = len(self.failed)
            reasons = "; ".join(f"{source}: {reason}" for source, reason in self.failed[:3])
            more = f"; and {count - 3} more" if count > 3 else ""
            parts.append(f"{count} source{'' if count == 1 else 's'} failed ({reasons}{more})")
        return ", ".join(parts)


class DailySentiment(NamedTuple):
    day: dt.date
    mean_sentiment: float
    count: int


@dataclass(frozen=True)
class Mood:
    """The news of one local day, for "오늘 뉴스 분위기 어때?"."""

    day: dt.date
    zone: str
    topic: str | None
    count: int
    mean_sentiment: float | None  # None when there is no article
    positive: int  # articles scoring > 0
    negative: int  # articles scoring < 0
    neutral: int
    most_positive: StoredArticle | None  # None unless some article scores > 0
    most_negative: StoredArticle | None  # None unless some article scores < 0
    articles: tuple[StoredArticle, ...] = field(default=(), repr=False)  # newest first
    end: dt.date | None = None  # the last day, when the mood is of several days from `day`

    @property
    def tone(self) -> str | None:
        """The day's tone by its mean: positive, negative or neutral; None without news."""
        if self.mean_sentiment is None:
            return None
        if self.mean_sentiment >= TONE_THRESHOLD:
            return "positive"
        if self.mean_sentiment <= -TONE_THRESHOLD:
            return "negative"
        return "neutral"


class NewsStore:
    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        if str(path) != ":memory:":
            self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        # One connection guarded by a lock: simpler than a pool, and SQLite serialises
        # writers anyway. autocommit off; each method is its own transaction.
        self._db = sqlite3.connect(str(path), check_same_thread=False, timeout=30)
        with self._lock:
            self._db.execute("PRAGMA journal_mode=WAL")  # readers never wait for the ingest
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.executescript(_SCHEMA)
            self._db.commit()

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def __enter__(self) -> NewsStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- writing -----------------------------------------------------------------------------

    def add(self, articles: Iterable[StoredArticle]) -> IngestReport:
        """Store articles not already stored. Counts duplicates by id or by title+source."""
        rows, skipped = [], 0
        for a in articles:
            if not a.title.strip():
                skipped += 1
                continue
            rows.append((
                a.article_id, a.title, a.summary, a.link, a.source,
                a.published.timestamp(), a.lang, ",".join(a.topics), a.sentiment,
                a.ingested_at.timestamp(), _title_key(a.title, a.source),
            ))  # fmt: skip
        added = 0
        with self._lock, self._db:
            for row in rows:
                # OR IGNORE covers both the primary key and the title_key index.
                cursor = self._db.execute(
                    f"INSERT OR IGNORE INTO articles ({_COLUMNS}, title_key) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    row,
                )
                added += cursor.rowcount
        return IngestReport(added=added, duplicates=len(rows) - added, skipped=skipped)

    # -- reading -----------------------------------------------------------------------------

    def known_ids(self, ids: Iterable[str]) -> set[str]:
        """Which of these article ids are stored already."""
        wanted = list(dict.fromkeys(ids))
        found: set[str] = set()
        with self._lock:
            for i in range(0, len(wanted), 500):  # SQLite's bound-parameter limit
                batch = wanted[i : i + 500]
                marks = ",".join("?" * len(batch))
                sql = f"SELECT article_id FROM articles WHERE article_id IN ({marks})"
                found.update(row[0] for row in self._db.execute(sql, batch))
        return found

    def count(self) -> int:
        with self._lock:
            return self._db.execute("SELECT count(*) FROM articles").fetchone()[0]

    def articles(
        self,
        start: dt.date | None = None,
        end: dt.date | None = None,
        topic: str | None = None,
        limit: int = 200,
        *,
        zone: str = DEFAULT_ZONE,
    ) -> list[StoredArticle]:
        """Articles published on local days start..end (both included), newest first."""
        where, params = _filters(start, end, topic, zone)
        sql = f"SELECT {_COLUMNS} FROM articles{where} ORDER BY published DESC, article_id LIMIT ?"
        with self._lock:
            rows = self._db.execute(sql, [*params, max(0, int(limit))]).fetchall()
        return [_stored(row) for row in rows]

    def daily_sentiment(
        self,
        start: dt.date,
        end: dt.date,
        topic: str | None = None,
        *,
        zone: str = DEFAULT_ZONE,
    ) -> list[DailySentiment]:
        """(day, mean sentiment, article count) for each local day with news, oldest first.

        Days without any article are left out rather than reported as 0.0: no news is
        not neutral news."""
        where, params = _filters(start, end, topic, zone)
        with self._lock:
            rows = self._db.execute(
                f"SELECT published, sentiment FROM articles{where}", params
            ).fetchall()
        # Grouped in Python: SQLite knows no time zones, and a day is a few hundred rows.
        tz = ZoneInfo(zone)
        by_day: dict[dt.date, list[float]] = defaultdict(list)
        for published, sentiment in rows:
            by_day[dt.datetime.fromtimestamp(published, tz).date()].append(sentiment)
        return [
            DailySentiment(day, sum(values) / len(values), len(values))
            for day, values in sorted(by_day.items())
        ]

    def mood(
        self,
        day: dt.date,
        zone: str = DEFAULT_ZONE,
        topic: str | None = None,
        *,
        end: dt.date | None = None,
    ) -> Mood:
        """The day's news (or the days' from `day` to `end`) in one object: count, mean,
        and the two headlines at the ends."""
        last = end if end is not None and end != day else None
        found = tuple(self.articles(day, last or day, topic, limit=1_000_000, zone=zone))
        if not found:
            return Mood(day, zone, topic, 0, None, 0, 0, 0, None, None, end=last)
        positive = [a for a in found if a.sentiment > 0]
        negative = [a for a in found if a.sentiment < 0]
        # Ties go to the newest article: `found` is newest first and max/min keep the first.
        return Mood(
            day=day,
            zone=zone,
            topic=topic,
            count=len(found),
            mean_sentiment=sum(a.sentiment for a in found) / len(found),
            positive=len(positive),
            negative=len(negative),
            neutral=len(found) - len(positive) - len(negative),
            most_positive=max(positive, key=lambda a: a.sentiment, default=None),
            most_negative=min(negative, key=lambda a: a.sentiment, default=None),
            articles=found,
            end=last,
        )


def _title_key(title: str, source: str) -> str:
    return f"{normalise_title(source)}|{normalise_title(title)}"


def _filters(
    start: dt.date | None, end: dt.date | None, topic: str | None, zone: str
) -> tuple[str, list[object]]:
    tz = ZoneInfo(zone)
    clauses: list[str] = []
    params: list[object] = []
    if start is not None:
        clauses.append("published >= ?")
        params.append(_midnight(start, tz))
    if end is not None:
        clauses.append("published < ?")
        params.append(_midnight(end + dt.timedelta(days=1), tz))
    if topic:
        # instr, not LIKE: "_" in a topic name is a LIKE wildcard.
        clauses.append("instr(',' || topics || ',', ',' || ? || ',') > 0")
        params.append(topic)
    return (" WHERE " + " AND ".join(clauses) if clauses else ""), params


def _midnight(day: dt.date, tz: ZoneInfo) -> float:
    return dt.datetime.combine(day, dt.time(), tz).timestamp()


def _stored(row: tuple) -> StoredArticle:
    article_id, title, summary, link, source, published, lang, topics, sentiment, ingested = row
    return StoredArticle(
        article_id, title, summary, link, source,
        dt.datetime.fromtimestamp(published, dt.UTC), lang,
        tuple(t for t in topics.split(",") if t), sentiment,
        dt.datetime.fromtimestamp(ingested, dt.UTC),
    )  # fmt: skip
