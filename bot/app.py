"""The composition root: settings in, a running aiohttp web app out.

Routes:
- POST /api/messages   Bot Framework activities (CloudAdapter; authenticated when
                       MicrosoftAppId is set, open for the local Agents Playground)
- GET  /healthz        warehouse and state store reachable, as JSON (200 or 503)
- GET  /charts/{id}.png  chart images behind unguessable, expiring ids; no listing

Malformed requests get a 4xx before they reach the adapter; a failure inside a turn
gets an apology in the user's language with a correlation id, and the process goes on.
"""

from __future__ import annotations

import asyncio
import base64
import datetime as dt
import json
import logging
import os
import re
import socket
import uuid
from collections.abc import Callable
from typing import Any

from aiohttp import web
from botbuilder.core import CardFactory, MessageFactory, TurnContext
from botbuilder.integration.aiohttp import CloudAdapter, ConfigurationBotFrameworkAuthentication
from botbuilder.schema import Activity, ConversationReference

from bot.delivery import Deliverer
from bot.documents import document_file, embedder, library, open_index, writer
from bot.handler import CommercyBot, _apology
from bot.llm import assistant, news_scorer
from bot.settings import Settings
from bot.state import State
from bot.tab import add_routes as add_tab_routes
from bot.teams_ai import Presentation
from dialogs.router import language_of
from kpi.storage.warehouse import open_warehouse

log = logging.getLogger(__name__)

BOT = web.AppKey("bot", CommercyBot)
STATE = web.AppKey("state", State)
WAREHOUSE = web.AppKey("warehouse", object)
DELIVERER = web.AppKey("deliverer", Deliverer)
MAX_BODY_BYTES = 256 * 1024  # an activity is at most ~100 KB; more is not Teams
CHART_ID = re.compile(r"^[A-Za-z0-9_-]{16,64}$")
DOC_ID = re.compile(r"^[0-9a-f]{16}$")


class _AuthConfig:
    """The attribute names botbuilder's configuration factory reads."""

    def __init__(self, settings: Settings) -> None:
        self.APP_ID = settings.app_id
        self.APP_PASSWORD = settings.app_password
        self.APP_TYPE = settings.app_type
        self.APP_TENANTID = settings.app_tenant_id


