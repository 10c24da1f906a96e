"""The news package: feeds in, topics and sentiment on, a SQLite store out.

Every feed here is a real file written into tmp_path (or served over local HTTP), read
with feedparser as in production.
"""

from __future__ import annotations

import datetime as dt
import http.server
import json
import threading
import time
import xml.etree.ElementTree as ET
from collections import defaultdict
from email.utils import parsedate_to_datetime
from pathlib import Path
from xml.sax.saxutils import escape
from zoneinfo import ZoneInfo

import pytest

from news import (
    DEFAULT_TOPICS,
    FeedError,
    IngestReport,
    NewsStore,
    StoredArticle,
    ingest,
    load_topics,
    read_feed,
    score,
    tag_topics,
)
from news.feeds import MAX_ENTRIES, Article, load_feed
from news.sample import SAMPLE_FEED, write_sample_feed

SEOUL = ZoneInfo("Asia/Seoul")
NOW = dt.datetime(2026, 11, 24, 0, 0, tzinfo=dt.UTC)


# -- feed builders ------------------------------------------------------------------------


def rss(
    items: list[dict], title: str = "Example Wire", link: str = "https://wire.example.com/"
) -> str:
    body = []
    for item in items:
        parts = []
        for tag in ("title", "link", "guid", "description", "pubDate"):
            if tag in item:
                parts.append(f"<{tag}>{escape(item[tag])}</{tag}>")
        body.append(f"<item>{''.join(parts)}</item>")
    channel_title = f"<title>{escape(title)}</title>" if title else ""
    return (
        '<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel>'
        f"{channel_title}<link>{link}</link><description>test</description>"
        f"{''.join(body)}</channel></rss>"
    )


def atom(entries: list[dict], title: str = "Example Atom") -> str:
    body = []
    for entry in entries:
        parts = [f"<title>{escape(entry['title'])}</title>"]
        if "link" in entry:
            parts.append(f'<link href="{escape(entry["link"])}"/>')
        parts.append(f"<id>{escape(entry.get('id', entry.get('link', 'urn:x')))}</id>")
        for tag in ("published", "updated"):
            if tag in entry:
                parts.append(f"<{tag}>{entry[tag]}</{tag}>")
        if "summary" in entry:
            parts.append(f'<summary type="html">{escape(entry["summary"])}</summary>')
        body.append(f"<entry>{''.join(parts)}</entry>")
    return (
        '<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom">'
        f"<title>{escape(title)}</title><id>urn:feed</id><updated>2026-11-23T00:00:00Z</updated>"
        f"{''.join(body)}</feed>"
    )


def write(folder: Path, name: str, text: str | bytes) -> Path:
    path = folder / name
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path


def item(n: int, **extra: str) -> dict:
    base = {
        "title": f"Story number {n}",
        "link": f"https://wire.example.com/story/{n}",
        "description": f"Summary of story {n}.",
        "pubDate": "Mon, 23 Nov 2026 09:00:00 GMT",
    }
    return base | extra


@pytest.fixture
def store(tmp_path: Path) -> NewsStore:
    s = NewsStore(tmp_path / "news.sqlite")
    yield s
    s.close()


# -- reading feeds ------------------------------------------------------------------------


def test_an_rss_feed_becomes_articles_with_clean_fields(tmp_path: Path) -> None:
    path = write(tmp_path, "feed.xml", rss([
        item(1, title="Google &amp; friends", description="<p>First <b>bold</b>&nbsp;line</p><p>Second\n\n line</p><script>alert(1)</script>",
             pubDate="Mon, 23 Nov 2026 18:30:00 +0900"),
        item(2, pubDate="Sun, 22 Nov 2026 10:00:00 GMT"),
    ]))  # fmt: skip

    first, second = read_feed(path)

    assert first.title == "Google & friends"
    assert first.summary == "First bold line Second line"
    assert first.link == "https://wire.example.com/story/1"
    assert first.source == "Example Wire"
    assert first.published == dt.datetime(2026, 11, 23, 9, 30, tzinfo=dt.UTC)
    assert first.published.utcoffset() == dt.timedelta(0)
    assert first.lang == "en"
    assert len(first.article_id) == 40 and int(first.article_id, 16) >= 0
    assert second.published < first.published  # newest first
    assert read_feed(str(path)) == [first, second]  # stable ids across reads


