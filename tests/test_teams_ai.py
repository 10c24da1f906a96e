"""Answers that look and behave like a Teams AI app's (issue 20, bot/teams_ai.py): the AI
label only on model-written words, the sensitivity label on store answers, citations
within Teams' limits (serialised as botbuilder's connector sends them), the cited text
beside a card, and the native 👍/👎 stored with its answer, over the bot's real HTTP
endpoint and a real SQLite state."""

from __future__ import annotations

import asyncio
import datetime as dt
import functools
import json
import os
from pathlib import Path

import botbuilder.schema as schema
import pytest
from aiohttp import ClientSession
from click.testing import CliRunner
from msrest import Serializer

from bot.app import STATE
from bot.cli import cli
from bot.settings import Settings
from bot.state import State
from bot.teams_ai import (
    MAX_ABSTRACT,
    MAX_CITATIONS,
    MAX_KEYWORD,
    MAX_KEYWORDS,
    MAX_NAME,
    Presentation,
    answer_activities,
    parse_feedback,
    take_feedback,
)
from dialogs.assistant import Assistant
from dialogs.context import Reply, documents_reply
from dialogs.examples import ExampleLibrary
from dialogs.grounded import Grounded
from dialogs.rag import Library, answer_from_documents
from rag_indexer import sample_corpus
from rag_indexer.index import Hit
from tests.doubles.botkit import activity, post, running_bot
from tests.test_playground import (
    ARTIFACTS,
    CHROMIUM,
    chat_page,
    needs_playground,
    playground_with_bot,
)

TODAY = dt.date(2026, 11, 24)
LINK = "http://localhost:3978/docs/{id}.pdf#page={page}"


def hit(
    n: int, *, text: str = "쿠폰은 한 주문에 하나만 쓸 수 있어요.", file: str = "guide.pdf"
) -> Hit:
    return Hit(file=file, title="프로모션 가이드", page=n, section="쿠폰", text=text,
               score=0.9, doc_id=f"doc{n:04d}", matched=("쿠폰", "중복"))  # fmt: skip


def link(h: Hit) -> str:
    return LINK.format(id=h.doc_id, page=h.page)


def wire(activity_: schema.Activity) -> dict:
    """The activity as the connector client puts it on the wire (msrest, botbuilder's
    own models): what Teams would receive."""
    models = {k: v for k, v in schema.__dict__.items() if isinstance(v, type)}
    return Serializer(models).body(activity_, "Activity")


def root_entity(message: dict) -> dict:
    entities = message.get("entities") or []
    [entity] = [e for e in entities if e["type"] == "https://schema.org/Message"]
    return entity


def test_eleven_long_passages_serialise_as_an_entity_within_teams_limits() -> None:
    long_file = "a-very-long-playbook-file-name-" * 5 + ".pdf"
    hits = [hit(n, text="가" * 300, file=long_file) for n in range(1, 12)]
    hits = [Hit(**{**h.__dict__, "matched": ("x" * 40, "b", "c", "d", "e")}) for h in hits]
    text = " ".join(f"[{n}]" for n in range(1, 12))
    reply = Reply("rag", "ko", f"쿠폰 규칙이에요. {text}", None, hits=hits, ai_written=True)
    [message] = [wire(a) for a in answer_activities(reply, Presentation(link=link))]
    entity = root_entity(message)
    assert entity["@type"] == "Message" and entity["@context"] == "https://schema.org"
    assert entity["additionalType"] == ["AIGeneratedContent"]
    citations = entity["citation"]
    assert len(citations) == MAX_CITATIONS
    assert [c["position"] for c in citations] == list(range(1, 11))
    for c in citations:
        appearance = c["appearance"]
        assert c["@type"] == "Claim" and appearance["@type"] == "DigitalDocument"
        assert 0 < len(appearance["name"]) <= MAX_NAME
        assert 0 < len(appearance["abstract"]) <= MAX_ABSTRACT
        assert len(appearance["keywords"]) <= MAX_KEYWORDS
        assert all(0 < len(k) <= MAX_KEYWORD for k in appearance["keywords"])
        assert appearance["url"].endswith(f"#page={c['position']}")
    # The eleventh passage is not cited, so its marker is not left pointing at nothing.
    assert "[11]" not in message["text"] and "[10]" in message["text"]
    assert message["channelData"] == {"feedbackLoop": {"type": "default"}}


