"""Proactive delivery through the ledger: once each, none twice, under a failing
connector; 403 and 404 forget the conversation; subscriptions and their chat commands; and a bot
process killed with SIGKILL in the middle of delivering alerts, then started again: every
card arrives, none twice (the bot runs as `commercy serve`, its own process, against a
recording Bot Connector that refuses 30 % of sends, 429/503)."""

from __future__ import annotations

import asyncio
import collections
import datetime as dt
import json
import os
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from aiohttp import ClientSession, web

from bot.app import DELIVERER, STATE
from bot.delivery import ConversationPacer, Deliverer
from bot.settings import Settings
from bot.state import State
from kpi.sample.generate import generate
from tests.conftest import SEOUL, new_warehouse
from tests.doubles.botkit import Connector, activity, free_port, post, running_bot
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
            state: State = app[STATE]
            for n in range(20):
                state.ledger.enqueue(
                    f"alert-{n}",
                    state.conversations.subscribers(alerts=True),
                    {**CARD, "id": f"alert-{n}"},
                    f"alert {n}",
                )
                state.ledger.enqueue(
                    f"alert-{n}", conversations, CARD, "again"
                )  # a re-run adds nothing
            now = [1e10]  # far in the future of the rows' first attempt time
            deliverer = Deliverer(
                state.ledger,
                state.conversations,
                app[DELIVERER].send,
                clock=lambda: now[0],
                sleep=lambda s: asyncio.sleep(0),
                pacer=ConversationPacer(clock=lambda: now[0]),
            )
            for _ in range(200):
                report = await deliverer.deliver_due()
                now[0] += 600  # time passes: retries fall due
                if not state.ledger.due(now[0]) and report.sent == 0:
                    break
            assert connector.refused > 0
            for conversation in conversations:
                ids = [
                    a["attachments"][0]["content"].get("id")
                    for a in connector.messages(conversation)
                ]
                assert sorted(ids) == sorted(f"alert-{n}" for n in range(20)), conversation
            assert state.ledger.counts() == {"sent": 100}

    asyncio.run(scenario())