def test_an_atom_feed_parses_and_falls_back_to_updated_then_now(tmp_path: Path) -> None:
    path = write(tmp_path, "atom.xml", atom([
        {"title": "구글, 새 픽셀 공개", "link": "https://atom.example.com/a", "published": "2026-11-20T01:00:00Z",
         "summary": "<p>구글이 <em>새</em> 기기를 공개했다.</p>"},
        {"title": "Only updated", "link": "https://atom.example.com/b", "updated": "2026-11-21T02:00:00+09:00"},
        {"title": "No dates at all", "link": "https://atom.example.com/c"},
    ]))  # fmt: skip

    by_title = {a.title: a for a in read_feed(path, now=NOW)}

    korean = by_title["구글, 새 픽셀 공개"]
    assert korean.source == "Example Atom"
    assert korean.summary == "구글이 새 기기를 공개했다."
    assert korean.published == dt.datetime(2026, 11, 20, 1, 0, tzinfo=dt.UTC)
    assert korean.lang == "ko"
    assert by_title["Only updated"].published == dt.datetime(2026, 11, 20, 17, 0, tzinfo=dt.UTC)
    assert by_title["No dates at all"].published == NOW


def test_summaries_are_capped_near_1000_characters(tmp_path: Path) -> None:
    long_text = "word " * 3000
    path = write(tmp_path, "long.xml", rss([item(1, description=long_text)]))

    (article,) = read_feed(path)

    assert 900 <= len(article.summary) <= 1000
    assert article.summary.endswith("…")


def test_article_ids_follow_the_normalised_link_then_guid_then_title_and_source(
    tmp_path: Path,
) -> None:
    path = write(tmp_path, "ids.xml", rss([
        item(1, link="https://Wire.Example.com/story/1/?utm_source=x&utm_medium=y#top"),
        item(2, link="https://wire.example.com/story/1"),
        {"title": "Guid only", "guid": "urn:story:9", "pubDate": "Mon, 23 Nov 2026 09:00:00 GMT"},
        {"title": "Title only", "pubDate": "Mon, 23 Nov 2026 09:00:00 GMT"},
    ]))  # fmt: skip
    other_guid = write(tmp_path, "ids2.xml", rss([
        {"title": "Guid only, retitled", "guid": "urn:story:9"},
        {"title": "TITLE   only!"},
    ]))  # fmt: skip

    tracked, plain, guid_only, title_only = read_feed(path)
    again = {a.title: a for a in read_feed(other_guid)}

    assert tracked.article_id == plain.article_id
    assert guid_only.article_id == again["Guid only, retitled"].article_id
    assert title_only.article_id == again["TITLE only!"].article_id


def test_the_source_is_the_feed_title_or_else_the_host(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "untitled.xml",
        rss([item(1)], title="", link="https://www.shop-news.example.org/"),
    )

    (article,) = read_feed(path)

    assert article.source == "shop-news.example.org"


def test_korean_and_english_articles_get_their_language(tmp_path: Path) -> None:
    path = write(tmp_path, "mixed.xml", rss([
        item(1, title="Black Friday sales climb", description="Retailers report more orders."),
        item(2, title="블랙프라이데이 매출 증가", description="주문이 늘었다."),
        item(3, title="Google Pixel 판매 호조", description="Pixel sales rose."),
    ]))  # fmt: skip

    langs = {a.title: a.lang for a in read_feed(path)}

    assert langs == {
        "Black Friday sales climb": "en",
        "블랙프라이데이 매출 증가": "ko",
        "Google Pixel 판매 호조": "ko",  # any Hangul makes it Korean
    }


