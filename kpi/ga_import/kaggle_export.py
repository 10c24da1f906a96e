"""Write a warehouse's sessions as a Kaggle `train_v2.csv` file (benchmarks, round trips).

The layout and encodings are those of Kaggle's file and of
../shared/fixtures/ga_train_v2_sample.csv: a header, JSON in `device`, `geoNetwork`,
`totals` and `trafficSource`, Python-literal reprs in `hits` and `customDimensions`,
numbers inside them as strings, CRLF line ends. The field mapping is the importer's
(kpi.ga_import.importer *_FIELDS), run backwards, so importing the file reproduces the rows:

- NULL columns are left out of the nested objects, as GA leaves them out.
- `date` holds `Sessions.date` as YYYYMMDD (the importer ignores the column and derives
  the date from visitStartTime). `customDimensions` is always `[]`: the warehouse does
  not keep them.
- Products are written in the order of the position that ends their product_hit_key
  ("{hit_key}-{i}"), which the importer gives back.
- `Hits.product_productQuantity` is not written: the importer recomputes it as the sum
  of the hit's products' productQuantity, so it round-trips when it holds that sum.

The rows stream out of DuckDB (one sorted query, fetched in Arrow batches) and are
written one session at a time: memory stays flat on exports of any size.
"""

from __future__ import annotations

import csv
import gzip
import json
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

from sqlalchemy import Table

from kpi.ga_import.importer import (
    DEVICE_GEO_FIELDS,
    HIT_FIELDS,
    PRODUCT_FIELDS,
    TOTALS_FIELDS,
    TRAFFIC_FIELDS,
    FieldSpec,
)
from kpi.storage.schema import SCHEMA, device_geo, hits, hits_product, sessions, totals, traffic
from kpi.storage.warehouse import Warehouse

HEADER = (
    "channelGrouping",
    "customDimensions",
    "date",
    "device",
    "fullVisitorId",
    "geoNetwork",
    "hits",
    "socialEngagementType",
    "totals",
    "trafficSource",
    "visitId",
    "visitNumber",
    "visitStartTime",
)
ROWS_PER_FETCH = 4096

# Table aliases in the export query; every selected column is named "{alias}__{column}".
ALIASES = ((sessions, "s"), (totals, "t"), (traffic, "r"), (device_geo, "d"), (hits, "h"))


def write_kaggle_csv(
    warehouse: Warehouse, path: Path | str, *, limit_sessions: int | None = None
) -> int:
    """Write the warehouse's sessions (the first `limit_sessions` in time order, or all)
    to `path` in Kaggle train_v2.csv layout (gzip when it ends in .gz); return how many."""
    if warehouse.dialect_name != "duckdb":
        raise ValueError("write_kaggle_csv reads a DuckDB warehouse")
    if limit_sessions is not None and limit_sessions < 0:
        raise ValueError("limit_sessions must not be negative")
    written = 0
    with _open_text(Path(path)) as out, warehouse.engine.connect() as conn:
        writer = csv.writer(out)  # CRLF line ends and minimal quoting, like Kaggle's file
        writer.writerow(HEADER)
        raw = conn.connection.driver_connection
        for session_row, hit_rows in _sessions(_rows(raw, export_sql(limit_sessions))):
            writer.writerow(kaggle_record(session_row, hit_rows))
            written += 1
    return written


def _open_text(path: Path) -> IO[str]:
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.suffix.lower() == ".gz":
        return gzip.open(path, "wt", encoding="utf-8", newline="")
    return path.open("w", encoding="utf-8", newline="")


