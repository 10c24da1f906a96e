"""Issue 19: an alert episode is one card in the chat, escalated in place.

The real bot (aiohttp, CloudAdapter) against the recording Bot Connector double, a real
SQLite state in tmp_path, and `bot.jobs.risk_check` as the scheduler runs it. The alerts
are built with the `Alert` dataclass and handed to the risk check by monkeypatching
`kpi.insights.alerts.evaluate`: these tests check the wiring from an alert to the chat
(the detectors that decide when an episode goes on are tested in tests/test_alerts.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import json
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from aiohttp import ClientSession

import kpi.insights.alerts as rules
from bot import jobs
from bot.app import DELIVERER, STATE
from bot.delivery import ConversationPacer, Deliverer
from bot.settings import Settings
from bot.state import State
from kpi.insights.alerts import Alert
from tests.doubles.botkit import activity, post, running_bot
from tests.test_bot import TODAY

SEOUL = ZoneInfo("Asia/Seoul")
CONVERSATION = "team"


def at(hour: int, minute: int) -> dt.datetime:
    return dt.datetime(2026, 11, 24, hour, minute, tzinfo=SEOUL)


def bottleneck(end: dt.datetime, severity: str, *, episode_id: str = "", value: float = 9.0,
               scope: str = "step:/payment.html") -> Alert:  # fmt: skip
    return Alert(
        rule="checkout_bottleneck",
        severity=severity,  # type: ignore[arg-type]
        window_start=end - dt.timedelta(minutes=30),
        window_end=end,
        scope=scope,
        value=value,
        expected=1.0,
        score=5.0,
        message_ko=f"결제 단계에서 오래 머문 세션 {value:g}건",
        message_en=f"{value:g} sessions stuck at payment",
        onset=at(13, 50),
        episode_id=episode_id,
    )


WARNING = bottleneck(at(14, 0), "warning")
CRITICAL = bottleneck(at(14, 5), "critical", episode_id=WARNING.alert_id, value=30.0)


@pytest.fixture
def settings(tmp_path, monkeypatch) -> Settings:
    monkeypatch.chdir(tmp_path)
    return Settings(COMMERCY_TIMEZONE="Asia/Seoul", MicrosoftAppId="")


@pytest.fixture
def raised(monkeypatch) -> dict[dt.datetime, list[Alert]]:
    """What the rules "raise" at each window's end: the test fills it."""
    prepared: dict[dt.datetime, list[Alert]] = {}
    monkeypatch.setattr(rules, "evaluate", lambda _w, end, **_: list(prepared.get(end, [])))
    return prepared


class Clock:
    """The jobs' wall clock and the deliverer's, moved by the test (retries fall due)."""

    def __init__(self, now: dt.datetime) -> None:
        self.now = now
        self.offset = 0.0

    def seconds(self) -> float:
        return time.time() + self.offset


def make_deliverer(app, state: State, clock: Clock) -> Deliverer:
    bot_deliverer: Deliverer = app[DELIVERER]
    return Deliverer(
        state.ledger,
        state.conversations,
        bot_deliverer.send,
        update=bot_deliverer.update,
        clock=clock.seconds,
        sleep=lambda _s: asyncio.sleep(0),
        pacer=ConversationPacer(clock=clock.seconds),
    )


async def risk_check(app, clock: Clock, now: dt.datetime, *, state: State | None = None,
                     deliverer: Deliverer | None = None) -> None:  # fmt: skip
    state = state or app[STATE]
    clock.now = now
    jobs.RUNTIME = jobs.Runtime(
        state=state, warehouse=None, zone=SEOUL,
        deliverer=deliverer or make_deliverer(app, state, clock), now=lambda: clock.now,
        holder="test",  # one leader across the runs, whatever State they use
    )  # fmt: skip
    try:
        await jobs.risk_check()
    finally:
        jobs.RUNTIME = None


async def install(http, base, connector, conversation: str = CONVERSATION) -> None:
    body = activity(
        kind="installationUpdate", connector=connector, action="add", conversation=conversation
    )
    await post(http, base, body)
    await connector.wait_for(conversation, 1)  # the welcome card
    connector.sent.clear()


def alert_cards(connector, conversation: str = CONVERSATION) -> list[dict]:
    return connector.cards(conversation)