def test_an_entry_without_title_and_link_is_skipped(tmp_path: Path, store: NewsStore) -> None:
    path = write(tmp_path, "holes.xml", rss([
        item(1),
        {"description": "Nothing to show or link to.", "pubDate": "Mon, 23 Nov 2026 09:00:00 GMT"},
        {"link": "https://wire.example.com/untitled"},
    ]))  # fmt: skip

    feed = load_feed(path)
    report = ingest([path], store)

    # A link-only entry shows its link; it has no date, so it is dated now (newest).
    assert [a.title for a in feed.articles] == [
        "https://wire.example.com/untitled",
        "Story number 1",
    ]
    assert feed.skipped == 1
    assert (report.added, report.skipped, report.failed) == (2, 1, ())


BAD_SOURCES = {
    "truncated.xml": (
        '<?xml version="1.0"?><rss version="2.0"><channel><title>Cut off',
        "not a valid feed",
    ),
    "page.html": (
        "<!DOCTYPE html><html><head><title>Shop</title></head><body><p>Hello<br></body></html>",
        "not a valid feed",
    ),
    "wellformed.html": ("<html><body><p>Just a page</p></body></html>", "not an RSS or Atom feed"),
    "empty.xml": ("", "empty file"),
    "blank.xml": ("  \n\t ", "empty file"),
    "garbage.bin": (bytes(range(256)) * 40, "not a valid feed"),
}


@pytest.mark.parametrize("name", sorted(BAD_SOURCES))
def test_a_source_that_is_not_a_feed_raises_a_one_line_feed_error(
    tmp_path: Path, name: str
) -> None:
    content, expected = BAD_SOURCES[name]
    path = write(tmp_path, name, content)

    with pytest.raises(FeedError) as caught:
        read_feed(path)

    assert expected in caught.value.reason
    assert "\n" not in str(caught.value) and "Traceback" not in str(caught.value)
    assert str(caught.value).startswith(str(path))


def test_a_missing_file_a_folder_and_an_oversized_file_are_reported_not_raised_raw(
    tmp_path: Path,
) -> None:
    with pytest.raises(FeedError, match="no such file"):
        read_feed(tmp_path / "nope.xml")
    with pytest.raises(FeedError, match="not a file"):
        read_feed(tmp_path)
    big = write(tmp_path, "big.xml", rss([item(n) for n in range(50)]))
    with pytest.raises(FeedError, match="over the 1,000 bytes limit"):
        load_feed(big, max_bytes=1000)


def test_failing_sources_are_reported_and_the_others_still_ingest(
    tmp_path: Path, store: NewsStore
) -> None:
    good = write(tmp_path, "good.xml", rss([item(1), item(2)]))
    also_good = write(
        tmp_path,
        "also_good.xml",
        atom([{"title": "Atom story", "link": "https://atom.example.com/x"}]),
    )
    bad = [write(tmp_path, name, content) for name, (content, _) in sorted(BAD_SOURCES.items())]
    missing = tmp_path / "missing.xml"
    seen: list[tuple[str, IngestReport]] = []

    report = ingest(
        [good, *bad, missing, also_good], store, on_source=lambda s, r: seen.append((s, r))
    )

    assert report.added == 3
    assert [source for source, _ in report.failed] == [*map(str, bad), str(missing)]
    assert all(reason and "\n" not in reason for _, reason in report.failed)
    assert [s for s, _ in seen] == [str(good), *map(str, bad), str(missing), str(also_good)]
    assert seen[0][1].added == 2 and seen[-1][1].added == 1
    assert "\n" not in report.summary()
    assert report.summary().startswith("3 added, 0 duplicates, 0 skipped, 7 sources failed (")


def test_a_feed_served_over_http_is_fetched_and_an_http_error_is_one_line(
    tmp_path: Path, store: NewsStore
) -> None:
    write(tmp_path, "feed.xml", rss([item(1), item(2)]))

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, directory=str(tmp_path), **kwargs)

        def log_message(self, *args):  # keep the test output clean
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Quiet)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        base = f"http://127.0.0.1:{server.server_address[1]}"
        report = ingest([f"{base}/feed.xml", f"{base}/gone.xml"], store)
    finally:
        server.shutdown()
        server.server_close()

    assert report.added == 2
    assert report.failed == ((f"{base}/gone.xml", "HTTP 404 File not found"),)


