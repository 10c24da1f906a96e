"""Hybrid search with embeddings (rag_indexer/embed.py) from an OpenAI-compatible endpoint
(the real `openai` client over HTTP to a local stand-in, tests/doubles/openai_server.py):
a question that shares no word with the passage that answers it is still answered, across
languages; without embeddings, or with the endpoint down, search falls back to words and
nothing breaks."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.documents import library
from bot.settings import Settings
from dialogs.rag import answer_from_documents
from rag_indexer.embed import OpenAIEmbedder
from rag_indexer.index import LocalIndex
from rag_indexer.pipeline import Indexer, IndexerState
from rag_indexer.sources import FolderSource
from tests.doubles.openai_server import OpenAICompatibleServer
from tests.test_indexer import pdf_bytes

POLICY = "Refunds are accepted within 30 days of delivery. Gift cards are final sale."
QUESTION = "환불 기간이 며칠이야?"  # no word in common with POLICY


@pytest.fixture
def server():
    with OpenAICompatibleServer() as running:
        yield running


def indexed(tmp_path: Path, embed) -> LocalIndex:
    folder = tmp_path / "docs"
    folder.mkdir()
    (folder / "returns-policy.pdf").write_bytes(pdf_bytes([POLICY]))
    index = LocalIndex(tmp_path / "index.sqlite3")
    Indexer(index, IndexerState(tmp_path / "state.sqlite3"), embed=embed).sync(FolderSource(folder))
    return index


def test_a_question_in_other_words_and_another_language_is_answered_by_meaning(
    server: OpenAICompatibleServer, tmp_path: Path
) -> None:
    embed = OpenAIEmbedder.for_base_url(server.base_url, "test-embedding", api_key="k")
    index = indexed(tmp_path, embed)
    documents = library(Settings(), index, embed)
    found = answer_from_documents(QUESTION, documents, "ko")
    assert found.covered
    assert found.hits[0].file == "returns-policy.pdf" and found.hits[0].similarity > 0.5
    assert "30 days" in found.text
    assert {r["model"] for r in server.requests} == {"test-embedding"}


def test_without_embeddings_the_same_question_is_honestly_not_covered(tmp_path: Path) -> None:
    index = indexed(tmp_path, None)
    found = answer_from_documents(QUESTION, library(Settings(), index, None), "ko")
    assert not found.covered and found.hits == []


def test_azure_openai_deployments_are_reached_by_their_path(
    server: OpenAICompatibleServer, tmp_path: Path
) -> None:
    embed = OpenAIEmbedder.for_azure(
        server.azure_endpoint, "embed-deployment", api_key="k", api_version="2024-10-21"
    )
    assert len(embed(["쿠폰 중복 사용"])[0]) == 64
    assert server.requests[-1]["path"] == "/openai/deployments/embed-deployment/embeddings"


def test_an_endpoint_that_fails_leaves_search_to_words(
    server: OpenAICompatibleServer, tmp_path: Path
) -> None:
    embed = OpenAIEmbedder.for_base_url(server.base_url, "test-embedding", api_key="k")
    index = indexed(tmp_path, embed)
    embed.client = embed.client.with_options(max_retries=0)
    server.fail_next = 10
    documents = library(Settings(), index, embed)
    found = answer_from_documents("refunds accepted within days", documents, "en")
    assert found.covered and found.hits[0].similarity is None  # words only, still answered


def test_passages_added_after_a_search_are_found_by_meaning_in_the_next_one(
    server: OpenAICompatibleServer, tmp_path: Path
) -> None:
    """The bot keeps one index open while the indexer (another process) changes it."""
    embed = OpenAIEmbedder.for_base_url(server.base_url, "test-embedding", api_key="k")
    index = indexed(tmp_path, embed)
    coupon = embed(["쿠폰 몇 개까지 같이 써?"])[0]
    assert all(hit.file != "coupons.pdf" for hit in index.search("coupon", vector=coupon))
    folder = tmp_path / "docs"
    (folder / "coupons.pdf").write_bytes(pdf_bytes(["One coupon per order."]))
    other = LocalIndex(index.path)  # the indexer's own connection
    Indexer(other, IndexerState(tmp_path / "state.sqlite3"), embed=embed).sync(FolderSource(folder))
    hits = index.search("쿠폰 몇 개까지 같이 써?", vector=coupon)
    assert hits[0].file == "coupons.pdf" and hits[0].similarity is not None
