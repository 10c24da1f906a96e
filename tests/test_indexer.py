"""The RAG indexer: PDFs in a folder become passages with file, page and section; an
unchanged file costs nothing, a changed one replaces its passages, a deleted one leaves;
broken files go to quarantine with a reason and the rest is indexed; a killed indexer
leaves a consistent index; search finds the page that answers."""

from __future__ import annotations

import itertools
import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import pymupdf
import pytest
from click.testing import CliRunner

from bot.cli import cli
from rag_indexer import sample_corpus
from rag_indexer.chunk import MAX_SIZE, chunk, weighted_size
from rag_indexer.extract import BadDocument, extract
from rag_indexer.index import LocalIndex, SearchIndex
from rag_indexer.pipeline import Indexer, IndexerState
from rag_indexer.sources import FolderSource
from rag_indexer.watch import watch

PLAYBOOK = sample_corpus.FOLDER / "checkout-abandonment-playbook.ko.pdf"


def pdf_bytes(pages: list[str]) -> bytes:
    doc = pymupdf.open()
    for content in pages:
        page = doc.new_page()
        page.insert_textbox(pymupdf.Rect(72, 72, 523, 770), content, fontsize=11)
    return doc.tobytes()


def encrypted_pdf() -> bytes:
    doc = pymupdf.open()
    doc.new_page().insert_text((72, 72), "confidential discount plan")
    return doc.tobytes(encryption=pymupdf.PDF_ENCRYPT_AES_256, owner_pw="o", user_pw="u")


def scanned_pdf() -> bytes:
    """A page that is only a picture, as a scanner makes it."""
    doc = pymupdf.open()
    page = doc.new_page()
    pixmap = pymupdf.Pixmap(pymupdf.csRGB, pymupdf.IRect(0, 0, 60, 60), False)
    pixmap.clear_with(220)
    page.insert_image(page.rect, pixmap=pixmap)
    return doc.tobytes()


class Library:
    """A folder, an index (local unless given) and an indexer over them, in a temporary
    directory."""

    def __init__(self, root: Path, index: SearchIndex | None = None) -> None:
        self.folder = root / "playbooks"
        self.folder.mkdir()
        self.index = index or LocalIndex(root / "index.sqlite3")
        self.state = IndexerState(root / "indexer.sqlite3")
        self.indexer = Indexer(self.index, self.state)
        self.source = FolderSource(self.folder)

    def add(self, name: str, data: bytes | Path) -> Path:
        path = self.folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(data, Path):
            shutil.copy(data, path)
        else:
            path.write_bytes(data)
        return path

    def sync(self):
        return self.indexer.sync(self.source)


@pytest.fixture
def library(tmp_path: Path) -> Library:
    return Library(tmp_path)


# -- extraction and passages ------------------------------------------------------------


def test_headings_tables_and_pages_come_out_of_the_playbook() -> None:
    document = extract(PLAYBOOK)
    assert document.title == "장바구니·결제 이탈 대응 플레이북"
    blocks = [b for page in document.pages for b in page.blocks]
    headings = [b.text for b in blocks if b.kind == "heading"]
    assert "3.3 단계별 임계값" in headings
    table = next(b.text for b in blocks if b.kind == "table" and "payment.html" in b.text)
    assert "payment.html (결제) | 18~24% | 30% | 35% | 결제 플랫폼 온콜" in table.splitlines()


def test_passages_keep_to_one_page_and_carry_their_section_path() -> None:
    document = extract(PLAYBOOK)
    passages = chunk(document)
    assert all(weighted_size(p.text) <= MAX_SIZE for p in passages)
    for p in passages:
        assert p.text.split("\n")[-1][:40] in document.pages[p.page - 1].text
    thresholds = next(p for p in passages if "18~24%" in p.text)
    assert thresholds.section.endswith("3. 병목 감지 > 3.3 단계별 임계값")


