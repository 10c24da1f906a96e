"""Import throughput: `import_ga` on a Kaggle train_v2.csv-layout file of a given size.

    .venv/bin/python bench/bench_import.py [--mb 300] [--runs 3] [--file PATH]

The file is made from a generated sample warehouse (kpi.sample.generate) exported with
kpi.ga_import.kaggle_export, until it holds about --mb megabytes; without the generator, from copies
of the real fixture sessions with rewritten visitIds. Each run imports it into a fresh
DuckDB warehouse; the median run gives rows/s (Sessions + Hits + HitsProduct rows) and
MB/s. --file times an existing file instead (Kaggle's own train_v2.csv, say).
Work files go to bench/out/ (ignored by git).
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import math
import statistics
import sys
import time
from pathlib import Path
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from kpi.ga_import.importer import ImportReport, import_ga
from kpi.ga_import.kaggle_export import write_kaggle_csv
from kpi.storage.warehouse import Warehouse, open_warehouse

ZONE = ZoneInfo("Asia/Seoul")
OUT = Path(__file__).resolve().parent / "out"
FIXTURE = Path(__file__).resolve().parents[2] / "shared" / "fixtures" / "ga_train_v2_sample.csv"
SAMPLE_SESSIONS = 2000  # exported once to learn the bytes per session
MB = 1_000_000


def fresh_warehouse(path: Path) -> Warehouse:
    path.unlink(missing_ok=True)
    path.with_suffix(path.suffix + ".wal").unlink(missing_ok=True)
    warehouse = open_warehouse("duckdb:///" + str(path))
    warehouse.create_schema()
    return warehouse


def bytes_per_session(warehouse: Warehouse) -> float:
    sample = OUT / "sample.csv"
    sessions = write_kaggle_csv(warehouse, sample, limit_sessions=SAMPLE_SESSIONS)
    size = sample.stat().st_size
    sample.unlink()
    return size / max(sessions, 1)


def session_count(warehouse: Warehouse) -> int:
    return warehouse.row_counts()["Sessions"]


def fill_from_generator(warehouse: Warehouse, target_bytes: int) -> str:
    """Generate days backwards from 2017-07-31 until the export would reach the target."""
    from kpi.sample.generate import generate

    end = dt.date(2017, 7, 31)
    first = generate(warehouse, days=2, end=end, zone=ZONE, seed=1)
    per_session = bytes_per_session(warehouse)
    per_day = first.sessions / 2
    days = 2
    missing = target_bytes / per_session - session_count(warehouse)
    if missing > 0:
        more = math.ceil(missing / per_day * 1.15) + 1
        generate(warehouse, days=more, end=end - dt.timedelta(days=days), zone=ZONE, seed=2)
        days += more
    return f"generator, {days} days at scale 1.0, {per_session:,.0f} bytes/session"


def fill_from_fixture(warehouse: Warehouse, target_bytes: int) -> str:
    """Import copies of the two real sessions, each copy shifted by a minute, in chunks."""
    with FIXTURE.open(newline="", encoding="utf-8") as f:
        reader = csv.DictReader(f)
        header, rows = list(reader.fieldnames or []), list(reader)
    chunk = OUT / "fixture_copies.csv"
    copy, per_session = 0, 0.0
    while per_session == 0 or session_count(warehouse) * per_session < target_bytes:
        step = 50 if per_session == 0 else 2000
        with chunk.open("w", newline="", encoding="utf-8") as f:
            writer = csv.DictWriter(f, header)
            writer.writeheader()
            for i in range(copy, copy + step):
                for row in rows:
                    shifted = str(int(row["visitStartTime"]) + 60 * i)
                    writer.writerow({**row, "visitId": shifted, "visitStartTime": shifted})
        copy += step
        import_ga(warehouse, [chunk], zone=ZONE)
        if per_session == 0:
            per_session = bytes_per_session(warehouse)
    chunk.unlink()
    return f"fixture copies ({copy:,}), {per_session:,.0f} bytes/session"


def make_file(target_mb: float, source_kind: str) -> Path:
    OUT.mkdir(parents=True, exist_ok=True)
    source = fresh_warehouse(OUT / "source.duckdb")
    target_bytes = int(target_mb * MB)
    started = time.perf_counter()
    if source_kind == "auto":
        try:
            import kpi.sample.generate  # noqa: F401
        except ImportError:
            source_kind = "fixture"
    if source_kind == "fixture":
        origin = fill_from_fixture(source, target_bytes)
    else:
        origin = fill_from_generator(source, target_bytes)
    filled = time.perf_counter() - started
    path = OUT / "train_v2_bench.csv"
    limit = math.ceil(target_bytes / bytes_per_session(source))
    for _attempt in range(3):  # the sample's bytes/session is an estimate: correct it
        started = time.perf_counter()
        sessions = write_kaggle_csv(source, path, limit_sessions=limit)
        exported = time.perf_counter() - started
        size = path.stat().st_size
        close_enough = abs(size - target_bytes) <= target_bytes * 0.02
        exhausted = sessions < limit and size < target_bytes
        if close_enough or exhausted:
            break
        limit = math.ceil(limit * target_bytes / size)
    source.close()
    print(f"source: {origin}; filled in {filled:.1f} s")
    print(
        f"export: {sessions:,} sessions, {path.stat().st_size / MB:,.1f} MB in {exported:.1f} s "
        f"({path.stat().st_size / MB / exported:,.1f} MB/s)"
    )
    return path


def timed_import(path: Path) -> tuple[float, ImportReport]:
    warehouse = fresh_warehouse(OUT / "target.duckdb")
    try:
        started = time.perf_counter()
        report = import_ga(warehouse, [path], zone=ZONE)
        return time.perf_counter() - started, report
    finally:
        warehouse.close()


def rows_of(report: ImportReport) -> int:
    return report.sessions_added + report.hits_added + report.products_added


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mb", type=float, default=300, help="file size to build (MB)")
    parser.add_argument("--runs", type=int, default=3, help="timed imports")
    parser.add_argument("--file", type=Path, help="time this file instead of building one")
    parser.add_argument(
        "--source",
        choices=["auto", "generator", "fixture"],
        default="auto",
        help="what the file is made from (auto: the generator when it is installed)",
    )
    args = parser.parse_args(argv)

    path = args.file if args.file else make_file(args.mb, args.source)
    size_mb = path.stat().st_size / MB
    print(f"file: {path} ({size_mb:,.1f} MB)")
    seconds: list[float] = []
    report = ImportReport()
    for run in range(1, args.runs + 1):
        elapsed, report = timed_import(path)
        seconds.append(elapsed)
        print(
            f"run {run}: {elapsed:,.1f} s, {rows_of(report) / elapsed:,.0f} rows/s, "
            f"{size_mb / elapsed:,.1f} MB/s"
        )
    median = statistics.median(seconds)
    print(
        f"rows: {report.sessions_added:,} sessions + {report.hits_added:,} hits + "
        f"{report.products_added:,} products = {rows_of(report):,}; "
        f"{report.bad_rows} bad rows"
    )
    print(
        f"median of {len(seconds)}: {median:,.1f} s, {rows_of(report) / median:,.0f} rows/s, "
        f"{report.sessions_added / median:,.0f} sessions/s, {size_mb / median:,.1f} MB/s "
        f"on {size_mb:,.1f} MB"
    )


if __name__ == "__main__":
    main()
