"""The Kaggle exporter (kpi/ga_import/kaggle_export.py): what it writes, the importer reads
back into the same rows, table for table; the first sessions in time order, gzipped."""

from __future__ import annotations

import ast
import csv
import datetime as dt
import gzip

from kpi.ga_import.importer import import_ga
from kpi.ga_import.kaggle_export import write_kaggle_csv
from kpi.sample.generate import generate
from tests.test_importer import (
    FIXTURE,
    SEOUL,
    copies,
    fixture_rows,
    new_warehouse,
    table_rows,
    write_csv,
)

# `warehouse` (a fresh DuckDB file under tmp_path) comes from conftest.py.


def test_export_then_import_reproduces_every_table(tmp_path, warehouse):
    import_ga(warehouse, [FIXTURE], zone=SEOUL)
    exported = tmp_path / "export.csv"

    written = write_kaggle_csv(warehouse, exported)

    copy = new_warehouse(tmp_path, "copy.duckdb")
    report = import_ga(copy, [exported], zone=SEOUL)
    assert written == 2
    assert report.problems == []
    assert table_rows(copy) == table_rows(warehouse)
    with exported.open(newline="", encoding="utf-8") as f:
        assert next(csv.reader(f)) == fixture_rows()[0]


def test_a_generated_sample_round_trips_through_kaggle_csv(tmp_path, warehouse):
    generate(warehouse, days=2, end=dt.date(2017, 7, 31), zone=SEOUL, scale=0.2, seed=3)
    exported = tmp_path / "generated.csv.gz"

    written = write_kaggle_csv(warehouse, exported)

    copy = new_warehouse(tmp_path, "copy.duckdb")
    report = import_ga(copy, [exported], zone=SEOUL)
    assert report.problems == []
    assert written == report.sessions_added == warehouse.row_counts()["Sessions"]
    original, imported = table_rows(warehouse), table_rows(copy)
    assert imported == original


def test_export_writes_the_first_sessions_in_time_order_and_gzip(tmp_path, warehouse):
    header, rows = fixture_rows()
    import_ga(
        warehouse, [write_csv(tmp_path / "six.csv", header, list(copies(rows, 3)))], zone=SEOUL
    )
    exported = tmp_path / "first.csv.gz"

    assert write_kaggle_csv(warehouse, exported, limit_sessions=4) == 4

    with gzip.open(exported, "rt", newline="", encoding="utf-8") as f:
        records = list(csv.DictReader(f))
    starts = [int(r["visitStartTime"]) for r in records]
    assert starts == sorted(starts)
    assert all(isinstance(ast.literal_eval(r["hits"]), list) for r in records)
