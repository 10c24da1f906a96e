"""Teams streaming and suggested actions: how a slow answer shows progress in a personal
chat, and how a text-only answer offers its next questions.

A stream (Microsoft's "Stream bot messages") is three kinds of activity on one
`streamId`: an informative `typing` line ("지난주 매출 변화를 분석하고 있어요…", its
response id becomes the streamId), optional `streaming` chunks of the words so far, and
the final `message` carrying the answer. Teams allows it in 1:1 chats only, one stream
per chat, finished within 2 minutes; group chats and channels refuse it (the Agents
Playground answers 405 or 400), so they keep the typing dot and a single reply.

With a model configured, its words are chunks as they come: the answering thread
passes each longer checked prefix of the draft to a `Words` feed (dialogs/llm.py
`words_to`), and `pump` sends the latest of it at most every `CHUNK_SECONDS`, each
chunk after the previous one was accepted. Offline answers have no words to stream:
the informative line, then the final message.

botbuilder 4.17's `Entity` serialises only `type`; `StreamInfo` declares the other
fields so msrest keeps them on the wire.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any, ClassVar

from botbuilder.core import TurnContext
from botbuilder.schema import (
    ActionTypes,
    Activity,
    ActivityTypes,
    CardAction,
    Entity,
    SuggestedActions,
)

from dialogs.context import Reply
from dialogs.followups import suggested_questions

log = logging.getLogger(__name__)

# An answer slower than this gets the informative line first ("more than about a second").
STREAM_AFTER_SECONDS = 1.0
# Teams ends a stream after 2 minutes; a later answer is a plain message, with margin.
STREAM_LIFETIME_SECONDS = 110.0
# Teams refuses an informative line over 1 KB.
MAX_INFORMATIVE_BYTES = 1024
# Microsoft asks for tokens buffered 1-2 s between chunks (throttling).
CHUNK_SECONDS = 1.5

Send = Callable[[Activity], Awaitable[Any]]


class StreamInfo(Entity):
    """The `streaminfo` entity, with the fields botbuilder's `Entity` would drop."""

    _attribute_map: ClassVar[dict[str, dict[str, str]]] = {
        "type": {"key": "type", "type": "str"},
        "stream_id": {"key": "streamId", "type": "str"},
        "stream_type": {"key": "streamType", "type": "str"},
        "stream_sequence": {"key": "streamSequence", "type": "int"},
    }

    def __init__(
        self,
        *,
        stream_type: str,
        stream_id: str | None = None,
        stream_sequence: int | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(type="streaminfo", **kwargs)
        self.stream_type = stream_type
        self.stream_id = stream_id
        self.stream_sequence = stream_sequence


def can_stream(activity: Activity) -> bool:
    """Only a message in a personal chat may be answered with a stream."""
    conversation = activity.conversation
    return (
        activity.type == ActivityTypes.message
        and conversation is not None
        and getattr(conversation, "conversation_type", None) == "personal"
    )


def cut_to_bytes(text: str, limit: int) -> str:
    """`text` in at most `limit` UTF-8 bytes (a Korean syllable is three)."""
    data = text.encode("utf-8")
    if len(data) <= limit:
        return text
    return data[: limit - 3].decode("utf-8", errors="ignore") + "…"


class Stream:
    """One open stream in a personal chat: its id and when it began."""

    def __init__(self, stream_id: str, *, clock: Callable[[], float] = time.monotonic) -> None:
        self.stream_id = stream_id
        self._clock = clock
        self.started = clock()
        self.sequence = 1  # the informative line was 1
        self.chunks = 0

    @classmethod
    async def open(cls, turn_context: TurnContext, line: str) -> Stream | None:
        """Send the informative line; the stream, or None when the channel refused it
        (a group chat, an older client): the caller then replies as it always did."""
        informative = Activity(
            type=ActivityTypes.typing,
            text=cut_to_bytes(line, MAX_INFORMATIVE_BYTES),
            entities=[StreamInfo(stream_type="informative", stream_sequence=1)],
        )
        try:
            response = await turn_context.send_activity(informative)
        except Exception as error:  # refused: no stream, a plain reply follows
            log.info("streaming refused (%s); replying without a stream", error)
            return None
        if response is None or not response.id:
            return None
        return cls(response.id)

    @property
    def expired(self) -> bool:
        """Past Teams' 2-minute limit: the final message can no longer join the stream."""
        return self._clock() - self.started > STREAM_LIFETIME_SECONDS

    def final_entity(self) -> StreamInfo:
        return StreamInfo(stream_type="final", stream_id=self.stream_id)

    async def chunk(self, send: Send, text: str) -> None:
        """The words so far, as the stream's next chunk. The number is taken before the
        send, so a chunk whose answer was lost is never numbered twice."""
        self.sequence += 1
        await send(
            Activity(
                type=ActivityTypes.typing,
                text=text,
                entities=[
                    StreamInfo(
                        stream_type="streaming",
                        stream_id=self.stream_id,
                        stream_sequence=self.sequence,
                    )
                ],
            )
        )
        self.chunks += 1


class Words:
    """The model's words so far, handed from the answering thread to the event loop."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self.text = ""
        self.changed = asyncio.Event()

    def __call__(self, text: str) -> None:
        """Called from the answering thread (dialogs/llm.py) with each longer draft."""
        self._loop.call_soon_threadsafe(self._set, text)

    def _set(self, text: str) -> None:
        self.text = text
        self.changed.set()


class Sender:
    """How chunks reach the chat: the turn's own context while the turn lasts, then a
    proactive send once the answer outlives the reply budget (bot/handler.py swaps it)."""

    def __init__(self, send: Send) -> None:
        self.send = send

    async def __call__(self, activity: Activity) -> Any:
        return await self.send(activity)


async def pump(
    stream: Stream, words: Words, send: Send, answered: asyncio.Future, *,
    every: float = CHUNK_SECONDS,
) -> None:  # fmt: skip
    """Send the words as chunks until the answer is ready: the latest text, each chunk
    after the previous one succeeded, then a pause of `every` seconds to gather more.
    A refused chunk ends the chunks, not the answer: its final message still follows."""
    sent = ""
    while not answered.done() and not stream.expired:
        changed = asyncio.ensure_future(words.changed.wait())
        await asyncio.wait({changed, answered}, return_when=asyncio.FIRST_COMPLETED)
        changed.cancel()
        if answered.done() or stream.expired:
            return
        words.changed.clear()
        if not words.text or words.text == sent:
            continue
        try:
            await stream.chunk(send, words.text)
        except Exception as error:
            log.info("a stream chunk was refused (%s); the final message will follow", error)
            return
        sent = words.text
        await asyncio.wait({answered}, timeout=every)


def dress(turn_context: TurnContext, reply: Reply | None, stream: Stream | None = None) -> None:
    """Make the next message sent on `turn_context` (the reply itself) end `stream` and
    carry the reply's suggested next questions. No reply (answering failed): the apology
    that follows ends the stream, so the progress line does not hang until Teams drops it.

    Done as a send hook so the code that builds the reply's activities stays as it is;
    only the first message is changed (a reply may send more than one)."""
    final = stream.final_entity() if stream is not None and not stream.expired else None
    questions = suggested_questions(reply) if reply is not None else []
    if final is None and not questions:
        return
    done = False

    async def hook(
        _context: TurnContext, activities: list[Activity], next_send: Callable[[], Awaitable]
    ) -> None:
        nonlocal done
        for activity in activities:
            if done or activity.type != ActivityTypes.message:
                continue
            done = True
            if final is not None:
                activity.entities = [*(activity.entities or []), final]
            if questions and not activity.attachments:
                activity.suggested_actions = suggested_actions(questions)
        await next_send()

    turn_context.on_send_activities(hook)


def suggested_actions(questions: list[str]) -> SuggestedActions:
    """imBack buttons whose title is the value: a click sends the question as typed."""
    return SuggestedActions(
        actions=[CardAction(type=ActionTypes.im_back, title=q, value=q) for q in questions]
    )
