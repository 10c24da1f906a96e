"""A local server that speaks the OpenAI HTTP API (`POST /v1/embeddings` and
`/v1/chat/completions`, and the Azure OpenAI paths `/openai/deployments/{name}/...`), so
the real `openai` client is tested over real HTTP. It is a protocol stand-in, not a
model: its embeddings put texts that share a concept near each other, across Korean and
English, through a small concept table ("환불" and "refund" are one concept), and its
chat replies are scripted by the test: `chat_replies` in order, or a `responder` that
picks one from the request (the LLM path's prompts say what each call is for). A reply
is a text to answer, an HTTP status to fail with, or `Slow(seconds, reply)`. Requests are
recorded; `fail_next` makes the next requests answer 503, as an overloaded endpoint does.
A request with `"stream": true` is answered as OpenAI streams: server-sent events, one
`chat.completion.chunk` per word (`stream_pace` seconds apart), the usage in a last chunk
when `stream_options.include_usage` asks for it, then `[DONE]`.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import math
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass

from aiohttp import web

from language.terms import terms
from tests.doubles.botkit import free_port

DIMENSIONS = 64
CONCEPTS = {
    "환불": "refund", "반품": "refund", "refund": "refund", "refunds": "refund",
    "return": "refund", "returns": "refund",
    "기간": "window", "며칠": "window", "window": "window", "days": "window", "일": "window",
    "쿠폰": "coupon", "coupon": "coupon", "coupons": "coupon",
    "배송": "shipping", "shipping": "shipping", "delivery": "shipping",
}  # fmt: skip


def embedding(text: str) -> list[float]:
    vector = [0.0] * DIMENSIONS
    for term in terms(text):
        concept = CONCEPTS.get(term, term)
        slot = int(hashlib.md5(concept.encode()).hexdigest(), 16) % DIMENSIONS
        vector[slot] += 1.0
    norm = math.sqrt(sum(v * v for v in vector)) or 1.0
    return [v / norm for v in vector]


@dataclass(frozen=True)
class Slow:
    seconds: float
    reply: str | int


Reply = str | int | Slow


def purpose(body: dict) -> str:
    """Which LLM call a chat request is, from its system prompt (dialogs/assistant.py,
    dialogs/grounded.py, news/llm_sentiment.py): route, query, sql, reasoning, grounded or
    sentiment."""
    system = next((m["content"] for m in body.get("messages", []) if m["role"] == "system"), "")
    for marker, name in (("You route messages", "route"), ("You turn a marketer", "query"),
                         ("You write one", "sql"), ("You explain a change", "reasoning"),
                         ("You answer an e-commerce", "grounded"),
                         ("You score news sentiment", "sentiment")):  # fmt: skip
        if marker in system:
            return name
    return "other"


class OpenAICompatibleServer:
    def __init__(self) -> None:
        self.port = free_port()
        self.requests: list[dict] = []
        self.fail_next = 0
        self.chat_replies: list[Reply] = []
        self.responder: Callable[[dict], Reply] | None = None
        self.stream_pace = 0.0  # seconds between the words of a streamed answer
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._started = threading.Event()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    @property
    def azure_endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def _embeddings(self, request: web.Request) -> web.Response:
        body = await request.json()
        self.requests.append({"path": request.path, **body})
        if self.fail_next:
            self.fail_next -= 1
            return web.json_response({"error": {"message": "overloaded"}}, status=503)
        texts = body["input"] if isinstance(body["input"], list) else [body["input"]]
        data = [
            {"object": "embedding", "index": i, "embedding": embedding(text)}
            for i, text in enumerate(texts)
        ]
        return web.json_response(
            {"object": "list", "data": data, "model": body.get("model", ""),
             "usage": {"prompt_tokens": 0, "total_tokens": 0}}
        )  # fmt: skip

    async def _chat(self, request: web.Request) -> web.Response:
        body = await request.json()
        self.requests.append({"path": request.path, **body})
        if self.chat_replies:
            reply = self.chat_replies.pop(0)
        elif self.responder is not None:
            reply = self.responder(body)
        else:
            reply = "NOT_COVERED"
        if isinstance(reply, Slow):
            await asyncio.sleep(reply.seconds)
            reply = reply.reply
        if isinstance(reply, int):
            return web.json_response({"error": {"message": "scripted failure"}}, status=reply)
        if body.get("stream"):
            return await self._stream(request, body, reply)
        return web.json_response({
            "id": f"chatcmpl-{len(self.requests)}", "object": "chat.completion", "created": 0,
            "model": body.get("model", ""),
            "choices": [{"index": 0, "finish_reason": "stop",
                         "message": {"role": "assistant", "content": reply}}],
            "usage": {"prompt_tokens": 100, "completion_tokens": 20, "total_tokens": 120},
        })  # fmt: skip

    async def _stream(self, request: web.Request, body: dict, reply: str) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
        await response.prepare(request)
        head = {"id": f"chatcmpl-{len(self.requests)}", "object": "chat.completion.chunk",
                "created": 0, "model": body.get("model", "")}  # fmt: skip

        async def event(data: dict | str) -> None:
            text = data if isinstance(data, str) else json.dumps({**head, **data})
            await response.write(f"data: {text}\n\n".encode())

        await event({"choices": [{"index": 0, "delta": {"role": "assistant", "content": ""}}]})
        for word in re.findall(r"\s*\S+", reply):
            await asyncio.sleep(self.stream_pace)
            await event({"choices": [{"index": 0, "delta": {"content": word}}]})
        await event({"choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]})
        if (body.get("stream_options") or {}).get("include_usage"):
            await event({"choices": [], "usage": {"prompt_tokens": 100, "completion_tokens": 20,
                                                  "total_tokens": 120}})  # fmt: skip
        await event("[DONE]")
        await response.write_eof()
        return response

    def _serve(self) -> None:
        asyncio.set_event_loop(self._loop)
        app = web.Application()
        app.router.add_post("/v1/embeddings", self._embeddings)
        app.router.add_post("/openai/deployments/{name}/embeddings", self._embeddings)
        app.router.add_post("/v1/chat/completions", self._chat)
        app.router.add_post("/openai/deployments/{name}/chat/completions", self._chat)
        runner = web.AppRunner(app)
        self._loop.run_until_complete(runner.setup())
        self._loop.run_until_complete(web.TCPSite(runner, "127.0.0.1", self.port).start())
        self._started.set()
        self._loop.run_forever()
        self._loop.run_until_complete(runner.cleanup())

    def __enter__(self) -> OpenAICompatibleServer:
        self._thread.start()
        self._started.wait(10)
        return self

    def __exit__(self, *_exc: object) -> None:
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)
