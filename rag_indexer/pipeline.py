"""Sources -> index: what changed is (re)indexed, what vanished is removed, what cannot
be read is quarantined with its reason, and the indexer keeps going.

Cost of a re-run. A file whose version stamp (size and mtime, or ETag) is the one last
seen is passed over without being read. A file whose stamp changed is hashed; if its
content is what the index already holds (a `touch`, a re-upload), nothing else happens.

Crash safety. The index replaces a document's passages in one transaction, and the
state here is written after it. A crash in between leaves an old stamp next to a new
index entry: the next run hashes the file, finds the index current, and only updates
the stamp. Nothing is half-indexed and nothing is lost.
"""

from __future__ import annotations

import hashlib
import logging
import sqlite3
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from rag_indexer.chunk import chunk
from rag_indexer.extract import MAX_PAGES, BadDocument, extract
from rag_indexer.index import DocumentInfo, Passage, SearchIndex, doc_id_for
from rag_indexer.sources import Source, SourceFile

log = logging.getLogger(__name__)

Embed = Callable[[Sequence[str]], list[list[float]]]

STATE_SCHEMA = """
CREATE TABLE IF NOT EXISTS files (
    source TEXT NOT NULL,
    name TEXT NOT NULL,
    version TEXT NOT NULL,            -- the stamp last seen: size:mtime, or the ETag
    content_hash TEXT,
    status TEXT NOT NULL,             -- indexed | quarantined
    reason TEXT,                      -- why it is in quarantine
    pages INTEGER,
    updated_at REAL NOT NULL,
    PRIMARY KEY (source, name)
);
"""


@dataclass(frozen=True)
class FileState:
    source: str
    name: str
    version: str
    content_hash: str | None
    status: str
    reason: str | None
    pages: int | None
    updated_at: float


class IndexerState:
    """What the indexer has seen of each source file (SQLite)."""

    def __init__(self, path: str | Path) -> None:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._db = sqlite3.connect(str(path), check_same_thread=False, timeout=30)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.executescript(STATE_SCHEMA)

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        with self._lock, self._db:
            yield self._db

    def files(self, source: str | None = None) -> list[FileState]:
        sql, params = "SELECT * FROM files", ()
        if source is not None:
            sql, params = sql + " WHERE source = ?", (source,)
        with self._transaction() as db:
            return [FileState(*row) for row in db.execute(sql + " ORDER BY name", params)]

    def record(self, state: FileState) -> None:
        with self._transaction() as db:
            db.execute(
                "INSERT OR REPLACE INTO files VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (state.source, state.name, state.version, state.content_hash, state.status,
                 state.reason, state.pages, state.updated_at),
            )  # fmt: skip

    def forget(self, source: str, name: str) -> None:
        with self._transaction() as db:
            db.execute("DELETE FROM files WHERE source = ? AND name = ?", (source, name))

    def quarantined(self) -> list[FileState]:
        return [f for f in self.files() if f.status == "quarantined"]

    def close(self) -> None:
        self._db.close()


@dataclass
class SyncReport:
    indexed: list[str] = field(default_factory=list)
    unchanged: int = 0
    removed: list[str] = field(default_factory=list)
    quarantined: list[tuple[str, str]] = field(default_factory=list)
    pages: int = 0
    chunks: int = 0
    seconds: float = 0.0

    def add(self, other: SyncReport) -> None:
        """Fold another run's report into this one (several paths in one command)."""
        self.indexed += other.indexed
        self.unchanged += other.unchanged
        self.removed += other.removed
        self.quarantined += other.quarantined
        self.pages += other.pages
        self.chunks += other.chunks
        self.seconds += other.seconds

    def summary(self) -> str:
        parts = [f"{len(self.indexed)} indexed ({self.pages} pages, {self.chunks} passages)"]
        parts.append(f"{self.unchanged} unchanged")
        if self.removed:
            parts.append(f"{len(self.removed)} removed")
        if self.quarantined:
            parts.append(f"{len(self.quarantined)} quarantined")
        return ", ".join(parts) + f" in {self.seconds:.1f} s"


