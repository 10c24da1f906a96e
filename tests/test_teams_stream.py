"""Streaming and suggested actions (issue 20, points 4 and 5), through the real Agents
Playground: a slow answer in the personal chat is a stream (its progress line, then the
answer as the final message of the same stream); a group chat gets a plain reply; a
text-only answer offers next questions that, sent back, are answered. Plus the pure
parts: the suggestions the parser answers, the entity on the wire as the adapter
serialises it."""

from __future__ import annotations

import asyncio
import datetime as dt
import itertools
import json
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from botbuilder.schema import Activity
from botframework.connector import ConnectorClient
from botframework.connector.auth import MicrosoftAppCredentials

from bot import streaming
from bot.app import BOT
from dialogs.context import Reply
from dialogs.followups import progress_line, suggested_questions
from dialogs.parser import parse
from kpi.metrics.query import MetricQuery
from tests.doubles.openai_server import OpenAICompatibleServer, purpose
from tests.test_bot import YESTERDAY
from tests.test_playground import (
    ARTIFACTS,
    CHROMIUM,
    chat_page,
    needs_playground,
    playground_with_bot,
    revenue,
)

AS_OF = dt.date(2017, 7, 20)


async def _wait(predicate, timeout: float = 30) -> None:
    async def loop() -> None:
        while not predicate():
            await asyncio.sleep(0.05)

    await asyncio.wait_for(loop(), timeout)


async def _say_to_the_bot(playground, chat: str, text: str) -> None:
    """A message in a group chat that @mentions the bot (the Playground, like Teams,
    passes the bot only the messages that mention it outside a personal chat)."""
    bot = playground.config["bot"]
    tag = f"<at>{bot['name']}</at>"
    body = {
        "from": {"id": "user-id-0"},
        "text": f"{tag} {text}",
        "textFormat": "plain",
        "mentions": [{"mentioned": {"id": bot["id"], "name": bot["name"]}, "text": tag}],
    }
    url = f"{playground.url}/_conversation/v1/conversations/{chat}/messages"
    async with playground.http.post(url, json=body) as r:
        assert r.status == 200, await r.text()


def _created(playground, chat: str) -> list[dict]:
    bot_id = playground.config["bot"]["id"]
    return [
        e["message"]
        for e in playground.events
        if e.get("action") == "createMessage"
        and e.get("actionConversationId") == chat
        and e["message"].get("from", {}).get("id") == bot_id
    ]


def _updated(playground, chat: str) -> list[dict]:
    return [
        e["message"]
        for e in playground.events
        if e.get("action") == "updateMessage" and e.get("actionConversationId") == chat
    ]


@needs_playground
def test_a_slow_answer_in_the_personal_chat_streams_its_progress_line_then_the_card(
    four_weeks, tmp_path, monkeypatch
):
    monkeypatch.chdir(tmp_path)

    async def scenario():
        async with playground_with_bot(four_weeks, tmp_path) as playground:
            playground.app[BOT].stream_after_seconds = 0  # every answer counts as slow
            chat = playground.config["personalChat"]["id"]
            await playground.say(chat, "지난주 매출 왜 떨어졌어?")
            await _wait(lambda: _updated(playground, chat))
            [informative] = _created(playground, chat)
            assert informative["streamEntity"] == {
                "type": "streaminfo",
                "streamType": "informative",
                "streamSequence": 1,
            }
            assert "매출 변화를 분석하고 있어요" in informative["text"]
            [final] = _updated(playground, chat)
            # The answer replaced the progress line: same message, the stream's id.
            assert final["messageId"] == informative["messageId"]
            assert final["streamEntity"]["streamType"] == "final"
            assert final["streamEntity"]["streamId"] == informative["messageId"]
            card = json.dumps(final["attachments"][0]["content"], ensure_ascii=False)
            assert "플레이북" in card
            assert not final.get("suggestedActions")  # a card keeps its own buttons

    asyncio.run(scenario())


