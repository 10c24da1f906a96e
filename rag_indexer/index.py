"""The search index: passages in, ranked passages out. Two implementations of one
protocol: `LocalIndex` (a SQLite file, the embedded default) and `AzureSearchIndex`
(rag_indexer/azure_search.py).

Local ranking. Passages are stored with their search terms (language/terms.py) in an
FTS5 table (the porter tokenizer stems the English ones) and ranked by BM25. Every hit
also gets a `score` in [0, 1]: the share of the question's terms, weighted by how rare
each is in the corpus (BM25's idf), that the passage contains. Unlike BM25 it means the
same for every question, so one threshold tells "the documents cover this" from "they
do not". With embeddings, a cosine ranking is fused with the BM25 one by Reciprocal
Rank Fusion (k = 60), as Azure AI Search's hybrid query does.
"""

from __future__ import annotations

import hashlib
import math
import sqlite3
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from language.terms import query_terms, terms
from rag_indexer.glossary import translations

RRF_K = 60
CANDIDATES = 50


@dataclass(frozen=True)
class DocumentInfo:
    doc_id: str
    file: str  # the name in its source: a path relative to the folder, or a blob name
    source: str  # "folder:/abs/path" or "blob:container"
    title: str
    content_hash: str
    pages: int
    chunks: int
    uploaded_at: float  # the file's modification or upload time, UNIX seconds
    indexed_at: float
    location: str = ""  # where a person can open it (a path or a blob URL)


@dataclass(frozen=True)
class Passage:
    """A chunk as the index stores it."""

    chunk_id: str
    number: int
    page: int
    section: str
    text: str
    vector: Sequence[float] | None = None


@dataclass(frozen=True)
class Hit:
    file: str
    title: str
    page: int
    section: str
    text: str
    score: float  # share of the question's (idf-weighted) terms the passage holds, 0..1
    doc_id: str = ""
    location: str = ""
    matched: tuple[str, ...] = field(default=())  # the question's terms found in it
    similarity: float | None = None  # cosine with the question, when embeddings exist

    def to_dict(self) -> dict[str, object]:
        return {
            "file": self.file,
            "page": self.page,
            "score": round(self.score, 3),
            "text": self.text,
            "title": self.title,
            "section": self.section,
        }


class SearchIndex(Protocol):
    def document(self, file: str, source: str) -> DocumentInfo | None: ...
    def documents(self) -> list[DocumentInfo]: ...
    def replace_document(self, info: DocumentInfo, passages: Sequence[Passage]) -> None: ...
    def remove_document(self, file: str, source: str) -> None: ...
    def search(
        self, query: str, *, top: int = 5, vector: Sequence[float] | None = None
    ) -> list[Hit]: ...
    def chunk_count(self) -> int: ...


def doc_id_for(source: str, file: str) -> str:
    return hashlib.sha1(f"{source}\n{file}".encode()).hexdigest()[:16]


SCHEMA = """
CREATE TABLE IF NOT EXISTS documents (
    doc_id TEXT PRIMARY KEY,
    file TEXT NOT NULL,
    source TEXT NOT NULL,
    title TEXT NOT NULL,
    content_hash TEXT NOT NULL,
    pages INTEGER NOT NULL,
    chunks INTEGER NOT NULL,
    uploaded_at REAL NOT NULL,
    indexed_at REAL NOT NULL,
    location TEXT NOT NULL DEFAULT ''
);
CREATE TABLE IF NOT EXISTS passages (
    id INTEGER PRIMARY KEY,
    chunk_id TEXT NOT NULL UNIQUE,
    doc_id TEXT NOT NULL,
    number INTEGER NOT NULL,
    page INTEGER NOT NULL,
    section TEXT NOT NULL,
    text TEXT NOT NULL,
    vector BLOB
);
CREATE INDEX IF NOT EXISTS passages_doc ON passages (doc_id);
CREATE VIRTUAL TABLE IF NOT EXISTS passage_terms
    USING fts5(terms, tokenize = 'porter unicode61 remove_diacritics 2');
"""