def test_a_long_section_is_cut_at_sentences_with_overlap() -> None:
    sentences = [
        f"Rule {n}: a coupon of type {n} cannot be stacked with type {n + 1}." for n in range(60)
    ]
    passages = chunk(extract(pdf_bytes([" ".join(sentences)])))
    assert len(passages) > 2
    for before, after in itertools.pairwise(passages):
        first_sentence = after.text.split(". ")[0]
        assert first_sentence in before.text  # the next passage starts inside the last one


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"", "empty"),
        (b"Quarterly plan\nnot really a PDF", "not a PDF"),
        (b"%PDF-1.7\n1 0 obj << /Type /Catalog", "corrupt PDF"),
        (encrypted_pdf(), "encrypted"),
        (scanned_pdf(), "no text"),
    ],
    ids=["zero-bytes", "not-a-pdf", "corrupt", "encrypted", "scanned"],
)
def test_a_broken_file_is_refused_with_its_reason(data: bytes, reason: str) -> None:
    with pytest.raises(BadDocument, match=reason):
        extract(data)


def test_a_file_over_the_page_limit_is_refused() -> None:
    with pytest.raises(BadDocument, match="too long: 12 pages"):
        extract(pdf_bytes(["a page"] * 12), max_pages=11)


def test_a_501_page_pdf_goes_to_quarantine_with_the_default_limit(library: Library) -> None:
    doc = pymupdf.open()
    for number in range(501):
        doc.new_page().insert_text((72, 72), f"Appendix page {number}")
    library.add("appendix.pdf", doc.tobytes())
    library.add("voice.pdf", pdf_bytes(["Warm, plain words."]))
    report = library.sync()
    assert report.indexed == ["voice.pdf"]
    assert report.quarantined == [("appendix.pdf", "too long: 501 pages (the limit is 500)")]


# -- the pipeline -----------------------------------------------------------------------


def test_broken_files_go_to_quarantine_and_the_rest_is_indexed(library: Library) -> None:
    library.add("good/playbook.pdf", PLAYBOOK)
    library.add("empty.pdf", b"")
    library.add("notes.pdf", b"just text")
    library.add("locked.pdf", encrypted_pdf())
    library.add("scan.pdf", scanned_pdf())
    library.add("slides.pptx", b"PK\x03\x04")
    report = library.sync()
    assert report.indexed == ["good/playbook.pdf"]
    reasons = dict(report.quarantined)
    assert set(reasons) == {"empty.pdf", "notes.pdf", "locked.pdf", "scan.pdf", "slides.pptx"}
    assert "encrypted" in reasons["locked.pdf"] and "not a PDF" in reasons["slides.pptx"]
    assert [q.name for q in library.state.quarantined()] == sorted(reasons)
    again = library.sync()  # a quarantined file is not retried until it changes
    assert again.quarantined == [] and again.indexed == []


def test_an_unchanged_corpus_is_not_read_again(library: Library) -> None:
    library.add("a.pdf", PLAYBOOK)
    library.add("b.pdf", pdf_bytes(["Brand voice: warm, plain, never shouting."]))
    first = library.sync()
    assert first.indexed == ["a.pdf", "b.pdf"]
    reads = []
    source_read = library.source.read
    library.source.read = lambda file: reads.append(file.name) or source_read(file)
    second = library.sync()
    assert (second.indexed, second.unchanged, reads) == ([], 2, [])


def test_a_touched_file_is_hashed_but_not_reindexed(library: Library) -> None:
    path = library.add("a.pdf", PLAYBOOK)
    library.sync()
    before = library.index.documents()[0].indexed_at
    os.utime(path, (time.time() + 60, time.time() + 60))
    report = library.sync()
    assert (report.indexed, report.unchanged) == ([], 1)
    assert library.index.documents()[0].indexed_at == before


def test_a_changed_file_replaces_its_passages_and_a_deleted_one_leaves(library: Library) -> None:
    path = library.add("voice.pdf", pdf_bytes(["Subject lines stay under 45 characters."]))
    library.sync()
    assert library.index.search("subject lines characters")[0].file == "voice.pdf"
    path.write_bytes(pdf_bytes(["Push notifications stay under 60 characters."]))
    assert library.sync().indexed == ["voice.pdf"]
    assert library.index.search("subject lines") == []
    assert library.index.search("push notifications")[0].file == "voice.pdf"
    assert library.index.chunk_count() == 1
    path.unlink()
    assert library.sync().removed == ["voice.pdf"]
    assert library.index.documents() == [] and library.index.chunk_count() == 0


def test_a_file_that_breaks_leaves_the_index(library: Library) -> None:
    path = library.add("promo.pdf", pdf_bytes(["Stacking two coupons is never allowed."]))
    library.sync()
    path.write_bytes(b"%PDF-1.7 truncated by a failed upload")
    report = library.sync()
    assert [name for name, _ in report.quarantined] == ["promo.pdf"]
    assert library.index.search("stacking coupons") == []