@needs_playground
@pytest.mark.parametrize("refused", [False, True])
def test_the_group_chat_gets_one_plain_reply_even_when_a_stream_is_attempted(
    four_weeks, tmp_path, monkeypatch, refused
):
    monkeypatch.chdir(tmp_path)
    opened = []
    if refused:  # as if the bot thought it could: the Playground refuses, the reply comes
        monkeypatch.setattr(streaming, "can_stream", lambda activity: True)
        real_open = streaming.Stream.open

        async def recorded_open(turn_context, line):
            opened.append(await real_open(turn_context, line))
            return opened[-1]

        monkeypatch.setattr(streaming.Stream, "open", recorded_open)

    async def scenario():
        async with playground_with_bot(four_weeks, tmp_path) as playground:
            playground.app[BOT].stream_after_seconds = 0
            group = playground.config["groupChats"][0]["id"]
            await _say_to_the_bot(playground, group, "어제 매출 알려줘")
            [(_, card)] = await playground.wait_for_cards(group, 1)
            assert "매출" in json.dumps(card, ensure_ascii=False)
            assert not any(m.get("streamEntity") for m in _created(playground, group))
            assert not _updated(playground, group)
            assert opened == ([None] if refused else [])  # tried and refused, or not tried

    asyncio.run(scenario())


@needs_playground
@pytest.mark.parametrize(("command", "expected"), [("알림 켜기", "매출"), ("alerts on", "Revenue")])
def test_suggested_actions_under_a_text_answer_send_questions_the_bot_answers(
    four_weeks, tmp_path, monkeypatch, command, expected
):
    monkeypatch.chdir(tmp_path)

    async def scenario():
        async with playground_with_bot(four_weeks, tmp_path) as playground:
            chat = playground.config["personalChat"]["id"]
            await playground.say(chat, command)
            await _wait(lambda: any(m.get("suggestedActions")
                                    for m in playground.bot_messages(chat)))  # fmt: skip
            [shown] = [m for m in playground.bot_messages(chat) if m.get("suggestedActions")]
            actions = shown["suggestedActions"]["actions"]
            assert 1 <= len(actions) <= 3
            assert all(a["type"] == "imBack" and a["title"] == a["value"] for a in actions)
            # A click sends the title as the person's message.
            await playground.say(chat, actions[0]["value"])
            [(_, card)] = await playground.wait_for_cards(chat, 1)
            assert expected in json.dumps(card, ensure_ascii=False)

    asyncio.run(scenario())


@pytest.mark.parametrize("lang", ["ko", "en"])
@pytest.mark.parametrize("route", ["sql", "reasoning"])
def test_every_suggestion_after_a_metric_answer_is_a_follow_up_the_parser_answers(lang, route):
    question = "어제 매출 알려줘" if lang == "ko" else "revenue yesterday"
    query = parse(question, as_of=AS_OF).query
    reply = Reply(route, lang, "…", query=query)
    suggestions = suggested_questions(reply)
    assert 1 <= len(suggestions) <= 3
    for text in suggestions:
        parsed = parse(text, as_of=AS_OF, previous=query)
        assert parsed.route in ("sql", "reasoning"), text
        assert parsed.lang == lang, text
        assert parsed.query is not None and parsed.query.metrics == query.metrics, text


@pytest.mark.parametrize("lang", ["ko", "en"])
def test_every_suggestion_after_a_command_is_a_question_the_parser_answers(lang):
    for text in suggested_questions(Reply("command", lang, "…")):
        assert parse(text, as_of=AS_OF).route in ("sql", "reasoning"), text


def test_answers_with_a_card_or_quoted_passages_get_no_suggestions():
    query = MetricQuery.build(["revenue"], AS_OF, AS_OF)
    assert suggested_questions(Reply("sql", "ko", "…", card={"type": "AdaptiveCard"},
                                     query=query)) == []  # fmt: skip
    assert suggested_questions(Reply("rag", "en", "…", hits=[object()])) == []


@pytest.mark.parametrize(
    ("question", "line"),
    [
        ("지난주 매출 왜 떨어졌어?", "매출 변화를 분석하고 있어요…"),
        ("어제 세션 수", "세션"),
        ("why did revenue drop last week?", "Analysing the change in revenue, last week"),
        ("hello there", "Working on your answer…"),
    ],
)
def test_the_progress_line_names_what_is_being_done_in_the_questions_language(question, line):
    assert line in progress_line(question, as_of=AS_OF)


