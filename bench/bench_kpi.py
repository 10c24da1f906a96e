"""The metric layer's speed on the generated full year, in one run.

1. Each headline metric through the metric layer (MetricQuery -> SQLAlchemy -> DuckDB),
   divided by a bare DuckDB scan of the same columns: the raw DuckDB connection reading
   every column the compiled query touches, whole tables, no join, no filter
   (target <= 3x). For the last 30 days and for the whole year.
2. The whole daily summary (target <= 1 s).
3. One chart render, the 14-day revenue line with a comparison line (target <= 150 ms).

Medians over several runs. Uses the warehouse in COMMERCY_DATABASE_URL's default place
(data/commercy.duckdb), generating the full year first if it holds nothing.

    .venv/bin/python bench/bench_kpi.py [--runs 7] [--database data/commercy.duckdb]
"""

from __future__ import annotations

import argparse
import datetime as dt
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from cards.chart_png import Series, line_chart_png
from kpi.insights.summary import daily_summary
from kpi.metrics.catalog import HEADLINE_METRICS
from kpi.metrics.query import MetricQuery, run_query, statements
from kpi.sample.generate import generate
from kpi.storage.warehouse import open_warehouse

ZONE = "Asia/Seoul"


def median_seconds(action: Callable[[], object], runs: int) -> float:
    action()  # warm: first run pays for opening files and compiling
    timings = []
    for _ in range(runs):
        started = time.perf_counter()
        action()
        timings.append(time.perf_counter() - started)
    return statistics.median(timings)


def columns_read(query: MetricQuery) -> dict[str, set[str]]:
    """table -> the columns the compiled statements read (join keys included)."""
    from sqlalchemy.sql import visitors
    from sqlalchemy.sql.schema import Column
    from sqlalchemy.sql.selectable import Alias

    read: dict[str, set[str]] = {}
    for statement in statements(query, zone=ZONE).values():
        for element in visitors.iterate(statement):
            table = getattr(element, "table", None)
            if isinstance(table, Alias):
                columns = read.setdefault(table.element.name, set())
                if isinstance(element, Column) or hasattr(element, "name"):
                    columns.add(element.name)
    return read


def bare_scan(connection, read: dict[str, set[str]]) -> Callable[[], object]:
    sqls = []
    for table, columns in read.items():
        # hash() makes DuckDB read every value; count() alone is answered from statistics.
        picked = ", ".join(f'sum(hash("{c}"))' for c in sorted(columns)) or "count(*)"
        sqls.append(f'SELECT {picked} FROM ga_data."{table}"')

    def scan() -> None:
        for sql in sqls:
            connection.execute(sql).fetchall()

    return scan


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--database", default="data/commercy.duckdb")
    args = parser.parse_args()

    warehouse = open_warehouse(f"duckdb:///{args.database}")
    warehouse.create_schema()
    if warehouse.is_empty():
        print("generating the full year first ...", flush=True)
        generate(
            warehouse, days=365, end=dt.date.today() - dt.timedelta(days=1), zone=ZoneInfo(ZONE)
        )
    last = warehouse.query('SELECT max(date) AS d, min(date) AS f FROM ga_data."Sessions"')[0]
    end, first = last["d"], last["f"]
    print(f"warehouse: {args.database}, {first} .. {end}")

    ratios = []
    with warehouse.engine.connect() as conn:
        raw = conn.connection.driver_connection
        for label, start in [("last 30 days", end - dt.timedelta(days=29)), ("whole year", first)]:
            for name in HEADLINE_METRICS:
                query = MetricQuery.build([name], start, end)
                layer = median_seconds(
                    lambda q=query: run_query(warehouse, q, zone=ZONE), args.runs
                )
                scan = median_seconds(bare_scan(raw, columns_read(query)), args.runs)
                ratios.append(layer / scan)
                print(f"{label:12} {name:22} layer {layer * 1000:7.1f} ms  "
                      f"bare scan {scan * 1000:7.1f} ms  ratio {layer / scan:5.2f}")  # fmt: skip
    print(f"headline metric / bare scan: median ratio {statistics.median(ratios):.2f}, "
          f"worst {max(ratios):.2f} (target <= 3)")  # fmt: skip

    summary_seconds = median_seconds(lambda: daily_summary(warehouse, end, zone=ZONE), args.runs)
    print(f"daily summary: {summary_seconds * 1000:.0f} ms (target <= 1000 ms, "
          f"ratio {summary_seconds / 1.0:.2f})")  # fmt: skip

    summary = daily_summary(warehouse, end, zone=ZONE)
    points = summary.series["revenue"]
    current = Series("이번 기간", [d for d, _ in points], [v for _, v in points])
    before = Series("지난주", [d for d, _ in points], [v * 0.9 if v else v for _, v in points])
    render = median_seconds(
        lambda: line_chart_png(current, unit="usd", title="최근 14일 매출", comparison=before),
        args.runs,
    )
    print(f"chart render: {render * 1000:.0f} ms (target <= 150 ms, ratio {render / 0.150:.2f})")


if __name__ == "__main__":
    main()
