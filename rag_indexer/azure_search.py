"""Azure AI Search as the passage index: the second `SearchIndex` (rag_indexer/index.py),
spoken to with azure-search-documents and an admin key.

One Azure document per passage. Each carries its file's manifest entry (title, pages,
chunks, content hash, times, location) too, so there is no second index to keep in step;
the first passage of a file is flagged `manifest` and answers `document()` and
`documents()` with one filtered query. A file without passages is remembered by a
marker document (page 0, no text) that searches filter out.

Replacing a file is crash-safe without transactions: the new passages are uploaded
first, and only then are the file's other documents deleted. At every moment the index
holds the old version, the new one, or both; never only part of the new one. Two
manifest documents for one file mean a replacement did not finish: `document()` then
reports an empty content hash, which matches no file, so the next run redoes it.

Matching. Passages are searched through their `terms` field (Kiwi's morphemes and the
English words, language/terms.py), as the local index does, so Korean particles do
not hide a word. The `score` of a hit means what it means locally: the share of the
question's terms the passage holds, weighted by BM25's idf. Document frequencies come
from one count-only query per question term (a handful of small requests); Azure's own
@search.score (BM25, or RRF for hybrid) cannot be compared across questions, so it
only orders the hits. With a question vector, the query is hybrid (RRF of the terms and
the 50 nearest vectors, fused by the service) and each hit's `similarity` is its cosine
with the question, computed from the vector read back with it.
"""

from __future__ import annotations

import base64
import logging
import math
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any, TypeVar
from urllib.parse import urlsplit

from azure.core.credentials import AzureKeyCredential
from azure.core.exceptions import ResourceNotFoundError
from azure.search.documents import SearchClient
from azure.search.documents.indexes import SearchIndexClient
from azure.search.documents.indexes.models import (
    HnswAlgorithmConfiguration,
    SearchableField,
    SearchField,
    SearchFieldDataType,
    SearchIndex,
    SemanticConfiguration,
    SemanticField,
    SemanticPrioritizedFields,
    SemanticSearch,
    SimpleField,
    VectorSearch,
    VectorSearchProfile,
)
from azure.search.documents.models import VectorizedQuery

from language.terms import query_terms, terms
from rag_indexer.index import CANDIDATES, DocumentInfo, Hit, Passage

log = logging.getLogger(__name__)

BATCH_SIZE = 1000  # the service accepts at most 1000 actions per indexing request
ALL = 100_000  # "every match": the service pages results 1000 at a time and $skip stops here
MARKER_PAGE = 0  # passages start at page 1
PASSAGES = f"page ne {MARKER_PAGE}"
VECTOR_PROFILE = "passages-hnsw"
SEMANTIC_CONFIGURATION = "passages"

_MANIFEST_FIELDS = [
    "doc_id", "file", "source", "title", "content_hash", "pages", "chunks",
    "uploaded_at", "indexed_at", "location",
]  # fmt: skip
_HIT_FIELDS = ["doc_id", "file", "title", "page", "section", "text", "terms", "location"]

T = TypeVar("T")


class IndexingFailed(RuntimeError):
    """The service refused some documents of a batch (HTTP 207)."""


