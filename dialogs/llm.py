"""The chat model and the rules around every call to it.

`LLM` wraps one LangChain chat model (`ChatOpenAI` for any OpenAI-compatible server,
`AzureChatOpenAI` for Azure OpenAI, both built in bot/) with what the product owes the
people using it:

- a time-out per call (the client's), and retries with exponential backoff on 429 and
  5xx only (honouring Retry-After, at most `max_retry_wait` seconds): a time-out or an
  unreachable endpoint is not retried, since waiting again for a slow model only makes
  the person wait twice;
- a circuit breaker: after `failures_to_open` failed calls in a row, or at once after a
  time-out or a refused connection, calls fail at once for `open_seconds` (no request
  leaves), so a dead or slow endpoint costs one time-out, not one per message; the
  dialogs then answer offline, with a note;
- a budget per answer: no call starts once `budget_seconds` of the answer have passed;
- privacy: text is redacted before it leaves (e-mail addresses, Teams mentions and ids,
  phone numbers); nothing about the person asking is ever put in a prompt;
- token use, summed per answer (`metered`) and logged with the answer;
- words as they come: inside `words_to(sink)` (the bot opens it for a personal chat
  that can show a stream), `text(..., shown=...)` asks the model for a token stream
  and hands `sink` each longer prefix that `shown` lets through, e.g. only the whole
  sentences whose numbers are among the facts (`checked_sentences`), so a draft the
  dialog will reject is never on screen. Outside it the call is one plain request.

Every failure (time-out, refused, invalid JSON, output that breaks the schema) becomes
`LLMError`; callers fall back, they never show it.
"""

from __future__ import annotations

import contextlib
import json
import logging
import random
import re
import threading
import time
import typing
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

log = logging.getLogger(__name__)

M = TypeVar("M", bound=BaseModel)


class LLMError(Exception):
    """The model could not give a usable answer; safe to log, never shown."""


class CircuitOpen(LLMError):
    """Recent calls failed; no request is sent until the breaker's pause is over."""


@dataclass
class Usage:
    """What one answer cost: model calls, tokens, and the seconds spent waiting on them."""

    calls: int = 0
    failures: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    seconds: float = 0.0
    purposes: list[str] = field(default_factory=list)
    started: float = field(default_factory=time.perf_counter)
    # Names the answer in every log line about it (the parser's disagreements, the cost).
    answer_id: str = field(default_factory=lambda: uuid.uuid4().hex[:12])

    def add(self, other: Usage) -> None:
        """Count `other`'s calls here too (an answer metered inside a longer count)."""
        self.calls += other.calls
        self.failures += other.failures
        self.prompt_tokens += other.prompt_tokens
        self.completion_tokens += other.completion_tokens
        self.seconds += other.seconds
        self.purposes += other.purposes

    def summary(self) -> str:
        return (
            f"{self.calls} LLM call(s) ({', '.join(self.purposes) or '-'}), "
            f"{self.prompt_tokens} prompt + {self.completion_tokens} completion tokens, "
            f"{self.seconds * 1000:.0f} ms, {self.failures} failed"
        )


_USAGE: ContextVar[Usage | None] = ContextVar("commercy_llm_usage", default=None)
# Where the words of a model answer go while it is written; None: nobody is watching.
_WORDS: ContextVar[Callable[[str], None] | None] = ContextVar("commercy_llm_words", default=None)

_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
_MENTION = re.compile(r"<at>.*?</at>", re.IGNORECASE | re.DOTALL)
_UUID = re.compile(r"\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b", re.I)
_TEAMS_ID = re.compile(r"\b(?:29|28|8):[\w:.@-]{6,}")
_PHONE = re.compile(r"(?<!\d)(?:\+\d{1,3}[ -]?)?0\d{1,2}[ -]\d{3,4}[ -]\d{4}(?!\d)")


def redact(text: str) -> str:
    """`text` without what identifies a person: addresses, mentions, ids, phone numbers."""
    text = _MENTION.sub("", text or "")
    text = _EMAIL.sub("[email]", text)
    text = _UUID.sub("[id]", text)
    text = _TEAMS_ID.sub("[id]", text)
    return _PHONE.sub("[phone]", text).strip()