def test_a_documents_answer_cites_its_passages_and_is_labelled_ai_only_when_a_model_wrote_it():
    hits = [hit(1), hit(2)]
    offline = Library(search=lambda q, top=8: hits, link=link)
    written = Library(search=lambda q, top=8: hits, link=link,
                      write=lambda q, passages, lang: Grounded("한 주문에 쿠폰 하나만 돼요 [2].", True))  # fmt: skip
    for library, model_wrote in ((offline, False), (written, True)):
        reply = documents_reply(answer_from_documents("쿠폰 중복 규칙", library, "ko"), "ko")
        assert reply.ai_written is model_wrote
        card, cited = (wire(a) for a in answer_activities(reply, Presentation(link=link)))
        assert card["attachments"] and "citation" not in json.dumps(card)
        assert ("entities" in card) is model_wrote  # documents are no store data: no label
        assert not cited.get("attachments")
        entity = root_entity(cited)
        assert ("additionalType" in entity) is model_wrote
        assert "usageInfo" not in entity  # documents, not store data
        cited_pages = [c["appearance"]["url"] for c in entity["citation"]]
        assert cited_pages == [link(hits[1] if model_wrote else hits[0])]
        assert "[2]" in cited["text"] if model_wrote else "[1]" in cited["text"]


def test_a_card_answer_with_playbooks_sends_its_cited_text_as_a_message_of_its_own():
    card = {"type": "AdaptiveCard", "version": "1.5", "body": []}
    reply = Reply("reasoning", "en", "Revenue fell 12%.\n- guide.pdf p.1: one coupon [1]", card,
                  hits=[hit(1)], ai_written=False)  # fmt: skip
    presentation = Presentation(label="Internal: store analytics", link=link)
    first, second = (wire(a) for a in answer_activities(reply, presentation))
    assert first["attachments"][0]["content"] == card and "citation" not in root_entity(first)
    assert not second.get("attachments") and second["text"].endswith("[1]")
    assert root_entity(second)["citation"][0]["appearance"]["name"] == "guide.pdf p.1"
    for message in (first, second):  # both are the answer: labelled, with feedback buttons
        entity = root_entity(message)
        assert entity["usageInfo"]["@type"] == "CreativeWork"
        assert entity["usageInfo"]["name"] == "Internal: store analytics"
        assert "additionalType" not in entity  # computed, not written by a model
        assert message["channelData"]["feedbackLoop"] == {"type": "default"}


def test_a_card_answer_without_passages_is_one_message_and_help_has_no_feedback_buttons():
    card = {"type": "AdaptiveCard", "version": "1.5", "body": []}
    [sql] = answer_activities(Reply("sql", "ko", "1,234", card), Presentation())
    assert sql.attachments and sql.channel_data and sql.entities
    [help_] = answer_activities(Reply("help", "ko", "", card), Presentation())
    assert not help_.channel_data and not help_.entities
    [unlabelled] = answer_activities(Reply("sql", "ko", "1,234", card), Presentation(label=""))
    assert not unlabelled.entities