def test_a_hostile_query_is_only_words(library: Library) -> None:
    library.add("a.pdf", PLAYBOOK)
    library.sync()
    for query in ['NEAR("x" OR', '" OR 1=1 --', "*", "payment) AND (", "'; DROP TABLE passages"]:
        library.index.search(query)  # no FTS5 syntax error, whatever is typed
    assert library.index.chunk_count() > 0


# -- search -----------------------------------------------------------------------------


def test_search_finds_the_page_that_answers_in_korean(library: Library) -> None:
    library.add("checkout.pdf", PLAYBOOK)
    library.sync()
    best = library.index.search("payment.html 결제 단계 경보 기준이 몇 %야?", top=5)
    assert any(hit.page == 2 and "35%" in hit.text for hit in best)
    assert best[0].score >= 0.5


def test_a_question_the_documents_do_not_cover_scores_low(library: Library) -> None:
    library.add("checkout.pdf", PLAYBOOK)
    library.sync()
    hits = library.index.search("틱톡 인플루언서 광고 예산 얼마야")
    assert all(hit.score < 0.5 for hit in hits)


# -- the CLI ----------------------------------------------------------------------------


def cli_env(root: Path) -> dict[str, str]:
    return {
        "COMMERCY_INDEX_URL": f"sqlite:///{root / 'index.sqlite3'}",
        "COMMERCY_INDEXER_STATE_URL": f"sqlite:///{root / 'indexer.sqlite3'}",
    }


def test_index_search_and_status_from_the_command_line(tmp_path: Path) -> None:
    folder = tmp_path / "docs"
    folder.mkdir()
    shutil.copy(PLAYBOOK, folder / "checkout.pdf")
    (folder / "broken.pdf").write_bytes(b"%PDF-1.4 nothing else")
    runner = CliRunner()
    env = cli_env(tmp_path)
    indexed = runner.invoke(cli, ["index", str(folder)], env=env, obj={})
    assert indexed.exit_code == 0, indexed.output
    assert "1 indexed" in indexed.output and "1 quarantined" in indexed.output
    found = runner.invoke(cli, ["search", "결제 오류율 경보 기준", "--json"], env=env, obj={})
    hits = json.loads(found.output)
    assert hits and set(hits[0]) >= {"file", "page", "score", "text"}
    assert hits[0]["file"] == "checkout.pdf"
    status = runner.invoke(cli, ["indexer", "status", "--json"], env=env, obj={})
    listing = json.loads(status.output)
    assert [d["file"] for d in listing["documents"]] == ["checkout.pdf"]
    assert listing["quarantine"][0]["file"] == "broken.pdf"
    assert "corrupt" in listing["quarantine"][0]["reason"]


def test_an_indexer_killed_mid_run_leaves_a_consistent_index(tmp_path: Path) -> None:
    """SIGKILL while a long corpus is being indexed; the next run finishes the job and the
    index holds exactly what a clean run would."""
    folder = tmp_path / "docs"
    folder.mkdir()
    for n in range(12):
        text = [f"Section {n}.{p}: the refund window is {n + p} days for order {p}." * 12
                for p in range(40)]  # fmt: skip
        (folder / f"manual-{n:02d}.pdf").write_bytes(pdf_bytes(text))
    env = {**os.environ, **cli_env(tmp_path)}
    command = [str(Path(sys.executable).parent / "commercy"), "index", str(folder)]
    run = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    index_path = tmp_path / "index.sqlite3"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and run.poll() is None:
        if index_path.exists() and _documents(index_path) >= 2:
            break
        time.sleep(0.02)
    run.send_signal(signal.SIGKILL)
    run.wait(timeout=10)
    assert _documents(index_path) < 12, "the kill came too late to test anything"

    again = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)
    assert again.returncode == 0, again.stderr
    with sqlite3.connect(index_path) as db:
        documents = db.execute("SELECT COUNT(*), SUM(chunks) FROM documents").fetchone()
        passages = db.execute("SELECT COUNT(*) FROM passages").fetchone()[0]
        terms = db.execute("SELECT COUNT(*) FROM passage_terms").fetchone()[0]
        orphans = db.execute(
            "SELECT COUNT(*) FROM passages WHERE doc_id NOT IN (SELECT doc_id FROM documents)"
        ).fetchone()[0]
    assert documents[0] == 12 and documents[1] == passages == terms and orphans == 0


