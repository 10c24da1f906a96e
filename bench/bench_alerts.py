"""The risk check's cost and its false alarms, on the generated full year.

1. One check (`kpi.insights.alerts.evaluate`, all seven rules, the 5-minute window ending at 14:00
   on the sample's last day) on the full sample year: median of runs (target <= 100 ms).
2. The same check on 4x the history (the year copied three times, 52, 104 and 156 weeks
   earlier, so weekdays line up), divided by the 1x time (target <= 1.3).
3. Both again without the extra `sessionStartTime` column that Commercy's Totals and Hits
   carry (the GA schema lacks it): what a `ga_data` without it costs on DuckDB.
4. False alerts per clean simulated week: every 5-minute check of the sample's last
   `--weeks` weeks (2,016 a week), each told the alerts already raised, as the scheduler
   does, so an episode's later checks update its alert instead of counting again.

The warehouses are built once in bench/out/ (a few minutes the first time).

    .venv/bin/python bench/bench_alerts.py [--runs 15] [--weeks 2] [--database FILE]
"""

from __future__ import annotations

import argparse
import collections
import datetime as dt
import shutil
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from kpi.insights.alerts import Alert, evaluate
from kpi.sample.generate import generate
from kpi.storage.warehouse import open_warehouse

ZONE = ZoneInfo("Asia/Seoul")
END = dt.date(2026, 11, 23)  # the generated year ends here, as in tests/conftest.py
SEED = 7
OUT = Path(__file__).resolve().parent / "out"
SHIFTS = (3, 2, 1)  # years of 52 weeks before the original, oldest first
# Each table's keys, "fullVisitorId-visitId[-hitNumber[-position]]", and how many parts
# they have: a copy shifts the visitId part, so keys stay unique and spread over the
# same range as the original's (a prefix would let DuckDB's min/max join filters skip
# the copies and flatter the 4x figure).
KEYED = {
    "Sessions": {"session_key": 2},
    "Totals": {"session_key": 2},
    "Traffic": {"session_key": 2},
    "DeviceGeo": {"session_key": 2},
    "Hits": {"hit_key": 3, "session_key": 2},
    "HitsProduct": {"product_hit_key": 4, "hit_key": 3},
}


def median_ms(action: Callable[[], object], runs: int) -> float:
    action()  # warm: the first run pays for opening files
    timings = []
    for _ in range(runs):
        started = time.perf_counter()
        action()
        timings.append(time.perf_counter() - started)
    return statistics.median(timings) * 1000


def sample_year(path: Path) -> Path:
    if not path.exists():
        print(f"generating the sample year into {path} ...", flush=True)
        warehouse = open_warehouse(f"duckdb:///{path}")
        warehouse.create_schema()
        generate(warehouse, days=365, end=END, zone=ZONE, seed=SEED)
        warehouse.close()
    return path


def four_times(year: Path, path: Path) -> Path:
    """The year and three copies of it 1, 2 and 3 x 52 weeks earlier, oldest first, as a
    warehouse filled in time order would hold them."""
    if path.exists():
        return path
    print(f"building 4x the history into {path} ...", flush=True)
    warehouse = open_warehouse(f"duckdb:///{path}")
    warehouse.create_schema()
    with warehouse.engine.connect() as conn:
        raw = conn.connection.driver_connection
        raw.execute(f"ATTACH '{year}' AS year (READ_ONLY)")
        for shift in (*SHIFTS, 0):
            seconds = shift * 364 * 86400
            for table, keys in KEYED.items():
                replaced = [_shifted_key(key, parts, seconds) for key, parts in keys.items()]
                if table in ("Sessions", "Totals", "Hits"):
                    start = "visitStartTime" if table == "Sessions" else "sessionStartTime"
                    replaced.append(f"{start} - {seconds} AS {start}")
                if table == "Sessions":
                    replaced += [f"visitId - {seconds} AS visitId", f"date - {shift * 364} AS date"]
                raw.execute(
                    f'INSERT INTO ga_data."{table}" SELECT * REPLACE ({", ".join(replaced)}) '
                    f'FROM year.ga_data."{table}"'
                )
        raw.execute("DETACH year")
        raw.execute("CHECKPOINT")
    warehouse.close()
    return path


def _shifted_key(column: str, parts: int, seconds: int) -> str:
    """`column` with its visitId part (the second) moved `seconds` earlier."""
    pieces = [f"split_part({column}, '-', {i})" for i in range(1, parts + 1)]
    pieces[1] = f"CAST(CAST({pieces[1]} AS BIGINT) - {seconds} AS VARCHAR)"
    return " || '-' || ".join(pieces) + f" AS {column}"