@pytest.mark.parametrize("refusal", ["forbidden", "missing"], ids=["403", "404"])
def test_403_or_404_forgets_the_conversation_and_stops_trying(
    settings, four_weeks, tmp_path, refusal
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
            await install(http, base, connector, "gone")
            getattr(connector, refusal).add("gone")
            state: State = app[STATE]
            state.ledger.enqueue("alert-1", ["gone"], CARD, "alert")
            report = await app[DELIVERER].deliver_due()
            assert report.dropped == 1
            assert state.conversations.get("gone") is None
            assert state.conversations.subscribers(alerts=True) == []

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
            state: State = app[STATE]
            assert state.conversations.subscription("conv-1").alerts_on
            await post(http, base, activity("알림 끄기", connector=connector))
            await connector.wait_for("conv-1", 2)
            assert not state.conversations.subscription("conv-1").alerts_on
            assert "껐어요" in connector.messages("conv-1")[-1]["text"]
            await post(http, base, activity("summary at 8:30", connector=connector, locale="en-US"))
            await connector.wait_for("conv-1", 3)
            assert state.conversations.subscription("conv-1").summary_time == "08:30"
            await post(http, base, activity("alerts on", connector=connector, locale="en-US"))
            await connector.wait_for("conv-1", 4)
            assert state.conversations.subscribers(alerts=True) == ["conv-1"]

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


class _Alert:
    alert_id = "checkout_bottleneck:step:/payment.html:2026-11-23T05:00"
    rule = "checkout_bottleneck"
    severity = "critical"
    scope = "step:/payment.html"
    window_start = dt.datetime(2026, 11, 23, 5, 0, tzinfo=dt.UTC)
    window_end = dt.datetime(2026, 11, 23, 5, 5, tzinfo=dt.UTC)
    value = 42.0
    expected = 3.0
    message_ko = "결제 단계에서 오래 머문 세션이 평소의 14배예요"
    message_en = "Sessions stuck at payment: 14x the usual"


def test_alert_buttons_acknowledge_in_place_snooze_and_explain(settings, four_weeks, tmp_path):
    import cards

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
            state: State = app[STATE]
            card = cards.alert_card(_Alert(), lang="en")
            state.ledger.enqueue(_Alert.alert_id, ["conv-1"], card, _Alert.message_en)
            await app[DELIVERER].deliver_due()
            sent_id = state.ledger.sent_activity(_Alert.alert_id, "conv-1")
            assert sent_id

            def click(verb: str) -> dict:
                data = {"alert_id": _Alert.alert_id, "rule": _Alert.rule, "scope": _Alert.scope}
                return activity(
                    kind="invoke",
                    connector=connector,
                    name="adaptiveCard/action",
                    replyToId=sent_id,
                    value={"action": {"type": "Action.Execute", "verb": verb, "data": data}},
                )

            status, body = await post(http, base, click("ack"))
            response = json.loads(body)
            assert status == 200 and response["type"] == "application/vnd.microsoft.card.adaptive"
            assert "Acknowledged by Marketer" in json.dumps(response["value"])
            assert connector.updated and connector.updated[-1][0] == sent_id  # updated for everyone
            assert "actions" not in response["value"]

            status, _ = await post(http, base, click("snooze"))
            assert status == 200 and state.alerts.snoozed("conv-1", _Alert.rule, _Alert.scope)

            before = len(connector.messages("conv-1"))
            status, _ = await post(http, base, click("why"))
            assert status == 200
            messages = await connector.wait_for("conv-1", before + 1)
            assert "Conversion rate" in json.dumps(messages[-1], ensure_ascii=False)  # the why card

    asyncio.run(scenario())


# --- A bot process killed mid-delivery, then started again ---------------------------------

COMMERCY = Path(sys.executable).parent / "commercy"
CONVERSATIONS = [f"team-{n}" for n in range(4)]
ALERTS = 10


def queue_alerts(state_path: Path, connector: Connector) -> None:
    state = State(state_path)
    for conversation in CONVERSATIONS:
        reference = {
            "serviceUrl": connector.url,
            "channelId": "msteams",
            "conversation": {"id": conversation},
            "bot": {"id": "28:commercy", "name": "Commercy"},
            "user": {"id": "29:marketer"},
        }
        state.conversations.save(conversation, reference, scope="personal", lang="ko")
        state.conversations.subscribe(conversation)
    for n in range(ALERTS):
        state.ledger.enqueue(
            f"alert-{n}", CONVERSATIONS, {**CARD, "id": f"alert-{n}"}, f"alert {n}"
        )
    state.close()


def start_bot(port: int, warehouse: Path, state_path: Path, folder: Path) -> subprocess.Popen:
    env = {
        **os.environ,
        "COMMERCY_DATABASE_URL": f"duckdb:///{warehouse}",
        "COMMERCY_STATE_URL": f"sqlite:///{state_path}",
        "COMMERCY_REPLAY": "false",
        "COMMERCY_ALERTS_ENABLED": "false",  # the cards are queued by the test
        "COMMERCY_INDEXER": "false",
        "MicrosoftAppId": "",
    }
    return subprocess.Popen(
        [str(COMMERCY), "serve", "--no-playground", "--port", str(port)],
        env=env,
        cwd=folder,
        stdout=subprocess.DEVNULL,
        stderr=(folder / f"bot-{port}.log").open("a"),
    )


def alert_cards(connector: Connector) -> collections.Counter:
    """How many times each (alert, conversation) card arrived."""
    return collections.Counter(
        (card.get("id"), conversation)
        for conversation in CONVERSATIONS
        for card in connector.cards(conversation)
        if str(card.get("id")).startswith("alert-")
    )


def alert_deliveries(state_path: Path) -> dict[str, int]:
    """The ledger's alert rows by status. Only those: once the bot's clock is past 09:00 in
    its zone, the minutely summary job queues the morning summary for the same chats."""
    with sqlite3.connect(state_path) as db:
        rows = db.execute(
            "SELECT status, COUNT(*) FROM deliveries WHERE delivery_key LIKE 'alert-%' "
            "GROUP BY status"
        )
        return dict(rows.fetchall())


def test_a_bot_killed_mid_delivery_and_restarted_loses_nothing_and_repeats_nothing(tmp_path):
    warehouse_path = tmp_path / "warehouse.duckdb"
    warehouse = new_warehouse(tmp_path, "warehouse.duckdb")
    generate(warehouse, days=1, end=dt.date(2026, 11, 23), zone=SEOUL, scale=0.05, seed=1)
    warehouse.close()
    state_path = tmp_path / "state.sqlite3"
    expected = {(f"alert-{n}", c) for n in range(ALERTS) for c in CONVERSATIONS}

    async def scenario() -> None:
        connector = Connector(failures=0.3, seed=11)
        connector.hold_at = 15  # the 15th card accepted: the bot dies waiting for the answer
        runner = web.AppRunner(connector.app())
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", connector.port).start()
        queue_alerts(state_path, connector)
        port = free_port()
        bot = start_bot(port, warehouse_path, state_path, tmp_path)
        try:
            for _ in range(900):  # the 15th card is in flight, or the bot died starting
                if connector.held.is_set() or bot.poll() is not None:
                    break
                await asyncio.sleep(0.1)
            assert connector.held.is_set(), f"the bot exited {bot.poll()}; see bot-*.log"
            os.kill(bot.pid, signal.SIGKILL)
            assert bot.wait(timeout=10) == -signal.SIGKILL
            connector.release()

            counts = alert_deliveries(state_path)
            assert counts.get("sending") == 1, counts  # the card in flight at the kill
            assert counts.get("pending", 0) > 0, counts  # and work left undone
            before = alert_cards(connector)
            assert sum(before.values()) == 15

            bot = start_bot(port, warehouse_path, state_path, tmp_path)
            async with ClientSession() as http:
                # 30 % refused with backoff and jitter: a card may wait a minute or more
                # between tries, longer on a loaded machine; the deadline only ends a hang.
                deadline = asyncio.get_running_loop().time() + 600
                while asyncio.get_running_loop().time() < deadline:
                    if set(alert_cards(connector)) == expected:
                        break
                    await asyncio.sleep(0.1)
                async with http.get(f"http://127.0.0.1:{port}/healthz") as response:
                    assert response.status == 200
        finally:
            bot.terminate()
            # Waited for off the event loop: the connector double runs on this loop, and a
            # bot stopping mid-POST waits for that answer before it can exit.
            await asyncio.to_thread(bot.wait, 60)
            connector.release()
            await runner.cleanup()

        arrived = alert_cards(connector)
        assert connector.refused > 0
        assert set(arrived) == expected, "lost: " + repr(sorted(expected - set(arrived)))
        repeated = {card: n for card, n in arrived.items() if n > 1}
        assert not repeated, f"sent twice: {repeated}"
        assert alert_deliveries(state_path) == {"sent": len(expected) - 1, "unconfirmed": 1}

    asyncio.run(scenario())