# -- storing ------------------------------------------------------------------------------


def test_duplicates_are_stored_once_and_a_re_ingest_adds_nothing(
    tmp_path: Path, store: NewsStore
) -> None:
    path = write(tmp_path, "dupes.xml", rss([
        item(1),
        item(1, link="https://wire.example.com/story/1?utm_campaign=newsletter"),  # same link
        item(2),
        item(3, title="  STORY number 2 "),  # same title, same source, another link
    ]))  # fmt: skip
    other_source = write(
        tmp_path, "other.xml", rss([item(4, title="Story number 2")], title="Another Wire")
    )

    first = ingest([path, other_source], store)
    again = ingest([path, other_source], store)

    # Story 3 repeats story 2's title from the same source; "Another Wire" may reuse it.
    assert (first.added, first.duplicates) == (3, 2)
    assert (again.added, again.duplicates) == (0, 5)
    assert store.count() == 3


def test_articles_filter_by_local_day_and_topic_newest_first(store: NewsStore) -> None:
    def stored(n: int, when: dt.datetime, topics: tuple[str, ...]) -> StoredArticle:
        article = Article(f"id{n}", f"Title {n}", "", f"https://x.example/{n}", "S", when, "en")
        return StoredArticle.of(article, topics, 0.0, NOW)

    store.add([
        stored(1, dt.datetime(2026, 11, 22, 14, 59, tzinfo=dt.UTC), ("fashion",)),  # 23:59 on the 22nd in Seoul
        stored(2, dt.datetime(2026, 11, 22, 15, 0, tzinfo=dt.UTC), ("fashion", "ecommerce")),  # 00:00 on the 23rd
        stored(3, dt.datetime(2026, 11, 23, 14, 0, tzinfo=dt.UTC), ("parent_company",)),
        stored(4, dt.datetime(2026, 11, 23, 15, 0, tzinfo=dt.UTC), ("my_topic",)),  # the 24th
    ])  # fmt: skip
    day = dt.date(2026, 11, 23)

    assert [a.article_id for a in store.articles(day, day)] == ["id3", "id2"]
    assert [a.article_id for a in store.articles(day, day, zone="UTC")] == ["id4", "id3"]
    assert [a.article_id for a in store.articles(topic="fashion")] == ["id2", "id1"]
    assert [a.article_id for a in store.articles(topic="my_topic")] == ["id4"]
    assert store.articles(topic="my") == []  # whole topic names only
    assert store.articles(topic="my_topi") == []
    assert [a.article_id for a in store.articles(limit=2)] == ["id4", "id3"]
    assert [a.article_id for a in store.articles(start=dt.date(2026, 11, 24))] == ["id4"]
    assert store.articles(end=dt.date(2026, 11, 22))[0].topics == ("fashion",)