def without_time_columns(source: Path, path: Path) -> Path:
    """A copy whose Totals and Hits lack the extra sessionStartTime: the bare GA schema."""
    if path.exists():
        return path
    print(f"dropping sessionStartTime from Totals and Hits in {path} ...", flush=True)
    shutil.copyfile(source, path)
    warehouse = open_warehouse(f"duckdb:///{path}")
    with warehouse.engine.connect() as conn:
        raw = conn.connection.driver_connection
        for table in ("Totals", "Hits"):
            raw.execute(f'ALTER TABLE ga_data."{table}" DROP COLUMN sessionStartTime')
        raw.execute("CHECKPOINT")
    warehouse.close()
    return path


def check_ms(path: Path, at: dt.datetime, runs: int) -> tuple[float, list[Alert]]:
    warehouse = open_warehouse(f"duckdb:///{path}")
    try:
        alerts = evaluate(warehouse, at, zone=ZONE)
        return median_ms(lambda: evaluate(warehouse, at, zone=ZONE), runs), alerts
    finally:
        warehouse.close()


def last_day(path: Path) -> dt.date:
    warehouse = open_warehouse(f"duckdb:///{path}")
    try:
        return warehouse.query('SELECT MAX(date) AS day FROM ga_data."Sessions"')[0]["day"]
    finally:
        warehouse.close()


def clean_weeks(path: Path, end: dt.date, weeks: int) -> list[list[Alert]]:
    """The alerts of every 5-minute check of the `weeks` weeks up to `end`, week by week."""
    warehouse = open_warehouse(f"duckdb:///{path}")
    first = dt.datetime.combine(end - dt.timedelta(days=7 * weeks - 1), dt.time(), tzinfo=ZONE)
    raised: list[Alert] = []
    per_week: list[list[Alert]] = [[] for _ in range(weeks)]
    try:
        for i in range(weeks * 7 * 288):
            at = first + dt.timedelta(minutes=5 * (i + 1))
            new = evaluate(warehouse, at, zone=ZONE, previous=raised)
            raised += new
            # An episode's later checks update its card: one false alert, not several.
            per_week[i // 2016] += [a for a in new if not a.is_update]
    finally:
        warehouse.close()
    return per_week


def report_cost(year: Path, history: Path, end: dt.date, runs: int) -> None:
    at = dt.datetime.combine(end, dt.time(14), tzinfo=ZONE)
    one, alerts = check_ms(year, at, runs)
    four, alerts_4x = check_ms(history, at, runs)
    # The copies are older than the year, so the check must see exactly the same.
    assert [a.to_dict() for a in alerts] == [a.to_dict() for a in alerts_4x]
    print(
        f"one check at {at:%Y-%m-%d %H:%M}: 1x {one:.1f} ms (target <= 100), "
        f"4x {four:.1f} ms, 4x/1x {four / one:.2f} (target <= 1.3)"
    )
    bare_year = without_time_columns(year, OUT / "alerts-year-ga.duckdb")
    bare_history = without_time_columns(history, OUT / "alerts-4x-ga.duckdb")
    bare_one, _ = check_ms(bare_year, at, runs)
    bare_four, _ = check_ms(bare_history, at, runs)
    print(
        f"without the extra sessionStartTime on Totals and Hits (bare GA schema): "
        f"1x {bare_one:.1f} ms, 4x {bare_four:.1f} ms, 4x/1x {bare_four / bare_one:.2f}"
    )


def report_false_alerts(year: Path, end: dt.date, weeks: int) -> None:
    started = time.perf_counter()
    per_week = clean_weeks(year, end, weeks)
    seconds = time.perf_counter() - started
    for number, raised in enumerate(per_week, start=1):
        by_rule = collections.Counter(f"{a.rule} {a.scope}" for a in raised)
        listed = ", ".join(f"{name} x{count}" for name, count in sorted(by_rule.items()))
        print(f"clean week {number} of {weeks}: {len(raised)} false alert(s) in 2016 checks"
              + (f": {listed}" if listed else ""))  # fmt: skip
        for alert in raised:
            print(f"    {alert.window_end:%a %m-%d %H:%M} {alert.severity:8} {alert.message_en}")
    total = sum(len(raised) for raised in per_week)
    print(
        f"false alerts per clean week: {total / weeks:.2f} "
        f"({weeks * 2016} checks in {seconds:.0f} s, {seconds / weeks / 2016 * 1000:.0f} ms each)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument(
        "--weeks", type=int, default=2, help="Clean weeks to count alerts in (0: none)."
    )
    parser.add_argument("--database", type=Path, help="A year's warehouse (default: generated).")
    args = parser.parse_args()

    OUT.mkdir(exist_ok=True)
    year = sample_year(args.database or OUT / "alerts-year.duckdb")
    history = four_times(year, OUT / "alerts-4x.duckdb")
    end = last_day(year)
    print(f"warehouse: {year}, last day {end}")
    report_cost(year, history, end, args.runs)
    if args.weeks:
        report_false_alerts(year, end, args.weeks)


if __name__ == "__main__":
    main()
