"""The dashboard tab on the full sample year: the first view of each tab in a real
browser (Debian's Chromium through Playwright: from navigation to the numbers painted,
on the page's own clock, target under 1 s), and its JSON API per tab. The bot runs as
`commercy serve`, its own process, as deployed. Medians over several runs; each run
opens a fresh page with filters a marketer would use.

    .venv/bin/python bench/bench_tab.py [--runs 5] [--database data/commercy.duckdb]
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from aiohttp import ClientSession  # noqa: E402

from news import NewsStore, ingest  # noqa: E402
from news.sample import write_sample_feed  # noqa: E402
from tests.doubles.botkit import free_port, wait_until_healthy  # noqa: E402
from tests.test_playground import CHROMIUM  # noqa: E402

TARGET_MS = 1000
# The page marks its first view once the numbers are painted; its clock starts at navigation.
FIRST_VIEW = "performance.getEntriesByName('commercy:first-view')[0].startTime"
API_REQUESTS = ("(name) => performance.getEntriesByType('resource')"
                ".filter((e) => e.name.includes(`/api/tab/${name}?`)).length")  # fmt: skip
VIEWS = {
    "summary": "tab=summary&period=28d",
    "sales": "tab=sales&period=28d&device=mobile",
    "traffic": "tab=traffic&period=28d&channel=Organic+Search",
    "news": "tab=news&period=28d&topic=fashion",
}


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--database", default="data/commercy.duckdb")
    args = parser.parse_args()

    port = free_port()
    folder = tempfile.mkdtemp()
    with NewsStore(f"{folder}/news.sqlite3") as store:  # as `make run` loads it
        ingest([write_sample_feed(f"{folder}/news-sample.xml", dt.date.today())], store)
    env = {**os.environ, "COMMERCY_DATABASE_URL": f"duckdb:///{Path(args.database).resolve()}",
           "COMMERCY_STATE_URL": f"sqlite:///{folder}/state.sqlite3", "MicrosoftAppId": "",
           "COMMERCY_REPLAY": "false", "COMMERCY_INDEXER": "false",
           "COMMERCY_ALERTS_ENABLED": "false",
           "COMMERCY_NEWS_PATH": f"{folder}/news.sqlite3"}  # fmt: skip
    bot = subprocess.Popen(
        [str(ROOT / ".venv" / "bin" / "commercy"), "serve", "--no-playground", "--port", str(port)],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        await measure(base, args.runs)
    finally:
        bot.terminate()
        bot.wait(timeout=10)


async def measure(base: str, runs: int) -> None:
    from playwright.async_api import async_playwright

    await wait_until_healthy(base)
    first_views: dict[str, list[float]] = {name: [] for name in VIEWS}
    api: dict[str, list[float]] = {name: [] for name in VIEWS}
    walls: dict[str, list[float]] = {name: [] for name in VIEWS}
    async with async_playwright() as p, ClientSession() as http:
        browser = await p.chromium.launch(
            executable_path=CHROMIUM,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        for run in range(runs + 1):  # the first run warms DuckDB and Chromium
            for name, query in VIEWS.items():
                page = await browser.new_page()
                started = time.perf_counter()
                await page.goto(f"{base}/tab?{query}")
                await page.wait_for_selector(f"main[data-ready={name}]", timeout=60_000)
                wall = time.perf_counter() - started
                took = await page.evaluate(FIRST_VIEW) / 1000
                asked = await page.evaluate(API_REQUESTS, name)
                if asked != 1:
                    raise SystemExit(f"{name}: the page asked the API {asked} times, not once")
                await page.close()
                started = time.perf_counter()
                async with http.get(f"{base}/api/tab/{name}?{query}") as response:
                    await response.read()
                api_took = time.perf_counter() - started
                if run:
                    first_views[name].append(took)
                    walls[name].append(wall)
                    api[name].append(api_took)
        await browser.close()
    for name in VIEWS:
        view = statistics.median(first_views[name]) * 1000
        api_ms = statistics.median(api[name]) * 1000
        wall = statistics.median(walls[name]) * 1000
        print(f"{name:8} first view in the browser: {view:4.0f} ms (target {TARGET_MS}, ratio "
              f"{view / TARGET_MS:.2f}; {wall:4.0f} ms as Playwright saw it, with a new "
              f"renderer and its polling); JSON API {api_ms:4.0f} ms")  # fmt: skip
    print(f"medians of {runs} runs, full sample year; measured "
          f"{dt.datetime.now():%Y-%m-%d %H:%M} on {os.cpu_count()} cores")  # fmt: skip


if __name__ == "__main__":
    asyncio.run(main())