def test_the_store_can_be_shared_across_threads(store: NewsStore) -> None:
    def writer(start: int) -> None:
        for n in range(start, start + 50):
            article = Article(
                f"t{n}", f"Thread story {n}", "", f"https://t.example/{n}", "T", NOW, "en"
            )
            store.add([StoredArticle.of(article, (), 0.1, NOW)])
            store.articles(limit=5)

    threads = [threading.Thread(target=writer, args=(k * 50,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    assert store.count() == 200


# -- topics -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Google Merchandise Store launches a winter hoodie", ("parent_company", "fashion")),
        ("YouTube에서 굿즈 판매 시작", ("parent_company", "fashion")),
        ("구글 굿즈 후드티 품절", ("parent_company", "fashion")),
        ("Black Friday checkout conversion rises", ("ecommerce",)),
        ("블랙프라이데이 장바구니 결제 오류", ("ecommerce",)),
        ("온라인 쇼핑 배송 지연", ("ecommerce",)),
        ("New Pixels and Android phones", ("parent_company",)),
        ("Streetwear and t-shirts", ("fashion",)),
        ("A cartoon about a googly-eyed teen", ()),  # no "cart", "Google" or "tee" inside words
        ("Central bank holds rates", ()),
        ("", ()),
    ],
)
def test_default_topics_are_tagged_in_both_languages(text: str, expected: tuple[str, ...]) -> None:
    assert tag_topics(text) == expected


def test_a_custom_topics_file_tags_and_filters(tmp_path: Path, store: NewsStore) -> None:
    topics_file = write(tmp_path, "topics.json", json.dumps(
        {"sale_events": ["Black Friday", "블프", "Singles Day"], "rivals": ["Acme Shop", "에이크미"]},
        ensure_ascii=False,
    ))  # fmt: skip
    topics = load_topics(topics_file)
    feed = write(tmp_path, "feed.xml", rss([
        item(1, title="Acme Shop plans Black Friday deals"),
        item(2, title="블프 앞두고 에이크미 할인"),
        item(3, title="Weather report"),
    ]))  # fmt: skip

    ingest([feed], store, topics=topics)

    assert topics == {
        "sale_events": ("Black Friday", "블프", "Singles Day"),
        "rivals": ("Acme Shop", "에이크미"),
    }
    assert {a.title for a in store.articles(topic="sale_events")} == {
        "Acme Shop plans Black Friday deals", "블프 앞두고 에이크미 할인",
    }  # fmt: skip
    assert [a.topics for a in store.articles(topic="rivals")] == [("sale_events", "rivals")] * 2
    assert store.articles(topic="fashion") == []


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ('{"a": ["x"', "not valid JSON (line 1"),
        ('["x", "y"]', "expected an object"),
        ("{}", "expected an object"),
        ('{"sales": []}', "topic 'sales' needs a non-empty list of keywords"),
        ('{"sales": "Black Friday"}', "topic 'sales' needs a non-empty list of keywords"),
        ('{"sales": ["ok", 3]}', "topic 'sales' has a keyword that is not a non-empty string"),
        ('{"sales": ["ok", "  "]}', "topic 'sales' has a keyword that is not a non-empty string"),
        ('{"a,b": ["x"]}', "topic name 'a,b' may use only letters, digits, _ and -"),
        (b"\xff\xfe\x00garbage", "cannot read"),
    ],
)
def test_a_bad_topics_file_is_a_clear_value_error(
    tmp_path: Path, content: str | bytes, message: str
) -> None:
    path = write(tmp_path, "topics.json", content)

    with pytest.raises(ValueError) as caught:
        load_topics(path)

    assert message in str(caught.value)
    assert str(caught.value).startswith(f"topics file {path}: ")
    assert "\n" not in str(caught.value)


def test_a_missing_topics_file_is_a_clear_value_error(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"topics file .*nope\.json: no such file"):
        load_topics(tmp_path / "nope.json")


def test_the_default_topics_cannot_be_changed_by_accident() -> None:
    with pytest.raises(TypeError):
        DEFAULT_TOPICS["fashion"] = ()  # type: ignore[index]


# -- sentiment ----------------------------------------------------------------------------

