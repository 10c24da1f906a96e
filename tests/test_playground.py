"""The bot driven through the real Microsoft 365 Agents Playground (npm), a local Teams:
its HTTP API sends Teams-shaped activities to the bot, its WebSocket streams what the
bot sends back; and a real browser (Debian's Chromium under Playwright) types into its
page and reads the rendered card."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from pathlib import Path
from typing import Any

import pytest
from aiohttp import ClientSession

from bot.serve import playground_command, start_playground, stop
from bot.settings import Settings
from kpi.metrics.query import MetricQuery, run_query
from kpi.metrics.units import format_value
from tests.doubles.botkit import free_port, running_bot
from tests.test_bot import TODAY, YESTERDAY

ROOT = Path(__file__).resolve().parents[1]
ARTIFACTS = ROOT / "build" / "test-artifacts"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"

try:
    playground_command(1, 1)
    HAVE_PLAYGROUND = True
except FileNotFoundError:
    HAVE_PLAYGROUND = False
needs_playground = pytest.mark.skipif(
    not HAVE_PLAYGROUND and not os.environ.get("CI"), reason="run `make setup` for the Playground"
)


class Playground:
    def __init__(self, port: int, http: ClientSession) -> None:
        self.port, self.http = port, http
        self.events: list[dict] = []
        self.config: dict = {}

    @property
    def url(self) -> str:
        return f"http://localhost:{self.port}"

    def bot_messages(self, conversation_id: str) -> list[dict]:
        """The bot's messages as the chat shows them now: a streamed answer is created
        as its progress line and then updated in place into the answer."""
        bot_id = self.config["bot"]["id"]
        shown: dict[str, dict] = {}
        for e in self.events:
            if e.get("actionConversationId") != conversation_id or "message" not in e:
                continue
            message = e["message"]
            if message.get("from", {}).get("id") != bot_id:
                continue
            if e.get("action") == "createMessage" or (
                e.get("action") == "updateMessage" and message.get("messageId") in shown
            ):
                shown[message["messageId"]] = message
        return list(shown.values())

    def cards(self, conversation_id: str) -> list[tuple[str, dict]]:
        return [
            (m["messageId"], a["content"])
            for m in self.bot_messages(conversation_id)
            for a in m.get("attachments") or []
            if a.get("contentType") == "application/vnd.microsoft.card.adaptive"
        ]

    async def wait_for_cards(
        self, conversation_id: str, count: int, timeout: float = 30
    ) -> list[tuple[str, dict]]:
        async def enough() -> None:
            while len(self.cards(conversation_id)) < count:
                await asyncio.sleep(0.05)

        await asyncio.wait_for(enough(), timeout)
        return self.cards(conversation_id)

    async def say(self, conversation_id: str, text: str) -> None:
        async with self.http.post(
            f"{self.url}/_conversation/v1/conversations/{conversation_id}/messages",
            json={"from": {"id": "user-id-0"}, "text": text, "textFormat": "plain"},
        ) as r:
            assert r.status == 200, await r.text()

    async def click(
        self, conversation_id: str, card_message_id: str, data: dict, verb: str = "ask"
    ) -> dict:
        body = {
            "name": "adaptiveCard/action",
            "from": {"id": "user-id-0"},
            "conversation": {"id": conversation_id},
            "replyToId": card_message_id,
            "value": {
                "action": {"type": "Action.Execute", "verb": verb, "data": data},
                "trigger": "manual",
            },
        }
        async with self.http.post(f"{self.url}/_conversation/v1/invoke", json=body) as r:
            assert r.status == 200, await r.text()
            return await r.json()


@asynccontextmanager
async def chat_page(p: Any, playground: Playground, *, height: int) -> AsyncIterator[tuple]:
    """Headless Chromium on the Playground with its message box ready: (page, box)."""
    browser = await p.chromium.launch(
        executable_path=CHROMIUM,
        args=["--no-sandbox", "--disable-gpu", "--disable-background-networking",
              "--disable-component-update", "--disable-sync", "--no-first-run"],
    )  # fmt: skip
    try:
        page = await browser.new_page(viewport={"width": 1280, "height": height})
        await page.goto(playground.url)
        box = page.get_by_role("textbox").last
        await box.wait_for(timeout=30_000)
        yield page, box
    finally:
        await browser.close()


@asynccontextmanager
async def playground_with_bot(four_weeks, tmp_path, **setting: Any) -> AsyncIterator[Playground]:
    """The bot on its embedded defaults (plus `setting`, e.g. a chat model) and a real
    Playground in front of it."""
    settings = Settings(COMMERCY_TIMEZONE="Asia/Seoul", MicrosoftAppId="", **setting)
    async with running_bot(
        settings, four_weeks, today=TODAY, state_path=str(tmp_path / "state.sqlite3")
    ) as (base, _, app):
        bot_port = int(base.rsplit(":", 1)[1])
        port = free_port()
        process = start_playground(bot_port, port)
        try:
            async with ClientSession() as http:
                playground = Playground(port, http)
                playground.app = app
                for _ in range(300):
                    try:
                        async with http.get(f"{playground.url}/_internal/v1/config") as r:
                            if r.status == 200:
                                playground.config = (await r.json())["config"]
                                break
                    except OSError:
                        pass
                    await asyncio.sleep(0.1)
                assert playground.config, "the Playground did not start"
                socket = await http.ws_connect(
                    f"ws://localhost:{port}/_ws_conversation/v1/conversations/stream"
                )

                async def listen() -> None:
                    async for message in socket:
                        with suppress(TypeError, ValueError):
                            playground.events.append(json.loads(message.data))

                listener = asyncio.create_task(listen())
                try:
                    yield playground
                finally:
                    listener.cancel()
                    await socket.close()
        finally:
            stop(process)


def revenue(warehouse, start, end) -> str:
    value = run_query(
        warehouse, MetricQuery.build(["revenue"], start, end), zone="Asia/Seoul"
    ).total("revenue")
    return format_value(value, "usd")


@needs_playground
def test_through_the_playground_install_questions_follow_up_and_a_button(
    four_weeks, tmp_path, monkeypatch
):
    monkeypatch.chdir(tmp_path)

    async def scenario():
        async with playground_with_bot(four_weeks, tmp_path) as playground:
            chat = playground.config["personalChat"]["id"]
            async with playground.http.post(
                f"{playground.url}/_debug/conversation/{chat}/installation", json={}
            ) as r:
                assert r.status == 200
            [(_, welcome)] = await playground.wait_for_cards(chat, 1)
            assert "Commercy" in json.dumps(welcome, ensure_ascii=False)

            await playground.say(chat, "어제 매출 알려줘")
            cards = await playground.wait_for_cards(chat, 2)
            assert revenue(four_weeks, YESTERDAY, YESTERDAY) in json.dumps(
                cards[-1][1], ensure_ascii=False
            )

            await playground.say(chat, "How many sessions did we have last week?")
            cards = await playground.wait_for_cards(chat, 3)
            english = json.dumps(cards[-1][1], ensure_ascii=False)
            assert "Sessions" in english

            await playground.say(chat, "what about mobile?")
            cards = await playground.wait_for_cards(chat, 4)
            assert "mobile" in json.dumps(cards[-1][1], ensure_ascii=False)

            card_id = cards[-1][0]
            response = await playground.click(chat, card_id, {"text": "지난주 채널별 매출"})
            assert response is not None
            cards = await playground.wait_for_cards(chat, 5)
            assert "Referral" in json.dumps(cards[-1][1], ensure_ascii=False)

    asyncio.run(scenario())


@needs_playground
@pytest.mark.skipif(
    not Path(CHROMIUM).exists() and not os.environ.get("CI"), reason="needs Debian chromium"
)
def test_a_person_types_a_question_in_the_playground_page_and_sees_the_number(
    four_weeks, tmp_path, monkeypatch
):
    from playwright.async_api import async_playwright

    monkeypatch.chdir(tmp_path)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    expected = revenue(four_weeks, YESTERDAY, YESTERDAY)

    async def scenario():
        async with (
            playground_with_bot(four_weeks, tmp_path) as playground,
            async_playwright() as p,
            chat_page(p, playground, height=900) as (page, box),
        ):
            await box.fill("어제 매출 알려줘")
            await box.press("Enter")
            await page.get_by_text(expected).first.wait_for(timeout=30_000)
            await page.screenshot(path=str(ARTIFACTS / "playground-answer.png"), full_page=True)
            assert expected in await page.content()

    asyncio.run(scenario())


@needs_playground
def test_an_alert_reaches_the_playground_and_acknowledge_changes_it_for_everyone(
    four_weeks, tmp_path, monkeypatch
):
    import cards
    from bot.app import DELIVERER, STATE
    from tests.test_delivery import _Alert

    monkeypatch.chdir(tmp_path)

    async def scenario():
        async with playground_with_bot(four_weeks, tmp_path) as playground:
            chat = playground.config["personalChat"]["id"]
            async with playground.http.post(
                f"{playground.url}/_debug/conversation/{chat}/installation", json={}
            ) as r:
                assert r.status == 200
            await playground.wait_for_cards(chat, 1)
            state = playground.app[STATE]
            assert state.conversations.subscribers(alerts=True) == [chat]
            state.ledger.enqueue(
                _Alert.alert_id, [chat], cards.alert_card(_Alert(), lang="en"), _Alert.message_en
            )
            report = await playground.app[DELIVERER].deliver_due()
            assert report.sent == 1
            alert_id, alert = (await playground.wait_for_cards(chat, 2))[-1]
            assert "risk alert" in json.dumps(alert, ensure_ascii=False).lower()
            data = {"alert_id": _Alert.alert_id, "rule": _Alert.rule, "scope": _Alert.scope}
            response = await playground.click(chat, alert_id, data, verb="ack")
            assert "Acknowledged by" in json.dumps(response, ensure_ascii=False)

            async def updated() -> None:
                while not any(
                    "update" in str(e.get("action", "")).lower() for e in playground.events
                ):
                    await asyncio.sleep(0.05)

            await asyncio.wait_for(updated(), 15)
            update = next(
                e for e in playground.events if "update" in str(e.get("action", "")).lower()
            )
            assert "Acknowledged by" in json.dumps(update, ensure_ascii=False)

    asyncio.run(scenario())


@needs_playground
@pytest.mark.skipif(
    not Path(CHROMIUM).exists() and not os.environ.get("CI"), reason="needs Debian chromium"
)
@pytest.mark.parametrize(
    ("question", "lang", "heading"),
    [
        ("지난주 매출이 왜 떨어졌어?", "ko", "플레이북"),
        ("why did sessions drop yesterday?", "en", "Playbooks"),
    ],
)
def test_a_why_question_typed_in_the_playground_page_gets_the_computed_card(
    four_weeks, tmp_path, monkeypatch, question, lang, heading
):
    from playwright.async_api import async_playwright

    monkeypatch.chdir(tmp_path)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)

    async def scenario():
        async with (
            playground_with_bot(four_weeks, tmp_path) as playground,
            async_playwright() as p,
            chat_page(p, playground, height=1400) as (page, box),
        ):
            await box.fill(question)
            await box.press("Enter")
            await page.get_by_text(heading, exact=True).first.wait_for(timeout=30_000)
            await page.screenshot(path=str(ARTIFACTS / f"playground-why-{lang}.png"),
                                  full_page=True)  # fmt: skip
            shown = await page.content()
            assert "곧 제공" not in shown and "coming soon" not in shown

    asyncio.run(scenario())
