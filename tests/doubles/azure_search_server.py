"""A stand-in for Azure AI Search, for tests: the part of its REST API that
`rag_indexer.azure_search.AzureSearchIndex` uses through azure-search-documents 12,
served by aiohttp from memory. There is no Azure here. It checks the real client code
against the protocol (paths, api-version, JSON shapes, statuses, OData filters, paging),
not against the service's ranking quality.

What it implements
- Auth: the `api-key` header; none is 401, a wrong one 403 (what the service answers a
  wrong key with). The `api-version` query parameter is required and must be one the
  SDK knows.
- PUT /indexes('NAME') or /indexes/NAME: create (201) or update (200), refusing what the
  service refuses: not exactly one Edm.String key, a vector field without dimensions or
  with a profile or algorithm that does not exist, semantic fields that are not
  searchable strings; an update may add fields but not drop or change one.
  GET and DELETE of the same path.
- POST /indexes('NAME')/docs/search.index: upload, merge, mergeOrUpload and delete, at
  most 1000 actions a request. Results per document (201 created, 200 updated, 404 merge
  of a missing document, 400 invalid key) and 207 when any failed. A request with an
  unknown field, a wrongly typed value or a vector of the wrong length is refused whole.
- POST /indexes('NAME')/docs/search.post.search: `search` in the simple syntax (bare
  words and "quoted phrases") over `searchFields`, searchMode any or all, scored by BM25
  (k1 1.2, b 0.75, statistics of the whole index); `filter` with eq ne gt ge lt le, and,
  or, not and parentheses, over filterable fields only; `select` (retrievable fields),
  `top` (default 50), `skip`, `count`; `vectorQueries` of kind "vector", exhaustive
  cosine over the k nearest. Text and vectors together are fused by Reciprocal Rank
  Fusion (k = 60) as the service's hybrid query is. Results come at most 1000 a page
  with @search.nextPageParameters, which the SDK follows.
- GET /indexes('NAME')/docs/$count.
- Anything else: 404 (405 for a known path) with an Azure-shaped JSON error.

What it does not implement
- Language analyzers: every searchable field is analysed alike, into lower-cased runs of
  letters and digits. No stemming, no stop words, no Korean morphology (the client
  sends Kiwi's morphemes, so that is what it gets matched on anyway).
- Simple-syntax operators other than quotes (+ - | * ( ) are not interpreted), the full
  Lucene syntax, scoring profiles, facets, $orderby, highlights, the semantic ranker,
  suggesters, OData functions (search.in, any/all, geo), query keys, ETags/If-Match,
  request-size limits (413), throttling (429/503), and the service's refresh delay: a
  write is visible to the next query at once.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

API_VERSIONS = frozenset({"2020-06-30", "2023-11-01", "2024-07-01", "2025-09-01", "2026-04-01"})
MAX_BATCH = 1000
PAGE_SIZE = 1000
MAX_SKIP = 100_000
DEFAULT_TOP = 50
DEFAULT_K = 50
RRF_K = 60
K1, B = 1.2, 0.75

_VALID_KEY = re.compile(r"^[A-Za-z0-9_\-=]+$")
_WORD = re.compile(r"\w+")
_INDEX = r"/indexes(?:\('(?P<quoted>[^'/]+)'\)|/(?P<plain>[A-Za-z0-9_\-]+))"
_VECTOR_TYPES = {"Collection(Edm.Single)", "Collection(Edm.Half)"}
_SCALAR_TYPES = {
    "Edm.String", "Edm.Int32", "Edm.Int64", "Edm.Double", "Edm.Boolean", "Edm.DateTimeOffset",
    "Collection(Edm.String)",
}  # fmt: skip
_SEARCH_PARAMETERS = {
    "search", "searchFields", "searchMode", "queryType", "filter", "select", "top", "skip",
    "count", "vectorQueries", "vectorFilterMode",
}  # fmt: skip

Handler = Callable[[web.Request, "Index | str"], Awaitable[web.StreamResponse]]


class AzureError(Exception):
    def __init__(self, status: int, message: str, code: str = "") -> None:
        super().__init__(message)
        self.status, self.message, self.code = status, message, code


def _error(status: int, message: str, code: str = "") -> web.Response:
    return web.json_response({"error": {"code": code, "message": message}}, status=status)


def analyse(text: str) -> list[str]:
    return _WORD.findall(text.lower())


@dataclass
class Index:
    definition: dict[str, Any]
    documents: dict[str, dict[str, Any]] = field(default_factory=dict)
    tokens: dict[str, dict[str, list[str]]] = field(default_factory=dict)  # key -> field ->

    @property
    def name(self) -> str:
        return self.definition["name"]

    @property
    def fields(self) -> dict[str, dict[str, Any]]:
        return {f["name"]: f for f in self.definition["fields"]}

    @property
    def key(self) -> str:
        return next(f["name"] for f in self.definition["fields"] if f.get("key"))

    def searchable(self, name: str) -> bool:
        f = self.fields.get(name)
        return bool(f and f.get("searchable", True) and f["type"] in _TEXT_TYPES)

    def put(self, key: str, document: dict[str, Any]) -> None:
        self.documents[key] = document
        self.tokens[key] = {
            name: analyse(_text(document.get(name)))
            for name in self.fields
            if self.searchable(name)
        }

    def remove(self, key: str) -> None:
        self.documents.pop(key, None)
        self.tokens.pop(key, None)


_TEXT_TYPES = {"Edm.String", "Collection(Edm.String)"}


def _text(value: Any) -> str:
    if isinstance(value, list):
        return " ".join(str(v) for v in value if v is not None)
    return "" if value is None else str(value)


class SearchService:
    """One search service: its indexes in memory, `app()` to serve them.

    `batches` records every indexing request as (index, [action of each document]), so a
    test can see what the client sent and in what order."""

    def __init__(self, key: str) -> None:
        self.key = key
        self.indexes: dict[str, Index] = {}
        self.batches: list[tuple[str, list[str]]] = []
        self._route_table = self._routes()

    def app(self) -> web.Application:
        app = web.Application(middlewares=[self._guard], client_max_size=64 * 1024**2)
        app.router.add_route("*", "/{tail:.*}", self._dispatch)
        return app

    # -- plumbing -------------------------------------------------------------------------
    @web.middleware
    async def _guard(self, request: web.Request, handler: Any) -> web.StreamResponse:
        key = request.headers.get("api-key")
        if key is None:
            return _error(401, "Authentication failed: no api-key header was sent.", "Unauthorized")
        if key != self.key:
            return _error(
                403, "Authorization failed: the api-key is not valid for this service.", "Forbidden"
            )
        version = request.query.get("api-version")
        if version is None:
            return _error(400, "The api-version query parameter (?api-version=) is required.")
        if version not in API_VERSIONS:
            return _error(400, f"Invalid or missing api-version '{version}'.")
        try:
            return await handler(request)
        except AzureError as exc:
            return _error(exc.status, exc.message, exc.code)

    def _routes(self) -> list[tuple[str, re.Pattern[str], Handler, bool]]:
        """(method, path, handler, whether the index must exist)."""
        return [
            ("PUT", re.compile(rf"^{_INDEX}$"), self._put_index, False),
            ("GET", re.compile(rf"^{_INDEX}$"), self._get_index, True),
            ("DELETE", re.compile(rf"^{_INDEX}$"), self._delete_index, True),
            ("POST", re.compile(rf"^{_INDEX}/docs/search\.index$"), self._index, True),
            ("POST", re.compile(rf"^{_INDEX}/docs/search\.post\.search$"), self._search, True),
            ("GET", re.compile(rf"^{_INDEX}/docs/\$count$"), self._count, True),
        ]

    async def _dispatch(self, request: web.Request) -> web.StreamResponse:
        known_path = False
        for method, path, handler, existing in self._route_table:
            match = path.match(request.path)
            if match is None:
                continue
            known_path = True
            if method != request.method:
                continue
            name = match["quoted"] or match["plain"]
            if not existing:
                return await handler(request, name)
            if name not in self.indexes:
                raise AzureError(
                    404, f"The index '{name}' for service 'stand-in' was not found.",
                    "ResourceNameNotFound",
                )  # fmt: skip
            return await handler(request, self.indexes[name])
        if known_path:
            return _error(405, f"The {request.method} method is not allowed here.")
        return _error(404, f"No resource at {request.path}.", "ResourceNotFound")

    # -- indexes --------------------------------------------------------------------------
    async def _put_index(self, request: web.Request, name: Index | str) -> web.Response:
        definition = await _json(request)
        if definition.get("name") != name:
            raise AzureError(400, f"The index name in the body must be '{name}'.")
        _check_schema(definition)
        old = self.indexes.get(str(name))
        if old is not None:
            _check_update(old.definition, definition)
            old.definition = definition
        else:
            self.indexes[str(name)] = Index(definition)
        body = {**definition, "@odata.etag": f'"{len(self.batches)}"'}
        return web.json_response(body, status=200 if old is not None else 201)

    async def _get_index(self, request: web.Request, index: Index | str) -> web.Response:
        assert isinstance(index, Index)
        return web.json_response({**index.definition, "@odata.etag": '"0"'})

    async def _delete_index(self, request: web.Request, index: Index | str) -> web.Response:
        assert isinstance(index, Index)
        del self.indexes[index.name]
        return web.Response(status=204)

    # -- documents ------------------------------------------------------------------------
    async def _index(self, request: web.Request, index: Index | str) -> web.Response:
        assert isinstance(index, Index)
        actions = (await _json(request)).get("value")
        if not isinstance(actions, list) or not actions:
            raise AzureError(400, "The request is invalid: 'value' must be a non-empty array.")
        if len(actions) > MAX_BATCH:
            raise AzureError(400, f"A batch may hold at most {MAX_BATCH} actions.")
        for action in actions:
            _check_document(index, action)
        self.batches.append((index.name, [a.get("@search.action", "upload") for a in actions]))
        results = [_apply(index, action) for action in actions]
        status = 200 if all(r["status"] for r in results) else 207
        return web.json_response({"value": results}, status=status)

    async def _count(self, request: web.Request, index: Index | str) -> web.Response:
        assert isinstance(index, Index)
        return web.Response(text=str(len(index.documents)), content_type="text/plain")

    # -- search ---------------------------------------------------------------------------
    async def _search(self, request: web.Request, index: Index | str) -> web.Response:
        assert isinstance(index, Index)
        body = await _json(request)
        unknown = sorted(set(body) - _SEARCH_PARAMETERS)
        if unknown:
            raise AzureError(400, f"The stand-in does not implement {', '.join(unknown)}.")
        if body.get("queryType", "simple") != "simple":
            raise AzureError(400, "The stand-in implements queryType 'simple' only.")
        top, skip = body.get("top", DEFAULT_TOP), body.get("skip", 0)
        if skip > MAX_SKIP:
            raise AzureError(400, f"$skip cannot exceed {MAX_SKIP}.")
        select = _select(index, body.get("select"))
        keep = parse_filter(body.get("filter"), index)
        candidates = [(k, d) for k, d in index.documents.items() if keep(d)]
        ranking = _rank(index, candidates, body)
        page = ranking[skip : skip + min(top, PAGE_SIZE)]
        response: dict[str, Any] = {
            "value": [
                {"@search.score": score, **{f: index.documents[key].get(f) for f in select}}
                for key, score in page
            ]
        }
        if body.get("count"):
            response["@odata.count"] = len(ranking)
        if top > PAGE_SIZE and len(ranking) > skip + PAGE_SIZE:
            response["@search.nextPageParameters"] = {
                **body, "skip": skip + PAGE_SIZE, "top": top - PAGE_SIZE,
            }  # fmt: skip
            response["@odata.nextLink"] = str(request.url)
        return web.json_response(response)


async def _json(request: web.Request) -> dict[str, Any]:
    try:
        body = await request.json()
    except ValueError as exc:
        raise AzureError(400, f"The request body is not valid JSON: {exc}") from exc
    if not isinstance(body, dict):
        raise AzureError(400, "The request body must be a JSON object.")
    return body


# -- schema checks ------------------------------------------------------------------------


def _check_schema(definition: dict[str, Any]) -> None:
    fields = definition.get("fields") or []
    names = [f.get("name") for f in fields]
    if not fields or len(set(names)) != len(names):
        raise AzureError(400, "An index needs fields, each with its own name.")
    keys = [f for f in fields if f.get("key")]
    if len(keys) != 1 or keys[0].get("type") != "Edm.String":
        raise AzureError(400, "An index needs exactly one key field, of type Edm.String.")
    vector_search = definition.get("vectorSearch") or {}
    profiles = {p["name"]: p for p in vector_search.get("profiles") or []}
    algorithms = {a["name"] for a in vector_search.get("algorithms") or []}
    for f in fields:
        if f.get("type") in _VECTOR_TYPES:
            _check_vector_field(f, profiles, algorithms)
        elif f.get("type") not in _SCALAR_TYPES:
            raise AzureError(
                400, f"Field '{f.get('name')}': type {f.get('type')} is not supported."
            )
    searchable = {
        f["name"] for f in fields if f.get("searchable", True) and f["type"] in _TEXT_TYPES
    }
    semantic = definition.get("semantic") or {}
    for configuration in semantic.get("configurations") or []:
        prioritized = configuration.get("prioritizedFields") or {}
        chosen = [prioritized.get("titleField")] + (
            prioritized.get("prioritizedContentFields") or []
        )
        chosen += prioritized.get("prioritizedKeywordsFields") or []
        for entry in filter(None, chosen):
            if entry.get("fieldName") not in searchable:
                raise AzureError(
                    400, f"Semantic field '{entry.get('fieldName')}' is not a searchable string."
                )


def _check_vector_field(
    f: dict[str, Any], profiles: dict[str, dict[str, Any]], algorithms: set[str]
) -> None:
    dimensions = f.get("dimensions")
    if not isinstance(dimensions, int) or not 2 <= dimensions <= 4096:
        raise AzureError(400, f"Vector field '{f['name']}' needs dimensions between 2 and 4096.")
    profile = profiles.get(f.get("vectorSearchProfile") or "")
    if profile is None:
        raise AzureError(400, f"Vector field '{f['name']}' names no existing vector profile.")
    if profile.get("algorithm") not in algorithms:
        raise AzureError(400, f"Vector profile '{profile['name']}' names no existing algorithm.")


def _check_update(old: dict[str, Any], new: dict[str, Any]) -> None:
    new_fields = {f["name"]: f for f in new["fields"]}
    for f in old["fields"]:
        changed = new_fields.get(f["name"])
        if changed is None:
            raise AzureError(400, f"Existing field '{f['name']}' cannot be deleted.")
        for attribute in ("type", "key", "analyzer", "dimensions", "searchable", "filterable"):
            if changed.get(attribute) != f.get(attribute):
                raise AzureError(
                    400, f"Existing field '{f['name']}' cannot change its {attribute}."
                )


def _check_document(index: Index, action: dict[str, Any]) -> None:
    kind = action.get("@search.action", "upload")
    if kind not in ("upload", "merge", "mergeOrUpload", "delete"):
        raise AzureError(400, f"Unknown @search.action '{kind}'.")
    if not isinstance(action.get(index.key), str):
        raise AzureError(400, f"Every document needs its key field '{index.key}' as a string.")
    fields = index.fields
    for name, value in action.items():
        if name == "@search.action":
            continue
        f = fields.get(name)
        if f is None:
            raise AzureError(
                400, f"The property '{name}' does not exist on type 'search.documentFields'."
            )
        if value is not None and not _typed(f, value):
            raise AzureError(400, f"Field '{name}': {value!r} is not a valid {f['type']}.")


def _typed(f: dict[str, Any], value: Any) -> bool:
    kind = f["type"]
    if kind in _VECTOR_TYPES:
        return (
            isinstance(value, list)
            and len(value) == f["dimensions"]
            and all(isinstance(x, int | float) and not isinstance(x, bool) for x in value)
        )
    if kind in ("Edm.String", "Edm.DateTimeOffset"):
        return isinstance(value, str)
    if kind == "Collection(Edm.String)":
        return isinstance(value, list) and all(isinstance(x, str) for x in value)
    if kind == "Edm.Boolean":
        return isinstance(value, bool)
    if kind == "Edm.Int32":
        return isinstance(value, int) and not isinstance(value, bool) and -(2**31) <= value < 2**31
    if kind == "Edm.Int64":
        return isinstance(value, int) and not isinstance(value, bool)
    return isinstance(value, int | float) and not isinstance(value, bool)  # Edm.Double


def _apply(index: Index, action: dict[str, Any]) -> dict[str, Any]:
    kind = action.get("@search.action", "upload")
    key = action[index.key]
    document = {k: v for k, v in action.items() if k != "@search.action"}
    if not _VALID_KEY.match(key):
        return _result(
            key, 400,
            f"Invalid document key: '{key}'. Keys can only contain letters, digits, "
            "underscore (_), dash (-), or equal sign (=).",
        )  # fmt: skip
    existing = index.documents.get(key)
    if kind == "delete":
        index.remove(key)
        return _result(key, 200)
    if kind == "merge" and existing is None:
        return _result(key, 404, "Document not found.")
    if kind == "upload" or existing is None:
        index.put(key, document)
        return _result(key, 201 if existing is None else 200)
    index.put(key, {**existing, **document})
    return _result(key, 200)


def _result(key: str, status: int, message: str | None = None) -> dict[str, Any]:
    return {"key": key, "status": status < 300, "errorMessage": message, "statusCode": status}


# -- search -------------------------------------------------------------------------------


def _select(index: Index, select: str | None) -> list[str]:
    fields = index.fields
    retrievable = [n for n, f in fields.items() if f.get("retrievable", True)]
    if not select or select.strip() == "*":
        return retrievable
    chosen = [name.strip() for name in select.split(",")]
    for name in chosen:
        if name not in retrievable:
            raise AzureError(400, f"Invalid expression: '{name}' is not a retrievable field.")
    return chosen


def _rank(
    index: Index, candidates: list[tuple[str, dict[str, Any]]], body: dict[str, Any]
) -> list[tuple[str, float]]:
    rankings = []
    text = (body.get("search") or "").strip()
    if text and text != "*":
        fields = _search_fields(index, body.get("searchFields"))
        mode = body.get("searchMode", "any")
        if mode not in ("any", "all"):
            raise AzureError(400, f"Invalid searchMode '{mode}'.")
        rankings.append(_bm25(index, candidates, _clauses(text), fields, mode))
    for query in body.get("vectorQueries") or []:
        rankings.append(_nearest(index, candidates, query))
    if not rankings:
        return [(key, 1.0) for key, _ in candidates]
    if len(rankings) == 1:
        return rankings[0]
    return _fused(rankings)


def _search_fields(index: Index, names: str | None) -> list[str]:
    if not names:
        return [name for name in index.fields if index.searchable(name)]
    chosen = [name.strip() for name in names.split(",")]
    for name in chosen:
        if not index.searchable(name):
            raise AzureError(400, f"Invalid searchFields: '{name}' is not a searchable field.")
    return chosen


def _clauses(text: str) -> list[list[str]]:
    """Quoted phrases and bare words, each as its analysed tokens."""
    clauses = []
    for phrase, word in re.findall(r'"((?:[^"\\]|\\.)*)"|(\S+)', text):
        raw = re.sub(r"\\(.)", r"\1", phrase) if phrase else word
        tokens = analyse(raw)
        if tokens:
            clauses.append(tokens)
    return clauses


def _contains(tokens: list[str], phrase: list[str]) -> bool:
    n = len(phrase)
    return any(tokens[i : i + n] == phrase for i in range(len(tokens) - n + 1))


def _bm25(
    index: Index,
    candidates: list[tuple[str, dict[str, Any]]],
    clauses: list[list[str]],
    fields: list[str],
    mode: str,
) -> list[tuple[str, float]]:
    total = len(index.documents)
    frequency = {f: Counter() for f in fields}
    length = dict.fromkeys(fields, 0)
    for per_field in index.tokens.values():
        for f in fields:
            tokens = per_field.get(f, [])
            frequency[f].update(set(tokens))
            length[f] += len(tokens)
    average = {f: (length[f] / total if total else 0.0) or 1.0 for f in fields}

    def term(f: str, tokens: list[str], token: str) -> float:
        df = frequency[f][token]
        idf = math.log(1 + (total - df + 0.5) / (df + 0.5))
        tf = tokens.count(token)
        return idf * tf * (K1 + 1) / (tf + K1 * (1 - B + B * len(tokens) / average[f]))

    scored = []
    for key, _ in candidates:
        score, matched = 0.0, 0
        for clause in clauses:
            hit = False
            for f in fields:
                tokens = index.tokens[key].get(f, [])
                if _contains(tokens, clause):
                    hit = True
                    score += sum(term(f, tokens, token) for token in clause)
            matched += hit
        if matched and (mode == "any" or matched == len(clauses)):
            scored.append((key, score))
    return sorted(scored, key=lambda item: -item[1])


def _nearest(
    index: Index, candidates: list[tuple[str, dict[str, Any]]], query: dict[str, Any]
) -> list[tuple[str, float]]:
    if query.get("kind") != "vector":
        raise AzureError(400, "The stand-in implements vector queries of kind 'vector' only.")
    name = query.get("fields") or ""
    f = index.fields.get(name)
    if f is None or f["type"] not in _VECTOR_TYPES:
        raise AzureError(400, f"Invalid vector query: '{name}' is not a vector field.")
    vector = query.get("vector") or []
    if len(vector) != f["dimensions"]:
        raise AzureError(
            400, f"The vector has {len(vector)} dimensions; '{name}' has {f['dimensions']}."
        )
    scored = []
    for key, document in candidates:
        stored = document.get(name)
        if stored:
            distance = 1.0 - _cosine(vector, stored)
            scored.append((key, 1.0 / (1.0 + distance)))  # the service's cosine score
    scored.sort(key=lambda item: -item[1])
    return scored[: query.get("k") or DEFAULT_K]


def _cosine(a: list[float], b: list[float]) -> float:
    norm = math.sqrt(sum(x * x for x in a)) * math.sqrt(sum(y * y for y in b))
    return sum(x * y for x, y in zip(a, b, strict=True)) / norm if norm else 0.0


def _fused(rankings: list[list[tuple[str, float]]]) -> list[tuple[str, float]]:
    scores: dict[str, float] = {}
    for ranking in rankings:
        for rank, (key, _) in enumerate(ranking, start=1):
            scores[key] = scores.get(key, 0.0) + 1.0 / (RRF_K + rank)
    return sorted(scores.items(), key=lambda item: -item[1])


# -- OData $filter ------------------------------------------------------------------------

_FILTER_TOKEN = re.compile(
    r"\s*(?:(?P<string>'(?:[^']|'')*')|(?P<number>-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?)"
    r"|(?P<paren>[()])|(?P<word>[A-Za-z_][A-Za-z0-9_]*))"
)
_COMPARISONS: dict[str, Callable[[Any, Any], bool]] = {
    "eq": lambda a, b: a == b,
    "ne": lambda a, b: a != b,
    "gt": lambda a, b: a is not None and b is not None and a > b,
    "ge": lambda a, b: a is not None and b is not None and a >= b,
    "lt": lambda a, b: a is not None and b is not None and a < b,
    "le": lambda a, b: a is not None and b is not None and a <= b,
}
_LITERALS = {"true": True, "false": False, "null": None}

Predicate = Callable[[dict[str, Any]], bool]


def parse_filter(text: str | None, index: Index) -> Predicate:
    """An OData boolean expression of comparisons joined by and/or/not, as a predicate."""
    if not text or not text.strip():
        return lambda document: True
    parser = _FilterParser(_filter_tokens(text), index)
    predicate = parser.disjunction()
    if parser.position != len(parser.tokens):
        raise AzureError(400, f"Invalid expression: unexpected '{parser.peek()[1]}'.")
    return predicate


def _filter_tokens(text: str) -> list[tuple[str, Any]]:
    tokens, position = [], 0
    while position < len(text):
        if text[position:].strip() == "":
            break
        match = _FILTER_TOKEN.match(text, position)
        if match is None or match.end() == position:
            raise AzureError(400, f"Invalid expression: cannot read '{text[position:]}'.")
        kind = match.lastgroup or ""
        value: Any = match[kind]
        if kind == "string":
            value = value[1:-1].replace("''", "'")
        elif kind == "number":
            value = float(value) if any(c in value for c in ".eE") else int(value)
        tokens.append((kind, value))
        position = match.end()
    return tokens


class _FilterParser:
    def __init__(self, tokens: list[tuple[str, Any]], index: Index) -> None:
        self.tokens, self.index, self.position = tokens, index, 0

    def peek(self) -> tuple[str, Any]:
        return self.tokens[self.position] if self.position < len(self.tokens) else ("end", "")

    def take(self) -> tuple[str, Any]:
        token = self.peek()
        self.position += 1
        return token

    def keyword(self, word: str) -> bool:
        if self.peek() == ("word", word):
            self.position += 1
            return True
        return False

    def disjunction(self) -> Predicate:
        parts = [self.conjunction()]
        while self.keyword("or"):
            parts.append(self.conjunction())
        return parts[0] if len(parts) == 1 else lambda d: any(p(d) for p in parts)

    def conjunction(self) -> Predicate:
        parts = [self.unary()]
        while self.keyword("and"):
            parts.append(self.unary())
        return parts[0] if len(parts) == 1 else lambda d: all(p(d) for p in parts)

    def unary(self) -> Predicate:
        if self.keyword("not"):
            inner = self.unary()
            return lambda d: not inner(d)
        if self.peek() == ("paren", "("):
            self.take()
            inner = self.disjunction()
            if self.take() != ("paren", ")"):
                raise AzureError(400, "Invalid expression: ')' expected.")
            return inner
        return self.comparison()

    def comparison(self) -> Predicate:
        kind, name = self.take()
        if kind != "word" or name in _COMPARISONS or name in _LITERALS:
            raise AzureError(400, f"Invalid expression: a field name expected, not '{name}'.")
        f = self.index.fields.get(name)
        if f is None:
            raise AzureError(400, f"Invalid expression: could not find a field named '{name}'.")
        if not f.get("filterable", True):
            raise AzureError(400, f"Invalid expression: the field '{name}' is not filterable.")
        kind, operator = self.take()
        if kind != "word" or operator not in _COMPARISONS:
            raise AzureError(400, f"Invalid expression: a comparison expected after '{name}'.")
        value = self.literal(f)
        compare = _COMPARISONS[operator]
        return lambda d: compare(d.get(name), value)

    def literal(self, f: dict[str, Any]) -> Any:
        kind, value = self.take()
        if kind == "word" and value in _LITERALS:
            value = _LITERALS[value]
        elif kind not in ("string", "number"):
            raise AzureError(400, f"Invalid expression: a literal expected, not '{value}'.")
        if value is not None and not _typed(f, value):
            raise AzureError(
                400, f"Invalid expression: {value!r} cannot be compared with {f['type']}."
            )
        return value