class AzureSearchIndex:
    def __init__(
        self,
        endpoint: str,
        index_name: str,
        *,
        key: str,
        dimensions: int | None = None,
        transport: Any = None,
    ) -> None:
        self.endpoint = endpoint.rstrip("/")
        self.index_name = index_name
        self.dimensions = dimensions
        credential = AzureKeyCredential(key)
        options = {"transport": transport} if transport is not None else {}
        self._search = SearchClient(self.endpoint, index_name, credential, **options)
        self._indexes = SearchIndexClient(self.endpoint, credential, **options)
        self._exists = False
        self._missing_reported = False

    @classmethod
    def from_url(cls, url: str, *, key: str, dimensions: int | None = None) -> AzureSearchIndex:
        """`https://SERVICE.search.windows.net/indexes/NAME`."""
        parts = urlsplit(url)
        segments = [s for s in parts.path.split("/") if s]
        if parts.scheme not in ("https", "http") or len(segments) != 2 or segments[0] != "indexes":
            raise ValueError(f"not an Azure AI Search index URL: {url!r}")
        return cls(f"{parts.scheme}://{parts.netloc}", segments[1], key=key, dimensions=dimensions)

    def close(self) -> None:
        self._search.close()
        self._indexes.close()

    # -- schema ---------------------------------------------------------------------------
    def ensure_index(self) -> None:
        """Create the index, or update it to this schema (fields can be added, not changed)."""
        self._indexes.create_or_update_index(self.schema())
        self._exists = True

    def schema(self) -> SearchIndex:
        fields = _fields()
        vector_search = None
        if self.dimensions is not None:
            fields.append(
                SearchField(
                    name="vector",
                    type=SearchFieldDataType.Collection(SearchFieldDataType.SINGLE),
                    searchable=True,
                    # Read back only for a question with a vector: each hit's cosine is the
                    # `similarity` the bot trusts for passages found by meaning.
                    retrievable=True,
                    vector_search_dimensions=self.dimensions,
                    vector_search_profile_name=VECTOR_PROFILE,
                )
            )
            vector_search = VectorSearch(
                algorithms=[HnswAlgorithmConfiguration(name="hnsw")],  # cosine by default
                profiles=[
                    VectorSearchProfile(name=VECTOR_PROFILE, algorithm_configuration_name="hnsw")
                ],
            )
        # For whoever turns the semantic ranker on (a paid tier); the bot's own queries
        # are `simple` ones and do not need it.
        semantic = SemanticSearch(
            default_configuration_name=SEMANTIC_CONFIGURATION,
            configurations=[
                SemanticConfiguration(
                    name=SEMANTIC_CONFIGURATION,
                    prioritized_fields=SemanticPrioritizedFields(
                        title_field=SemanticField(field_name="title"),
                        content_fields=[
                            SemanticField(field_name="section"),
                            SemanticField(field_name="text"),
                        ],
                    ),
                )
            ],
        )
        return SearchIndex(
            name=self.index_name,
            fields=fields,
            vector_search=vector_search,
            semantic_search=semantic,
        )

    def _ensure_exists(self) -> None:
        """Before the first write: a new service gets the index without a setup step."""
        if self._exists:
            return
        try:
            self._indexes.get_index(self.index_name)
            self._exists = True
        except ResourceNotFoundError:
            self.ensure_index()

    def _read(self, query: Callable[[], T], empty: T) -> T:
        """A read from an index nobody has written to yet finds nothing, not an error."""
        try:
            return query()
        except ResourceNotFoundError:
            if not self._missing_reported:
                log.warning("Azure AI Search index %s does not exist yet", self.index_name)
                self._missing_reported = True
            return empty

    # -- documents ------------------------------------------------------------------------
    def document(self, file: str, source: str) -> DocumentInfo | None:
        found = self._read(lambda: self._manifests(_document_filter(file, source)), [])
        return found[0] if found else None

    def documents(self) -> list[DocumentInfo]:
        found = self._read(lambda: self._manifests(None), [])
        return sorted(found, key=lambda info: info.file)

    def _manifests(self, where: str | None) -> list[DocumentInfo]:
        condition = "manifest eq true" + (f" and {where}" if where else "")
        rows = self._search.search(
            search_text="*", filter=condition, select=_MANIFEST_FIELDS, top=ALL
        )
        versions: dict[str, list[DocumentInfo]] = {}
        for row in rows:
            info = DocumentInfo(**{name: row[name] for name in _MANIFEST_FIELDS})
            versions.setdefault(info.doc_id, []).append(info)
        return [_settled(found) for found in versions.values()]

    def replace_document(self, info: DocumentInfo, passages: Sequence[Passage]) -> None:
        self._ensure_exists()
        if passages:
            new = [
                _passage_document(info, passage, manifest=n == 0)
                for n, passage in enumerate(passages)
            ]
        else:
            new = [_marker_document(info)]
        for batch in _batches(new):
            self._check(self._search.merge_or_upload_documents(batch), "upload")
        # Only now that the new version is whole may the old one go.
        kept = {document["id"] for document in new}
        stale = [key for key in self._keys(info.file, info.source) if key not in kept]
        self._delete_keys(stale)

    def remove_document(self, file: str, source: str) -> None:
        keys = self._read(lambda: self._keys(file, source), [])
        self._delete_keys(keys)

    def _keys(self, file: str, source: str) -> list[str]:
        """The file's document keys, its manifest documents last: deletes cut short leave
        a manifest behind, so the file is still listed and its removal or replacement is
        redone, rather than orphan passages nobody knows about."""
        rows = self._search.search(
            search_text="*",
            filter=_document_filter(file, source),
            select=["id", "manifest"],
            top=ALL,
        )
        return [row["id"] for row in sorted(rows, key=lambda row: bool(row["manifest"]))]

    def _delete_keys(self, keys: Sequence[str]) -> None:
        for batch in _batches([{"id": key} for key in keys]):
            self._check(self._search.delete_documents(batch), "delete")

    @staticmethod
    def _check(results: Iterable[Any], action: str) -> None:
        failed = [r for r in results if not r.succeeded]
        if failed:
            first = failed[0]
            raise IndexingFailed(
                f"Azure AI Search refused to {action} {len(failed)} document(s); first: "
                f"{first.key}: {first.status_code} {first.error_message}"
            )

    def chunk_count(self) -> int:
        def count() -> int:
            # get_document_count() is exact and cheap but also counts the markers of
            # files without passages.
            return self._search.get_document_count() - self._count(f"page eq {MARKER_PAGE}")

        return self._read(count, 0)

    # -- search ---------------------------------------------------------------------------
    def search(
        self, query: str, *, top: int = 5, vector: Sequence[float] | None = None
    ) -> list[Hit]:
        wanted = query_terms(query)
        if not wanted:
            return []
        vectors, select = None, _HIT_FIELDS
        if vector is not None:
            vector = [float(x) for x in vector]
            vectors = [
                VectorizedQuery(vector=vector, k_nearest_neighbors=CANDIDATES, fields="vector")
            ]
            select = [*_HIT_FIELDS, "vector"]
        rows = self._read(
            lambda: list(
                self._search.search(
                    search_text=_any_of(wanted),
                    search_fields=["terms"],
                    query_type="simple",
                    search_mode="any",
                    filter=PASSAGES,
                    select=select,
                    top=top,
                    vector_queries=vectors,
                )
            ),
            [],
        )
        if not rows:
            return []
        weights = self._idf(wanted)
        whole = sum(weights.values())
        return [_hit(row, wanted, weights, whole, vector) for row in rows]  # Azure's order

    def _idf(self, wanted: Sequence[str]) -> dict[str, float]:
        """BM25's idf of each term, as the local index weighs them."""
        total = self._count(PASSAGES)
        weights = {}
        for term in wanted:
            df = self._count(PASSAGES, _phrase(term))
            weights[term] = math.log(1 + (total - df + 0.5) / (df + 0.5))
        return weights

    def _count(self, where: str, search_text: str | None = None) -> int:
        results = self._search.search(
            search_text=search_text or "*",
            search_fields=["terms"] if search_text else None,
            filter=where,
            top=0,
            include_total_count=True,
        )
        return results.get_count() or 0


