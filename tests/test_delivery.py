"""Proactive delivery through the ledger: once each, none twice, under a failing
connector; 403 forgets the conversation; subscriptions and their chat commands."""

from __future__ import annotations

import asyncio

import pytest
from aiohttp import ClientSession

from bot.app import DELIVERER, STATE
from bot.delivery import ConversationPacer, Deliverer
from bot.settings import Settings
from bot.state import StateStore
from tests.botkit import activity, post, running_bot
from tests.test_bot import TODAY

CARD = {"type": "AdaptiveCard", "version": "1.5", "body": [{"type": "TextBlock", "text": "alert"}]}


@pytest.fixture
def settings(tmp_path, monkeypatch) -> Settings:
    monkeypatch.chdir(tmp_path)
    return Settings(COMMERCY_TIMEZONE="Asia/Seoul", MicrosoftAppId="")


async def install(http, base, connector, conversation: str) -> None:
    body = activity(
        kind="installationUpdate", connector=connector, action="add", conversation=conversation
    )
    await post(http, base, body)


def test_every_alert_reaches_every_conversation_once_when_the_connector_fails_30_percent(
    settings, four_weeks, tmp_path
):
    async def scenario():
        async with (
            running_bot(settings, four_weeks, today=TODAY, state_path=str(tmp_path / "s.db")) as (
                base,
                connector,
                app,
            ),
            ClientSession() as http,
        ):
            conversations = [f"c{n}" for n in range(5)]
            for conversation in conversations:
                await install(http, base, connector, conversation)
            connector.sent.clear()
            connector.failures = 0.3
            state: StateStore = app[STATE]
            for n in range(20):
                state.enqueue(
                    f"alert-{n}",
                    state.subscribers(alerts=True),
                    {**CARD, "id": f"alert-{n}"},
                    f"alert {n}",
                )
                state.enqueue(f"alert-{n}", conversations, CARD, "again")  # a re-run adds nothing
            now = [1e10]  # far in the future of the rows' first attempt time
            deliverer = Deliverer(
                state,
                app[DELIVERER].send,
                clock=lambda: now[0],
                sleep=lambda s: asyncio.sleep(0),
                pacer=ConversationPacer(clock=lambda: now[0]),
            )
            for _ in range(200):
                report = await deliverer.deliver_due()
                now[0] += 600  # time passes: retries fall due
                if not state.due_deliveries(now[0]) and report.sent == 0:
                    break
            assert connector.refused > 0
            for conversation in conversations:
                ids = [
                    a["attachments"][0]["content"].get("id")
                    for a in connector.messages(conversation)
                ]
                assert sorted(ids) == sorted(f"alert-{n}" for n in range(20)), conversation
            assert state.delivery_counts() == {"sent": 100}

    asyncio.run(scenario())


def test_403_forgets_the_conversation_and_stops_trying(settings, four_weeks, tmp_path):
    async def scenario():
        async with (
            running_bot(settings, four_weeks, today=TODAY, state_path=str(tmp_path / "s.db")) as (
                base,
                connector,
                app,
            ),
            ClientSession() as http,
        ):
            await install(http, base, connector, "gone")
            connector.forbidden.add("gone")
            state: StateStore = app[STATE]
            state.enqueue("alert-1", ["gone"], CARD, "alert")
            report = await app[DELIVERER].deliver_due()
            assert report.dropped == 1
            assert state.conversation("gone") is None
            assert state.subscribers(alerts=True) == []

    asyncio.run(scenario())


def test_chat_commands_change_the_subscription(settings, four_weeks, tmp_path):
    async def scenario():
        async with (
            running_bot(settings, four_weeks, today=TODAY, state_path=str(tmp_path / "s.db")) as (
                base,
                connector,
                app,
            ),
            ClientSession() as http,
        ):
            await install(http, base, connector, "conv-1")
            state: StateStore = app[STATE]
            assert state.subscription("conv-1").alerts_on
            await post(http, base, activity("알림 끄기", connector=connector))
            await connector.wait_for("conv-1", 2)
            assert not state.subscription("conv-1").alerts_on
            assert "껐어요" in connector.messages("conv-1")[-1]["text"]
            await post(http, base, activity("summary at 8:30", connector=connector, locale="en-US"))
            await connector.wait_for("conv-1", 3)
            assert state.subscription("conv-1").summary_time == "08:30"
            await post(http, base, activity("alerts on", connector=connector, locale="en-US"))
            await connector.wait_for("conv-1", 4)
            assert state.subscribers(alerts=True) == ["conv-1"]

    asyncio.run(scenario())


def test_pacing_keeps_within_seven_messages_a_second():
    now = [0.0]
    pacer = ConversationPacer(clock=lambda: now[0])
    for _ in range(7):
        assert pacer.wait_seconds("c") == 0
        pacer.record("c")
    assert pacer.wait_seconds("c") > 0
    assert pacer.wait_seconds("other") == 0
    now[0] += 1.01
    assert pacer.wait_seconds("c") == 0