class LLM:
    """A LangChain chat model behind a circuit breaker, with redaction and metering."""

    def __init__(
        self,
        model: Any,
        *,
        name: str = "",
        retries: int = 2,
        max_retry_wait: float = 4.0,
        failures_to_open: int = 3,
        open_seconds: float = 60.0,
        budget_seconds: float = 20.0,
        clock: Any = time.monotonic,
    ) -> None:
        self.model = model
        self.name = name or getattr(model, "model_name", "") or "llm"
        self.retries = retries
        self.max_retry_wait = max_retry_wait
        self.failures_to_open = failures_to_open
        self.open_seconds = open_seconds
        self.budget_seconds = budget_seconds
        self._clock = clock
        self._lock = threading.Lock()
        self._failures = 0
        self._open_until = 0.0

    # -- the two kinds of call ---------------------------------------------------------
    def structured(self, schema: type[M], messages: Sequence[tuple[str, str]], *,
                   purpose: str) -> M:  # fmt: skip
        """The model's answer as `schema` (JSON schema output), or LLMError. A weak or
        local model's near miss is read as meant: JSON in a ``` fence or among words, an
        optional field left out; anything else that breaks the schema is an LLMError."""
        response_format = {
            "type": "json_schema",
            "json_schema": {"name": schema.__name__, "schema": schema.model_json_schema()},
        }
        message = self._call(self.model.bind(response_format=response_format), messages, purpose)
        self._count(message)
        try:
            return read_json_as(schema, str(message.content or ""))
        except (ValueError, ValidationError) as exc:
            self._failed(purpose, "output did not match the schema")
            raise LLMError(f"{purpose}: the output did not match the schema") from exc

    def text(
        self,
        messages: Sequence[tuple[str, str]],
        *,
        purpose: str,
        shown: Callable[[str], str] | None = None,
    ) -> str:
        """The model's answer as plain text, or LLMError. With `shown` and someone
        watching (`words_to`), the answer is streamed and `shown(draft so far)` is
        passed on as it grows; the return value is the same whole text either way."""
        sink = _WORDS.get() if shown is not None else None
        runnable = self.model if sink is None else _Streamed(self.model, shown, sink)
        message = self._call(runnable, messages, purpose)
        self._count(message)
        return str(message.content or "").strip()

    # -- the breaker ------------------------------------------------------------------
    @property
    def is_open(self) -> bool:
        with self._lock:
            return self._clock() < self._open_until

    def _call(self, runnable: Any, messages: Sequence[tuple[str, str]], purpose: str) -> Any:
        if self.is_open:
            raise CircuitOpen(f"{purpose}: the LLM failed recently; not calling it for now")
        usage = _USAGE.get()
        if usage is not None:
            if time.perf_counter() - usage.started > self.budget_seconds:
                raise LLMError(f"{purpose}: the answer's time budget is spent")
            usage.calls += 1
            usage.purposes.append(purpose)
        cleaned = [(role, redact(content) if role == "human" else content)
                   for role, content in messages]  # fmt: skip
        started = time.perf_counter()
        try:
            for attempt in range(self.retries + 1):
                try:
                    result = runnable.invoke(cleaned)
                    break
                except Exception as exc:
                    wait = self._retry_wait(exc, attempt)
                    if wait is None:
                        raise
                    log.info("LLM %s answered %s; retrying in %.1f s", purpose,
                             getattr(exc, "status_code", "?"), wait)  # fmt: skip
                    time.sleep(wait)
        except Exception as exc:  # time-out, 4xx/5xx after retries, invalid JSON
            self._failed(purpose, type(exc).__name__, at_once=_unreachable(exc))
            raise LLMError(f"{purpose}: {type(exc).__name__}") from None
        finally:
            if usage is not None:
                usage.seconds += time.perf_counter() - started
        with self._lock:
            self._failures = 0
        return result

    def _retry_wait(self, exc: Exception, attempt: int) -> float | None:
        """Seconds to wait before retrying `exc`, or None when it is not worth a retry."""
        status = getattr(exc, "status_code", None)
        if attempt >= self.retries or not (status == 429 or (status or 0) >= 500):
            return None
        wait = 0.5 * 2**attempt * (1 + random.random() / 4)
        response = getattr(exc, "response", None)
        asked = getattr(response, "headers", {}).get("retry-after") if response else None
        if asked and asked.replace(".", "", 1).isdigit():
            wait = float(asked)
        return min(wait, self.max_retry_wait)

    def _failed(self, purpose: str, why: str, *, at_once: bool = False) -> None:
        usage = _USAGE.get()
        if usage is not None:
            usage.failures += 1
        with self._lock:
            self._failures += 1
            if at_once or self._failures >= self.failures_to_open:
                self._open_until = self._clock() + self.open_seconds
                self._failures = 0
                log.warning("LLM circuit open for %.0f s after repeated failures (last: %s, %s)",
                            self.open_seconds, purpose, why)  # fmt: skip
            else:
                log.warning("LLM call failed (%s, %s)", purpose, why)

    def _count(self, message: Any) -> None:
        usage = _USAGE.get()
        meta = getattr(message, "usage_metadata", None) or {}
        if usage is not None:
            usage.prompt_tokens += int(meta.get("input_tokens", 0) or 0)
            usage.completion_tokens += int(meta.get("output_tokens", 0) or 0)


