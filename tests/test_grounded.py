"""With an LLM (the real `openai` client over HTTP to a scripted local server,
tests/doubles/openai_server.py): answers from documents are worded by the model and cite the
passages; an answer that cites what was not given, a model that says the passages do not
answer, a failing or slow endpoint: each ends in an honest answer, never an invented one."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bot.documents import library, writer
from bot.settings import Settings
from dialogs.grounded import NOT_COVERED, checked
from dialogs.rag import answer_from_documents
from tests.doubles.openai_server import OpenAICompatibleServer
from tests.test_embed import indexed

QUESTION = "Within how many days after delivery are refunds accepted?"


@pytest.fixture
def server():
    with OpenAICompatibleServer() as running:
        yield running


def documents(server: OpenAICompatibleServer, tmp_path: Path):
    settings = Settings(COMMERCY_OPENAI_BASE_URL=server.base_url, COMMERCY_CHAT_MODEL="chat",
                        COMMERCY_LLM_MAX_RETRIES=0)  # fmt: skip
    model = writer(settings)
    model.llm.open_seconds = 0  # each test's failure is its own, not the next test's
    return library(settings, indexed(tmp_path, None), None, model)


def test_the_model_words_the_answer_and_cites_the_passage(server, tmp_path):
    server.chat_replies = ["Refunds are accepted within 30 days of delivery [1]."]
    found = answer_from_documents(QUESTION, documents(server, tmp_path), "en")
    assert found.covered
    assert found.text.startswith("Refunds are accepted within 30 days of delivery [1].")
    assert "[1] returns-policy.pdf p.1" in found.text
    card = json.dumps(found.card)
    assert "within 30 days of delivery [1]" in card and "returns-policy.pdf" in card
    sent = server.requests[-1]
    assert sent["model"] == "chat" and sent["temperature"] == 0
    assert "Refunds are accepted within 30 days" in sent["messages"][1]["content"]


def test_an_answer_citing_a_passage_it_was_not_given_is_not_used(server, tmp_path):
    server.chat_replies = ["Customers have 90 days [4]."]
    found = answer_from_documents(QUESTION, documents(server, tmp_path), "en")
    assert found.covered and "90 days" not in found.text  # the extractive answer stands
    assert "30 days" in found.text


def test_the_model_saying_the_passages_do_not_answer_is_believed(server, tmp_path):
    server.chat_replies = [NOT_COVERED]
    found = answer_from_documents(QUESTION, documents(server, tmp_path), "en")
    assert not found.covered and "don't cover" in found.text


@pytest.mark.parametrize("failure", [503, 429, 500])
def test_a_failing_endpoint_leaves_the_extractive_answer(server, tmp_path, failure):
    server.chat_replies = [failure]
    found = answer_from_documents(QUESTION, documents(server, tmp_path), "en")
    assert found.covered and "30 days" in found.text


def test_the_rules_for_an_answer() -> None:
    assert checked("A [1] and B [2].", 2).covered
    assert checked("NOT_COVERED.", 2).covered is False
    assert checked("No citation at all.", 2) is None
    assert checked("Beyond what was given [3].", 2) is None
    assert checked("", 2) is None


def test_a_chat_model_without_an_endpoint_is_one_clear_line(monkeypatch) -> None:
    from bot.settings import SettingsError, load_settings

    monkeypatch.setenv("COMMERCY_CHAT_MODEL", "gpt-4o")
    with pytest.raises(SettingsError, match="COMMERCY_CHAT_MODEL is set but there is no endpoint"):
        load_settings(env_file=None)