# -- the schema ---------------------------------------------------------------------------


def _fields() -> list[SearchField]:
    string, int32, double = (
        SearchFieldDataType.STRING,
        SearchFieldDataType.INT32,
        SearchFieldDataType.DOUBLE,
    )
    return [
        SimpleField(name="id", type=string, key=True, filterable=True),
        SimpleField(name="doc_id", type=string, filterable=True),
        SimpleField(name="file", type=string, filterable=True),
        SimpleField(name="source", type=string, filterable=True),
        # ko.microsoft rather than standard.lucene: the playbooks are mostly Korean, and
        # standard.lucene keeps "장바구니에서" one token, so a portal search or the semantic
        # ranker's keyword step would never find "장바구니" in them. The Latin words in
        # between it lower-cases like standard.lucene does.
        SearchableField(name="title", analyzer_name="ko.microsoft"),
        SearchableField(name="section", analyzer_name="ko.microsoft"),
        SearchableField(name="text", analyzer_name="ko.microsoft"),
        # Already Kiwi's morphemes, one space apart: en.lucene only splits them, and stems
        # the English words with Porter as the local index's `porter unicode61` does.
        SearchableField(name="terms", analyzer_name="en.lucene"),
        SimpleField(name="page", type=int32, filterable=True),
        SimpleField(name="number", type=int32),
        SimpleField(name="manifest", type=SearchFieldDataType.BOOLEAN, filterable=True),
        SimpleField(name="content_hash", type=string, filterable=True),
        SimpleField(name="pages", type=int32),
        SimpleField(name="chunks", type=int32),
        # UNIX seconds as the local index keeps them; Edm.DateTimeOffset would round-trip
        # through time zones and ISO strings for no query that needs it.
        SimpleField(name="uploaded_at", type=double),
        SimpleField(name="indexed_at", type=double),
        SimpleField(name="location", type=string),
    ]


