"""Scheduled work in the bot process: the 5-minute risk check, the morning summaries,
and delivering what the ledger holds.

APScheduler runs the jobs with a persistent job store (the state database), so a
restart keeps the schedule; after downtime each job runs once to catch up (coalesce,
misfire grace) instead of a storm of missed runs. When several bot instances run, every
job first takes the "scheduler" lease in the state store: only the leader does the work.

Nothing here sends directly: alerts and summaries go into the delivery ledger, keyed by
alert id or by day, and the deliverer sends each (key, conversation) once. A later alert
of an episode already alerted is no new card: it updates that card in place.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import importlib.util
import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.schedulers.asyncio import AsyncIOScheduler

import cards
from bot.delivery import Deliverer
from bot.state import State
from bot.state.ledger import NOT_POSTED
from kpi.insights.summary import daily_summary

log = logging.getLogger(__name__)

LEASE = "scheduler"
LEASE_SECONDS = 90  # longer than the longest gap between two jobs' runs (60 s)
WINDOW = dt.timedelta(minutes=5)
CATCH_UP_WINDOWS = 12
DELIVER_EVERY_SECONDS = 5  # retries fall due within seconds (backoff from 2 s)


@dataclass
class Runtime:
    """What the jobs need; set by bot/app.py when the scheduler starts."""

    state: State
    warehouse: Any
    zone: ZoneInfo
    deliverer: Deliverer
    now: Callable[[], dt.datetime]
    thresholds: Any = None  # kpi.insights.alerts.Thresholds; None: the defaults
    # The scheduled news ingest (COMMERCY_NEWS_FEEDS): feeds, where, topics, and the
    # chat model's scorer (None: the lexicon).
    news_feeds: tuple[str, ...] = ()
    news_path: str = ""
    news_topics: Any = None  # news.topics.Topics; None: the defaults
    news_scorer: Any = None
    # Who leads: stable across a restart of the same instance (bot/app.py passes host
    # and port), so a bot back from a crash leads again at once instead of waiting for
    # its own old lease to lapse.
    holder: str = field(default_factory=lambda: uuid.uuid4().hex)


RUNTIME: Runtime | None = None


def _leader() -> Runtime | None:
    runtime = RUNTIME
    if runtime is None or not runtime.state.leases.acquire(LEASE, runtime.holder, LEASE_SECONDS):
        return None
    return runtime


async def deliver() -> None:
    """Send what is due in the ledger (retries included)."""
    runtime = _leader()
    if runtime is not None:
        await runtime.deliverer.deliver_due()


async def morning_summaries() -> None:
    """Queue today's summary for every conversation whose summary time has passed.

    Keyed by day, so it goes out once per conversation per day however often this
    runs, and a bot that was down at 09:00 still sends it when it comes back."""
    runtime = _leader()
    if runtime is None:
        return
    now = runtime.now().astimezone(runtime.zone)
    due = [
        conversation_id
        for conversation_id in runtime.state.conversations.subscribers()
        if (subscription := runtime.state.conversations.subscription(conversation_id)) is not None
        and subscription.summary_time <= f"{now:%H:%M}"
    ]
    if not due:
        return
    day = now.date() - dt.timedelta(days=1)
    summary = await asyncio.to_thread(daily_summary, runtime.warehouse, day, zone=runtime.zone.key)
    for conversation_id in due:
        stored = runtime.state.conversations.get(conversation_id)
        lang = stored.lang if stored else "ko"
        card = cards.summary_card(summary, lang=lang)
        text = f"{day:%m/%d} KPI 요약" if lang == "ko" else f"KPI summary for {day:%b %d}"
        runtime.state.ledger.enqueue(f"summary:{now.date()}", [conversation_id], card, text)
    await runtime.deliverer.deliver_due()


def windows_to_check(last_checked: dt.datetime | None, now: dt.datetime) -> list[dt.datetime]:
    """The ends of the 5-minute windows to check at `now`: the one that just ended, and
    after downtime each one missed since the last check, at most an hour of them (older
    news is no alert; the morning summary covers it)."""
    at = now.replace(minute=now.minute - now.minute % 5, second=0, microsecond=0)
    if last_checked is None:
        return [at]
    if last_checked >= at:  # this window was checked already (a restart within it)
        return []
    first = max(last_checked + WINDOW, at - (CATCH_UP_WINDOWS - 1) * WINDOW)
    count = int((at - first) / WINDOW) + 1
    return [first + i * WINDOW for i in range(count)]


async def risk_check() -> None:
    """Evaluate the alert rules on the 5-minute windows that ended since the last check."""
    runtime = _leader()
    if runtime is None:
        return
    from kpi.insights.alerts import Alert, evaluate, quieted  # the rules: kpi/insights/alerts.py

    now = runtime.now().astimezone(runtime.zone)
    mark = runtime.state.alerts.checked()
    last = dt.datetime.fromisoformat(mark) if mark else None
    # Alerts of the last day, so each rule's cooldown holds across restarts and leaders.
    previous = [Alert.from_dict(a) for a in runtime.state.alerts.recent(86_400)]
    options = {"thresholds": runtime.thresholds} if runtime.thresholds is not None else {}
    for at in windows_to_check(last, now):
        alerts = await asyncio.to_thread(
            evaluate, runtime.warehouse, at, zone=runtime.zone, previous=previous, **options
        )
        previous += alerts
        deliveries = []
        updates = []
        for alert in alerts:
            carded: set[str] = set()
            if alert.is_update:
                episode_updates = _episode_updates(runtime, alert)
                updates += episode_updates
                carded = {conversation_id for _, _, conversation_id, _, _ in episode_updates}
            # A chat without the episode's card (subscribed mid-incident, or its snooze
            # has run out) gets one with the latest state, keyed by the episode so the
            # next checks update it too.
            for conversation_id in runtime.state.conversations.subscribers(alerts=True):
                if conversation_id in carded or runtime.state.alerts.snoozed(
                    conversation_id, alert.rule, alert.scope
                ):
                    continue
                card, text = _alert_card(runtime, alert, conversation_id)
                deliveries.append((alert.episode, conversation_id, card, text))
        # An episode quiet for two checks: its card says the store is back to normal.
        for last in quieted(previous, at, every=WINDOW):
            updates += _episode_updates(runtime, last, quiet_since=at)
        outcomes = runtime.state.alerts.record(
            [alert.to_dict() for alert in alerts],
            deliveries,
            updates=updates,
            checked=at.isoformat(),
        )
        for (key, episode, conversation_id, _, _), outcome in zip(updates, outcomes, strict=True):
            if outcome == NOT_POSTED:
                log.info("alert %s: episode %s has no posted card in %s to update",
                         key, episode, conversation_id)  # fmt: skip
    await runtime.deliverer.deliver_due()


def _alert_card(
    runtime: Runtime, alert: Any, conversation_id: str, quiet_since: dt.datetime | None = None
) -> tuple[dict[str, Any], str]:
    """The alert's card and notification text in the conversation's language."""
    stored = runtime.state.conversations.get(conversation_id)
    lang = stored.lang if stored else "ko"
    card = cards.alert_card(alert, lang=lang, zone=runtime.zone, quiet_since=quiet_since)
    message = alert.message_ko if lang == "ko" else alert.message_en
    if quiet_since is not None:
        return (
            card,
            f"정상으로 돌아왔어요: {message}" if lang == "ko" else f"Back to normal: {message}",
        )
    return card, message


def _episode_updates(
    runtime: Runtime, alert: Any, quiet_since: dt.datetime | None = None
) -> list[tuple[str, str, str, dict, str]]:
    """A later alert of an episode (issue 19), or its end (`quiet_since`): an update of
    the episode's card in every conversation that has one, as (update key, episode id,
    conversation, card, summary). Snoozes do not apply: editing a message notifies
    nobody, and a snooze stops new cards. Conversations without the card get a new one
    (risk_check); an episode that ended sends none."""
    key = f"{alert.alert_id}|quiet" if quiet_since is not None else alert.alert_id
    conversations = runtime.state.ledger.conversations_with(alert.episode)
    return [
        (key, alert.episode, conversation_id,
         *_alert_card(runtime, alert, conversation_id, quiet_since))
        for conversation_id in conversations
    ]  # fmt: skip


async def news_ingest() -> None:
    """Read the configured feeds into the news store (the 뉴스 tab, "오늘 뉴스 분위기 어때?").
    A feed that fails is logged and the others go on; a re-read adds no duplicate."""
    runtime = _leader()
    if runtime is None or not runtime.news_feeds:
        return
    from news import NewsStore, ingest
    from news.topics import DEFAULT_TOPICS

    def run() -> Any:
        with NewsStore(runtime.news_path) as store:
            return ingest(runtime.news_feeds, store, topics=runtime.news_topics or DEFAULT_TOPICS,
                          scorer=runtime.news_scorer)  # fmt: skip

    report = await asyncio.to_thread(run)
    (log.warning if report.failed else log.info)("news ingest: %s", report.summary())


def start_scheduler(
    runtime: Runtime, state_url: str, *, risk_checks: bool = True, news_every_minutes: int = 60
) -> AsyncIOScheduler:
    """Start the jobs on the running event loop; the schedule persists in the state DB."""
    global RUNTIME
    RUNTIME = runtime
    scheduler = AsyncIOScheduler(
        jobstores={"default": SQLAlchemyJobStore(url=state_url, tablename="scheduled_jobs")},
        job_defaults={"coalesce": True, "misfire_grace_time": 600, "max_instances": 1},
        timezone=runtime.zone,
    )
    if risk_checks and importlib.util.find_spec("kpi.insights.alerts") is not None:
        scheduler.add_job(
            "bot.jobs:risk_check", "cron", minute="*/5", second=30, id="risk_check",
            replace_existing=True,
        )  # fmt: skip
    scheduler.add_job(
        "bot.jobs:morning_summaries", "cron", minute="*", second=5, id="morning_summaries",
        replace_existing=True,
    )  # fmt: skip
    if runtime.news_feeds:
        scheduler.add_job(
            "bot.jobs:news_ingest", "interval", minutes=news_every_minutes, id="news_ingest",
            replace_existing=True, next_run_time=dt.datetime.now(runtime.zone),  # at start too
        )  # fmt: skip
    scheduler.add_job(
        "bot.jobs:deliver", "interval", seconds=DELIVER_EVERY_SECONDS, id="deliver",
        replace_existing=True, next_run_time=dt.datetime.now(runtime.zone),  # what a crash left
    )  # fmt: skip
    scheduler.start()
    # The job store outlives the process: a job switched off since the last run (alerts
    # disabled, feeds unset) is still stored and would run; take it out before it can.
    for job_id, wanted in (("risk_check", risk_checks), ("news_ingest", bool(runtime.news_feeds))):
        if not wanted and scheduler.get_job(job_id) is not None:
            scheduler.remove_job(job_id)
    return scheduler
