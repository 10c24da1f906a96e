"""Time `commercy data generate` for the full default year (target: 90 s or less).

Prints the median over several runs into a fresh DuckDB file each time, as seconds,
as a ratio to the 90 s target, and as sessions and rows per second.

    .venv/bin/python bench/bench_generate.py [--runs 3] [--days 365] [--scale 1.0]
"""

from __future__ import annotations

import argparse
import datetime as dt
import statistics
import sys
import tempfile
import time
from pathlib import Path
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from kpi.sample.generate import generate
from kpi.storage.warehouse import open_warehouse

TARGET_SECONDS = 90.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--scale", type=float, default=1.0)
    args = parser.parse_args()

    timings, rows, sessions = [], 0, 0
    for run in range(1, args.runs + 1):
        with tempfile.TemporaryDirectory() as folder:
            warehouse = open_warehouse(f"duckdb:///{Path(folder) / 'bench.duckdb'}")
            warehouse.create_schema()
            started = time.perf_counter()
            report = generate(
                warehouse, days=args.days, end=dt.date(2026, 11, 23), scale=args.scale,
                seed=run, zone=ZoneInfo("Asia/Seoul"),
            )  # fmt: skip
            timings.append(time.perf_counter() - started)
            sessions = report.sessions
            rows = sum(warehouse.row_counts().values())
            warehouse.close()
        print(f"run {run}: {timings[-1]:.1f} s, {sessions:,} sessions, {rows:,} rows", flush=True)
    median = statistics.median(timings)
    print(
        f"generate {args.days} days at scale {args.scale}: "
        f"median {median:.1f} s over {args.runs} runs"
    )
    print(f"ratio to the {TARGET_SECONDS:.0f} s target: {median / TARGET_SECONDS:.2f}")
    print(f"throughput: {sessions / median:,.0f} sessions/s, {rows / median:,.0f} rows/s")


if __name__ == "__main__":
    main()
