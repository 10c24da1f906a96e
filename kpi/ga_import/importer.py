"""Import Google Analytics session exports into the warehouse, streaming and idempotent.

Formats, detected per file from its first bytes (a `.gz` file is read through gzip):

- Kaggle CSV with a header: `train.csv` (v1: no `hits` column) and `train_v2.csv` (adds
  `hits` and `customDimensions`). `device`, `geoNetwork`, `totals` and `trafficSource`
  are JSON; `hits` is a Python literal (`ast.literal_eval`, never `eval`).
  `customDimensions`, `date` and `sessionId` are not imported.
- BigQuery `ga_sessions` newline-delimited JSON: one session object per line with
  nested `totals`, `trafficSource`, `device`, `geoNetwork` and `hits[]`. Numbers may be
  JSON numbers or strings (BigQuery writes INT64 as strings).

Mapping (GA field -> `ga_data` column; see kpi/storage/schema.py):

- `session_key` = "{fullVisitorId}-{visitId}", `hit_key` = "{session_key}-{hitNumber}",
  `product_hit_key` = "{hit_key}-{i}", i the 1-based position of the product in its hit.
- Sessions: visitNumber, visitId, visitStartTime, fullVisitorId (always a string, never
  through float: leading zeros matter), channelGrouping, socialEngagementType.
  `date` is the calendar date of visitStartTime in the reporting time zone, NOT the GA
  `date` column (which is in the property's own time zone).
- Totals: visits, hits, pageviews, timeOnSite, bounces, transactions, newVisits,
  sessionQualityDim; `totalTransactionRevenue` = GA `totals.transactionRevenue` (the
  store's revenue that public analyses sum) and the extra `grossTransactionRevenue` =
  GA `totals.totalTransactionRevenue` (with tax and shipping). Missing counts stay NULL,
  as in the export (a bounce has no timeOnSite, a non-bounce no bounces).
- Traffic: referralPath, campaign, source, medium, keyword, adContent, isTrueDirect;
  `adwordsClickInfo.page/slot/gclId/adNetworkType` -> adwordsPage, adwordsSlot, gclId,
  adNetworkType.
- DeviceGeo: device.browser/operatingSystem/deviceCategory, geoNetwork.continent/
  subContinent/country/region/metro/city.
- Hits: hitNumber, time, hour, minute, isInteraction, isEntrance, isExit,
  page.pagePath/hostname/pageTitle, transaction.transactionId, the extra
  transactionRevenue = transaction.transactionRevenue, eventInfo.eventCategory/
  eventAction/eventLabel, actionType = eCommerceAction.action_type ('0'..'8'),
  hitType = type, product_productQuantity = the sum of the hit's products'
  productQuantity (NULL when none has one).
- HitsProduct: one row per product of every hit: v2ProductName, v2ProductCategory,
  productBrand, productPrice, productRevenue, isImpression, isClick, productListName,
  productListPosition, productSKU, productQuantity, productVariant.

The demo dataset's placeholder "not available in demo dataset" becomes NULL in every
text column. An empty top-level CSV cell is NULL too.

Behaviour: files are read line by line, so memory stays flat on multi-GB files. Sessions
are collected `batch_size` at a time; those already in the warehouse, or repeated within
the batch, are skipped (a re-import adds nothing; sessions of earlier batches of the same
run are in the warehouse by then), and the rest are written to the six tables in one
transaction, so a session is either fully present or absent. A row that cannot be read
is reported with its file and line (the physical line where the CSV record starts) and
skipped. A file that cannot be read at all (unknown layout, missing header columns,
broken gzip) raises `ImportError_`; every file's layout is checked before anything is
imported.
"""

from __future__ import annotations

import ast
import codecs
import csv
import datetime as dt
import gzip
import json
import re
import zlib
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path
from typing import IO, Any
from zoneinfo import ZoneInfo

import pyarrow as pa
from sqlalchemy import BigInteger, Boolean, Column, Date, Integer, SmallInteger, String, Table