def test_a_combined_answer_numbers_each_parts_passages_on_so_each_pill_names_its_own():
    from dialogs.assistant import _combined

    rag = Reply("rag", "en", "Coupons stack once [1].", None, hits=[hit(1)], ai_written=True)
    why = Reply("reasoning", "en", "Revenue fell [F1]; see [1] and [2].", None,
                hits=[hit(2), hit(3)])  # fmt: skip
    joined = _combined([rag, why], "en")
    assert joined.text == "Coupons stack once [1].\n\nRevenue fell [F1]; see [2] and [3]."
    assert joined.ai_written  # one part's words are the model's
    [message] = [wire(a) for a in answer_activities(joined, Presentation(link=link))]
    pages = [c["appearance"]["url"] for c in root_entity(message)["citation"]]
    assert pages == [link(hit(1)), link(hit(2)), link(hit(3))]


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ({"reaction": "like", "feedback": '{"feedbackText": "정확해요"}'}, ("like", "정확해요")),
        ({"reaction": "dislike", "feedback": "too vague"}, ("dislike", "too vague")),  # Playground
        ({"reaction": "like", "feedback": {"feedbackText": "ok"}}, ("like", "ok")),
        ({"reaction": "like"}, ("like", "")),
        ({"reaction": "love", "feedback": ""}, None),
        ("like", None),
    ],
)
def test_a_feedback_value_is_read_in_teams_and_playground_shapes(value, expected) -> None:
    assert parse_feedback({"actionName": "feedback", "actionValue": value}) == expected


# -- over the bot's HTTP endpoint ---------------------------------------------------------


@pytest.fixture
def settings(tmp_path, monkeypatch) -> Settings:
    monkeypatch.chdir(tmp_path)
    for name in ("MicrosoftAppId", "MicrosoftAppPassword"):
        monkeypatch.delenv(name, raising=False)
    return Settings(COMMERCY_TIMEZONE="Asia/Seoul")


def feedback_click(connector, reaction: str, feedback: str, **extra) -> dict:
    value = {"actionName": "feedback", "actionValue": {"reaction": reaction, "feedback": feedback}}
    return activity(kind="invoke", connector=connector, name="message/submitAction",
                    value=value, **extra)  # fmt: skip


def test_a_feedback_click_answers_200_with_an_empty_object_and_is_stored_with_its_answer(
    settings, four_weeks, tmp_path
):
    state_path = tmp_path / "state.sqlite3"

    async def scenario():
        bot = running_bot(settings, four_weeks, today=TODAY, state_path=str(state_path))
        async with bot as (base, connector, app), ClientSession() as http:
            await post(http, base, activity("어제 세션 수는?", connector=connector))
            [answer] = await connector.wait_for("conv-1", 1)
            assert answer["channelData"] == {"feedbackLoop": {"type": "default"}}
            assert root_entity(answer)["usageInfo"]["name"] == "Internal: store analytics"
            assert "additionalType" not in root_entity(answer)  # the offline answer is computed
            # The Agents Playground: no replyToId, the comment as plain text.
            status, body = await post(http, base, feedback_click(connector, "dislike", "틀렸어요"))
            assert (status, json.loads(body)) == (200, {})
            # Teams: the message's id, the comment as a JSON string.
            sent = app[STATE].answers.find("conv-1", None)
            click = feedback_click(connector, "like", '{"feedbackText": "good"}',
                                   replyToId=sent.message_id)  # fmt: skip
            status, body = await post(http, base, click)
            assert (status, json.loads(body)) == (200, {})
            status, _ = await post(http, base, feedback_click(connector, "meh", ""))
            assert status == 400

    asyncio.run(scenario())
    state = State(state_path)
    try:
        good, wrong = state.answers.recent_feedback()
        assert state.answers.counts_by_route() == {"sql": {"like": 1, "dislike": 1}}
    finally:
        state.close()
    for feedback in (good, wrong):
        assert feedback.question == "어제 세션 수는?" and feedback.route == "sql"
        assert feedback.query["metrics"] == ["sessions"]
        assert feedback.answer_id == good.answer_id and feedback.user_name == "Marketer"
    assert (wrong.reaction, wrong.comment) == ("dislike", "틀렸어요")
    assert (good.reaction, good.comment) == ("like", "good")
    assert good.message_id == wrong.message_id  # the Playground's click found the same answer

    result = CliRunner().invoke(
        cli, ["feedback", "--json"], obj={}, env={"COMMERCY_STATE_URL": f"sqlite:///{state_path}"}
    )
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["counts"] == {"sql": {"like": 1, "dislike": 1}}
    assert [f["comment"] for f in report["feedback"]] == ["good", "틀렸어요"]
    assert dt.datetime.fromisoformat(report["feedback"][0]["at"]).tzinfo is not None
    result = CliRunner().invoke(
        cli, ["feedback"], obj={}, env={"COMMERCY_STATE_URL": f"sqlite:///{state_path}"}
    )
    assert "sql: 👍 1  👎 1" in result.stdout and "어제 세션 수는?" in result.stdout