def put_cards(connector) -> list[tuple[str, dict]]:
    """(activity id, card) of every PUT the connector saw."""
    return [(activity_id, body["attachments"][0]["content"])
            for activity_id, body in connector.updated]  # fmt: skip


def texts(card: dict) -> str:
    return json.dumps(card, ensure_ascii=False)


def click(connector, verb: str, card: dict, reply_to: str,
          conversation: str = CONVERSATION) -> dict:  # fmt: skip
    """Press a button of `card` as Teams sends it: the data its Action.Execute carries."""
    action = next(a for a in card["actions"] if a["verb"] == verb)
    return activity(
        kind="invoke",
        connector=connector,
        conversation=conversation,
        name="adaptiveCard/action",
        replyToId=reply_to,
        value={"action": {"type": "Action.Execute", "verb": verb, "data": action["data"]}},
    )


@contextlib.asynccontextmanager
async def installed_bot(
    settings: Any, four_weeks: Any, tmp_path: Path
) -> AsyncIterator[tuple[str, Any, Any, ClientSession]]:
    """The bot on a state file in `tmp_path`, its connector double, a client, and the
    personal chat installed (subscribed to alerts)."""
    async with (
        running_bot(settings, four_weeks, today=TODAY, state_path=str(tmp_path / "s.db")) as (
            base,
            connector,
            app,
        ),
        ClientSession() as http,
    ):
        await install(http, base, connector)
        yield base, connector, app, http


def test_a_warning_escalated_to_critical_is_one_message_rewritten_in_place(
    settings, four_weeks, tmp_path, raised
):
    """One POST (the warning), one PUT to that message (the critical card), whose buttons
    still work: Acknowledge finds the episode's row, and a later check of the same
    episode rewrites the acknowledged card with its note. A snooze set after the first
    card does not stop the updates (an edit notifies nobody)."""
    raised[WARNING.window_end] = [WARNING]
    raised[CRITICAL.window_end] = [CRITICAL]

    async def scenario():
        async with installed_bot(settings, four_weeks, tmp_path) as (base, connector, app, http):
            clock = Clock(at(14, 1))
            state: State = app[STATE]
            await risk_check(app, clock, at(14, 1))
            [first] = alert_cards(connector)
            assert "🟠" in texts(first)
            message_id = state.ledger.sent_activity(WARNING.alert_id, CONVERSATION)
            assert message_id
            state.alerts.snooze(CONVERSATION, WARNING.rule, WARNING.scope, 3600)

            await risk_check(app, clock, at(14, 6))
            assert len(connector.messages(CONVERSATION)) == 1  # no second message
            [(target, updated)] = put_cards(connector)
            assert target == message_id
            assert "🔴" in texts(updated) and "30건" in texts(updated)
            assert state.ledger.counts() == {"sent": 2}  # the send and the update

            status, body = await post(http, base, click(connector, "ack", updated, message_id))
            assert status == 200
            acknowledged = json.loads(body)["value"]
            assert "🔴" in texts(acknowledged) and "✅ 확인: Marketer" in texts(acknowledged)
            assert connector.updated[-1][0] == message_id

            # The episode goes on: the acknowledged card takes the new numbers, keeps its note.
            raised[at(14, 10)] = [bottleneck(at(14, 10), "critical", episode_id=WARNING.alert_id,
                                             value=45.0)]  # fmt: skip
            await risk_check(app, clock, at(14, 11))
            target, latest = put_cards(connector)[-1]
            assert target == message_id and "45건" in texts(latest)
            assert latest["body"][-1] == acknowledged["body"][-1]
            assert len(connector.messages(CONVERSATION)) == 1

    asyncio.run(scenario())