from kpi.storage.schema import TABLES, device_geo, hits, hits_product, sessions, totals, traffic
from kpi.storage.warehouse import Warehouse

PLACEHOLDER = "not available in demo dataset"
MAX_PROBLEMS_LISTED = 1000
# Kaggle hits cells reach several MB; a bound (rather than sys.maxsize) keeps an
# unterminated quote from reading the rest of a multi-GB file into one field.
CSV_FIELD_LIMIT = 256 * 1024 * 1024
SNIFF_BYTES = 64 * 1024
PROGRESS_EVERY = 256  # records between progress-bar updates

# Columns a Kaggle CSV must have (train.csv and train_v2.csv both do).
KAGGLE_REQUIRED = (
    "channelGrouping",
    "device",
    "fullVisitorId",
    "geoNetwork",
    "totals",
    "trafficSource",
    "visitId",
    "visitNumber",
    "visitStartTime",
)
KAGGLE_JSON_COLUMNS = ("device", "geoNetwork", "totals", "trafficSource")


class ImportError_(Exception):  # the underscore keeps it apart from the builtin
    """A whole file cannot be read; the message is one line naming the file."""


class BadRow(ValueError):
    """One session cannot be read; the message says why, without file or line."""


@dataclass
class ImportReport:
    files: int = 0
    sessions_read: int = 0  # well-formed sessions: added + skipped as existing
    sessions_added: int = 0
    sessions_skipped_existing: int = 0  # in the warehouse already, or repeated in the run
    hits_added: int = 0
    products_added: int = 0
    revenue_added_usd: float = 0.0  # sum of added Totals.totalTransactionRevenue / 1e6
    bad_rows: int = 0
    problems: list[str] = field(default_factory=list)  # the first MAX_PROBLEMS_LISTED
    problems_not_listed: int = 0

    def add_problem(self, message: str) -> None:
        self.bad_rows += 1
        if len(self.problems) < MAX_PROBLEMS_LISTED:
            self.problems.append(message)
        else:
            self.problems_not_listed += 1

    def summary(self) -> str:
        text = (
            f"imported {_plural(self.sessions_added, 'session')} "
            f"({self.sessions_skipped_existing} already present), "
            f"{_plural(self.hits_added, 'hit')}, {_plural(self.products_added, 'product')}, "
            f"revenue ${self.revenue_added_usd:,.2f} from {_plural(self.files, 'file')}; "
            f"{_plural(self.bad_rows, 'bad row')} skipped"
        )
        if self.problems_not_listed:
            text += f" (the first {len(self.problems)} listed)"
        return text


def _plural(count: int, noun: str) -> str:
    return f"{count:,} {noun}" if count == 1 else f"{count:,} {noun}s"


# -- field mapping ------------------------------------------------------------------
# (column, path in the GA object). Converters come from the column's SQL type, so the
# importer, the Arrow types and the Kaggle exporter agree on one definition.
FieldSpec = tuple[tuple[str, tuple[str, ...]], ...]

