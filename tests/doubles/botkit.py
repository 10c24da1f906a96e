"""Test helpers for the bot: the real aiohttp app on a real port, a Bot Connector stand-in
that records what the bot sends, and Teams-shaped activities.

The connector stand-in speaks the Bot Connector REST protocol the bot's CloudAdapter
uses (POST /v3/conversations/{id}/activities[/{replyToId}]); the Agents Playground tests
use the real Playground instead.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import itertools
import random
import socket
import uuid
from collections import defaultdict
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from aiohttp import ClientSession, web

from bot.app import STATE, create_app
from bot.settings import Settings
from bot.state import State
from rag_indexer.index import LocalIndex

_ids = itertools.count(1)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Connector:
    """Records every activity the bot posts, per conversation. `failures` (0..1) makes it
    refuse that share of posts with 429 (Retry-After: 0) or 503, as a loaded Teams does;
    `forbidden` conversations answer 403 (app removed), `missing` ones 404
    (ConversationNotFound: a chat that no longer exists). PUTs (message updates) are
    recorded in `updated`; one to an activity id in `deleted` answers 404 (someone
    deleted that message)."""

    def __init__(self, *, failures: float = 0.0, seed: int = 0) -> None:
        self.sent: dict[str, list[dict]] = defaultdict(list)
        self.arrived = asyncio.Event()
        self.port = free_port()
        self.failures = failures
        self.refused = 0
        self.forbidden: set[str] = set()
        self.missing: set[str] = set()
        self.updated: list[tuple[str, dict]] = []
        self.deleted: set[str] = set()
        # hold_at = n: the n-th card accepted is recorded and its answer held back (the
        # bot waits, the card in flight) until release() - for killing a bot mid-send.
        self.hold_at: int | None = None
        self.held = asyncio.Event()
        self._released = asyncio.Event()
        self._rng = random.Random(seed)

    async def _post(self, request: web.Request) -> web.Response:
        conversation = request.match_info["conversation_id"]
        if conversation in self.forbidden:
            return web.json_response({"error": {"code": "MessageWritesBlocked"}}, status=403)
        if conversation in self.missing:
            return web.json_response({"error": {"code": "ConversationNotFound"}}, status=404)
        if self.failures and self._rng.random() < self.failures:
            self.refused += 1
            if self._rng.random() < 0.5:
                return web.json_response(
                    {"error": {"code": "Throttled"}}, status=429, headers={"Retry-After": "0"}
                )
            return web.json_response({"error": {"code": "ServiceUnavailable"}}, status=503)
        activity = await request.json()
        self.sent[request.match_info["conversation_id"]].append(activity)
        self.arrived.set()
        if self.hold_at is not None and sum(map(len, self.sent.values())) == self.hold_at:
            self.held.set()
            await self._released.wait()
        return web.json_response({"id": f"sent-{next(_ids)}"})

    def release(self) -> None:
        self._released.set()

    async def _put(self, request: web.Request) -> web.Response:
        if request.match_info["activity_id"] in self.deleted:
            return web.json_response({"error": {"code": "NotFound"}}, status=404)
        self.updated.append((request.match_info["activity_id"], await request.json()))
        return web.json_response({"id": request.match_info["activity_id"]})

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_put(
            "/v3/conversations/{conversation_id}/activities/{activity_id}", self._put
        )
        app.router.add_post("/v3/conversations/{conversation_id}/activities", self._post)
        app.router.add_post("/v3/conversations/{conversation_id}/activities/{reply_to}", self._post)
        return app

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/"

    def messages(self, conversation_id: str) -> list[dict]:
        return [a for a in self.sent[conversation_id] if a.get("type") == "message"]

    def cards(self, conversation_id: str) -> list[dict]:
        return [
            attachment["content"]
            for activity in self.messages(conversation_id)
            for attachment in activity.get("attachments") or []
            if attachment.get("contentType") == "application/vnd.microsoft.card.adaptive"
        ]

    async def wait_for(self, conversation_id: str, count: int, timeout: float = 20) -> list[dict]:
        async def enough() -> None:
            while len(self.messages(conversation_id)) < count:
                await asyncio.sleep(0.02)

        await asyncio.wait_for(enough(), timeout)
        return self.messages(conversation_id)


def activity(
    text: str | None = None,
    *,
    conversation: str = "conv-1",
    connector: Connector,
    kind: str = "message",
    **extra: Any,
) -> dict:
    body = {
        "type": kind,
        "id": f"act-{uuid.uuid4().hex}",
        "timestamp": dt.datetime.now(dt.UTC).isoformat(),
        "serviceUrl": connector.url,
        "channelId": "msteams",
        "from": {
            "id": "user-1",
            "name": "Marketer",
            "aadObjectId": "00000000-0000-0000-0000-000000000001",
        },
        "conversation": {
            "id": conversation,
            "conversationType": "personal",
            "tenantId": "tenant-1",
        },
        "recipient": {"id": "28:commercy", "name": "Commercy"},
        "locale": "ko-KR",
    }
    if text is not None:
        body["text"] = text
    body.update(extra)
    return body


@asynccontextmanager
async def running_bot(
    settings: Settings, warehouse: Any, *, today: dt.date, state_path: str, **app_options: Any
):
    """The bot on a free port with a recording connector; yields (base_url, connector, app)."""
    connector = Connector()
    connector_runner = web.AppRunner(connector.app())
    await connector_runner.setup()
    await web.TCPSite(connector_runner, "127.0.0.1", connector.port).start()
    app_options.setdefault("index", LocalIndex(Path(state_path).parent / "index.sqlite3"))
    app = create_app(
        settings,
        warehouse=warehouse,
        state=State(state_path),
        today=lambda: today,
        **app_options,
    )
    runner = web.AppRunner(app)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    try:
        yield f"http://127.0.0.1:{port}", connector, app
    finally:
        await runner.cleanup()
        await connector_runner.cleanup()
        app[STATE].close()


async def post(
    session: ClientSession,
    base: str,
    body: Any,
    *,
    raw: bytes | None = None,
    headers: dict[str, str] | None = None,
) -> tuple[int, Any]:
    data = raw if raw is not None else None
    async with session.post(
        f"{base}/api/messages",
        json=None if raw is not None else body,
        data=data,
        headers=headers or ({"Content-Type": "application/json"} if raw is not None else None),
    ) as response:
        text = await response.text()
        return response.status, text


async def wait_until_healthy(base: str, seconds: float = 30.0) -> None:
    """Wait for a bot started in another process to answer /healthz with 200."""
    async with ClientSession() as http:
        for _ in range(int(seconds * 10)):
            try:
                async with http.get(f"{base}/healthz") as response:
                    if response.status == 200:
                        return
            except OSError:  # not listening yet
                pass
            await asyncio.sleep(0.1)
    raise TimeoutError(f"{base} did not become healthy within {seconds:g} s")