def test_a_like_on_a_model_read_numeric_answer_becomes_a_confirmed_example(
    settings, four_weeks, tmp_path
):
    """The native 👍 and the card's "👍 Correct" are one mechanism: the bot's
    `_keep_example`, into the same example library (the state's memory)."""
    state = State(tmp_path / "state.sqlite3")
    try:
        examples = ExampleLibrary(save=lambda e: state.memory.save_example(e.question, e.query))
        draft = {"in_catalog": True, "metrics": ["revenue"], "dimensions": ["channel"],
                 "filters": [], "period": "지난주", "order": None, "limit": None,
                 "compare": None}  # fmt: skip
        state.answers.record("a1", conversation_id="conv-1", message_id="m1",
                             question="지난주 채널별 매출", route="sql", lang="ko", query=None,
                             example=draft, answer_text="...")  # fmt: skip
        state.answers.record("a2", conversation_id="conv-1", message_id="m2",
                             question="지난주 세션", route="sql", lang="ko", query=None,
                             example=dict(draft, metrics=["sessions"]), answer_text="...")  # fmt: skip
        from bot.handler import CommercyBot

        bot = CommercyBot(state=state, warehouse=four_weeks, zone="Asia/Seoul",
                          today=lambda: TODAY, chart_url=lambda png: "", app_id="",
                          assistant=Assistant(llm=None, examples=examples))  # fmt: skip

        def click(reaction: str, reply_to: str) -> schema.Activity:
            return schema.Activity().deserialize(
                feedback_click(_NoConnector, reaction, "", replyToId=reply_to)
            )

        response, answer = take_feedback(click("like", "m1"), state.answers, bot._keep_example)
        assert response.status == 200 and answer.answer_id == "a1"
        take_feedback(click("dislike", "m2"), state.answers, bot._keep_example)
        assert [q for q, _ in state.memory.examples()] == ["지난주 채널별 매출"]
        assert state.memory.examples()[0][1]["dimensions"] == ["channel"]
    finally:
        state.close()


class _NoConnector:
    url = "http://127.0.0.1:9/"


# -- through the real Agents Playground ---------------------------------------------------


@needs_playground
def test_through_the_playground_a_feedback_click_is_stored_with_its_answer(
    four_weeks, tmp_path, monkeypatch
):
    """The Playground's own invoke API, as its 👍/👎 buttons call it: no replyToId, the
    comment as plain text, and the bot's 200 `{}` accepted."""
    from bot.app import STATE

    monkeypatch.chdir(tmp_path)

    async def scenario():
        async with playground_with_bot(four_weeks, tmp_path) as playground:
            chat = playground.config["personalChat"]["id"]
            await playground.say(chat, "어제 세션 수는?")
            await playground.wait_for_cards(chat, 1)
            [message] = playground.bot_messages(chat)
            # The Playground's own reading of the activity: the buttons on, the label there.
            assert message["feedbackLoopEnabled"] is True
            assert message["aiEntity"]["usageInfo"]["name"] == "Internal: store analytics"
            body = {
                "name": "message/submitAction",
                "from": {"id": "user-id-0"},
                "conversation": {"id": chat},
                "value": {
                    "actionName": "feedback",
                    "actionValue": {"reaction": "dislike", "feedback": "모바일만 보고 싶었어요"},
                },
            }
            async with playground.http.post(
                f"{playground.url}/_conversation/v1/invoke", json=body
            ) as r:
                assert r.status == 200, await r.text()
            [feedback] = playground.app[STATE].answers.recent_feedback()
            assert (feedback.reaction, feedback.comment) == ("dislike", "모바일만 보고 싶었어요")
            assert (feedback.question, feedback.route) == ("어제 세션 수는?", "sql")
            assert feedback.query["metrics"] == ["sessions"]
            assert feedback.message_id == message["messageId"]

    asyncio.run(scenario())


