"""The dashboard tab: `GET /tab` (the page), `GET /api/tab/{name}` (its numbers, JSON),
`GET /api/tab/choices` (what the filters offer), `GET /tab/config` (a team tab's
configuration page), `GET /tab/static/...` (scripts and style) and `GET /tab/teams.js`
(the Teams JavaScript SDK, npm-pinned).

The page is static: it reads its view from the URL (`?tab=sales&period=28d&device=mobile`)
and asks the JSON API, which computes with kpi/insights/dashboard.py, the metric layer the bot
answers with. A bad filter is a 400 with a one-line reason the page shows; a broken
warehouse a 503 with a correlation id in the log, never a stack trace.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import html
import json
import logging
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from aiohttp import web

from kpi.insights import dashboard
from kpi.metrics.query import known_values
from news.topics import DEFAULT_TOPICS

log = logging.getLogger(__name__)

STATIC = Path(__file__).with_name("static")
ROOT = Path(__file__).resolve().parents[1]
TEAMS_JS = ROOT / "node_modules/@microsoft/teams-js/dist/umd/MicrosoftTeams.min.js"
# Teams renders a tab in an iframe; only Teams and Microsoft 365 hosts may frame it.
FRAME_ANCESTORS = (
    "frame-ancestors 'self' https://teams.microsoft.com https://*.teams.microsoft.com "
    "https://*.cloud.microsoft https://*.office.com https://outlook.office.com "
    "https://*.skype.com"
)


# Filter values (countries, channels) change when new data brings a new one; reading the
# distinct values of a year of sessions costs ~150 ms a request, so they are kept a while.
KNOWN_VALUES_SECONDS = 600


def add_routes(
    app: web.Application,
    *,
    warehouse: Any,
    zone: str,
    today: Callable[[], dt.date],
    news_path: str | None = None,
    topics: Sequence[str] = tuple(DEFAULT_TOPICS),
) -> None:
    cache: dict[str, tuple[float, list[str]]] = {}

    def known(name: str) -> list[str]:
        kept = cache.get(name)
        if kept is None or time.monotonic() - kept[0] > KNOWN_VALUES_SECONDS:
            kept = (time.monotonic(), known_values(warehouse, name, zone=zone))
            cache[name] = kept
        return kept[1]

    template = (STATIC / "tab.html").read_text(encoding="utf-8")

    async def page(request: web.Request) -> web.StreamResponse:
        # The numbers are asked for by the page itself, before its script has loaded.
        link = (f'<link rel="preload" as="fetch" crossorigin="anonymous" id="first-view" '
                f'href="{html.escape(first_view_url(request.query))}">')  # fmt: skip
        body = template.replace("<!--preload-->", link)
        return web.Response(text=body, content_type="text/html", headers=_page_headers())

    async def config(_request: web.Request) -> web.StreamResponse:
        return web.FileResponse(STATIC / "tab-config.html", headers=_page_headers())

    async def static(request: web.Request) -> web.StreamResponse:
        name = request.match_info["name"]
        if name not in {"tab.js", "tab.css", "tab-config.js"}:  # no listing, no paths
            raise web.HTTPNotFound()
        return web.FileResponse(STATIC / name, headers={"Cache-Control": "no-cache"})

    async def teams_js(_request: web.Request) -> web.StreamResponse:
        if not TEAMS_JS.is_file():
            raise web.HTTPNotFound(text="the Teams SDK is not installed (npm ci)")
        return web.FileResponse(TEAMS_JS, headers={"Cache-Control": "max-age=86400"})

    async def api(request: web.Request) -> web.Response:
        name = request.match_info["name"]
        try:
            body = await asyncio.to_thread(_tab, name, dict(request.query))
        except dashboard.FilterError as exc:
            return web.json_response({"error": str(exc)}, status=400)
        except Exception:
            correlation_id = uuid.uuid4().hex[:12]
            log.exception("the dashboard failed [%s]", correlation_id)
            return web.json_response(
                {"error": f"the numbers are unavailable right now (error id {correlation_id})"},
                status=503,
            )
        return web.json_response(body, dumps=lambda data: json.dumps(data, default=str))

    def _tab(name: str, params: dict[str, str]) -> dict[str, Any]:
        if name == "news":
            return _news(params)
        if name not in dashboard.TABS:
            raise dashboard.FilterError(
                f"tab must be one of {', '.join(dashboard.TABS)}, not {name!r}"
            )
        view = dashboard.parse_view(params, as_of=today(), zone=zone, known=known)
        return dashboard.tab(name, warehouse, view, zone=zone)

    def _news(params: dict[str, str]) -> dict[str, Any]:
        from news import NewsStore

        view = dashboard.parse_view({"period": params.get("period", ""), "start":
                                     params.get("start", ""), "end": params.get("end", "")},
                                    as_of=today(), zone=zone)  # fmt: skip
        topic = params.get("topic") or None
        if topic is not None and topic not in topics:
            raise dashboard.FilterError(f"topic must be one of {', '.join(topics)}, not {topic!r}")
        if not news_path or not Path(news_path).exists():
            return {"tab": "news", "view": view.to_dict(), "topic": topic, "mood": None,
                    "daily": [], "articles": []}  # fmt: skip
        local = ZoneInfo(zone)
        with NewsStore(news_path) as store:
            articles = store.articles(view.start, view.end, topic, zone=zone)
            daily = store.daily_sentiment(view.start, view.end, topic, zone=zone)
            mood = store.mood(view.start, zone, topic, end=view.end)
        return {
            "tab": "news", "view": view.to_dict(), "topic": topic,
            "mood": {"count": mood.count, "mean": mood.mean_sentiment, "tone": mood.tone,
                     "positive": mood.positive, "neutral": mood.neutral,
                     "negative": mood.negative},
            "daily": [{"date": d.day.isoformat(), "sentiment": d.mean_sentiment,
                       "count": d.count} for d in daily],
            "articles": [{"title": a.title, "link": a.link, "source": a.source,
                          "published": a.published.astimezone(local).isoformat(), "lang": a.lang,
                          "topics": list(a.topics), "sentiment": a.sentiment}
                         for a in articles],
        }  # fmt: skip

    async def choices(_request: web.Request) -> web.Response:
        """What the filters offer: the countries and channels the data has, the topics."""
        try:
            found = await asyncio.to_thread(
                lambda: {name: sorted(known(name)) for name in ("country", "channel")}
            )
        except Exception:
            correlation_id = uuid.uuid4().hex[:12]
            log.exception("the dashboard's filter values failed [%s]", correlation_id)
            found = {"country": [], "channel": []}  # the filters still take typed values
        return web.json_response({**found, "topic": list(topics)})

    app.router.add_get("/tab", page)
    app.router.add_get("/tab/config", config)
    app.router.add_get("/tab/static/{name}", static)
    app.router.add_get("/tab/teams.js", teams_js)
    app.router.add_get("/api/tab/choices", choices)  # before {name}, which would take it
    app.router.add_get("/api/tab/{name}", api)


def first_view_url(query: Mapping[str, str]) -> str:
    """The JSON API address for the page at `/tab?{query}`: its tab (summary unless it
    names another) with every other parameter but the page's language."""
    name = query.get("tab", "")
    name = name if name in (*dashboard.TABS, "news") else "summary"
    rest = [(k, v) for k, v in query.items() if k not in {"tab", "lang"}]
    return f"/api/tab/{name}" + (f"?{urlencode(rest)}" if rest else "")


def _page_headers() -> dict[str, str]:
    return {
        "Content-Security-Policy": (
            f"default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; "
            f"{FRAME_ANCESTORS}"
        ),
        "Cache-Control": "no-cache",
        "X-Content-Type-Options": "nosniff",
    }