def test_the_streaminfo_entity_keeps_its_fields_as_the_adapter_serialises_it():
    client = ConnectorClient(MicrosoftAppCredentials("", ""), base_url="http://localhost")
    final = Activity(type="message", text="answer",
                     entities=[streaming.StreamInfo(stream_type="final", stream_id="s-1")])  # fmt: skip
    informative = Activity(type="typing", text="가" * 1000, entities=[
        streaming.StreamInfo(stream_type="informative", stream_sequence=1)])  # fmt: skip
    # The serializer the connector's send_to_conversation / reply_to_activity use.
    body = client.conversations._serialize.body(final, "Activity")
    assert body["entities"] == [{"type": "streaminfo", "streamType": "final", "streamId": "s-1"}]
    body = client.conversations._serialize.body(informative, "Activity")
    assert body["entities"][0]["streamSequence"] == 1


def test_the_informative_line_is_cut_to_teams_one_kilobyte():
    assert (
        len(streaming.cut_to_bytes("가" * 1000, streaming.MAX_INFORMATIVE_BYTES).encode()) <= 1024
    )


@needs_playground
@pytest.mark.skipif(
    not Path(CHROMIUM).exists() and not os.environ.get("CI"), reason="needs Debian chromium"
)
def test_in_the_playground_page_a_suggested_action_click_gets_a_streamed_answer(
    four_weeks, tmp_path, monkeypatch
):
    from playwright.async_api import async_playwright

    import dialogs.router
    from bot import handler

    monkeypatch.chdir(tmp_path)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    expected = revenue(four_weeks, YESTERDAY, YESTERDAY)
    real = dialogs.router.answer

    def slow(text, context):
        if "매출" in text:
            time.sleep(3)
        return real(text, context)

    monkeypatch.setattr(handler, "answer", slow)

    async def scenario():
        async with playground_with_bot(four_weeks, tmp_path) as playground, async_playwright() as p:
            playground.app[BOT].stream_after_seconds = 0
            async with chat_page(p, playground, height=1000) as (page, box):
                await box.fill("알림 켜기")
                await box.press("Enter")
                suggestion = page.get_by_role("button", name="어제 매출 알려줘")
                await suggestion.first.wait_for(timeout=30_000)
                await page.screenshot(path=str(ARTIFACTS / "playground-suggested-actions.png"),
                                      full_page=True)  # fmt: skip
                await suggestion.first.click()
                # The progress line shows while the answer is computed (slowed down here so
                # the screenshot can catch it), then the card takes its place.
                await page.get_by_text("매출을 계산하고 있어요").first.wait_for(timeout=30_000)
                await page.screenshot(path=str(ARTIFACTS / "playground-stream-progress.png"),
                                      full_page=True)  # fmt: skip
                await page.get_by_text(expected).first.wait_for(timeout=30_000)
                await page.screenshot(path=str(ARTIFACTS / "playground-streamed-answer.png"),
                                      full_page=True)  # fmt: skip
            # The click was the person's question, and its answer was a stream's final message.
            chat = playground.config["personalChat"]["id"]
            finals = [m for m in _updated(playground, chat)
                      if (m.get("streamEntity") or {}).get("streamType") == "final"]  # fmt: skip
            assert any(expected in json.dumps(m, ensure_ascii=False) for m in finals)

    asyncio.run(scenario())


@contextmanager
def writing_model(narrative: str, *, pace: float) -> Iterator[OpenAICompatibleServer]:
    """A model over real HTTP that words every why answer as `narrative`, one word each
    `pace` seconds when asked to stream (the parser places the question: no routing)."""
    with OpenAICompatibleServer() as model:
        model.stream_pace = pace
        model.responder = lambda body: narrative if purpose(body) == "reasoning" else 500
        yield model


@needs_playground
@pytest.mark.skipif(not Path(CHROMIUM).exists() and not os.environ.get("CI"),
                    reason="needs Debian chromium")  # fmt: skip
