"""Scheduled jobs: morning summaries once per conversation per day (also after
downtime), one leader among several bot processes, a schedule that survives restarts."""

from __future__ import annotations

import asyncio
import datetime as dt
import multiprocessing
import sqlite3
import time
from zoneinfo import ZoneInfo

from bot import jobs
from bot.delivery import Deliverer
from bot.state import State
from news import NewsStore
from news.sample import write_sample_feed
from tests.test_alerts import fresh, local, six_weeks_file, stuck  # noqa: F401 (fixtures)
from tests.test_bot import TODAY

SEOUL = ZoneInfo("Asia/Seoul")


def runtime(state: State, warehouse, when: dt.datetime, sent: list) -> jobs.Runtime:
    async def send(reference, card, summary, sending):
        sending()
        sent.append((reference["conversation"]["id"], summary))
        return f"m{len(sent)}"

    clock = [when]
    deliverer = Deliverer(state.ledger, state.conversations, send, sleep=lambda s: asyncio.sleep(0))
    return jobs.Runtime(state=state, warehouse=warehouse, zone=SEOUL, deliverer=deliverer,
                        now=lambda: clock[0])  # fmt: skip


def add_conversation(state: State, conversation_id: str, summary_time: str) -> None:
    state.conversations.save(
        conversation_id, {"conversation": {"id": conversation_id}}, scope="personal", lang="ko"
    )
    state.conversations.subscribe(conversation_id)
    state.conversations.set_summary_time(conversation_id, summary_time)


def test_each_conversation_gets_its_summary_once_a_day_at_its_own_time(tmp_path, four_weeks):
    state = State(tmp_path / "state.db")
    add_conversation(state, "early", "08:30")
    add_conversation(state, "usual", "09:00")
    sent: list = []
    jobs.RUNTIME = runtime(state, four_weeks, dt.datetime(2026, 11, 24, 8, 45, tzinfo=SEOUL), sent)
    try:
        asyncio.run(jobs.morning_summaries())
        asyncio.run(jobs.morning_summaries())  # the next minute: nothing new
        assert [c for c, _ in sent] == ["early"]
        jobs.RUNTIME.now = lambda: dt.datetime(
            2026, 11, 24, 11, 0, tzinfo=SEOUL
        )  # back after downtime
        asyncio.run(jobs.morning_summaries())
        assert sorted(c for c, _ in sent) == ["early", "usual"]
        assert "11/23" in sent[0][1]
    finally:
        jobs.RUNTIME = None


def _hold(path: str, holder: str, seconds: float, results, led=None) -> None:
    state = State(path)
    won = []
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        if state.leases.acquire("scheduler", holder, 0.5):
            won.append(time.time())
            if led is not None:
                led.set()
        time.sleep(0.02)
    results.put((holder, won))


def test_of_two_bot_processes_only_one_leads_and_the_other_takes_over_when_it_stops(tmp_path):
    path = str(tmp_path / "state.db")
    State(path).close()
    context = multiprocessing.get_context("spawn")
    results = context.Queue()
    led = context.Event()  # the second starts once the first leads, however slow its start
    first = context.Process(target=_hold, args=(path, "first", 2.0, results, led))
    second = context.Process(target=_hold, args=(path, "second", 4.0, results))
    first.start()
    assert led.wait(timeout=60), "the first process never led"
    second.start()
    outcome = dict(results.get(timeout=60) for _ in range(2))
    first.join(), second.join()
    assert outcome["first"], "the first process led"
    first_end = max(outcome["first"])
    # While the first renewed its lease the second never led; after it stopped it did.
    assert outcome["second"] and min(outcome["second"]) > first_end


def test_the_schedule_persists_and_a_restart_keeps_one_copy_of_each_job(tmp_path, four_weeks):
    url = f"sqlite:///{tmp_path / 'state.db'}"
    state = State(tmp_path / "state.db")

    async def start_and_stop() -> list[str]:
        scheduler = jobs.start_scheduler(
            runtime(state, four_weeks, dt.datetime.now(SEOUL), []), url
        )
        scheduled = scheduler.get_jobs()
        # After downtime: one catch-up run per job, not one per missed slot.
        assert all(job.coalesce and job.misfire_grace_time == 600 for job in scheduled)
        ids = sorted(job.id for job in scheduled)
        scheduler.shutdown(wait=False)
        return ids

    try:
        assert asyncio.run(start_and_stop()) == ["deliver", "morning_summaries", "risk_check"]
        assert asyncio.run(start_and_stop()) == ["deliver", "morning_summaries", "risk_check"]
        with sqlite3.connect(tmp_path / "state.db") as db:
            stored = [row[0] for row in db.execute("SELECT id FROM scheduled_jobs ORDER BY id")]
        assert stored == ["deliver", "morning_summaries", "risk_check"]
    finally:
        jobs.RUNTIME = None