# -- documents as Azure stores them ------------------------------------------------------


def passage_key(chunk_id: str) -> str:
    """Keys allow only letters, digits, _ - =; URL-safe base64 maps any chunk id there.
    The prefix keeps passage keys apart from marker keys."""
    return "p" + base64.urlsafe_b64encode(chunk_id.encode()).decode()


def marker_key(doc_id: str) -> str:
    return "m" + base64.urlsafe_b64encode(doc_id.encode()).decode()


def _manifest(info: DocumentInfo) -> dict[str, Any]:
    return {name: getattr(info, name) for name in _MANIFEST_FIELDS}


def _passage_document(info: DocumentInfo, passage: Passage, *, manifest: bool) -> dict[str, Any]:
    document = {
        **_manifest(info),
        "id": passage_key(passage.chunk_id),
        "section": passage.section,
        "page": passage.page,
        "number": passage.number,
        "text": passage.text,
        "terms": " ".join(terms(f"{passage.section}\n{passage.text}")),
        "manifest": manifest,
    }
    if passage.vector is not None:
        document["vector"] = [float(x) for x in passage.vector]
    return document


def _marker_document(info: DocumentInfo) -> dict[str, Any]:
    return {
        **_manifest(info),
        "id": marker_key(info.doc_id),
        "section": "",
        "page": MARKER_PAGE,
        "number": -1,
        "text": "",
        "terms": "",
        "manifest": True,
    }


def _settled(versions: list[DocumentInfo]) -> DocumentInfo:
    """One file's manifest; several mean a replacement that did not finish."""
    newest = max(versions, key=lambda info: info.indexed_at)
    if len(versions) == 1:
        return newest
    return DocumentInfo(**{**_manifest(newest), "content_hash": ""})


def _batches(items: Sequence[T]) -> Iterator[list[T]]:
    for start in range(0, len(items), BATCH_SIZE):
        yield list(items[start : start + BATCH_SIZE])


# -- queries ------------------------------------------------------------------------------


def odata_string(value: str) -> str:
    """An OData string literal: a quote in a file name is doubled, never the literal's end."""
    return "'" + value.replace("'", "''") + "'"


def _document_filter(file: str, source: str) -> str:
    return f"source eq {odata_string(source)} and file eq {odata_string(file)}"


def _phrase(term: str) -> str:
    """A term as a quoted phrase of the simple syntax: its characters (., -, ') are text,
    never operators, and a term the analyzer splits ("payment.html") stays together."""
    return '"' + term.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _any_of(wanted: Sequence[str]) -> str:
    return " ".join(_phrase(term) for term in wanted)


def _hit(
    row: dict[str, Any],
    wanted: Sequence[str],
    weights: dict[str, float],
    whole: float,
    vector: Sequence[float] | None,
) -> Hit:
    held = set((row.get("terms") or "").split())
    matched = tuple(term for term in wanted if term in held)
    score = sum(weights[term] for term in matched) / whole if whole else 0.0
    similarity = None
    if vector is not None and row.get("vector"):
        similarity = _cosine(vector, row["vector"])
    return Hit(
        file=row["file"],
        title=row["title"],
        page=row["page"],
        section=row["section"],
        text=row["text"],
        score=score,
        doc_id=row["doc_id"],
        location=row.get("location") or "",
        matched=matched,
        similarity=similarity,
    )


def _cosine(a: Sequence[float], b: Sequence[float]) -> float:
    norm = math.sqrt(sum(x * x for x in a)) * math.sqrt(sum(y * y for y in b))
    return sum(x * y for x, y in zip(a, b, strict=True)) / norm if norm else 0.0
