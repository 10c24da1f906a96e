"""Reading one news source (an RSS 2.0 or Atom feed, by URL or local file) into Articles.

feedparser does the parsing; this module decides what of its output is usable:

- A source that cannot be read at all (missing file, empty file, HTTP error, a page that
  is not a feed, XML too broken to yield a single entry) raises FeedError with a one-line
  reason. feedparser recovers what it can from a merely sloppy feed ("bozo" with entries);
  those entries are kept, as feed readers do.
- An entry with neither a title nor a link cannot be shown or deduplicated: it is skipped
  and counted.
- A source is capped at MAX_ENTRIES articles (the newest ones) and MAX_BYTES bytes, so an
  archive dump or a runaway feed cannot flood the store or the process.

Nothing here reads settings; the caller passes the source and the limits.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import html
import re
import unicodedata
import urllib.error
import urllib.request
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import feedparser

MAX_ENTRIES = 2000
MAX_BYTES = 32 * 1024 * 1024  # a 20 MB archive feed still fits
SUMMARY_CHARS = 1000
FETCH_TIMEOUT = 20.0  # seconds; a dead news site must not stall an ingest run

_HANGUL = re.compile(r"[가-힣]")
_SPACE = re.compile(r"\s+")
# Query parameters that only say where a click came from: the same story shared twice
# must get the same id.
_TRACKING = re.compile(r"^(utm_\w+|fbclid|gclid|mc_cid|mc_eid|ref|cmpid)$", re.IGNORECASE)


class FeedError(ValueError):
    """A whole source could not be read. `reason` is one line, fit for a CLI or a card."""

    def __init__(self, source: str, reason: str) -> None:
        self.source = source
        self.reason = _one_line(reason) or "unreadable"
        super().__init__(f"{source}: {self.reason}")


@dataclass(frozen=True)
class Article:
    article_id: str  # sha1 hex, stable across re-reads of the same story
    title: str
    summary: str  # plain text, at most SUMMARY_CHARS characters
    link: str
    source: str  # the feed's title, or the host it came from
    published: dt.datetime  # timezone-aware, UTC
    lang: str  # "ko" or "en"


@dataclass(frozen=True)
class Feed:
    """What one source yielded: the articles kept and how many entries were not."""

    source: str
    title: str
    articles: tuple[Article, ...]
    skipped: int  # entries without title and link, and those over MAX_ENTRIES


def read_feed(source: str | Path, *, now: dt.datetime | None = None) -> list[Article]:
    """The articles of one feed (URL or file), newest first. Raises FeedError."""
    return list(load_feed(source, now=now).articles)


def load_feed(
    source: str | Path,
    *,
    now: dt.datetime | None = None,
    max_entries: int = MAX_ENTRIES,
    max_bytes: int = MAX_BYTES,
    timeout: float = FETCH_TIMEOUT,
) -> Feed:
    """Read and parse one source; like read_feed, with the skipped count. Raises FeedError."""
    name = str(source)
    data = _fetch(name, max_bytes, timeout) if is_url(name) else _read_file(name, max_bytes)
    return parse_feed(data, name, now=now, max_entries=max_entries)


def parse_feed(
    data: bytes, source: str, *, now: dt.datetime | None = None, max_entries: int = MAX_ENTRIES
) -> Feed:
    """Parse feed bytes already in hand. `source` names them in errors and ids."""
    if not data.strip():
        raise FeedError(source, "empty file")
    try:
        parsed = feedparser.parse(data)
    except Exception as error:  # feedparser on untrusted bytes: any failure is bad input
        raise FeedError(source, f"cannot parse: {error}") from error
    entries = list(parsed.get("entries") or [])
    if not entries:
        if parsed.get("bozo"):
            raise FeedError(source, f"not a valid feed ({_describe(parsed.get('bozo_exception'))})")
        if not parsed.get("version"):
            raise FeedError(source, "not an RSS or Atom feed")
    feed_info = parsed.get("feed") or {}
    feed_title = _clean(feed_info.get("title", ""), "text/plain")
    fallback_source = feed_title or _host(feed_info.get("link", "")) or _host(source)
    fallback_source = fallback_source or Path(source).stem or source
    now = (now or dt.datetime.now(dt.UTC)).astimezone(dt.UTC)

    articles: list[Article] = []
    skipped = 0
    for entry in entries:
        article = _article(entry, fallback_source, now)
        if article is None:
            skipped += 1
        else:
            # Repeats within the feed are kept: the store drops and counts them.
            articles.append(article)
    newest = sorted(articles, key=lambda a: a.published, reverse=True)  # stable for ties
    skipped += max(0, len(newest) - max_entries)
    return Feed(source, feed_title, tuple(newest[:max_entries]), skipped)


def is_url(source: str) -> bool:
    return source.lower().startswith(("http://", "https://"))


def normalise_link(link: str) -> str:
    """The link as an identity: lower-case scheme and host, no fragment, no tracking
    parameters, sorted query, no trailing slash."""
    link = link.strip()
    try:
        parts = urlsplit(link)
    except ValueError:
        return link
    if not parts.scheme or not parts.netloc:
        return link
    query = sorted((k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True)
                   if not _TRACKING.match(k))  # fmt: skip
    path = parts.path.rstrip("/") or ""
    return urlunsplit((parts.scheme.lower(), parts.netloc.lower(), path, urlencode(query), ""))


def article_id(link: str, guid: str, title: str, source: str) -> str:
    if link:
        key = "link:" + normalise_link(link)
    elif guid:
        key = "guid:" + guid.strip()
    else:
        key = "title:" + normalise_title(title) + "|" + normalise_title(source)
    return hashlib.sha1(key.encode("utf-8")).hexdigest()


def normalise_title(text: str) -> str:
    """Case, width, punctuation and spacing removed: what makes two headlines "the same"."""
    text = unicodedata.normalize("NFKC", text).casefold()
    return " ".join(re.findall(r"\w+", text))


def detect_lang(text: str) -> str:
    return "ko" if _HANGUL.search(text or "") else "en"


def strip_html(text: str) -> str:
    """Visible text of an HTML fragment, entities decoded, whitespace collapsed."""
    stripper = _TextOnly()
    try:
        stripper.feed(text)
        stripper.close()
    except Exception:  # HTMLParser is lenient, but a summary must never stop an ingest
        return _one_line(html.unescape(re.sub(r"<[^>]*>", " ", text)))
    return _one_line("".join(stripper.parts))


# -- internals -----------------------------------------------------------------------------


def _article(entry: dict, fallback_source: str, now: dt.datetime) -> Article | None:
    title = _clean(entry.get("title", ""), _type(entry, "title_detail"))
    link = (entry.get("link") or "").strip()
    if not title and not link:
        return None
    summary_html = entry.get("summary", "")
    summary_type = _type(entry, "summary_detail")
    if not summary_html and entry.get("content"):
        first = entry["content"][0]
        summary_html, summary_type = first.get("value", ""), first.get("type", "text/html")
    summary = _truncate(_clean(summary_html, summary_type), SUMMARY_CHARS)
    source_info = entry.get("source") or {}
    source = _clean(source_info.get("title", ""), "text/plain") or fallback_source
    title = title or link  # a link-only entry still needs something to show
    return Article(
        article_id=article_id(link, entry.get("id", "") or "", title, source),
        title=title,
        summary=summary,
        link=link,
        source=source,
        published=_when(entry, now),
        lang=detect_lang(f"{title} {summary}"),
    )


def _when(entry: dict, now: dt.datetime) -> dt.datetime:
    # feedparser hands back struct_time already converted to UTC.
    for key in ("published_parsed", "updated_parsed", "created_parsed"):
        value = entry.get(key)
        if value:
            try:
                return dt.datetime(*value[:6], tzinfo=dt.UTC)
            except (TypeError, ValueError):
                continue
    return now


def _type(entry: dict, detail_key: str) -> str:
    return (entry.get(detail_key) or {}).get("type", "text/html")


def _clean(value: str, content_type: str) -> str:
    if not value:
        return ""
    if "html" in content_type:
        return strip_html(value)
    return _one_line(html.unescape(value))


def _truncate(text: str, limit: int) -> str:
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]
    space = cut.rfind(" ")
    if space > limit * 0.8:  # end on a word when one ends near the limit
        cut = cut[:space]
    return cut.rstrip() + "…"


def _host(url: str) -> str:
    if not is_url(url or ""):
        return ""
    host = urlsplit(url).hostname or ""
    return host.removeprefix("www.")


def _one_line(text: str) -> str:
    return _SPACE.sub(" ", text or "").strip()


def _describe(error: object) -> str:
    text = _one_line(str(error or "")) or type(error).__name__
    return text[:200]


def _size(count: int) -> str:
    return f"{count / 1e6:.1f} MB" if count >= 100_000 else f"{count:,} bytes"


def _read_file(name: str, max_bytes: int) -> bytes:
    path = Path(name).expanduser()
    try:
        if not path.exists():
            raise FeedError(name, "no such file")
        if not path.is_file():
            raise FeedError(name, "not a file")
        size = path.stat().st_size
        if size > max_bytes:
            raise FeedError(name, f"file is {_size(size)}, over the {_size(max_bytes)} limit")
        return path.read_bytes()
    except OSError as error:
        raise FeedError(name, error.strerror or str(error)) from error


def _fetch(url: str, max_bytes: int, timeout: float) -> bytes:
    request = urllib.request.Request(
        url,
        headers={
            "User-Agent": "Commercy-news/0.1",
            "Accept": "application/rss+xml, application/atom+xml, application/xml;q=0.9, */*;q=0.5",
        },
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            data = response.read(max_bytes + 1)
    except urllib.error.HTTPError as error:
        raise FeedError(url, f"HTTP {error.code} {error.reason}") from error
    except urllib.error.URLError as error:
        raise FeedError(url, f"cannot connect: {error.reason}") from error
    except (TimeoutError, OSError, ValueError) as error:
        raise FeedError(url, f"cannot fetch: {error}") from error
    if len(data) > max_bytes:
        raise FeedError(url, f"response is over the {_size(max_bytes)} limit")
    return data


class _TextOnly(HTMLParser):
    _HIDDEN = frozenset({"script", "style", "head", "template"})
    # Tags that end a word visually: "<p>a</p><p>b</p>" reads "a b", "<b>x</b>y" reads "xy".
    _BREAKS = frozenset(
        {"p", "br", "div", "li", "ul", "ol", "tr", "td", "th", "h1", "h2", "h3", "h4", "h5",
         "h6", "blockquote", "section", "article", "figure", "figcaption", "img", "hr"}
    )  # fmt: skip

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._hidden = 0

    def handle_starttag(self, tag: str, attrs: list) -> None:
        if tag in self._HIDDEN:
            self._hidden += 1
        elif tag in self._BREAKS:
            self.parts.append(" ")

    def handle_endtag(self, tag: str) -> None:
        if tag in self._HIDDEN and self._hidden:
            self._hidden -= 1
        elif tag in self._BREAKS:
            self.parts.append(" ")

    def handle_data(self, data: str) -> None:
        if not self._hidden:
            self.parts.append(data)