TOTALS_FIELDS: FieldSpec = (
    ("visits", ("visits",)),
    ("hits", ("hits",)),
    ("pageviews", ("pageviews",)),
    ("timeOnSite", ("timeOnSite",)),
    ("bounces", ("bounces",)),
    ("transactions", ("transactions",)),
    ("newVisits", ("newVisits",)),
    ("totalTransactionRevenue", ("transactionRevenue",)),
    ("sessionQualityDim", ("sessionQualityDim",)),
    ("grossTransactionRevenue", ("totalTransactionRevenue",)),
)
TRAFFIC_FIELDS: FieldSpec = (
    ("referralPath", ("referralPath",)),
    ("campaign", ("campaign",)),
    ("source", ("source",)),
    ("medium", ("medium",)),
    ("keyword", ("keyword",)),
    ("adContent", ("adContent",)),
    ("adwordsPage", ("adwordsClickInfo", "page")),
    ("adwordsSlot", ("adwordsClickInfo", "slot")),
    ("gclId", ("adwordsClickInfo", "gclId")),
    ("adNetworkType", ("adwordsClickInfo", "adNetworkType")),
    ("isTrueDirect", ("isTrueDirect",)),
)
DEVICE_GEO_FIELDS: FieldSpec = (
    ("browser", ("device", "browser")),
    ("operatingSystem", ("device", "operatingSystem")),
    ("deviceCategory", ("device", "deviceCategory")),
    ("continent", ("geoNetwork", "continent")),
    ("subContinent", ("geoNetwork", "subContinent")),
    ("country", ("geoNetwork", "country")),
    ("region", ("geoNetwork", "region")),
    ("metro", ("geoNetwork", "metro")),
    ("city", ("geoNetwork", "city")),
)
HIT_FIELDS: FieldSpec = (
    ("time", ("time",)),
    ("hour", ("hour",)),
    ("minute", ("minute",)),
    ("isInteraction", ("isInteraction",)),
    ("isEntrance", ("isEntrance",)),
    ("isExit", ("isExit",)),
    ("pagePath", ("page", "pagePath")),
    ("hostname", ("page", "hostname")),
    ("pageTitle", ("page", "pageTitle")),
    ("transactionId", ("transaction", "transactionId")),
    ("transactionRevenue", ("transaction", "transactionRevenue")),
    ("eventCategory", ("eventInfo", "eventCategory")),
    ("eventAction", ("eventInfo", "eventAction")),
    ("eventLabel", ("eventInfo", "eventLabel")),
    ("actionType", ("eCommerceAction", "action_type")),
    ("hitType", ("type",)),
)
PRODUCT_FIELDS: FieldSpec = (
    ("v2ProductName", ("v2ProductName",)),
    ("v2ProductCategory", ("v2ProductCategory",)),
    ("productBrand", ("productBrand",)),
    ("productPrice", ("productPrice",)),
    ("productRevenue", ("productRevenue",)),
    ("isImpression", ("isImpression",)),
    ("isClick", ("isClick",)),
    ("productListName", ("productListName",)),
    ("productListPosition", ("productListPosition",)),
    ("productSKU", ("productSKU",)),
    ("productQuantity", ("productQuantity",)),
    ("productVariant", ("productVariant",)),
)

INT_RANGES = {
    "int16": (-(2**15), 2**15 - 1),
    "int32": (-(2**31), 2**31 - 1),
    "int64": (-(2**63), 2**63 - 1),
}


def column_kind(column: Column) -> str:
    """'int16' | 'int32' | 'int64' | 'bool' | 'date' | 'text' from the column's SQL type."""
    kind = column.type
    # BigInteger and SmallInteger subclass Integer: test them first.
    if isinstance(kind, BigInteger):
        return "int64"
    if isinstance(kind, SmallInteger):
        return "int16"
    if isinstance(kind, Integer):
        return "int32"
    if isinstance(kind, Boolean):
        return "bool"
    if isinstance(kind, Date):
        return "date"
    if isinstance(kind, String):
        return "text"
    raise TypeError(f"no Arrow type for {column.table.name}.{column.name} ({kind})")


ARROW_TYPES = {
    "int16": pa.int16(),
    "int32": pa.int32(),
    "int64": pa.int64(),
    "bool": pa.bool_(),
    "date": pa.date32(),
    "text": pa.string(),
}


def arrow_schema(table: Table) -> pa.Schema:
    """The Arrow schema of a `ga_data` table: names and types exactly as in
    kpi/storage/schema.py."""
    return pa.schema([(c.name, ARROW_TYPES[column_kind(c)]) for c in table.columns])


ARROW_SCHEMAS = {table.name: arrow_schema(table) for table in TABLES}


def to_int(value: Any, name: str, kind: str = "int64") -> int | None:
    if value is None:
        return None
    if isinstance(value, str):
        text = value.strip()
        if not text:
            return None
        try:
            number = int(text)
        except ValueError:
            raise BadRow(f"{name} is not a whole number: {_clip(value)}") from None
    elif isinstance(value, bool):
        raise BadRow(f"{name} is not a whole number: {value!r}")
    elif isinstance(value, int):
        number = value
    elif isinstance(value, float) and value.is_integer():
        number = int(value)
    else:
        raise BadRow(f"{name} is not a whole number: {_clip(value)}")
    low, high = INT_RANGES[kind]
    if not low <= number <= high:
        raise BadRow(f"{name} is out of range for {kind}: {number}")
    return number


