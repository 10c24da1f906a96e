"""Proactive delivery: every card in the ledger reaches its conversation once.

Alerts and summaries are first written to the delivery ledger (bot/state/ledger.py), one row
per (alert, conversation); a row already there is never added again, so a re-run, a
second scheduler or a restart sends nothing twice. `Deliverer.deliver_due` then sends
what is pending through the Bot Connector:

- 429, 412 and 5xx (and network errors): retried later with exponential backoff and
  full jitter, never sooner than the connector's Retry-After;
- 403 (the app was removed or blocked there): the conversation is forgotten and its
  pending cards dropped, as Teams asks;
- any other 4xx: that card is dropped with a log line (resending cannot help);
- pacing per conversation within Teams' limits (7 messages a second, 60 in 30 s).

A crash (a SIGKILL, a host restart) loses nothing already in the ledger: rows still
pending go out when a deliverer runs again. The one card that can be in doubt is the
one in flight at that instant: marked 'sending' just before its POST and 'sent' just
after the answer. The Bot Connector's create-activity POST takes no idempotency key, so
after a crash nobody can tell whether Teams shows that card. The next deliverer marks
such a row 'unconfirmed' and does not send it again: the connector has almost always
received it by then (the gap between the mark and the request leaving is a millisecond;
the wait for the answer is the connector's whole processing time), so a resend would
almost always be a duplicate. It is logged with its key and conversation.

Updates (issue 19: an alert episode is one card, escalated in place) are rows of kind
'update' that rewrite a posted message (PUT) with the same retries, backoff and pacing
(Teams counts edits against the same limits). Right before the PUT the deliverer reads
the message's own row: its activity id (an update queued while the POST was in flight
learns it only then) and any acknowledgement, which the new card keeps. A 404 on an
update means that message was deleted: only the update is dropped, the conversation
stays. An update in flight at a crash is simply sent again: a PUT is idempotent.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import random
import time
from collections import defaultdict, deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import cards
from bot.state.conversations import Conversations
from bot.state.ledger import Delivery, Ledger

log = logging.getLogger(__name__)

RETRY_STATUSES = {412, 429, 500, 502, 503, 504}
BACKOFF_BASE_SECONDS = 2.0
BACKOFF_CAP_SECONDS = 300.0
# Teams: per bot per conversation 7 messages / 1 s and 60 / 30 s (1800 / h is looser).
PACING = ((7, 1.0), (60, 30.0))

# send(reference, card, summary, sending): posts the card and returns the new activity's
# id; calls sending() right before the POST, after any token fetch or client set-up.
Send = Callable[[dict[str, Any], dict[str, Any], str, Callable[[], None]], Awaitable[str | None]]
# update(reference, activity_id, card, summary, sending): rewrites that message with the
# card; calls sending() right before the PUT.
Update = Callable[[dict[str, Any], str, dict[str, Any], str, Callable[[], None]], Awaitable[object]]


@dataclass
class DeliveryReport:
    sent: int = 0
    retried: int = 0
    dropped: int = 0


class SendFailed(Exception):
    """A send the connector refused; `status` and `retry_after` come from its response."""

    def __init__(self, status: int | None, retry_after: float | None = None) -> None:
        super().__init__(f"connector answered {status}")
        self.status = status
        self.retry_after = retry_after


def failure_of(error: Exception) -> SendFailed:
    """The HTTP status and Retry-After of a botbuilder connector error, where it has them."""
    if isinstance(error, SendFailed):
        return error
    response = getattr(error, "response", None)
    status = None
    for name in ("status_code", "status"):
        value = getattr(response, name, None)
        if isinstance(value, int):
            status = value
            break
    headers = getattr(response, "headers", None) or {}
    retry_after = None
    try:
        raw = headers.get("Retry-After") if hasattr(headers, "get") else None
        retry_after = float(raw) if raw is not None else None
    except (TypeError, ValueError):
        retry_after = None
    return SendFailed(status, retry_after)


class ConversationPacer:
    """Waits as long as needed to stay within Teams' per-conversation rate limits."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self.sent: dict[str, deque[float]] = defaultdict(deque)

    def wait_seconds(self, conversation_id: str) -> float:
        now = self.clock()
        history = self.sent[conversation_id]
        longest = max(window for _, window in PACING)
        while history and now - history[0] > longest:
            history.popleft()
        wait = 0.0
        for limit, window in PACING:
            recent = [t for t in history if now - t < window]
            if len(recent) >= limit:
                wait = max(wait, recent[-limit] + window - now)
        return wait

    def record(self, conversation_id: str) -> None:
        self.sent[conversation_id].append(self.clock())