def _unreachable(exc: Exception) -> bool:
    """A time-out or a refused connection: the endpoint is down or too slow right now."""
    names = {cls.__name__ for cls in type(exc).__mro__}
    return bool(names & {"APITimeoutError", "APIConnectionError", "TimeoutException",
                         "ConnectError", "TimeoutError"})  # fmt: skip


_FENCED = re.compile(r"```(?:json)?\s*(.*?)```", re.DOTALL)


def read_json_as(schema: type[M], content: str) -> M:
    """`content` as `schema`: the JSON object in it (inside a ``` fence, or the outermost
    braces among other words), with each left-out field that may be empty set empty
    (None, or [] for a list). ValueError or ValidationError when there is none to read."""
    fenced = _FENCED.search(content)
    text = fenced.group(1) if fenced else content
    start, end = text.find("{"), text.rfind("}")
    if start < 0 or end < start:
        raise ValueError("no JSON object in the output")
    data = json.loads(text[start : end + 1])
    if not isinstance(data, dict):
        raise ValueError("the output is not a JSON object")
    for name, spec in schema.model_fields.items():
        if name in data or not spec.is_required():
            continue
        if type(None) in typing.get_args(spec.annotation):
            data[name] = None
        elif typing.get_origin(spec.annotation) is list:
            data[name] = []
    return schema.model_validate(data)


class _Streamed:
    """The chat model asked for a token stream: the chunks add up to the same message
    `invoke` would return, and each longer shown prefix of the draft goes to `sink`."""

    def __init__(self, model: Any, shown: Callable[[str], str], sink: Callable[[str], None]):
        self.model, self.shown, self.sink = model, shown, sink
        self.passed = ""

    def invoke(self, messages: Any) -> Any:
        message, draft = None, ""
        for chunk in self.model.stream(messages):
            message = chunk if message is None else message + chunk
            draft += chunk.content if isinstance(chunk.content, str) else ""
            self._pass(self.shown(draft))
        if message is None:
            raise LLMError("the model's stream ended without a message")
        return message

    def _pass(self, visible: str) -> None:
        # Only growth is shown: a retried stream starts over and must not flicker back.
        if len(visible) <= len(self.passed) or not visible.startswith(self.passed):
            return
        self.passed = visible
        try:
            self.sink(visible)
        except Exception:  # the watcher is gone (the chat moved on): the answer still counts
            log.warning("the words of a streamed answer could not be passed on", exc_info=True)
            self.sink = lambda _text: None


_SENTENCE_END = re.compile(r"(?:[.!?。]|\n)(?=\s)")


def checked_sentences(draft: str, ok: Callable[[str], bool]) -> str:
    """The whole sentences at the start of `draft` up to the first one `ok` refuses: what
    may be shown of an answer still being written (a sentence is whole once the next
    begins, so "3." of "3.5" never counts as an end)."""
    shown, start = "", 0
    for end in _SENTENCE_END.finditer(draft):
        sentence = draft[start : end.end()]
        if not ok(sentence):
            break
        shown, start = draft[: end.end()], end.end()
    return shown.strip()


@contextlib.contextmanager
def words_to(sink: Callable[[str], None]) -> Iterator[None]:
    """Stream the model answers written inside the block (this thread or task) to `sink`."""
    token = _WORDS.set(sink)
    try:
        yield
    finally:
        _WORDS.reset(token)


@contextlib.contextmanager
def metered() -> Iterator[Usage]:
    """Sum the LLM calls made inside the block (in this thread or task) into one Usage;
    inside an outer block (a bench counting whole answers) they count there too."""
    outer = _USAGE.get()
    usage = Usage(answer_id=outer.answer_id) if outer is not None else Usage()
    token = _USAGE.set(usage)
    try:
        yield usage
    finally:
        _USAGE.reset(token)
        if outer is not None:
            outer.add(usage)


def answer_id() -> str:
    """The id of the answer being metered, for a log line about it ("-" outside one)."""
    usage = _USAGE.get()
    return usage.answer_id if usage is not None else "-"