def _documents(path: Path) -> int:
    try:
        with sqlite3.connect(path, timeout=1) as db:
            return db.execute("SELECT COUNT(*) FROM documents").fetchone()[0]
    except sqlite3.Error:
        return 0


# -- watching a folder ------------------------------------------------------------------


def test_the_watcher_indexes_a_dropped_file_and_forgets_a_deleted_one(library: Library) -> None:
    stop = threading.Event()
    thread = threading.Thread(
        target=watch, args=(library.indexer, library.source, stop), kwargs={"poll_seconds": 60}
    )
    thread.start()
    try:
        path = library.add("voice.pdf", pdf_bytes(["Say 'you' more than 'we' in every email."]))
        assert _eventually(lambda: [d.file for d in library.index.documents()] == ["voice.pdf"])
        path.unlink()
        assert _eventually(lambda: library.index.documents() == [])
    finally:
        stop.set()
        thread.join(timeout=10)


def _eventually(condition, seconds: float = 15.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.1)
    return False


# -- an Azure Blob container (Azurite) --------------------------------------------------

AZURITE = Path(__file__).resolve().parents[1] / "node_modules" / ".bin" / "azurite-blob"
# Azurite's well-known development account (documented by Microsoft; not a secret).
AZURITE_KEY = (
    "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
)


@pytest.fixture
def azurite(tmp_path: Path):
    """A real Azurite blob service on a free port; yields its connection string."""
    from tests.doubles.botkit import free_port

    port = free_port()
    process = subprocess.Popen(
        [str(AZURITE), "--silent", "--skipApiVersionCheck", "--location", str(tmp_path / "az"),
         "--blobHost", "127.0.0.1", "--blobPort", str(port)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
    )  # fmt: skip
    connection = (
        "DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;"
        f"AccountKey={AZURITE_KEY};BlobEndpoint=http://127.0.0.1:{port}/devstoreaccount1;"
    )
    try:
        from azure.storage.blob import BlobServiceClient

        service = BlobServiceClient.from_connection_string(connection)
        assert _eventually(lambda: _answers(service), seconds=30), "Azurite did not start"
        yield connection
    finally:
        os.killpg(process.pid, signal.SIGKILL)  # a throwaway instance: nothing to flush
        process.wait(timeout=10)


def _answers(service) -> bool:
    try:
        list(service.list_containers())
        return True
    except Exception:
        time.sleep(0.2)
        return False


def test_pdfs_uploaded_to_a_blob_container_are_indexed_and_follow_its_changes(
    azurite: str, tmp_path: Path
) -> None:
    from azure.storage.blob import ContainerClient

    from rag_indexer.sources import BlobSource

    container = ContainerClient.from_connection_string(azurite, "playbooks")
    container.create_container()
    container.upload_blob("ko/checkout.pdf", PLAYBOOK.read_bytes())
    container.upload_blob("voice.pdf", pdf_bytes(["Subject lines stay under 45 characters."]))
    container.upload_blob("broken.pdf", b"%PDF-1.7 cut short")
    indexer = Indexer(LocalIndex(tmp_path / "i.sqlite3"), IndexerState(tmp_path / "s.sqlite3"))
    source = BlobSource(azurite, "playbooks")

    first = indexer.sync(source)
    assert first.indexed == ["ko/checkout.pdf", "voice.pdf"]
    assert [name for name, _ in first.quarantined] == ["broken.pdf"]
    hit = indexer.index.search("subject lines characters")[0]
    assert (hit.file, hit.page) == ("voice.pdf", 1)
    assert hit.location.endswith("/playbooks/voice.pdf")
    assert indexer.sync(source).unchanged == 3  # ETags unchanged: nothing downloaded

    container.upload_blob("voice.pdf", pdf_bytes(["Push texts stay under 60 characters."]),
                          overwrite=True)  # fmt: skip
    container.delete_blob("ko/checkout.pdf")
    after = indexer.sync(source)
    assert (after.indexed, after.removed) == (["voice.pdf"], ["ko/checkout.pdf"])
    assert indexer.index.search("push texts")[0].file == "voice.pdf"
    assert indexer.index.search("subject lines") == []