POSITIVE = [
    ("Google posts record profit as Pixel sales surge", "en"),
    ("Streetwear brand wins award for popular hoodie launch", "en"),
    ("Online sales beat forecasts on strong Black Friday demand", "en"),
    ("Checkout conversion improves sharply after redesign", "en"),
    ("구글, 블랙프라이데이 매출 사상 최대", "ko"),
    ("구글 굿즈 후드티 인기… 주문 급증", "ko"),
    ("이커머스 업계 3분기 흑자 전환, 실적 호조", "ko"),
    ("픽셀 신제품 출시 후 판매 크게 늘었다", "ko"),
]
NEGATIVE = [
    ("Retailer hit with lawsuit after customer data breach", "en"),
    ("Alphabet shares drop after regulator fine", "en"),
    ("Payment outage and delivery delays frustrate shoppers", "en"),
    ("Apparel maker announces layoffs as sales decline", "en"),
    ("과징금 부과로 주가 급락", "ko"),
    ("결제 장애로 쇼핑몰 주문 중단", "ko"),
    ("의류 업계 실적 부진… 감원 우려", "ko"),
    ("개인정보 유출 논란에 리콜까지", "ko"),
]
NEUTRAL = [
    ("Google updates store hours for the holidays", "en"),
    ("Retail group publishes shipping deadlines", "en"),
    ("YouTube tests product tags in more countries", "en"),
    ("구글 스토어, 연말 반품 기간 안내", "ko"),
    ("블랙프라이데이 사전 예약 판매 시작", "ko"),
    ("패션 업계, 겨울 아우터 시즌 돌입", "ko"),
]


@pytest.mark.parametrize(("text", "lang"), POSITIVE)
def test_clearly_positive_headlines_score_above_0_2(text: str, lang: str) -> None:
    assert score(text, lang) > 0.2


@pytest.mark.parametrize(("text", "lang"), NEGATIVE)
def test_clearly_negative_headlines_score_below_minus_0_2(text: str, lang: str) -> None:
    assert score(text, lang) < -0.2


@pytest.mark.parametrize(("text", "lang"), NEUTRAL)
def test_neutral_headlines_score_zero(text: str, lang: str) -> None:
    assert score(text, lang) == 0.0


@pytest.mark.parametrize(
    ("plain", "negated", "lang"),
    [
        ("Holiday sales were strong", "Holiday sales were not strong", "en"),
        ("Hoodie sales grew", "Hoodie sales didn't grow", "en"),
        ("Orders shipped with delays", "Orders shipped without delays", "en"),
        ("Layoffs planned at the warehouse", "No layoffs planned at the warehouse", "en"),
        ("매출이 성장했다", "매출이 성장하지 않았다", "ko"),
        ("실적이 부진했다", "실적이 부진하지 않았다", "ko"),
        ("주문이 늘었다", "주문이 안 늘었다", "ko"),
        ("배송에 차질이 생겼다", "차질 없이 배송됐다", "ko"),
        ("판매가 성장했다", "판매가 성장하지 못했다", "ko"),
    ],
)
def test_negation_flips_the_sign(plain: str, negated: str, lang: str) -> None:
    before, after = score(plain, lang), score(negated, lang)

    assert before != 0 and after != 0
    assert (before > 0) != (after > 0)


@pytest.mark.parametrize(
    ("text", "lang", "sign"),
    [
        ("Losses widen at online retailer", "en", -1),
        ("Complaints fall after checkout fix", "en", 1),
        ("Record losses at the marketplace", "en", -1),
        ("적자 폭이 줄었다", "ko", 1),
        ("손실 확대", "ko", -1),
        ("성장 둔화", "ko", -1),
        ("사상 최대 적자", "ko", -1),
        ("구글 최고경영자 방한", "ko", 0),  # a job title, not a result
    ],
)
def test_movement_words_follow_what_moved(text: str, lang: str, sign: int) -> None:
    value = score(text, lang)

    assert (value > 0) - (value < 0) == sign


def test_one_word_is_a_moderate_score_and_more_words_agree_more() -> None:
    one = score("Sales surge", "en")
    three = score("Sales surge to a record profit on strong demand", "en")

    assert one == pytest.approx(1 / 3, abs=1e-3)  # (1 - 0) / (1 + 0 + 2)
    assert 0.5 < three < 1
    assert score("매출 급증", "ko") == pytest.approx(1 / 3, abs=1e-3)