class Indexer:
    def __init__(
        self,
        index: SearchIndex,
        state: IndexerState,
        *,
        embed: Embed | None = None,
        max_pages: int = MAX_PAGES,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.index = index
        self.state = state
        self.embed = embed
        self.max_pages = max_pages
        self.clock = clock

    def sync(
        self, source: Source, *, progress: Callable[[SourceFile], None] | None = None
    ) -> SyncReport:
        """Bring the index in line with everything `source` holds now."""
        started = time.perf_counter()
        report = SyncReport()
        present = source.files()
        known = {f.name: f for f in self.state.files(source.key)}
        for file in present:
            if progress is not None:
                progress(file)
            self.index_file(source, file, known.get(file.name), report)
        names = {f.name for f in present}
        for name, seen in known.items():
            if name not in names:
                if seen.status == "indexed":
                    self.index.remove_document(name, source.key)
                    report.removed.append(name)
                self.state.forget(source.key, name)
        report.seconds = time.perf_counter() - started
        return report

    def index_file(
        self, source: Source, file: SourceFile, seen: FileState | None, report: SyncReport
    ) -> None:
        if seen is not None and seen.version == file.version:
            report.unchanged += 1
            return
        try:
            data = source.read(file)
        except OSError as exc:  # gone or unreadable since it was listed: next run
            log.warning("cannot read %s: %s", file.name, exc)
            return
        content_hash = hashlib.sha256(data).hexdigest()
        current = self.index.document(file.name, source.key)
        if seen is not None and seen.content_hash == content_hash and seen.status == "quarantined":
            self._record(source, file, content_hash, "quarantined", seen.reason, None)
            report.unchanged += 1
            return
        if current is not None and current.content_hash == content_hash:
            self._record(source, file, content_hash, "indexed", None, current.pages)
            report.unchanged += 1
            return
        try:
            pages, chunks = self._index_bytes(source, file, data, content_hash)
        except BadDocument as exc:
            self._quarantine(source, file, content_hash, str(exc), report)
            return
        except Exception as exc:  # a library bug on a strange file must not stop the rest
            correlation = uuid.uuid4().hex[:12]
            log.exception("could not index %s [%s]", file.name, correlation)
            reason = f"could not be indexed ({type(exc).__name__}, log id {correlation})"
            self._quarantine(source, file, content_hash, reason, report)
            return
        self._record(source, file, content_hash, "indexed", None, pages)
        report.indexed.append(file.name)
        report.pages += pages
        report.chunks += chunks

    def _index_bytes(
        self, source: Source, file: SourceFile, data: bytes, content_hash: str
    ) -> tuple[int, int]:
        if not file.name.lower().endswith(".pdf"):
            raise BadDocument(f"not a PDF ({Path(file.name).suffix or 'no extension'})")
        document = extract(data, name=Path(file.name).name, max_pages=self.max_pages)
        chunks = chunk(document)
        vectors: list[list[float]] | list[None] = [None] * len(chunks)
        if self.embed is not None and chunks:
            vectors = self.embed([f"{c.section}\n{c.text}" for c in chunks])
        doc_id = doc_id_for(source.key, file.name)
        passages = [
            Passage(f"{doc_id}-{content_hash[:12]}-{c.number}", c.number, c.page, c.section,
                    c.text, vector)
            for c, vector in zip(chunks, vectors, strict=True)
        ]  # fmt: skip
        info = DocumentInfo(
            doc_id=doc_id, file=file.name, source=source.key, title=document.title,
            content_hash=content_hash, pages=document.page_count, chunks=len(passages),
            uploaded_at=file.uploaded_at, indexed_at=self.clock(), location=file.location,
        )  # fmt: skip
        self.index.replace_document(info, passages)
        return document.page_count, len(passages)

    def _quarantine(
        self, source: Source, file: SourceFile, content_hash: str, reason: str, report: SyncReport
    ) -> None:
        log.warning("quarantined %s: %s", file.name, reason)
        # A file that was fine before and is now broken leaves the index: its old
        # passages would quote a document that no longer says that.
        self.index.remove_document(file.name, source.key)
        self._record(source, file, content_hash, "quarantined", reason, None)
        report.quarantined.append((file.name, reason))

    def _record(
        self,
        source: Source,
        file: SourceFile,
        content_hash: str,
        status: str,
        reason: str | None,
        pages: int | None,
    ) -> None:
        self.state.record(
            FileState(source.key, file.name, file.version, content_hash, status, reason, pages,
                      self.clock())
        )  # fmt: skip