def to_bool(value: Any, name: str) -> bool | None:
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, str):
        lowered = value.strip().lower()
        if lowered in ("true", "1"):
            return True
        if lowered in ("false", "0"):
            return False
        if not lowered:
            return None
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    raise BadRow(f"{name} is not true or false: {_clip(value)}")


def to_text(value: Any, name: str) -> str | None:
    if isinstance(value, str):
        return None if value == PLACEHOLDER else value
    if value is None:
        return None
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    raise BadRow(f"{name} is not text: {_clip(value)}")


def _clip(value: Any, limit: int = 40) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


Converter = Callable[[Any, str], Any]


def _converter(kind: str) -> Converter:
    if kind.startswith("int"):
        return lambda value, name: to_int(value, name, kind)
    if kind == "bool":
        return to_bool
    if kind == "text":
        return to_text
    raise TypeError(f"no converter for {kind}")


# (column, parent key or None, key, converter, GA name for messages): paths are one or
# two keys deep, and unrolling them keeps this inner loop of the import cheap.
CompiledSpec = tuple[tuple[str, str | None, str, Converter, str], ...]


def compile_fields(table: Table, spec: FieldSpec) -> CompiledSpec:
    compiled = []
    for column, path in spec:
        if len(path) not in (1, 2):
            raise ValueError(f"{column}: GA paths are one or two keys deep, not {path}")
        parent = path[0] if len(path) == 2 else None
        convert = _converter(column_kind(table.c[column]))
        compiled.append((column, parent, path[-1], convert, ".".join(path)))
    return tuple(compiled)


TOTALS_SPEC = compile_fields(totals, TOTALS_FIELDS)
TRAFFIC_SPEC = compile_fields(traffic, TRAFFIC_FIELDS)
DEVICE_GEO_SPEC = compile_fields(device_geo, DEVICE_GEO_FIELDS)
HIT_SPEC = compile_fields(hits, HIT_FIELDS)
PRODUCT_SPEC = compile_fields(hits_product, PRODUCT_FIELDS)


def extract(source: dict[str, Any], spec: CompiledSpec, row: dict[str, Any]) -> dict[str, Any]:
    """Fill `row` with the converted values `spec` finds in the nested GA object."""
    for column, parent, key, convert, name in spec:
        if parent is None:
            value = source.get(key)
        else:
            inner = source.get(parent)
            if inner is None:
                value = None
            elif isinstance(inner, dict):
                value = inner.get(key)
            else:
                raise BadRow(f"{parent} is not an object")
        row[column] = convert(value, name)
    return row


# -- one session ---------------------------------------------------------------------
@dataclass(slots=True)
class SessionRows:
    """The rows one GA session becomes, one dict per row, keyed by column name."""

    key: str
    session: dict[str, Any]
    totals: dict[str, Any]
    traffic: dict[str, Any]
    device_geo: dict[str, Any]
    hits: list[dict[str, Any]]
    products: list[dict[str, Any]]

    @property
    def revenue_micros(self) -> int:
        return self.totals["totalTransactionRevenue"] or 0