class LocalIndex:
    """A SQLite file; each document's passages are replaced in one transaction, so a
    crash leaves the old version or the new one, never half of either."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._db = sqlite3.connect(str(self.path), check_same_thread=False, timeout=30)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.executescript(SCHEMA)
        self._vectors = _Vectors()

    @classmethod
    def from_url(cls, url: str) -> LocalIndex:
        return cls(url.removeprefix("sqlite:///"))

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        with self._lock, self._db:
            yield self._db

    def close(self) -> None:
        self._db.close()

    # -- documents ------------------------------------------------------------------------
    def document(self, file: str, source: str) -> DocumentInfo | None:
        with self._transaction() as db:
            row = db.execute(
                f"SELECT {_DOC_COLUMNS} FROM documents WHERE doc_id = ?",
                (doc_id_for(source, file),),
            ).fetchone()
        return DocumentInfo(*row) if row else None

    def documents(self) -> list[DocumentInfo]:
        with self._transaction() as db:
            rows = db.execute(f"SELECT {_DOC_COLUMNS} FROM documents ORDER BY file").fetchall()
        return [DocumentInfo(*row) for row in rows]

    def replace_document(self, info: DocumentInfo, passages: Sequence[Passage]) -> None:
        rows = [(p, " ".join(terms(f"{p.section}\n{p.text}"))) for p in passages]
        with self._transaction() as db:
            _delete_document(db, info.doc_id)
            db.execute(
                f"INSERT INTO documents ({_DOC_COLUMNS}) VALUES ({', '.join('?' * 10)})",
                (info.doc_id, info.file, info.source, info.title, info.content_hash,
                 info.pages, info.chunks, info.uploaded_at, info.indexed_at, info.location),
            )  # fmt: skip
            for passage, passage_terms in rows:
                cursor = db.execute(
                    "INSERT INTO passages (chunk_id, doc_id, number, page, section, text, vector)"
                    " VALUES (?, ?, ?, ?, ?, ?, ?)",
                    (passage.chunk_id, info.doc_id, passage.number, passage.page,
                     passage.section, passage.text, _pack(passage.vector)),
                )  # fmt: skip
                db.execute(
                    "INSERT INTO passage_terms (rowid, terms) VALUES (?, ?)",
                    (cursor.lastrowid, passage_terms),
                )

    def remove_document(self, file: str, source: str) -> None:
        with self._transaction() as db:
            _delete_document(db, doc_id_for(source, file))

    def chunk_count(self) -> int:
        with self._transaction() as db:
            return db.execute("SELECT COUNT(*) FROM passages").fetchone()[0]

    # -- search ---------------------------------------------------------------------------
    def search(
        self, query: str, *, top: int = 5, vector: Sequence[float] | None = None
    ) -> list[Hit]:
        wanted = query_terms(query)
        if not wanted:
            return []
        with self._transaction() as db:
            total = db.execute("SELECT COUNT(*) FROM passages").fetchone()[0]
            if total == 0:
                return []
            # Each term, or its translation (a Korean question, an English playbook).
            spellings = {t: [(t,), *sorted(translations(t))] for t in wanted}
            phrases = [_quoted(" ".join(s)) for options in spellings.values() for s in options]
            lexical = [
                row[0]
                for row in db.execute(
                    "SELECT rowid FROM passage_terms WHERE passage_terms MATCH ? "
                    "ORDER BY bm25(passage_terms) LIMIT ?",
                    (" OR ".join(phrases), CANDIDATES),
                )
            ]
            similarities = self._vectors.nearest(db, vector) if vector is not None else {}
            pool = list(dict.fromkeys([*lexical, *similarities]))
            if not pool:
                return []
            weights, holders = {}, {}
            marks = ",".join("?" * len(pool))
            for term, options in spellings.items():
                match = " OR ".join(_quoted(" ".join(option)) for option in options)
                df = db.execute(
                    "SELECT COUNT(*) FROM passage_terms WHERE passage_terms MATCH ?", (match,)
                ).fetchone()[0]
                weights[term] = math.log(1 + (total - df + 0.5) / (df + 0.5))
                holders[term] = {
                    row[0]
                    for row in db.execute(
                        f"SELECT rowid FROM passage_terms WHERE passage_terms MATCH ? "
                        f"AND rowid IN ({marks})",
                        (match, *pool),
                    )
                }
            rows = {
                row[0]: row[1:]
                for row in db.execute(
                    f"SELECT p.id, d.file, d.title, p.page, p.section, p.text, d.doc_id, "
                    f"d.location FROM passages p JOIN documents d ON d.doc_id = p.doc_id "
                    f"WHERE p.id IN ({marks})",
                    pool,
                )
            }
        whole = sum(weights.values())
        matched = {r: tuple(t for t in wanted if r in holders[t]) for r in pool}
        score = {r: sum(weights[t] for t in matched[r]) / whole if whole else 0.0 for r in pool}
        # BM25 picks the passages; among the `top` it picks, the one that holds more of the
        # question comes first (BM25 alone favours a short passage repeating one term).
        # With embeddings, the nearest passages join by rank fusion, as in Azure.
        position = {r: i for i, r in enumerate(lexical)}
        head = sorted(lexical[:top], key=lambda r: (-round(score[r], 6), position[r]))
        ranked = head + lexical[top:]
        if vector is not None:
            ranked = _fused(ranked, list(similarities))
        hits = []
        for rowid in ranked[:top]:
            file, title, page, section, text, doc_id, location = rows[rowid]
            hits.append(
                Hit(file, title, page, section, text, score[rowid], doc_id, location,
                    matched[rowid], similarities.get(rowid) if vector is not None else None)
            )  # fmt: skip
        return hits


_DOC_COLUMNS = (
    "doc_id, file, source, title, content_hash, pages, chunks, uploaded_at, indexed_at, location"
)


def _delete_document(db: sqlite3.Connection, doc_id: str) -> None:
    db.execute(
        "DELETE FROM passage_terms WHERE rowid IN (SELECT id FROM passages WHERE doc_id = ?)",
        (doc_id,),
    )
    db.execute("DELETE FROM passages WHERE doc_id = ?", (doc_id,))
    db.execute("DELETE FROM documents WHERE doc_id = ?", (doc_id,))


def _quoted(term: str) -> str:
    """An FTS5 string literal: a question can never inject query syntax."""
    return '"' + term.replace('"', '""') + '"'


def _pack(vector: Sequence[float] | None) -> bytes | None:
    if vector is None:
        return None
    import numpy as np

    return np.asarray(vector, dtype=np.float32).tobytes()


@dataclass
class _Vectors:
    """Every passage vector as one normalised matrix, read once per change of the index
    (the indexer, another process, changes it): not 60 MB of blobs per question."""

    stamp: tuple = ()
    ids: list[int] = field(default_factory=list)
    matrix: object = None  # numpy float32 array, one unit-length row per passage

    def nearest(self, db: sqlite3.Connection, vector: Sequence[float]) -> dict[int, float]:
        """{rowid: cosine} of the passages nearest `vector`, nearest first."""
        import numpy as np

        stamp = db.execute(
            "SELECT COUNT(*), MAX(indexed_at), SUM(chunks) FROM documents"
        ).fetchone()
        if stamp != self.stamp:
            rows = db.execute("SELECT id, vector FROM passages WHERE vector IS NOT NULL").fetchall()
            self.ids = [row[0] for row in rows]
            matrix = np.frombuffer(b"".join(row[1] for row in rows), dtype=np.float32)
            matrix = matrix.reshape(len(rows), -1) if rows else matrix.reshape(0, 0)
            norms = np.linalg.norm(matrix, axis=1, keepdims=True)
            self.matrix, self.stamp = matrix / np.where(norms == 0, 1.0, norms), stamp
        matrix = self.matrix
        query = np.asarray(vector, dtype=np.float32)
        if not self.ids or query.shape[0] != matrix.shape[1]:  # none, or the model changed
            return {}
        similarity = matrix @ (query / (np.linalg.norm(query) or 1.0))
        best = np.argsort(-similarity)[:CANDIDATES]
        return {self.ids[i]: float(similarity[i]) for i in best}


def _fused(*rankings: list[int]) -> list[int]:
    """Reciprocal Rank Fusion: each list adds 1 / (k + rank) to an item's score."""
    scores: dict[int, float] = {}
    for ranking in rankings:
        for rank, item in enumerate(ranking, start=1):
            scores[item] = scores.get(item, 0.0) + 1.0 / (RRF_K + rank)
    return sorted(scores, key=lambda item: -scores[item])[:CANDIDATES]