def create_app(
    settings: Settings,
    *,
    warehouse: Any = None,
    index: Any = None,
    state: State | None = None,
    today: Callable[[], dt.date] | None = None,
    scheduler: bool = False,
) -> web.Application:
    """The bot's web app; tests pass their own warehouse, state store and calendar."""
    warehouse = warehouse or open_warehouse(
        settings.database_url,
        query_timeout_seconds=settings.query_timeout_seconds,
        memory_limit=settings.warehouse_memory_limit,
    )
    state = state or State.from_url(settings.state_url)
    index = index or open_index(settings)
    documents = library(settings, index, embedder(settings), writer(settings))
    adapter = CloudAdapter(ConfigurationBotFrameworkAuthentication(_AuthConfig(settings)))

    async def send_later(reference: Any, callback: Any) -> None:
        await adapter.continue_conversation(reference, callback, settings.app_id or None)

    async def send_card(
        reference: dict[str, Any],
        card: dict[str, Any],
        summary: str,
        sending: Callable[[], None] = lambda: None,
    ) -> str | None:
        """One proactive card; a connector failure is raised to the caller (the deliverer
        retries), not swallowed by on_turn_error as a turn's failure would be."""
        outcome: dict[str, Any] = {}

        async def callback(turn_context: TurnContext) -> None:
            message = MessageFactory.attachment(CardFactory.adaptive_card(card))
            message.summary = summary
            sending()  # the connector client and its token are ready: the POST is next
            try:
                response = await turn_context.send_activity(message)
                outcome["id"] = response.id if response else None
            except Exception as error:
                outcome["error"] = error

        await send_later(ConversationReference().deserialize(reference), callback)
        if "error" in outcome:
            raise outcome["error"]
        return outcome.get("id")

    async def update_card(
        reference: dict[str, Any],
        activity_id: str,
        card: dict[str, Any],
        summary: str,
        sending: Callable[[], None] = lambda: None,
    ) -> None:
        """Rewrite a proactive card in place (PUT .../activities/{activity_id}): an alert
        episode that escalates changes its one message instead of posting another.
        Failures are raised to the deliverer, as for send_card."""
        outcome: dict[str, Any] = {}

        async def callback(turn_context: TurnContext) -> None:
            message = MessageFactory.attachment(CardFactory.adaptive_card(card))
            message.summary = summary
            message.id = activity_id
            sending()
            try:
                await turn_context.update_activity(message)
            except Exception as error:
                outcome["error"] = error

        await send_later(ConversationReference().deserialize(reference), callback)
        if "error" in outcome:
            raise outcome["error"]

    def chart_url(png: bytes) -> str:
        return f"{settings.bot_url}/charts/{state.charts.save(png, settings.chart_ttl_seconds)}.png"

    bot = CommercyBot(
        state=state,
        warehouse=warehouse,
        zone=settings.timezone,
        today=today or (lambda: dt.datetime.now(settings.zone).date()),
        chart_url=chart_url,
        app_id=settings.app_id,
        reply_budget_seconds=settings.reply_budget_seconds,
        send_later=send_later,
        library=documents,
        assistant=assistant(settings, state.memory),
        news_path=settings.news_path,
        presentation=Presentation(
            label=settings.sensitivity_label,
            link=documents.link if documents is not None else (lambda _hit: None),
        ),
    )

    async def on_turn_error(turn_context: TurnContext, error: Exception) -> None:
        correlation_id = uuid.uuid4().hex[:12]
        log.error("turn failed [%s]: %r", correlation_id, error, exc_info=error)
        lang = language_of(turn_context.activity.text or "")
        try:
            await turn_context.send_activity(_apology(lang, correlation_id))
        except Exception:  # the channel may be the thing that failed
            log.exception("could not send the apology [%s]", correlation_id)

    adapter.on_turn_error = on_turn_error

    async def messages(request: web.Request) -> web.Response:
        if "application/json" not in request.headers.get("Content-Type", ""):
            return _problem(415, "send the activity as application/json")
        try:
            body = await request.json(loads=json.loads)
        except (ValueError, UnicodeDecodeError):
            return _problem(400, "the body is not JSON")
        if not isinstance(body, dict) or not isinstance(body.get("type"), str):
            return _problem(400, "an activity is a JSON object with a type")
        if body["type"] == "message" and not _valid_message(body):
            return _problem(400, "a message activity needs conversation.id and a text or value")
        try:
            Activity().deserialize(body)
        except Exception:
            return _problem(400, "the activity's fields have the wrong types")
        if settings.app_id and not _looks_like_a_token(request.headers.get("Authorization", "")):
            return _problem(401, "a Bot Framework token is required")
        try:
            return await adapter.process(_Replay(request, body), bot)
        except web.HTTPException:
            raise  # 401 for a bad token, and the like
        except Exception:
            correlation_id = uuid.uuid4().hex[:12]
            log.exception("activity failed outside a turn [%s]", correlation_id)
            return _problem(500, f"internal error {correlation_id}")

    async def healthz(_request: web.Request) -> web.Response:
        checks = {}
        try:
            warehouse.query("SELECT 1 AS ok")
            checks["warehouse"] = "ok"
        except Exception as exc:
            checks["warehouse"] = f"unreachable: {type(exc).__name__}"
        try:
            state.ping()
            checks["state"] = "ok"
        except Exception as exc:
            checks["state"] = f"unreachable: {type(exc).__name__}"
        try:
            checks["index"] = f"ok ({await asyncio.to_thread(index.chunk_count)} passages)"
        except Exception as exc:
            checks["index"] = f"unreachable: {type(exc).__name__}"
        healthy = all(checks[k].startswith("ok") for k in ("warehouse", "state", "index"))
        return web.json_response(
            {"status": "ok" if healthy else "degraded", **checks}, status=200 if healthy else 503
        )

    async def chart(request: web.Request) -> web.Response:
        chart_id = request.match_info["chart_id"]
        png = state.charts.get(chart_id) if CHART_ID.match(chart_id) else None
        if png is None:
            return _problem(404, "no such chart (links expire)")
        return web.Response(
            body=png, content_type="image/png", headers={"Cache-Control": "private, max-age=3600"}
        )

    app = web.Application(client_max_size=MAX_BODY_BYTES)
    app.router.add_post("/api/messages", messages)
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/charts/{chart_id}.png", chart)

    async def document(request: web.Request) -> web.StreamResponse:
        doc_id = request.match_info["doc_id"]
        path = DOC_ID.match(doc_id) and await asyncio.to_thread(document_file, index, doc_id)
        if not path:
            return _problem(404, "no such document")
        return web.FileResponse(path, headers={"Content-Type": "application/pdf"})

    app.router.add_get("/docs/{doc_id}.pdf", document)
    add_tab_routes(
        app, warehouse=warehouse, zone=settings.timezone, today=bot.today,
        news_path=settings.news_path, topics=list(settings.topics),
    )  # fmt: skip
    deliverer = Deliverer(state.ledger, state.conversations, send_card, update=update_card)
    app[DELIVERER] = deliverer
    if scheduler:
        app.on_startup.append(_start_jobs(settings, state, warehouse, deliverer))
    app[BOT] = bot
    app[STATE] = state
    app[WAREHOUSE] = warehouse
    return app