def session_rows(ga: dict[str, Any], zone: ZoneInfo) -> SessionRows:
    """Map one GA session object (BigQuery shape) to its rows; BadRow when it cannot."""
    visitor = ga.get("fullVisitorId")
    if isinstance(visitor, int) and not isinstance(visitor, bool):
        visitor = str(visitor)  # a JSON number: no leading zeros to keep
    if not isinstance(visitor, str) or not visitor.strip():
        raise BadRow("fullVisitorId is missing")
    if len(visitor) > sessions.c.fullVisitorId.type.length:
        raise BadRow(f"fullVisitorId is too long: {_clip(visitor)}")
    visit_id = to_int(ga.get("visitId"), "visitId")
    start = to_int(ga.get("visitStartTime"), "visitStartTime")
    if visit_id is None:
        raise BadRow("visitId is missing")
    if start is None:
        raise BadRow("visitStartTime is missing")
    try:
        date = dt.datetime.fromtimestamp(start, zone).date()
    except (OverflowError, OSError, ValueError):
        raise BadRow(f"visitStartTime is not a UNIX time: {start}") from None
    key = f"{visitor}-{visit_id}"
    session = {
        "session_key": key,
        "visitNumber": to_int(ga.get("visitNumber"), "visitNumber", "int32"),
        "visitId": visit_id,
        "visitStartTime": start,
        "date": date,
        "fullVisitorId": visitor,
        "channelGrouping": to_text(ga.get("channelGrouping"), "channelGrouping"),
        "socialEngagementType": to_text(ga.get("socialEngagementType"), "socialEngagementType"),
    }
    totals_row = extract(
        _object(ga, "totals"), TOTALS_SPEC, {"session_key": key, "sessionStartTime": start}
    )
    traffic_row = extract(_object(ga, "trafficSource"), TRAFFIC_SPEC, {"session_key": key})
    device_row = extract(ga, DEVICE_GEO_SPEC, {"session_key": key})
    hit_rows, product_rows = _hit_rows(key, start, ga.get("hits"))
    return SessionRows(key, session, totals_row, traffic_row, device_row, hit_rows, product_rows)


def _object(ga: dict[str, Any], name: str) -> dict[str, Any]:
    value = ga.get(name)
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise BadRow(f"{name} is not an object")
    return value


