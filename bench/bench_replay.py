"""The replay's sustained speed on a warehouse holding the full year (target: >= 50x).

Replays 60 simulated minutes at max speed right after the warehouse's last day and
prints simulated seconds per real second, median over several runs. Each run works on
a fresh copy of the warehouse, so every run writes the same minutes into the same data
(the replay would otherwise skip minutes an earlier run wrote). The year is generated
into bench/out/ the first time.

    .venv/bin/python bench/bench_replay.py [--runs 3] [--minutes 60] [--database PATH]
"""

from __future__ import annotations

import argparse
import datetime as dt
import shutil
import statistics
import sys
import tempfile
from pathlib import Path
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from kpi.sample.generate import generate
from kpi.sample.stream import replay
from kpi.storage.warehouse import open_warehouse

TARGET_SPEED = 50.0
ZONE = ZoneInfo("Asia/Seoul")
DEFAULT_DATABASE = Path(__file__).resolve().parent / "out" / "replay-year.duckdb"
# 02:00 in Seoul is the US morning: a busy hour with buyers, a fair test of the speed.
START_HOUR = 2


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--minutes", type=int, default=60)
    parser.add_argument("--scale", type=float, default=1.0, help="Traffic of the replay.")
    parser.add_argument("--database", type=Path, default=DEFAULT_DATABASE)
    args = parser.parse_args()

    last_day = prepare_year(args.database)
    start = dt.datetime.combine(last_day + dt.timedelta(days=1), dt.time(START_HOUR), ZONE)
    speeds = []
    for run in range(1, args.runs + 1):
        with tempfile.TemporaryDirectory() as folder:
            copy = Path(folder) / "replay.duckdb"
            shutil.copyfile(args.database, copy)
            warehouse = open_warehouse(f"duckdb:///{copy}")
            report = replay(warehouse, start=start, minutes=args.minutes, speed=0, zone=ZONE,
                            seed=run, scale=args.scale)  # fmt: skip
            warehouse.close()
        speeds.append(report.speed)
        print(
            f"run {run}: {report.minutes_written} minutes, {report.sessions:,} sessions, "
            f"{report.hits:,} hits in {report.real_seconds:.2f} s = {report.speed:,.0f}x "
            f"({report.real_seconds / report.minutes_written * 1000:.1f} ms a minute)",
            flush=True,
        )
    median = statistics.median(speeds)
    print(
        f"replay {args.minutes} minutes from {start:%Y-%m-%d %H:%M} at scale {args.scale} "
        f"into the full year: median {median:,.0f}x real time over {args.runs} runs"
    )
    print(f"ratio to the {TARGET_SPEED:.0f}x target: {median / TARGET_SPEED:,.1f}")


def prepare_year(database: Path) -> dt.date:
    """The last day the warehouse holds, after generating the year if it holds nothing."""
    warehouse = open_warehouse(f"duckdb:///{database}")
    warehouse.create_schema()
    if warehouse.is_empty():
        print(f"generating the full year into {database} first ...", flush=True)
        generate(warehouse, days=365, end=dt.date(2026, 11, 23), zone=ZONE)
    row = warehouse.query('SELECT MAX(date) AS last, COUNT(*) AS n FROM ga_data."Sessions"')[0]
    warehouse.close()
    print(f"warehouse: {database}, {row['n']:,} sessions up to {row['last']}", flush=True)
    return row["last"]


if __name__ == "__main__":
    main()
