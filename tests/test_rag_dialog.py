"""Answers from documents in the bot and in `commercy ask`: the best passages quoted with
file and page (a link that opens the PDF at that page), in the question's language; an
honest "the documents don't cover this" instead of a guess; questions the KPI parser
cannot place are tried against the documents."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
from aiohttp import ClientSession
from click.testing import CliRunner

from bot.cli import cli
from bot.documents import library
from bot.settings import Settings
from cards.validation import validate_card
from dialogs.context import AskContext
from dialogs.router import answer
from rag_indexer import sample_corpus
from rag_indexer.index import LocalIndex
from tests.doubles.botkit import activity, post, running_bot
from tests.test_bot import TODAY


@pytest.fixture(scope="module")
def corpus_index(tmp_path_factory: pytest.TempPathFactory) -> LocalIndex:
    return sample_corpus.indexed(tmp_path_factory.mktemp("corpus"))


def ask(text: str, index: LocalIndex, warehouse) -> dict:
    context = AskContext(
        warehouse=warehouse, zone="Asia/Seoul", as_of=TODAY,
        library=library(Settings(), index),
    )  # fmt: skip
    return answer(text, context).to_dict()


def test_a_question_about_a_playbook_is_answered_with_file_and_page(corpus_index, four_weeks):
    reply = ask("플레이북에서 payment.html 경보 기준이 몇 %야?", corpus_index, four_weeks)
    assert reply["route"] == "rag" and reply["lang"] == "ko"
    quoted = [(source["file"], source["page"]) for source in reply["sources"]]
    assert ("checkout-abandonment-playbook.ko.pdf", 2) in quoted  # the threshold table
    file, page = quoted[0]
    assert f"{file} p.{page}" in reply["text"]  # the lead sentence cites its own page
    shown = json.dumps(reply["card"], ensure_ascii=False)
    assert "checkout-abandonment-playbook.ko.pdf · p.2" in shown and "35%" in shown
    validate_card(reply["card"])


def test_the_sentences_that_answer_are_highlighted(corpus_index, four_weeks):
    reply = ask("playbook: payment.html 체류 시간 기준", corpus_index, four_weeks)
    runs = [
        run
        for item in reply["card"]["body"]
        for block in item.get("items", [])
        for run in block.get("inlines", [])
    ]
    highlighted = [run["text"] for run in runs if run.get("highlight")]
    assert highlighted and any("payment.html" in text for text in highlighted)


def test_what_the_documents_do_not_cover_is_said_not_guessed(corpus_index, four_weeks):
    reply = ask("According to the playbook, what is our TikTok influencer budget?",
                corpus_index, four_weeks)  # fmt: skip
    assert reply["route"] == "rag" and reply["sources"] == []
    assert "don't cover" in reply["text"]
    assert "Brand Voice" in json.dumps(reply["card"]) or "brand" in json.dumps(reply["card"])


def test_a_question_the_kpi_parser_cannot_place_is_tried_on_the_documents(corpus_index, four_weeks):
    reply = ask("결제 게이트웨이 오류율이 5% 넘으면 누구한테 연락해?", corpus_index, four_weeks)
    assert reply["route"] == "rag"
    assert reply["sources"][0]["file"] == "checkout-abandonment-playbook.ko.pdf"
    kpi = ask("어제 매출 알려줘", corpus_index, four_weeks)
    assert kpi["route"] == "sql"  # numbers still go to the warehouse


def test_commercy_ask_answers_from_the_index_in_json(tmp_path: Path, corpus_index, four_weeks):
    env = {"COMMERCY_INDEX_URL": f"sqlite:///{corpus_index.path}",
           "COMMERCY_DATABASE_URL": str(four_weeks.engine.url)}  # fmt: skip
    result = CliRunner().invoke(
        cli, ["ask", "what does the channel strategy say about affiliates?", "--json"],
        env=env, obj={},
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    reply = json.loads(result.output)
    assert reply["route"] == "rag"
    assert reply["sources"][0]["file"] == "channel-strategy.en.pdf"
    assert set(reply["sources"][0]) >= {"file", "page", "score", "text"}


def test_the_bot_quotes_a_playbook_and_serves_the_pdf_at_its_page(
    tmp_path: Path, corpus_index, four_weeks, monkeypatch
):
    monkeypatch.chdir(tmp_path)
    settings = Settings(COMMERCY_TIMEZONE="Asia/Seoul", MicrosoftAppId="")

    async def scenario():
        async with (
            running_bot(settings, four_weeks, today=TODAY, state_path=str(tmp_path / "s.db"),
                        index=corpus_index) as (base, connector, _app),
            ClientSession() as http,
        ):  # fmt: skip
            question = "프로모션 가이드에서 쿠폰 중복 사용 규칙 알려줘"
            status, _ = await post(http, base, activity(question, connector=connector))
            assert status in (200, 201)
            # The card, then its cited text on its own: pills do not render on attachments.
            message, cited = await connector.wait_for("conv-1", 2)
            card = message["attachments"][0]["content"]
            links = [
                block["text"]
                for item in card["body"]
                for block in item.get("items", [])
                if block.get("type") == "TextBlock" and "](" in block.get("text", "")
            ]
            assert links and "promotion-guideline.ko.pdf" in links[0]
            url = links[0].split("](")[1].rstrip(")")
            assert url.startswith("http://localhost:") and "#page=" in url
            assert not cited.get("attachments") and "[1]" in cited["text"]
            [entity] = cited["entities"]
            first = entity["citation"][0]
            assert first["position"] == 1 and first["appearance"]["url"] == url
            assert "additionalType" not in entity  # quoted, not written by a model
            path = "/" + url.split("/", 3)[3].split("#")[0]
            async with http.get(base + path) as response:
                assert response.status == 200
                assert response.content_type == "application/pdf"
                assert (await response.read()).startswith(b"%PDF-")
            for bad in ("/docs/0123456789abcdef.pdf", "/docs/..%2F..%2Fetc%2Fpasswd.pdf"):
                async with http.get(base + bad) as response:
                    assert response.status == 404
            async with http.get(base + "/healthz") as response:
                assert (await response.json())["index"].startswith("ok")

    asyncio.run(scenario())
