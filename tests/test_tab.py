"""The dashboard tab in a real browser (Debian's Chromium through Playwright): every tab
loads with the filters a marketer would use, its numbers equal the metric layer's, a bad
filter in the URL gets a clear message instead of a blank page, and the page works
outside Teams. Screenshots go to build/test-artifacts/."""

from __future__ import annotations

import asyncio
import datetime as dt
import os
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
from aiohttp import ClientSession

from bot.settings import Settings
from kpi.insights import dashboard
from kpi.metrics.query import MetricQuery, run_query
from kpi.metrics.units import format_value
from tests.doubles.botkit import running_bot
from tests.test_bot import TODAY
from tests.test_playground import ARTIFACTS, CHROMIUM

needs_chromium = pytest.mark.skipif(
    not Path(CHROMIUM).exists() and not os.environ.get("CI"), reason="needs Debian chromium"
)
LAST_28 = (TODAY - dt.timedelta(days=28), TODAY - dt.timedelta(days=1))


def tab_bot(warehouse, tmp_path, **settings):
    """The bot (serving the tab) on a free port, as of TODAY."""
    return running_bot(Settings(COMMERCY_TIMEZONE="Asia/Seoul", **settings), warehouse,
                       today=TODAY, state_path=str(tmp_path / "s.sqlite3"))  # fmt: skip