def test_an_incident_that_stops_is_marked_back_to_normal_once_and_comes_back_if_it_does(
    settings, four_weeks, tmp_path, raised
):
    """Two quiet checks after the episode's last alert its card says the store is back to
    normal (one PUT, no new message, only Why? and Not useful left); more quiet checks
    change nothing; the incident firing again within its cooldown is the same episode,
    so the same card shows the alert again, and its next quiet spell ends it again."""
    raised[WARNING.window_end] = [WARNING]
    again = bottleneck(at(14, 20), "warning", episode_id=WARNING.alert_id, value=4.0)
    raised[again.window_end] = [again]

    async def scenario():
        async with installed_bot(settings, four_weeks, tmp_path) as (_base, connector, app, _h):
            clock = Clock(at(14, 1))
            state: State = app[STATE]
            await risk_check(app, clock, at(14, 1))
            message_id = state.ledger.sent_activity(WARNING.alert_id, CONVERSATION)
            await risk_check(app, clock, at(14, 6))  # one quiet check: could be chance
            assert put_cards(connector) == []
            await risk_check(app, clock, at(14, 11))  # two: ten minutes of nothing
            [(target, calm)] = put_cards(connector)
            assert target == message_id and "🟢 정상으로 돌아왔어요" in texts(calm)
            assert "13:50쯤 시작, 마지막 경보 14:00 · 14:10 기준 10분째 경보 없음" in texts(calm)
            assert [a["verb"] for a in calm["actions"]] == ["why", "not_useful"]
            await risk_check(app, clock, at(14, 16))
            await risk_check(app, clock, at(14, 16))  # a re-run of the same window
            assert len(put_cards(connector)) == 1

            await risk_check(app, clock, at(14, 21))  # it fires again: the alert is back
            assert "🟠" in texts(put_cards(connector)[-1][1])
            await risk_check(app, clock, at(14, 31))
            target, calm_again = put_cards(connector)[-1]
            assert target == message_id and "마지막 경보 14:20" in texts(calm_again)
            assert len(put_cards(connector)) == 3
            assert len(connector.messages(CONVERSATION)) == 1  # one message all along

    asyncio.run(scenario())


def test_an_update_before_the_first_send_went_out_changes_what_is_sent(
    settings, four_weeks, tmp_path, raised
):
    """The connector refuses the warning (429/503); before its retry the episode turns
    critical: the one POST carries the critical card, and nothing is PUT."""
    raised[WARNING.window_end] = [WARNING]
    raised[CRITICAL.window_end] = [CRITICAL]

    async def scenario():
        async with installed_bot(settings, four_weeks, tmp_path) as (base, connector, app, http):
            clock = Clock(at(14, 1))
            connector.failures = 1.0
            await risk_check(app, clock, at(14, 1))
            assert connector.refused == 1 and alert_cards(connector) == []

            connector.failures = 0.0
            clock.offset += 600  # the retry is due by the next check
            await risk_check(app, clock, at(14, 6))
            [card] = alert_cards(connector)
            assert "🔴" in texts(card) and "30건" in texts(card)
            assert connector.updated == []
            assert app[STATE].ledger.counts() == {"sent": 1}
            # Its buttons name the episode, whose row holds this card: Acknowledge works.
            message_id = app[STATE].ledger.sent_activity(WARNING.alert_id, CONVERSATION)
            status, body = await post(http, base, click(connector, "ack", card, message_id))
            assert status == 200 and "✅ 확인: Marketer" in texts(json.loads(body)["value"])

    asyncio.run(scenario())


def test_a_restart_sends_and_updates_nothing_twice(settings, four_weeks, tmp_path, raised):
    """The warning went out; the bot stopped with the critical update queued. A new
    State and Deliverer on the same file deliver the update once; re-recording the same
    alerts (a second leader re-running the window) adds nothing."""
    raised[WARNING.window_end] = [WARNING]
    raised[CRITICAL.window_end] = [CRITICAL]
    path = tmp_path / "s.db"

    async def scenario():
        async with (
            running_bot(settings, four_weeks, today=TODAY, state_path=str(path)) as (
                base,
                connector,
                app,
            ),
            ClientSession() as http,
        ):
            await install(http, base, connector)
            clock = Clock(at(14, 1))
            before = State(path)
            await risk_check(app, clock, at(14, 1), state=before)
            stopped = make_deliverer(app, before, clock)
            stopped.clock = lambda: 0.0  # the process stops before anything else is due
            await risk_check(app, clock, at(14, 6), state=before, deliverer=stopped)
            assert connector.updated == [] and before.ledger.counts() == {
                "sent": 1,
                "pending": 1,
            }
            before.close()

            after = State(path)
            deliverer = make_deliverer(app, after, clock)
            await risk_check(app, clock, at(14, 7), state=after, deliverer=deliverer)
            await deliverer.deliver_due()
            card, text = deliverer_inputs(CRITICAL)
            outcomes = after.alerts.record(
                [WARNING.to_dict(), CRITICAL.to_dict()],
                [(WARNING.alert_id, CONVERSATION, card, text)],
                updates=[(CRITICAL.alert_id, WARNING.alert_id, CONVERSATION, card, text)],
            )
            assert outcomes == ["already queued"]
            await deliverer.deliver_due()
            assert len(connector.messages(CONVERSATION)) == 1
            assert len(connector.updated) == 1
            assert after.ledger.counts() == {"sent": 2}
            after.close()

    asyncio.run(scenario())