@needs_playground
@pytest.mark.skipif(not Path(CHROMIUM).exists() and not os.environ.get("CI"),
                    reason="needs Debian chromium")  # fmt: skip
def test_in_the_playground_page_a_documents_answer_shows_citation_pills_and_feedback_buttons(
    four_weeks, tmp_path, monkeypatch
):
    from playwright.async_api import async_playwright

    import tests.test_playground
    from bot.app import STATE

    monkeypatch.chdir(tmp_path)
    index = sample_corpus.indexed(tmp_path / "corpus")
    monkeypatch.setattr(tests.test_playground, "running_bot",
                        functools.partial(running_bot, index=index))  # fmt: skip
    ARTIFACTS.mkdir(parents=True, exist_ok=True)

    async def scenario():
        async with (
            playground_with_bot(four_weeks, tmp_path) as playground,
            async_playwright() as p,
            chat_page(p, playground, height=1400) as (page, box),
        ):
            await box.fill("프로모션 가이드에서 쿠폰 중복 사용 규칙 알려줘")
            await box.press("Enter")
            chat = playground.config["personalChat"]["id"]

            async def cited() -> dict:
                while True:
                    for message in playground.bot_messages(chat):
                        if (message.get("aiEntity") or {}).get("citation"):
                            return message
                    await asyncio.sleep(0.05)

            message = await asyncio.wait_for(cited(), 30)
            pill = page.get_by_role("button", name="1", exact=True).last
            await pill.wait_for(timeout=30_000)
            await page.screenshot(path=str(ARTIFACTS / "playground-citations.png"),
                                  full_page=True)  # fmt: skip
            await pill.hover()
            # The popup names the passage (file and page) as the citation's title.
            popup = page.get_by_text("promotion-guideline.ko.pdf p.2", exact=True)
            await popup.first.wait_for(timeout=10_000)
            await asyncio.sleep(0.5)  # the popup fades in: let the screenshot show it whole
            await page.screenshot(path=str(ARTIFACTS / "playground-citation-popup.png"),
                                  full_page=True)  # fmt: skip
            await page.mouse.move(0, 0)
            # 👍 on the cited answer, a comment typed in the Playground's own box.
            await page.get_by_label("Like", exact=True).last.click()
            comment = page.get_by_role("dialog").get_by_role("textbox")
            await comment.fill("출처까지 정확해요")
            await page.screenshot(path=str(ARTIFACTS / "playground-feedback-box.png"),
                                  full_page=True)  # fmt: skip
            await page.get_by_role("button", name="Submit").click()

            async def stored() -> list:
                while not (found := playground.app[STATE].answers.recent_feedback()):
                    await asyncio.sleep(0.05)
                return found

            [feedback] = await asyncio.wait_for(stored(), 30)
            assert (feedback.reaction, feedback.comment) == ("like", "출처까지 정확해요")
            assert feedback.question == "프로모션 가이드에서 쿠폰 중복 사용 규칙 알려줘"
            assert feedback.route == "rag"
            assert message["aiEntity"]["citation"][0]["appearance"]["url"].endswith("#page=2")

    asyncio.run(scenario())