@asynccontextmanager
async def tab_browser(warehouse, tmp_path, **settings):
    from playwright.async_api import async_playwright

    bot = tab_bot(warehouse, tmp_path, **settings)
    async with bot as (base, _connector, _app), async_playwright() as p:
        browser = await p.chromium.launch(
            executable_path=CHROMIUM,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        try:
            page = await browser.new_page(viewport={"width": 1280, "height": 1000})
            yield base, page
        finally:
            await browser.close()


async def open_tab(page, url: str) -> str:
    await page.goto(url)
    await page.wait_for_selector("main[data-ready]", timeout=30_000)
    return await page.get_attribute("main", "data-ready")


@needs_chromium
def test_the_summary_shows_the_metric_layers_numbers_for_the_filters(four_weeks, tmp_path):
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    query = MetricQuery.build(["revenue", "sessions", "conversion_rate"], *LAST_28,
                              filters={"device": "mobile", "visitor_type": "new"})  # fmt: skip
    expected = run_query(four_weeks, query, zone="Asia/Seoul").rows[0]

    async def scenario():
        async with tab_browser(four_weeks, tmp_path) as (base, page):
            ready = await open_tab(page, f"{base}/tab?tab=summary&device=mobile&visitor_type=new")
            assert ready == "summary"
            await page.screenshot(path=str(ARTIFACTS / "tab-summary.png"), full_page=True)
            for metric, unit in (("revenue", "usd"), ("sessions", "count"),
                                 ("conversion_rate", "ratio")):  # fmt: skip
                shown = await page.inner_text(f"[data-metric={metric}] .value")
                assert shown == format_value(expected[metric], unit)
            assert "device=mobile" in page.url and "visitor_type=new" in page.url
            asked = await page.evaluate(
                "performance.getEntriesByType('resource')"
                ".filter((e) => e.name.includes('/api/tab/summary')).length"
            )
            assert asked == 1  # the preloaded response was the one drawn
            # The country filter offers the countries the data has, once they are loaded.
            await page.wait_for_selector("datalist#countries option[value='South Korea']",
                                         state="attached")  # fmt: skip

    asyncio.run(scenario())


@needs_chromium
def test_every_tab_loads_with_filters_and_the_funnel_matches_the_data(four_weeks, tmp_path):
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    view = dashboard.View(*LAST_28, (("channel", "Organic Search"),))
    funnel = dashboard.traffic(four_weeks, view, zone="Asia/Seoul")["funnel"]
    last_day = MetricQuery.build(["revenue"], LAST_28[1], LAST_28[1],
                                 filters={"channel": "Organic Search"})  # fmt: skip
    revenue = run_query(four_weeks, last_day, zone="Asia/Seoul").total("revenue")

    async def scenario():
        async with tab_browser(four_weeks, tmp_path) as (base, page):
            for name in ("sales", "traffic"):
                ready = await open_tab(page, f"{base}/tab?tab={name}&channel=Organic+Search")
                assert ready == name
                await page.screenshot(path=str(ARTIFACTS / f"tab-{name}.png"), full_page=True)
                if name == "sales":
                    shown = await page.inner_text("[data-chart=revenue] .muted")
                    assert shown == f"11/23 매출: {format_value(revenue, 'usd')}"
            purchases = await page.inner_text("[data-step=purchase] td.num")
            assert purchases == format_value(funnel[-1]["sessions"], "count")
            await page.click("button[data-tab=summary]")  # switching keeps the filters
            await page.wait_for_selector("main[data-ready=summary]", timeout=30_000)
            assert "channel=Organic+Search" in page.url

    asyncio.run(scenario())


@needs_chromium
def test_a_bad_filter_in_the_url_is_explained_not_a_blank_page(four_weeks, tmp_path):
    async def scenario():
        async with tab_browser(four_weeks, tmp_path) as (base, page):
            assert await open_tab(page, f"{base}/tab?tab=sales&device=fridge") == "error"
            message = await page.inner_text("[role=alert]")
            assert "device" in message and "fridge" in message
            assert await open_tab(page, f"{base}/tab?period=5y") == "error"
            assert "period must be one of" in await page.inner_text("[role=alert]")

    asyncio.run(scenario())


def test_the_json_api_refuses_bad_input_with_a_reason(four_weeks, tmp_path):
    async def scenario():
        async with tab_bot(four_weeks, tmp_path) as (base, _c, _a), ClientSession() as http:
            for path, reason in (
                ("/api/tab/summary?start=2026-11-10&end=2026-11-01", "before it starts"),
                ("/api/tab/summary?start=yesterday", "must both be dates"),
                ("/api/tab/nope", "tab must be one of"),
                ("/api/tab/traffic?country=Atlantis", "country"),
            ):
                async with http.get(base + path) as response:
                    assert response.status == 400, path
                    assert reason in (await response.json())["error"]
            async with http.get(f"{base}/tab/static/../app.py") as response:
                assert response.status == 404
            async with http.get(f"{base}/api/tab/sales?period=7d") as response:
                assert response.status == 200
                assert (await response.json())["view"]["end"] == "2026-11-23"

    asyncio.run(scenario())


# What Teams' SDK answers inside Teams: the page is given this stand-in instead of the
# real SDK, which can only talk to a Teams host.
FAKE_TEAMS_SDK = """
window.microsoftTeams = { app: {
  initialize: () => Promise.resolve(),
  getContext: () => Promise.resolve({ app: { theme: "dark", locale: "en-us" } }),
  registerOnThemeChangeHandler: (handler) => { window.__themeHandler = handler; },
  notifySuccess: () => { window.__notified = true; },
} };
"""


@needs_chromium
def test_inside_teams_the_tab_follows_the_theme_and_the_locale(four_weeks, tmp_path):
    async def scenario():
        async with tab_browser(four_weeks, tmp_path) as (base, page):
            await page.route("**/tab/teams.js", lambda route: route.fulfill(
                body=FAKE_TEAMS_SDK, content_type="application/javascript"))  # fmt: skip
            await page.goto(f"{base}/tab?tab=summary")
            await page.wait_for_selector("body.theme-dark")
            await page.wait_for_selector("button[data-tab=sales]:has-text('Sales')")
            assert await page.evaluate("window.__notified") is True
            await page.wait_for_selector("[data-metric=sessions] h3:has-text('Sessions')")
            await page.evaluate("window.__themeHandler('contrast')")
            assert await page.get_attribute("body", "class") == "theme-contrast"
            await page.screenshot(path=str(ARTIFACTS / "tab-contrast.png"), full_page=True)

    asyncio.run(scenario())


def test_the_page_may_be_framed_only_by_teams_and_serves_the_sdk(four_weeks, tmp_path):
    async def scenario():
        async with tab_bot(four_weeks, tmp_path) as (base, _c, _a), ClientSession() as http:
            for path in ("/tab", "/tab/config"):
                async with http.get(base + path) as response:
                    assert response.status == 200
                    policy = response.headers["Content-Security-Policy"]
                    assert "frame-ancestors 'self' https://teams.microsoft.com" in policy
            async with http.get(f"{base}/tab/teams.js") as response:
                assert response.status == 200 and "microsoftTeams" in await response.text()

    asyncio.run(scenario())


def test_the_page_asks_for_its_first_numbers_before_its_script_loads(four_weeks, tmp_path):
    async def scenario():
        async with tab_bot(four_weeks, tmp_path) as (base, _c, _a), ClientSession() as http:
            async with http.get(f"{base}/tab?tab=traffic&lang=en&device=mobile") as response:
                page = await response.text()
            assert 'href="/api/tab/traffic?device=mobile"' in page
            async with http.get(f'{base}/tab?tab=nope&country="><script>x</script>') as response:
                page = await response.text()
            assert "<script>x" not in page
            assert 'href="/api/tab/summary?country=%22%3E%3Cscript%3Ex%3C%2Fscript%3E"' in page

    asyncio.run(scenario())


@needs_chromium
def test_the_news_tab_shows_the_ingested_articles_and_their_sentiment(four_weeks, tmp_path):
    from news import NewsStore, ingest
    from news.sample import SAMPLE_FEED

    news_path = tmp_path / "news.sqlite3"
    hostile = tmp_path / "hostile.xml"
    hostile.write_text(
        '<rss version="2.0"><channel><title>x</title><item><title>&lt;img src=x '
        "onerror=alert(1)&gt; quarterly note</title><link>javascript:alert(1)</link>"
        "<pubDate>Sun, 22 Nov 2026 10:00:00 +0900</pubDate></item></channel></rss>",
        encoding="utf-8",
    )
    with NewsStore(news_path) as store:
        assert ingest([str(SAMPLE_FEED), str(hostile)], store).added == 41
        expected = store.articles(*LAST_28, "fashion")
        mood = store.mood(LAST_28[0], "Asia/Seoul", "fashion", end=LAST_28[1])

    async def scenario():
        bot = tab_browser(four_weeks, tmp_path, COMMERCY_NEWS_PATH=str(news_path))
        async with bot as (base, page):
            assert await open_tab(page, f"{base}/tab?tab=news&topic=fashion") == "news"
            await page.wait_for_selector("select[name=topic] option[value=ecommerce]",
                                         state="attached")  # fmt: skip
            await page.screenshot(path=str(ARTIFACTS / "tab-news.png"), full_page=True)
            titles = await page.locator("main table a").all_inner_texts()
            assert titles == [a.title for a in expected] and titles
            assert await page.inner_text("[data-metric=articles] .value") == str(mood.count)
            assert (
                await page.inner_text("[data-metric=mean] .value") == f"{mood.mean_sentiment:+.2f}"
            )
            assert await page.locator("select[name=device]").count() == 0  # not news filters
            assert await open_tab(page, f"{base}/tab?tab=news") == "news"
            assert await page.locator("main td:has-text('quarterly note')").count() == 1
            assert await page.locator("main a[href^='javascript']").count() == 0
            assert await page.locator("main img").count() == 0  # shown as text, not HTML
            assert await open_tab(page, f"{base}/tab?tab=news&topic=sports") == "error"
            assert "topic must be one of" in await page.inner_text("[role=alert]")

    asyncio.run(scenario())