def test_the_risk_check_looks_at_the_window_that_just_ended_and_at_most_an_hour_missed():
    at = dt.datetime(2026, 11, 24, 14, 0, tzinfo=SEOUL)
    assert jobs.windows_to_check(None, at + dt.timedelta(minutes=2)) == [at]
    assert jobs.windows_to_check(at, at + dt.timedelta(minutes=4)) == []  # checked already
    after_downtime = jobs.windows_to_check(at, at + dt.timedelta(minutes=21))
    assert [f"{w:%H:%M}" for w in after_downtime] == ["14:05", "14:10", "14:15", "14:20"]
    long_gone = jobs.windows_to_check(at, at + dt.timedelta(hours=5))
    assert len(long_gone) == jobs.CATCH_UP_WINDOWS
    assert long_gone[-1] == at + dt.timedelta(hours=5)


def test_a_bottleneck_during_downtime_is_raised_once_when_the_bot_is_back(stuck, tmp_path):  # noqa: F811
    """The bot checked 14:00, was down while a payment page hung (14:02-14:22) and came
    back at 14:47: its one catch-up run checks the missed windows and raises the
    bottleneck once, one episode (the later windows update its card before it is even
    sent); the next run in the same window raises nothing more."""
    state = State(tmp_path / "state.db")
    add_conversation(state, "team", "09:00")
    sent: list = []
    jobs.RUNTIME = runtime(state, stuck, local(14, 1), sent)
    try:
        asyncio.run(jobs.risk_check())
        assert sent == []
        jobs.RUNTIME.now = lambda: local(14, 47)
        asyncio.run(jobs.risk_check())
        asyncio.run(jobs.risk_check())
        raised = state.alerts.recent(86_400)
        assert {alert["rule"] for alert in raised} == {"checkout_bottleneck"}
        assert {alert["episode_id"] or alert["alert_id"] for alert in raised} == {
            raised[0]["alert_id"]
        }
        assert [conversation for conversation, _ in sent] == ["team"]
        assert state.alerts.checked() == local(14, 45).isoformat()
    finally:
        jobs.RUNTIME = None


# -- the news job ------------------------------------------------------------------------


def test_the_scheduled_ingest_reads_the_feeds_once_and_goes_on_past_a_broken_one(
    tmp_path, four_weeks, caplog
):
    feed = write_sample_feed(tmp_path / "news-sample.xml", TODAY)
    broken = tmp_path / "broken.xml"
    broken.write_text("<rss><channel><item><title>half", encoding="utf-8")
    news_path = tmp_path / "news.sqlite3"
    state = State(tmp_path / "state.db")
    jobs.RUNTIME = runtime(state, four_weeks, dt.datetime(2026, 11, 24, 9, tzinfo=SEOUL), [])
    jobs.RUNTIME.news_feeds = (str(broken), str(feed), str(tmp_path / "gone.xml"))
    jobs.RUNTIME.news_path = str(news_path)
    try:
        asyncio.run(jobs.news_ingest())
        asyncio.run(jobs.news_ingest())  # the next run: the same stories, nothing twice
    finally:
        jobs.RUNTIME = None
    with NewsStore(news_path) as store:
        assert store.count() == 40
    failures = [
        r.getMessage() for r in caplog.records if r.name == "bot.jobs" and r.levelname == "WARNING"
    ]
    assert failures and "gone.xml: no such file" in failures[0] and "40 added" in failures[0]


def test_the_news_job_is_scheduled_only_while_feeds_are_set(tmp_path, four_weeks):
    url = f"sqlite:///{tmp_path / 'state.db'}"
    state = State(tmp_path / "state.db")

    async def scheduled(feeds: tuple[str, ...]) -> list[str]:
        now = dt.datetime.now(SEOUL)
        run = runtime(state, four_weeks, now, [])
        run.news_feeds, run.news_path = feeds, str(tmp_path / "news.sqlite3")
        scheduler = jobs.start_scheduler(run, url, news_every_minutes=30)
        ids = sorted(job.id for job in scheduler.get_jobs())
        scheduler.shutdown(wait=False)
        return ids

    try:
        assert "news_ingest" in asyncio.run(scheduled(("https://news.example.com/rss",)))
        assert "news_ingest" not in asyncio.run(scheduled(()))  # unset: gone from the store
    finally:
        jobs.RUNTIME = None
