"""Azure AI Search as the index: the real client code (AzureSearchIndex over
azure-search-documents) against a local stand-in that speaks the service's REST
protocol (tests/doubles/azure_search_server.py), reached over plain http.

The schema is created as the service expects it; the pipeline indexes the Korean
playbook into it and a Korean question finds the page; a changed file replaces its
passages (new ones first, so an interrupted replacement is finished by the next run);
a removed one leaves; quotes in names are quoted; vectors rescue a question whose words
miss; a wrong key fails at once.
"""

from __future__ import annotations

import asyncio
import math
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from aiohttp import web
from azure.core.credentials import AzureKeyCredential
from azure.core.exceptions import HttpResponseError
from azure.search.documents.indexes import SearchIndexClient

from rag_indexer.azure_search import AzureSearchIndex, odata_string, passage_key
from rag_indexer.index import DocumentInfo, Passage, doc_id_for
from tests.doubles.azure_search_server import SearchService
from tests.doubles.botkit import free_port
from tests.test_indexer import PLAYBOOK, Library, pdf_bytes

KEY = "stand-in-admin-key"


class Service:
    """The stand-in on a free port, in a thread with its own event loop: the SDK's
    SearchClient is synchronous and would block a loop shared with it."""

    def __init__(self) -> None:
        self.store = SearchService(KEY)
        self.port = free_port()
        self.endpoint = f"http://127.0.0.1:{self.port}"
        self._loop = asyncio.new_event_loop()
        self._runner = web.AppRunner(self.store.app())
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)

    def _serve(self) -> None:
        asyncio.set_event_loop(self._loop)
        self._loop.run_until_complete(self._runner.setup())
        site = web.TCPSite(self._runner, "127.0.0.1", self.port)
        self._loop.run_until_complete(site.start())
        self._ready.set()
        self._loop.run_forever()

    def start(self) -> None:
        self._thread.start()
        assert self._ready.wait(10), "the stand-in did not start"

    def stop(self) -> None:
        asyncio.run_coroutine_threadsafe(self._runner.cleanup(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)
        self._loop.close()


@pytest.fixture(scope="module")
def service() -> Iterator[Service]:
    running = Service()
    running.start()
    yield running
    running.stop()


def open_index(service: Service, *, dimensions: int | None = None) -> AzureSearchIndex:
    """A fresh index on the shared service."""
    name = f"passages-{uuid.uuid4().hex[:8]}"
    return AzureSearchIndex(service.endpoint, name, key=KEY, dimensions=dimensions)


def writes(service: Service, index: AzureSearchIndex) -> list[list[str]]:
    """The actions of each indexing request the index sent, in order."""
    return [actions for name, actions in service.store.batches if name == index.index_name]


@pytest.fixture
def library(tmp_path: Path, service: Service) -> Library:
    return Library(tmp_path, open_index(service))


def info_for(
    file: str, content_hash: str, chunks: int, *, source: str = "folder:/t"
) -> DocumentInfo:
    return DocumentInfo(
        doc_id=doc_id_for(source, file), file=file, source=source, title=file,
        content_hash=content_hash, pages=1, chunks=chunks, uploaded_at=1.0,
        indexed_at=time.time(), location=f"/t/{file}",
    )  # fmt: skip


# -- the schema ---------------------------------------------------------------------------


def test_the_schema_has_a_vector_field_and_a_semantic_configuration_when_dimensions_are_given(
    service: Service,
) -> None:
    index = open_index(service, dimensions=8)
    index.ensure_index()
    index.ensure_index()  # a second run updates the index to the same schema
    client = SearchIndexClient(service.endpoint, AzureKeyCredential(KEY))
    created = client.get_index(index.index_name)
    fields = {f.name: f for f in created.fields}
    assert [f.name for f in created.fields if f.key] == ["id"]
    assert fields["page"].type == "Edm.Int32" and fields["page"].filterable
    assert fields["terms"].searchable and fields["terms"].analyzer_name == "en.lucene"
    assert fields["text"].analyzer_name == "ko.microsoft"
    vector = fields["vector"]
    assert (vector.type, vector.vector_search_dimensions) == ("Collection(Edm.Single)", 8)
    profile = created.vector_search.profiles[0]
    assert vector.vector_search_profile_name == profile.name
    assert created.vector_search.algorithms[0].kind == "hnsw"
    semantic = created.semantic_search.configurations[0].prioritized_fields
    assert semantic.title_field.field_name == "title"
    assert [f.field_name for f in semantic.content_fields] == ["section", "text"]

    plain = open_index(service)
    plain.ensure_index()
    assert "vector" not in {f.name for f in client.get_index(plain.index_name).fields}


def test_the_index_url_names_the_service_and_the_index() -> None:
    index = AzureSearchIndex.from_url("https://acme.search.windows.net/indexes/playbooks", key="k")
    assert (index.endpoint, index.index_name) == ("https://acme.search.windows.net", "playbooks")
    with pytest.raises(ValueError, match="not an Azure AI Search index URL"):
        AzureSearchIndex.from_url("https://acme.search.windows.net/playbooks", key="k")


# -- the pipeline -------------------------------------------------------------------------


def test_the_pipeline_indexes_the_korean_playbook_and_a_korean_question_finds_page_2(
    library: Library,
) -> None:
    library.add("checkout.pdf", PLAYBOOK)
    report = library.sync()
    assert report.indexed == ["checkout.pdf"] and report.chunks > 0
    assert library.index.chunk_count() == report.chunks
    [document] = library.index.documents()
    assert (document.file, document.title) == ("checkout.pdf", "장바구니·결제 이탈 대응 플레이북")
    assert document.chunks == report.chunks

    best = library.index.search("payment.html 결제 단계 경보 기준이 몇 %야?", top=3)
    assert any(hit.page == 2 and "35%" in hit.text for hit in best)
    assert best[0].score >= 0.5 and {"결제", "경보"} <= set(best[0].matched)
    assert best[0].location.endswith("checkout.pdf") and best[0].doc_id == document.doc_id
    uncovered = library.index.search("틱톡 인플루언서 광고 예산 얼마야")
    assert all(hit.score < 0.5 for hit in uncovered)

    again = library.sync()  # document() answers from Azure: nothing is read twice
    assert (again.indexed, again.unchanged) == ([], 1)


def test_a_changed_file_replaces_its_passages_new_ones_first(
    library: Library, service: Service
) -> None:
    path = library.add("voice.pdf", pdf_bytes(["Subject lines stay under 45 characters."]))
    library.sync()
    assert library.index.search("subject lines characters")[0].file == "voice.pdf"
    path.write_bytes(pdf_bytes(["Push notifications stay under 60 characters."]))
    assert library.sync().indexed == ["voice.pdf"]
    assert library.index.search("subject lines") == []
    assert library.index.search("push notifications")[0].file == "voice.pdf"
    assert library.index.chunk_count() == 1
    assert writes(service, library.index)[-2:] == [["mergeOrUpload"], ["delete"]]


def test_a_replacement_cut_short_before_its_deletes_is_finished_by_the_next_run(
    library: Library, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = library.add("voice.pdf", pdf_bytes(["Subject lines stay under 45 characters."]))
    library.sync()
    path.write_bytes(pdf_bytes(["Push notifications stay under 60 characters."]))

    def crash(keys: object) -> None:
        raise KeyboardInterrupt  # the process dies between the upload and the deletes

    monkeypatch.setattr(library.index, "_delete_keys", crash)
    with pytest.raises(KeyboardInterrupt):
        library.sync()
    monkeypatch.undo()
    # Both versions are whole in the index; neither is half there.
    assert library.index.search("subject lines")[0].file == "voice.pdf"
    assert library.index.search("push notifications")[0].file == "voice.pdf"
    assert library.index.document("voice.pdf", library.source.key).content_hash == ""

    assert library.sync().indexed == ["voice.pdf"]
    assert library.index.search("subject lines") == []
    assert library.index.chunk_count() == 1 and len(library.index.documents()) == 1


def test_deletes_cut_short_leave_the_old_manifest_so_the_next_run_finishes_them(
    service: Service, monkeypatch: pytest.MonkeyPatch
) -> None:
    index = open_index(service)
    old = [Passage(f"old-{n}", n, 1, "Rules", f"Rule {n} of the catalogue.") for n in range(1500)]
    index.replace_document(info_for("big.pdf", "h1", len(old)), old)
    new_info = info_for("big.pdf", "h2", 1)
    new = [Passage("new-0", 0, 1, "Rules", "One rule only.")]
    delete_documents = index._search.delete_documents
    calls = []

    def dies_on_the_second_batch(batch: list[dict]) -> object:
        calls.append(len(batch))
        if len(calls) == 2:
            raise KeyboardInterrupt
        return delete_documents(batch)

    monkeypatch.setattr(index._search, "delete_documents", dies_on_the_second_batch)
    with pytest.raises(KeyboardInterrupt):
        index.replace_document(new_info, new)
    monkeypatch.undo()
    assert calls == [1000, 500] and index.chunk_count() == 501
    assert index.document("big.pdf", "folder:/t").content_hash == ""  # not done: redo it
    index.replace_document(new_info, new)
    assert index.chunk_count() == 1
    assert index.document("big.pdf", "folder:/t").content_hash == "h2"


def test_a_removed_file_takes_its_passages_with_it(library: Library) -> None:
    path = library.add("voice.pdf", pdf_bytes(["Subject lines stay under 45 characters."]))
    library.add("promo.pdf", pdf_bytes(["Stacking two coupons is never allowed."]))
    library.sync()
    path.unlink()
    assert library.sync().removed == ["voice.pdf"]
    assert [d.file for d in library.index.documents()] == ["promo.pdf"]
    assert library.index.search("subject lines") == [] and library.index.chunk_count() == 1


def test_a_file_name_with_a_single_quote_is_indexed_found_and_removed(library: Library) -> None:
    name = "O'Brien's 'launch' plan.pdf"
    path = library.add(name, pdf_bytes(["Launch emails go out at nine in the morning."]))
    assert library.sync().indexed == [name]
    assert library.index.document(name, library.source.key).file == name
    assert library.index.search("launch emails morning")[0].file == name
    path.unlink()
    assert library.sync().removed == [name]
    assert library.index.documents() == [] and library.index.chunk_count() == 0
    assert odata_string("O'Brien") == "'O''Brien'"


def test_a_document_without_passages_is_remembered_but_never_found(service: Service) -> None:
    index = open_index(service)
    index.replace_document(info_for("blank.pdf", "h1", 0), [])
    assert index.document("blank.pdf", "folder:/t").content_hash == "h1"
    assert index.chunk_count() == 0 and index.search("blank pdf") == []
    passage = Passage("c-0", 0, 1, "Intro", "Blank pages are not allowed in catalogues.")
    index.replace_document(info_for("blank.pdf", "h2", 1), [passage])
    assert index.document("blank.pdf", "folder:/t").content_hash == "h2"  # marker gone
    assert index.chunk_count() == 1


def test_a_large_document_is_uploaded_in_batches_of_at_most_1000(service: Service) -> None:
    index = open_index(service)
    passages = [
        Passage(f"big/{n}", n, 1 + n // 10, "Rules", f"Rule {n} of the catalogue.")
        for n in range(2500)
    ]
    index.replace_document(info_for("big.pdf", "h", len(passages)), passages)
    assert [len(actions) for actions in writes(service, index)] == [1000, 1000, 500]
    assert index.chunk_count() == 2500
    # "/" is not allowed in a key: the chunk id is encoded, not sent as is.
    assert passage_key("big/7").isascii() and "/" not in passage_key("big/7")
    small = Passage("small/0", 0, 1, "Rules", "One rule only.")
    index.replace_document(info_for("big.pdf", "h2", 1), [small])
    assert index.chunk_count() == 1  # the 2500 old passages, found over 3 pages, are gone


# -- search -------------------------------------------------------------------------------


def test_hybrid_search_returns_the_vector_nearest_passage_when_the_words_do_not_match(
    service: Service,
) -> None:
    index = open_index(service, dimensions=4)
    index.ensure_index()
    texts = [
        "Refunds are paid within five working days.",
        "Gift cards never expire.",
        "Free shipping starts at fifty dollars.",
    ]
    passages = [
        Passage(f"v-{n}", n, 1, "Policies", text, vector=[1.0 if i == n else 0.0 for i in range(4)])
        for n, text in enumerate(texts)
    ]
    index.replace_document(info_for("policies.pdf", "h", 3), passages)

    [first, *_] = index.search("voucher validity period", vector=[0.1, 0.9, 0.2, 0.0])
    assert first.text == "Gift cards never expire." and first.score == 0.0
    assert first.matched == () and first.similarity == pytest.approx(0.9 / math.sqrt(0.86))
    words = index.search("free shipping", vector=[0.0, 0.0, 1.0, 0.0])
    assert words[0].text.startswith("Free shipping") and words[0].score == 1.0
    assert words[0].similarity == pytest.approx(1.0)
    assert all(hit.similarity is None for hit in index.search("free shipping"))


# -- failures -----------------------------------------------------------------------------


def test_a_wrong_key_is_refused_at_once_with_a_clear_error(service: Service) -> None:
    good = open_index(service)
    good.ensure_index()
    wrong = AzureSearchIndex(service.endpoint, good.index_name, key="not-the-key")
    started = time.monotonic()
    with pytest.raises(HttpResponseError) as refused:
        wrong.search("subject lines")
    assert time.monotonic() - started < 5  # refused, not retried
    assert refused.value.status_code == 403 and "api-key" in str(refused.value)

    url = f"{service.endpoint}/indexes('{good.index_name}')/docs/$count?api-version=2026-04-01"
    with pytest.raises(urllib.error.HTTPError) as missing:
        urllib.request.urlopen(url, timeout=5)
    assert missing.value.code == 401


def test_an_azure_search_url_in_the_settings_opens_the_azure_index() -> None:
    from bot.documents import open_index
    from bot.settings import Settings

    settings = Settings(
        COMMERCY_INDEX_URL="https://commercy.search.windows.net/indexes/playbooks",
        COMMERCY_SEARCH_KEY="key",
    )
    index = open_index(settings)  # builds the clients; nothing is sent until it is used
    assert isinstance(index, AzureSearchIndex)
    assert index.index_name == "playbooks"