def export_sql(limit_sessions: int | None = None) -> str:
    """One row per hit (one per session without hits), its session's columns repeated and
    its products as a list, ordered by session start, session and hit number."""
    select = ",\n  ".join(
        f'{alias}."{column.name}" AS "{alias}__{column.name}"'
        for table, alias in ALIASES
        for column in table.columns
    )
    product_struct = ", ".join(
        f"'{column.name}': \"{column.name}\""
        for column in hits_product.columns
        if column.name not in ("product_hit_key", "hit_key")
    )
    limit = f" LIMIT {int(limit_sessions)}" if limit_sessions is not None else ""
    return f"""
WITH products AS (
  SELECT hit_key,
         list({{{product_struct}}} ORDER BY position NULLS LAST, product_hit_key) AS products
  FROM (
    SELECT *,
           CASE WHEN starts_with(product_hit_key, hit_key || '-')
                THEN TRY_CAST(substr(product_hit_key, length(hit_key) + 2) AS INTEGER)
           END AS position
    FROM {SCHEMA}."HitsProduct"
  )
  GROUP BY hit_key
)
SELECT
  {select},
  p.products AS products
FROM (
  SELECT * FROM {SCHEMA}."Sessions" ORDER BY "visitStartTime", session_key{limit}
) s
LEFT JOIN {SCHEMA}."Totals" t ON t.session_key = s.session_key
LEFT JOIN {SCHEMA}."Traffic" r ON r.session_key = s.session_key
LEFT JOIN {SCHEMA}."DeviceGeo" d ON d.session_key = s.session_key
LEFT JOIN {SCHEMA}."Hits" h ON h.session_key = s.session_key
LEFT JOIN products p ON p.hit_key = h.hit_key
ORDER BY s."visitStartTime", s.session_key, h."hitNumber"
"""


def _rows(raw: Any, sql: str) -> Iterator[dict[str, Any]]:
    reader = raw.sql(sql).to_arrow_reader(ROWS_PER_FETCH)
    for batch in reader:
        yield from batch.to_pylist()


def _sessions(
    rows: Iterator[dict[str, Any]],
) -> Iterator[tuple[dict[str, Any], list[dict[str, Any]]]]:
    """Group the hit-level rows back into (first row of the session, its hit rows)."""
    first: dict[str, Any] | None = None
    session_hits: list[dict[str, Any]] = []
    for row in rows:
        if first is None or row["s__session_key"] != first["s__session_key"]:
            if first is not None:
                yield first, session_hits
            first, session_hits = row, []
        if row["h__hit_key"] is not None:
            session_hits.append(row)
    if first is not None:
        yield first, session_hits


def kaggle_record(row: dict[str, Any], hit_rows: list[dict[str, Any]]) -> list[str]:
    """The CSV cells of one session, in HEADER order."""
    device_geo_object = nest(_columns(row, device_geo, "d"), DEVICE_GEO_FIELDS)
    cells = {
        "channelGrouping": row["s__channelGrouping"] or "",
        "customDimensions": "[]",
        "date": row["s__date"].strftime("%Y%m%d"),
        "device": _json(device_geo_object.get("device", {})),
        "fullVisitorId": row["s__fullVisitorId"],
        "geoNetwork": _json(device_geo_object.get("geoNetwork", {})),
        "hits": repr([hit_object(hit) for hit in hit_rows]),
        "socialEngagementType": row["s__socialEngagementType"] or "",
        "totals": _json(nest(_columns(row, totals, "t"), TOTALS_FIELDS)),
        "trafficSource": _json(nest(_columns(row, traffic, "r"), TRAFFIC_FIELDS)),
        "visitId": _cell(row["s__visitId"]),
        "visitNumber": _cell(row["s__visitNumber"]),
        "visitStartTime": _cell(row["s__visitStartTime"]),
    }
    return [cells[name] for name in HEADER]


def hit_object(row: dict[str, Any]) -> dict[str, Any]:
    """One hit as Kaggle writes it in the `hits` literal, products included."""
    hit = {"hitNumber": str(row["h__hitNumber"])}
    hit.update(nest(_columns(row, hits, "h"), HIT_FIELDS))
    if row["products"]:
        hit["product"] = [nest(product, PRODUCT_FIELDS) for product in row["products"]]
    return hit


def nest(columns: dict[str, Any], spec: FieldSpec) -> dict[str, Any]:
    """The importer's `extract` backwards: columns to a nested GA object, numbers as
    strings (as in Kaggle's file), NULLs left out."""
    nested: dict[str, Any] = {}
    for column, path in spec:
        value = columns.get(column)
        if value is None:
            continue
        target = nested
        for part in path[:-1]:
            target = target.setdefault(part, {})
        target[path[-1]] = _encode(value)
    return nested


def _encode(value: Any) -> Any:
    # bool is an int: keep it a bool (True/False in the literal, true/false in JSON).
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return value


def _columns(row: dict[str, Any], table: Table, alias: str) -> dict[str, Any]:
    prefix = f"{alias}__"
    return {column.name: row[prefix + column.name] for column in table.columns}


def _json(value: dict[str, Any]) -> str:
    return json.dumps(value, ensure_ascii=False)


def _cell(value: Any) -> str:
    return "" if value is None else str(value)