def _start_jobs(settings: Settings, state: State, warehouse: Any, deliverer: Deliverer):
    async def start(app: web.Application) -> None:
        from bot.jobs import Runtime, start_scheduler

        runtime = Runtime(
            state=state,
            warehouse=warehouse,
            zone=settings.zone,
            deliverer=deliverer,
            now=lambda: dt.datetime.now(settings.zone),
            thresholds=settings.thresholds,
            holder=f"{os.environ.get('WEBSITE_INSTANCE_ID') or socket.gethostname()}:"
            f"{settings.port}",
            news_feeds=tuple(settings.feeds),
            news_path=settings.news_path,
            news_topics=settings.topics,
            news_scorer=news_scorer(settings) if settings.feeds else None,
        )
        jobs = start_scheduler(runtime, settings.state_url, risk_checks=settings.alerts_enabled,
                               news_every_minutes=settings.news_every_minutes)  # fmt: skip

        async def stop(_app: web.Application) -> None:
            jobs.shutdown(wait=False)
            state.leases.release("scheduler", runtime.holder)

        app.on_cleanup.append(stop)

    return start


def _valid_message(body: dict) -> bool:
    conversation = body.get("conversation")
    if not isinstance(conversation, dict) or not isinstance(conversation.get("id"), str):
        return False
    text, value = body.get("text"), body.get("value")
    return isinstance(text, str) or isinstance(value, dict)


def _looks_like_a_token(header: str) -> bool:
    """A JWT bearer token with an issuer; botbuilder's validator crashes (500) on tokens
    without one, so such tokens are refused here and the adapter checks the rest."""
    scheme, _, token = header.partition(" ")
    parts = token.split(".")
    if scheme != "Bearer" or len(parts) != 3:
        return False
    try:
        padded = parts[1] + "=" * (-len(parts[1]) % 4)
        claims = json.loads(base64.urlsafe_b64decode(padded))
    except (ValueError, UnicodeDecodeError):
        return False
    return isinstance(claims, dict) and isinstance(claims.get("iss"), str)


def _problem(status: int, message: str) -> web.Response:
    return web.json_response({"error": message}, status=status)


class _Replay:
    """The request with its JSON already read, for the adapter (which reads it again)."""

    def __init__(self, request: web.Request, body: dict) -> None:
        self._request = request
        self._body = body
        self.method = request.method
        self.headers = request.headers

    async def json(self) -> dict:
        return self._body