def test_scores_stay_within_minus_one_and_one_and_are_deterministic() -> None:
    texts = [
        ("record surge growth profit win strong " * 200, "en"),
        ("lawsuit breach outage recall layoff fine " * 200, "en"),
        ("성장 급증 호조 흑자 최대 인기 " * 100, "ko"),
        ("손실 소송 과징금 리콜 장애 유출 " * 100, "ko"),
        ("not not never no n't", "en"),
        ("!!! ??? ...", "en"),
        ("", "ko"),
    ]
    for text, lang in texts:
        value = score(text, lang)
        assert -1.0 <= value <= 1.0
        assert value == score(text, lang)
    assert score(texts[0][0], "en") > 0.9
    assert score(texts[3][0], "ko") < -0.9


# -- the sample feed and the day's mood ---------------------------------------------------


def _sample_expectations() -> list[tuple[dt.datetime, float, str, tuple[str, ...], str]]:
    """The sample feed read with the standard library, not feedparser."""
    rows = []
    for node in ET.parse(SAMPLE_FEED).getroot().iter("item"):
        title, summary = node.findtext("title"), node.findtext("description")
        published = parsedate_to_datetime(node.findtext("pubDate"))
        lang = "ko" if any("가" <= ch <= "힣" for ch in title + summary) else "en"
        rows.append(
            (
                published,
                score(f"{title}. {summary}", lang),
                title,
                tag_topics(f"{title}\n{summary}"),
                lang,
            )
        )
    return rows


@pytest.fixture(scope="module")
def sample_store(tmp_path_factory: pytest.TempPathFactory) -> tuple[NewsStore, IngestReport]:
    s = NewsStore(tmp_path_factory.mktemp("news") / "news.sqlite")
    report = ingest([SAMPLE_FEED], s, now=NOW)
    yield s, report
    s.close()


def test_the_sample_feed_ingests_with_both_languages_all_topics_and_a_range_of_moods(
    sample_store,
) -> None:
    store, report = sample_store
    stored = store.articles(limit=1000)
    sentiments = [a.sentiment for a in stored]

    assert (report.added, report.duplicates, report.skipped, report.failed) == (40, 0, 0, ())
    assert {a.lang for a in stored} == {"ko", "en"}
    assert sum(a.lang == "ko" for a in stored) == 20
    assert {t for a in stored for t in a.topics} == {"parent_company", "ecommerce", "fashion"}
    assert all(a.topics for a in stored)
    assert sum(s > 0.2 for s in sentiments) >= 10
    assert sum(s < -0.2 for s in sentiments) >= 10
    assert sum(s == 0 for s in sentiments) >= 5
    assert all(a.link.startswith("https://news.example.com/") for a in stored)
    assert {a.source for a in stored} == {
        "Example Retail Wire",
        "Example Tech Daily",
        "예시 경제신문",
        "샘플 유통뉴스",
    }
    assert min(a.published for a in stored) >= dt.datetime(2026, 10, 24, tzinfo=dt.UTC)
    assert max(a.published for a in stored) < dt.datetime(2026, 11, 24, tzinfo=dt.UTC)
    assert ingest([SAMPLE_FEED], store).added == 0


def test_daily_sentiment_is_the_mean_of_each_local_day(sample_store) -> None:
    store, _ = sample_store
    start, end = dt.date(2026, 11, 10), dt.date(2026, 11, 23)
    expected: dict[dt.date, list[float]] = defaultdict(list)
    for published, sentiment, *_ in _sample_expectations():
        day = published.astimezone(SEOUL).date()
        if start <= day <= end:
            expected[day].append(sentiment)

    daily = store.daily_sentiment(start, end)

    assert [d.day for d in daily] == sorted(expected)
    for row in daily:
        assert row.count == len(expected[row.day])
        assert row.mean_sentiment == pytest.approx(sum(expected[row.day]) / len(expected[row.day]))
    day, _mean, count = daily[-1]  # rows are plain tuples too
    assert day == end and count == 4