def _hit_rows(
    session_key: str, start: int, raw_hits: Any
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    if raw_hits is None:
        return [], []
    if not isinstance(raw_hits, list):
        raise BadRow("hits is not a list")
    hit_rows: list[dict[str, Any]] = []
    product_rows: list[dict[str, Any]] = []
    numbers: set[int] = set()
    for position, hit in enumerate(raw_hits, 1):
        if not isinstance(hit, dict):
            raise BadRow(f"hit {position} is not an object")
        number = to_int(hit.get("hitNumber"), f"hits[{position}].hitNumber", "int32")
        if number is None:
            raise BadRow(f"hit {position} has no hitNumber")
        if number in numbers:
            raise BadRow(f"hitNumber {number} appears twice")
        numbers.add(number)
        hit_key = f"{session_key}-{number}"
        row = {
            "hit_key": hit_key,
            "session_key": session_key,
            "hitNumber": number,
            "sessionStartTime": start,
        }
        try:
            extract(hit, HIT_SPEC, row)
            products = _product_rows(hit_key, hit.get("product"))
        except BadRow as exc:
            raise BadRow(f"hit {number}: {exc}") from None
        quantities = [p["productQuantity"] for p in products if p["productQuantity"] is not None]
        row["product_productQuantity"] = sum(quantities) if quantities else None
        hit_rows.append(row)
        product_rows.extend(products)
    return hit_rows, product_rows


def _product_rows(hit_key: str, raw_products: Any) -> list[dict[str, Any]]:
    if raw_products is None:
        return []
    if not isinstance(raw_products, list):
        raise BadRow("product is not a list")
    rows = []
    for position, product in enumerate(raw_products, 1):
        if not isinstance(product, dict):
            raise BadRow(f"product {position} is not an object")
        row = {"product_hit_key": f"{hit_key}-{position}", "hit_key": hit_key}
        try:
            rows.append(extract(product, PRODUCT_SPEC, row))
        except BadRow as exc:
            raise BadRow(f"product {position}: {exc}") from None
    return rows


def kaggle_session(record: dict[str, str]) -> dict[str, Any]:
    """A Kaggle CSV record (cells as strings) as a GA session object in BigQuery shape."""
    ga: dict[str, Any] = {
        name: (record.get(name) or None)
        for name in (
            "fullVisitorId",
            "visitId",
            "visitNumber",
            "visitStartTime",
            "channelGrouping",
            "socialEngagementType",
        )
    }
    for name in KAGGLE_JSON_COLUMNS:
        cell = record.get(name)
        if cell:
            try:
                ga[name] = json.loads(cell)
            except ValueError:
                raise BadRow(f"{name} is not valid JSON") from None
    cell = record.get("hits")
    if cell:
        try:
            ga["hits"] = python_literal(cell)
        except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
            raise BadRow("hits is not a valid Python literal") from None
    return ga


# A string literal ('...' or "...") or a bare word. Without backslashes in the text, a
# string literal cannot contain its own quote, so scanning left to right stays in step
# with Python's tokenizer and words are only replaced outside strings. JSON's own words
# become "@" so that they fail, as they fail in a Python literal.
_LITERAL_TOKEN = re.compile(
    r"'([^']*)'|\"[^\"]*\"|\b(?:True|False|None|true|false|null|NaN|Infinity)\b"
)
_JSON_WORDS = {"True": "true", "False": "false", "None": "null"}


def _to_json_token(match: re.Match[str]) -> str:
    token = match.group(0)
    if token[0] == "'":
        body = match.group(1)
        return '"' + (body.replace('"', '\\"') if '"' in body else body) + '"'
    if token[0] == '"':
        return token
    return _JSON_WORDS.get(token, "@")


def python_literal(text: str) -> Any:
    """`ast.literal_eval(text)`, about four times faster on Kaggle's hits cells.

    `ast.literal_eval` compiles the text, which dominates an import. A cell without
    backslashes (nearly all of them) is rewritten to JSON token by token and parsed by
    the C JSON parser; anything the rewrite cannot express (escapes, tuples, non-string
    keys, comments) makes the JSON invalid and falls back to `ast.literal_eval`, so the
    result is always the literal's value.
    """
    if "\\" not in text:
        try:
            return json.loads(_LITERAL_TOKEN.sub(_to_json_token, text))
        except ValueError:
            pass
    return ast.literal_eval(text)


# -- reading files -------------------------------------------------------------------
class Layout(Enum):
    KAGGLE_CSV = "Kaggle CSV"
    BIGQUERY_JSON = "BigQuery ga_sessions JSON lines"


@contextmanager
def _open_binary(path: Path) -> Iterator[tuple[IO[bytes], IO[bytes]]]:
    """(the file on disk, for progress; the decompressed stream to read)."""
    try:
        raw = path.open("rb")
    except OSError as exc:
        raise ImportError_(f"{path}: cannot open: {exc.strerror or exc}") from None
    try:
        magic = raw.read(2)
        raw.seek(0)
        if magic == b"\x1f\x8b" or path.suffix.lower() == ".gz":
            with gzip.GzipFile(fileobj=raw, mode="rb") as stream:
                yield raw, stream
        else:
            yield raw, raw
    finally:
        raw.close()


def detect_layout(path: Path) -> tuple[Layout, list[str]]:
    """The file's layout and, for CSV, its header; ImportError_ when it is neither."""
    with _open_binary(path) as (raw, stream):
        try:
            head = stream.read(SNIFF_BYTES)
        except (OSError, EOFError, zlib.error) as exc:
            what = "unreadable gzip" if stream is not raw else "cannot read"
            raise ImportError_(f"{path}: {what}: {exc}") from None
    head = head.removeprefix(codecs.BOM_UTF8)
    start = head.lstrip()
    if not start:
        raise ImportError_(f"{path}: the file is empty")
    if start[:1] == b"{":
        return Layout.BIGQUERY_JSON, []
    if start[:1] == b"[":
        raise ImportError_(
            f"{path}: a JSON array is not supported; export ga_sessions as newline-delimited JSON"
        )
    first_line, newline, _rest = head.partition(b"\n")
    if not newline and len(head) == SNIFF_BYTES:
        raise ImportError_(f"{path}: not a GA export (no CSV header line)")
    try:
        header = next(csv.reader([first_line.decode("utf-8")]))
    except (UnicodeDecodeError, csv.Error):
        raise ImportError_(f"{path}: not a GA export (unreadable first line)") from None
    missing = [name for name in KAGGLE_REQUIRED if name not in header]
    if len(missing) == len(KAGGLE_REQUIRED):
        raise ImportError_(
            f"{path}: unknown layout; expected a Kaggle train.csv / train_v2.csv header "
            "or BigQuery ga_sessions JSON lines"
        )
    if missing:
        raise ImportError_(f"{path}: the CSV header lacks {', '.join(missing)}")
    return Layout.KAGGLE_CSV, header


def _checked_lines(stream: IO[bytes], path: Path) -> Iterator[bytes]:
    """The stream's lines; a broken gzip (or disk) ends the file with ImportError_."""
    number = 0
    try:
        for number, line in enumerate(stream, 1):  # noqa: B007 (number is used below)
            yield line
    except (OSError, EOFError, zlib.error) as exc:
        raise ImportError_(f"{path}: unreadable after line {number}: {exc}") from None


class _Decoder:
    """Decodes lines for the csv module, remembering the lines that are not UTF-8."""

    def __init__(self, lines: Iterable[bytes]) -> None:
        self.lines = lines
        self.bad_lines: list[int] = []

    def __iter__(self) -> Iterator[str]:
        for number, line in enumerate(self.lines, 1):
            if number == 1:
                line = line.removeprefix(codecs.BOM_UTF8)
            try:
                yield line.decode("utf-8")
            except UnicodeDecodeError:
                self.bad_lines.append(number)
                yield line.decode("utf-8", "replace")


Record = tuple[int, dict[str, Any] | BadRow]


def csv_records(lines: Iterable[bytes]) -> Iterator[Record]:
    """(line where the record starts, the record as a GA object or why it is bad)."""
    decoder = _Decoder(lines)
    reader = csv.reader(iter(decoder))
    header = next(reader, None)
    if header is None:
        return
    decoder.bad_lines.clear()  # a header that is not UTF-8 has failed detect_layout already
    start = reader.line_num + 1
    while True:
        line = start
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            start = reader.line_num + 1
            decoder.bad_lines.clear()
            yield line, BadRow(f"malformed CSV record (up to line {reader.line_num}): {exc}")
            continue
        start = reader.line_num + 1
        if decoder.bad_lines:
            decoder.bad_lines.clear()  # all lie within this record: read line by line
            yield line, BadRow("not valid UTF-8")
            continue
        if not row:
            continue  # a blank line
        if len(row) != len(header):
            yield line, BadRow(f"has {len(row)} fields, the header has {len(header)}")
            continue
        try:
            yield line, kaggle_session(dict(zip(header, row, strict=True)))
        except BadRow as exc:
            yield line, exc


def json_records(lines: Iterable[bytes]) -> Iterator[Record]:
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            value = json.loads(line)  # bytes: json detects UTF-8 (and a BOM) itself
        except ValueError:  # also UnicodeDecodeError
            yield number, BadRow("not valid JSON")
            continue
        if not isinstance(value, dict):
            yield number, BadRow("not a JSON object")
            continue
        yield number, value


# -- loading -------------------------------------------------------------------------
class _Loader:
    """Collects sessions and writes them a batch at a time, skipping known sessions."""

    def __init__(self, warehouse: Warehouse, batch_size: int, report: ImportReport) -> None:
        self.warehouse = warehouse
        self.batch_size = batch_size
        self.report = report
        self.batch: dict[str, SessionRows] = {}
        self.revenue_micros = 0  # exact; the report's float is derived from it

    def add(self, rows: SessionRows) -> None:
        self.report.sessions_read += 1
        if rows.key in self.batch:
            self.report.sessions_skipped_existing += 1
            return
        self.batch[rows.key] = rows
        if len(self.batch) >= self.batch_size:
            self.flush()

    def flush(self) -> None:
        if not self.batch:
            return
        existing = self.warehouse.existing_session_keys(list(self.batch))
        fresh = [rows for key, rows in self.batch.items() if key not in existing]
        self.batch = {}
        report = self.report
        report.sessions_skipped_existing += len(existing)
        if not fresh:
            return
        self.warehouse.append_many(arrow_tables(fresh))
        report.sessions_added += len(fresh)
        report.hits_added += sum(len(rows.hits) for rows in fresh)
        report.products_added += sum(len(rows.products) for rows in fresh)
        self.revenue_micros += sum(rows.revenue_micros for rows in fresh)
        report.revenue_added_usd = self.revenue_micros / 1e6


def arrow_tables(batch: Sequence[SessionRows]) -> list[tuple[Table, pa.Table]]:
    """The batch as one Arrow table per `ga_data` table, in the order of kpi/storage/schema.py."""
    columns = {
        sessions.name: [rows.session for rows in batch],
        totals.name: [rows.totals for rows in batch],
        traffic.name: [rows.traffic for rows in batch],
        device_geo.name: [rows.device_geo for rows in batch],
        hits.name: [hit for rows in batch for hit in rows.hits],
        hits_product.name: [product for rows in batch for product in rows.products],
    }
    return [
        (table, pa.Table.from_pylist(columns[table.name], schema=ARROW_SCHEMAS[table.name]))
        for table in TABLES
    ]


class _Progress:
    """A rich progress bar over the bytes read of each file, or nothing."""

    def __init__(self, enabled: bool) -> None:
        self.bar = None
        self.task = None
        if enabled:
            from rich.console import Console
            from rich.progress import (
                BarColumn,
                DownloadColumn,
                Progress,
                TextColumn,
                TimeRemainingColumn,
                TransferSpeedColumn,
            )

            self.bar = Progress(
                TextColumn("{task.description}"),
                BarColumn(),
                DownloadColumn(),
                TransferSpeedColumn(),
                TimeRemainingColumn(),
                console=Console(stderr=True),
            )

    def __enter__(self) -> _Progress:
        if self.bar is not None:
            self.bar.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        if self.bar is not None:
            self.bar.stop()

    def start_file(self, path: Path) -> None:
        if self.bar is not None:
            self.task = self.bar.add_task(path.name, total=path.stat().st_size)

    def update(self, completed: int) -> None:
        if self.bar is not None and self.task is not None:
            self.bar.update(self.task, completed=completed)


def import_ga(
    warehouse: Warehouse,
    paths: Sequence[Path | str],
    *,
    zone: ZoneInfo,
    batch_size: int = 2000,
    progress: bool = False,
) -> ImportReport:
    """Import GA session exports into `warehouse`; see the module docstring."""
    if batch_size < 1:
        raise ValueError("batch_size must be at least 1")
    files = [Path(p) for p in paths]
    # Every file is checked first, so a typo in the last one does not leave a partial run.
    layouts = [(path, detect_layout(path)[0]) for path in files]
    if csv.field_size_limit() < CSV_FIELD_LIMIT:
        csv.field_size_limit(CSV_FIELD_LIMIT)
    report = ImportReport()
    loader = _Loader(warehouse, batch_size, report)
    with _Progress(progress) as bar:
        for path, layout in layouts:
            _import_file(path, layout, zone, loader, bar)
            report.files += 1
    return report


def _import_file(
    path: Path, layout: Layout, zone: ZoneInfo, loader: _Loader, bar: _Progress
) -> None:
    bar.start_file(path)
    with _open_binary(path) as (raw, stream):
        lines = _checked_lines(stream, path)
        records = csv_records(lines) if layout is Layout.KAGGLE_CSV else json_records(lines)
        for count, (line, record) in enumerate(records, 1):
            if count % PROGRESS_EVERY == 0:
                bar.update(raw.tell())
            if isinstance(record, BadRow):
                loader.report.add_problem(f"{path} line {line}: {record}")
                continue
            try:
                rows = session_rows(record, zone)
            except BadRow as exc:
                loader.report.add_problem(f"{path} line {line}: {exc}")
                continue
            loader.add(rows)
        loader.flush()
        bar.update(raw.tell())