class Deliverer:
    def __init__(
        self,
        ledger: Ledger,
        conversations: Conversations,
        send: Send,
        *,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep,
        rng: random.Random | None = None,
        pacer: ConversationPacer | None = None,
        update: Update | None = None,
    ) -> None:
        self.ledger = ledger
        # Where each card goes, and the conversations a 403 says to forget.
        self.conversations = conversations
        self.send = send
        self.update = update  # None: updates are dropped with a log line
        self.clock = clock
        self.sleep = sleep
        self.rng = rng or random.Random()
        self.pacer = pacer or ConversationPacer()
        # One pass at a time: the jobs that queue cards also start a pass, and two passes
        # reading the same due rows would send them twice.
        self._pass = asyncio.Lock()
        self._settled = False

    async def deliver_due(self) -> DeliveryReport:
        """Send every pending card whose time has come; one pass."""
        async with self._pass:
            if not self._settled:
                self.settle_in_doubt()
                self._settled = True
            return await self._deliver_due()

    def settle_in_doubt(self) -> list[Delivery]:
        """Rows a crashed deliverer left 'sending': not sent again (see the module doc)."""
        in_doubt = self.ledger.settle_in_doubt()
        for delivery in in_doubt:
            log.warning(
                "%s for %s was in flight when the bot stopped; Teams has most likely shown "
                "it, so it is not sent again (marked unconfirmed)",
                delivery.delivery_key,
                delivery.conversation_id,
            )
        return in_doubt

    async def _deliver_due(self) -> DeliveryReport:
        report = DeliveryReport()
        for due in self.ledger.due(self.clock()):
            stored = self.conversations.get(due.conversation_id)
            if stored is None:  # uninstalled since the card was queued
                self.ledger.drop_conversation(due.conversation_id)
                report.dropped += 1
                continue
            wait = self.pacer.wait_seconds(due.conversation_id)
            if wait > 0:
                await self.sleep(wait)
            # Read again after the wait: a newer state of the episode may have replaced
            # the card, or superseded this update, while earlier rows went out.
            delivery = self.ledger.pending(due)
            if delivery is None:
                continue
            try:
                if delivery.kind == "update":
                    activity_id = await self._update(stored.reference, delivery)
                    if activity_id is None:
                        report.dropped += 1
                        continue
                else:
                    activity_id = await self.send(
                        stored.reference,
                        delivery.card,
                        delivery.summary,
                        lambda d=delivery: self.ledger.mark_sending(d),
                    )
            except Exception as error:
                self._failed(delivery, failure_of(error), report)
                continue
            self.pacer.record(delivery.conversation_id)
            self.ledger.mark_sent(delivery, activity_id)
            report.sent += 1
        return report

    async def _update(self, reference: dict[str, Any], delivery: Delivery) -> str | None:
        """Rewrite the message of the update's episode; None (and the row dropped) when
        there is no message to rewrite."""
        posted = self.ledger.posted(delivery.episode_key or "", delivery.conversation_id)
        target = delivery.target_activity_id or (posted.activity_id if posted else None)
        if self.update is None or target is None:
            log.warning(
                "update %s for %s dropped: %s", delivery.delivery_key, delivery.conversation_id,
                "no update function" if self.update is None else "its card was never posted",
            )  # fmt: skip
            self.ledger.drop(delivery)
            return None
        card = delivery.card
        if posted is not None and posted.acknowledged_by and posted.acknowledged_at:
            # The card someone acknowledged stays acknowledged with its new numbers.
            card = cards.acknowledged(
                card,
                name=posted.acknowledged_by,
                when=dt.datetime.fromisoformat(posted.acknowledged_at),
                lang=str(card.get("lang") or "ko"),
            )
        await self.update(
            reference, target, card, delivery.summary,
            lambda d=delivery: self.ledger.mark_sending(d),
        )  # fmt: skip
        return target

    def _failed(self, delivery: Delivery, failure: SendFailed, report: DeliveryReport) -> None:
        status = failure.status
        if status == 404 and delivery.kind == "update":
            # The message was deleted: nothing to rewrite, but the chat is still there.
            log.warning(
                "update %s for %s dropped: its message is gone (404)",
                delivery.delivery_key,
                delivery.conversation_id,
            )
            self.ledger.drop(delivery)
            report.dropped += 1
            return
        if status in (403, 404):
            # 403: the app was removed or blocked; 404 (ConversationNotFound): the chat is
            # gone, e.g. a Playground conversation from an earlier run. Either way nothing
            # will ever reach it: forget it instead of failing every card to it.
            log.warning(
                "%s from %s: the app was removed or the conversation is gone; forgetting it",
                status,
                delivery.conversation_id,
            )
            self.ledger.drop_conversation(delivery.conversation_id)
            self.conversations.forget(delivery.conversation_id)
            report.dropped += 1
            return
        if status is None or status in RETRY_STATUSES:
            backoff = min(BACKOFF_CAP_SECONDS, BACKOFF_BASE_SECONDS * 2**delivery.attempts)
            delay = self.rng.uniform(0, backoff)  # full jitter: retries do not stampede
            if failure.retry_after is not None:
                delay = max(delay, failure.retry_after)
            self.ledger.retry_later(delivery, self.clock() + delay)
            report.retried += 1
            return
        log.error(
            "dropping %s for %s: connector answered %s",
            delivery.delivery_key,
            delivery.conversation_id,
            status,
        )
        self.ledger.drop(delivery)
        report.dropped += 1
