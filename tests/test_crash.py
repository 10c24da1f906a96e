"""A bot process killed with SIGKILL in the middle of delivering alerts, then started
again: every card arrives, none twice. The bot runs as `commercy serve`, its own
process, against a recording Bot Connector that refuses 30 % of sends (429/503)."""

from __future__ import annotations

import asyncio
import collections
import datetime as dt
import os
import signal
import subprocess
import sys
from pathlib import Path

from aiohttp import ClientSession, web

from bot.state import StateStore
from kpi.sample.generate import generate
from tests.doubles.botkit import Connector, free_port
from tests.conftest import SEOUL, new_warehouse

ROOT = Path(__file__).resolve().parents[1]
COMMERCY = Path(sys.executable).parent / "commercy"
CONVERSATIONS = [f"team-{n}" for n in range(4)]
ALERTS = 10
CARD = {"type": "AdaptiveCard", "version": "1.5", "body": [{"type": "TextBlock", "text": "!"}]}


def queue_alerts(state_path: Path, connector: Connector) -> None:
    state = StateStore(state_path)
    for conversation in CONVERSATIONS:
        reference = {
            "serviceUrl": connector.url,
            "channelId": "msteams",
            "conversation": {"id": conversation},
            "bot": {"id": "28:commercy", "name": "Commercy"},
            "user": {"id": "29:marketer"},
        }
        state.save_conversation(conversation, reference, scope="personal", lang="ko")
        state.subscribe(conversation)
    for n in range(ALERTS):
        state.enqueue(f"alert-{n}", CONVERSATIONS, {**CARD, "id": f"alert-{n}"}, f"alert {n}")
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

            state = StateStore(state_path)
            counts = state.delivery_counts()
            assert counts.get("sending") == 1, counts  # the card in flight at the kill
            assert counts.get("pending", 0) > 0, counts  # and work left undone
            state.close()
            before = alert_cards(connector)
            assert sum(before.values()) == 15

            bot = start_bot(port, warehouse_path, state_path, tmp_path)
            async with ClientSession() as http:
                for _ in range(900):
                    if set(alert_cards(connector)) == expected:
                        break
                    await asyncio.sleep(0.1)
                async with http.get(f"http://127.0.0.1:{port}/healthz") as response:
                    assert response.status == 200
        finally:
            bot.terminate()
            bot.wait(timeout=15)
            connector.release()
            await runner.cleanup()

        arrived = alert_cards(connector)
        assert connector.refused > 0
        assert set(arrived) == expected, "lost: " + repr(sorted(expected - set(arrived)))
        repeated = {card: n for card, n in arrived.items() if n > 1}
        assert not repeated, f"sent twice: {repeated}"
        state = StateStore(state_path)
        assert state.delivery_counts() == {"sent": len(expected) - 1, "unconfirmed": 1}
        state.close()

    asyncio.run(scenario())