def test_daily_sentiment_by_topic_and_in_another_zone(sample_store) -> None:
    store, _ = sample_store
    start, end = dt.date(2026, 10, 1), dt.date(2026, 11, 30)
    rows = _sample_expectations()
    fashion_utc: dict[dt.date, list[float]] = defaultdict(list)
    for published, sentiment, _, topics, _ in rows:
        if "fashion" in topics:
            fashion_utc[published.astimezone(dt.UTC).date()].append(sentiment)

    daily = store.daily_sentiment(start, end, "fashion", zone="UTC")

    assert {d.day: (d.count, round(d.mean_sentiment, 6)) for d in daily} == {
        day: (len(v), round(sum(v) / len(v), 6)) for day, v in fashion_utc.items()
    }


def test_the_mood_of_a_day_names_its_most_positive_and_most_negative_headline(sample_store) -> None:
    store, _ = sample_store
    today = dt.date(2026, 11, 23)
    todays = [r for r in _sample_expectations() if r[0].astimezone(SEOUL).date() == today]

    mood = store.mood(today)

    assert mood.count == len(todays) == 4
    assert mood.mean_sentiment == pytest.approx(sum(r[1] for r in todays) / len(todays))
    assert mood.most_positive.title == max(todays, key=lambda r: r[1])[2]
    assert mood.most_negative.title == min(todays, key=lambda r: r[1])[2]
    assert mood.positive == sum(r[1] > 0 for r in todays)
    assert mood.negative == sum(r[1] < 0 for r in todays)
    assert mood.positive + mood.negative + mood.neutral == mood.count
    assert mood.tone in {"positive", "negative", "neutral"}


def test_the_mood_by_topic_and_of_a_quiet_day(sample_store) -> None:
    store, _ = sample_store
    today = dt.date(2026, 11, 23)
    todays = [r for r in _sample_expectations()
              if r[0].astimezone(SEOUL).date() == today and "fashion" in r[3]]  # fmt: skip

    fashion = store.mood(today, topic="fashion")
    quiet = store.mood(dt.date(2026, 12, 25))

    assert fashion.count == len(todays)
    assert fashion.mean_sentiment == pytest.approx(sum(r[1] for r in todays) / len(todays))
    assert (quiet.count, quiet.mean_sentiment, quiet.tone) == (0, None, None)
    assert quiet.most_positive is None and quiet.most_negative is None


def test_a_day_of_only_bad_news_has_no_most_positive_headline(store: NewsStore) -> None:
    when = dt.datetime(2026, 11, 23, 3, 0, tzinfo=dt.UTC)
    bad = [
        Article(f"b{n}", f"Outage {n}", "", f"https://b.example/{n}", "B", when, "en")
        for n in range(3)
    ]
    store.add(StoredArticle.of(a, (), s, NOW) for a, s in zip(bad, (-0.5, -0.2, 0.0), strict=True))

    mood = store.mood(dt.date(2026, 11, 23))

    assert (mood.count, mood.positive, mood.negative, mood.neutral) == (3, 0, 2, 1)
    assert mood.most_positive is None
    assert mood.most_negative.title == "Outage 0"
    assert mood.tone == "negative"


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


# -- size -----------------------------------------------------------------------------------


def test_a_5000_item_feed_ingests_in_one_go_keeping_the_newest(
    tmp_path: Path, store: NewsStore
) -> None:
    base = dt.datetime(2026, 11, 23, 12, 0, tzinfo=dt.UTC)
    items = [
        item(n, title=f"Retail story {n} as sales grow", pubDate=(base - dt.timedelta(minutes=n)).strftime("%a, %d %b %Y %H:%M:%S GMT"))
        for n in range(5000)
    ]  # fmt: skip
    path = write(tmp_path, "big.xml", rss(items))

    started = time.perf_counter()
    report = ingest([path], store)
    elapsed = time.perf_counter() - started

    assert (report.added, report.skipped, report.failed) == (MAX_ENTRIES, 5000 - MAX_ENTRIES, ())
    newest = store.articles(limit=1)[0]
    assert newest.title == "Retail story 0 as sales grow"
    assert (
        store.articles(limit=MAX_ENTRIES + 10)[-1].title
        == f"Retail story {MAX_ENTRIES - 1} as sales grow"
    )
    assert elapsed < 8