def test_with_a_model_the_words_stream_as_they_come_and_the_final_answer_wears_the_ai_badge(
    four_weeks, tmp_path, monkeypatch
):
    """A why question in the personal chat, a scripted model writing one word every 0.2 s
    over real HTTP (server-sent events): the progress line, then chunks of whole sentences
    that grow, then the card as the final message, labelled "AI generated"."""
    from playwright.async_api import async_playwright

    import bot.llm

    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(bot.llm, "_SHARED", {})
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    question = "지난주 매출 왜 떨어졌어?"
    narrative = ("지난주 매출 변화는 [F1]에 정리돼 있어요. 방문은 그대로인데 구매가 줄었는지 "
                 "먼저 보세요 [F2]. 채널별로 나눠 보면 원인이 더 분명해져요. "
                 "플레이북의 점검 순서를 따르세요.")  # fmt: skip

    with writing_model(narrative, pace=0.2) as model:

        async def scenario():
            async with (
                playground_with_bot(four_weeks, tmp_path, COMMERCY_CHAT_MODEL="gpt-test",
                                    COMMERCY_OPENAI_BASE_URL=model.base_url) as playground,
                async_playwright() as p,
                chat_page(p, playground, height=1400) as (page, box),
            ):  # fmt: skip
                await box.fill(question)
                await box.press("Enter")
                await page.get_by_text("방문은 그대로인데").first.wait_for(timeout=30_000)
                await page.screenshot(path=str(ARTIFACTS / "playground-stream-words.png"),
                                      full_page=True)  # fmt: skip
                await page.get_by_text("AI generated").first.wait_for(timeout=30_000)
                await page.screenshot(path=str(ARTIFACTS / "playground-ai-badge.png"),
                                      full_page=True)  # fmt: skip
                chat = playground.config["personalChat"]["id"]
                [informative] = [m for m in _created(playground, chat) if m.get("streamEntity")]
                *chunks, final = _updated(playground, chat)
                return informative, chunks, final

        informative, chunks, final = asyncio.run(scenario())
    stream_id = informative["messageId"]
    assert "매출 변화를 분석하고 있어요" in informative["text"]
    assert len(chunks) >= 2  # 0.2 s a word, a chunk every 1.5 s at most
    assert [c["streamEntity"]["streamSequence"] for c in chunks] == list(range(2, 2 + len(chunks)))
    assert all(c["streamEntity"] == {"type": "streaminfo", "streamType": "streaming",
                                     "streamId": stream_id,
                                     "streamSequence": c["streamEntity"]["streamSequence"]}
               for c in chunks)  # fmt: skip
    texts = [c["text"] for c in chunks]
    # Each chunk is the words so far, whole sentences only, each one longer than the last.
    assert all(b.startswith(a) and len(b) > len(a) for a, b in itertools.pairwise(texts))
    assert all(t.endswith(".") and narrative.startswith(t) for t in texts)
    assert final["streamEntity"] == {"type": "streaminfo", "streamType": "final",
                                     "streamId": stream_id}  # fmt: skip
    assert "AIGeneratedContent" in final["aiEntity"]["additionalType"]
    assert "플레이북의 점검 순서를 따르세요" in json.dumps(final["attachments"], ensure_ascii=False)


@needs_playground
def test_words_that_outlive_the_reply_budget_keep_streaming_outside_the_turn(
    four_weeks, tmp_path, monkeypatch
):
    """Teams retries a turn that is not answered within 15 s, so the turn ends at the
    reply budget; the chunks that follow, and the final message, are sent proactively
    on the same stream."""
    import bot.llm

    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(bot.llm, "_SHARED", {})
    question = "Why did revenue drop last week?"
    narrative = ("Revenue moved as [F1] shows. Check whether buying fell while visits held "
                 "[F2]. Split it by channel next. Then follow the playbook.")  # fmt: skip

    with writing_model(narrative, pace=0.25) as model:

        async def scenario():
            async with playground_with_bot(
                four_weeks, tmp_path, COMMERCY_CHAT_MODEL="gpt-test",
                COMMERCY_OPENAI_BASE_URL=model.base_url,
            ) as playground:  # fmt: skip
                handler = playground.app[BOT]
                handler.stream_after_seconds, handler.reply_budget_seconds = 0, 1.0
                chat = playground.config["personalChat"]["id"]
                await playground.say(chat, question)
                await _wait(lambda: any(
                    (m.get("streamEntity") or {}).get("streamType") == "final"
                    for m in _updated(playground, chat)))  # fmt: skip
                return _created(playground, chat), _updated(playground, chat)

        created, updated = asyncio.run(scenario())
    [informative] = [m for m in created if m.get("streamEntity")]
    *chunks, final = updated
    # No "still working on it" note: the open stream already says so.
    assert [m for m in created if not m.get("streamEntity") and not m.get("attachments")] == []
    assert len(chunks) >= 2
    assert [c["streamEntity"]["streamSequence"] for c in chunks] == list(range(2, 2 + len(chunks)))
    assert final["streamEntity"]["streamId"] == informative["messageId"]
    assert "Then follow the playbook." in json.dumps(final["attachments"])