def deliverer_inputs(alert: Alert) -> tuple[dict, str]:
    import cards

    return cards.alert_card(alert, lang="ko", zone=SEOUL), alert.message_ko


def test_an_acknowledged_card_keeps_its_acknowledgement_when_the_episode_escalates(
    settings, four_weeks, tmp_path, raised
):
    raised[WARNING.window_end] = [WARNING]
    raised[CRITICAL.window_end] = [CRITICAL]

    async def scenario():
        async with installed_bot(settings, four_weeks, tmp_path) as (base, connector, app, http):
            clock = Clock(at(14, 1))
            state: State = app[STATE]
            await risk_check(app, clock, at(14, 1))
            [first] = alert_cards(connector)
            message_id = state.ledger.sent_activity(WARNING.alert_id, CONVERSATION)
            status, body = await post(http, base, click(connector, "ack", first, message_id))
            assert status == 200
            note = json.loads(body)["value"]["body"][-1]["text"]
            assert note.startswith("✅ 확인: Marketer, ")

            await risk_check(app, clock, at(14, 6))
            target, updated = put_cards(connector)[-1]
            assert target == message_id
            assert "🔴" in texts(updated) and "30건" in texts(updated)
            assert updated["body"][-1]["text"] == note  # same name, same time
            assert "actions" not in updated  # acknowledged: no buttons come back

    asyncio.run(scenario())


def test_a_404_on_an_update_drops_the_update_and_keeps_the_conversation(
    settings, four_weeks, tmp_path, raised
):
    """Someone deleted the alert message: the PUT answers 404. Only that update is
    dropped; the chat stays subscribed (a 404 on a *send* would forget it)."""
    raised[WARNING.window_end] = [WARNING]
    raised[CRITICAL.window_end] = [CRITICAL]

    async def scenario():
        async with installed_bot(settings, four_weeks, tmp_path) as (_base, connector, app, _http):
            clock = Clock(at(14, 1))
            state: State = app[STATE]
            await risk_check(app, clock, at(14, 1))
            connector.deleted.add(state.ledger.sent_activity(WARNING.alert_id, CONVERSATION))
            await risk_check(app, clock, at(14, 6))
            assert connector.updated == []
            assert state.ledger.counts() == {"sent": 1, "dropped": 1}
            assert state.conversations.get(CONVERSATION) is not None
            assert state.conversations.subscribers(alerts=True) == [CONVERSATION]

    asyncio.run(scenario())


def test_an_alert_of_a_new_episode_sends_a_new_card(settings, four_weeks, tmp_path, raised):
    """Another scope starts its own episode at 14:05: a second message, nothing PUT."""
    other = bottleneck(at(14, 5), "warning", scope="step:/basket.html")
    raised[WARNING.window_end] = [WARNING]
    raised[other.window_end] = [other]

    async def scenario():
        async with installed_bot(settings, four_weeks, tmp_path) as (_base, connector, app, _http):
            clock = Clock(at(14, 1))
            await risk_check(app, clock, at(14, 1))
            await risk_check(app, clock, at(14, 6))
            assert len(alert_cards(connector)) == 2
            assert connector.updated == []
            assert app[STATE].ledger.counts() == {"sent": 2}

    asyncio.run(scenario())


def test_a_chat_that_subscribed_mid_incident_gets_the_episodes_card_once(
    settings, four_weeks, tmp_path, raised
):
    """A chat installed after the episode began gets one card with its latest state,
    keyed by the episode, so the next check of the episode updates that card."""
    raised[CRITICAL.window_end] = [CRITICAL]

    async def scenario():
        async with installed_bot(settings, four_weeks, tmp_path) as (_base, connector, app, _http):
            clock = Clock(at(14, 6))
            await risk_check(app, clock, at(14, 6))
            cards_sent = connector.cards(CONVERSATION)
            assert len(cards_sent) == 1 and connector.updated == []
            assert "긴급" in json.dumps(cards_sent[-1], ensure_ascii=False)  # the critical state
            assert app[STATE].ledger.conversations_with(CRITICAL.episode) == [CONVERSATION]

    asyncio.run(scenario())
