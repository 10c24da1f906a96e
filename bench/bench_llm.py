"""What the LLM path adds to an answer beyond the model's own time (issue target: at most
50 ms per answer), on the full sample year.

The model is the local OpenAI-compatible server (tests/doubles/openai_server.py) answering at
once with scripted replies, through the real LangChain and `openai` clients over HTTP.
For every answer it splits the wall time into:

- LLM: time inside the model calls (HTTP, the clients, JSON parsing), measured by
  dialogs.llm's meter;
- warehouse: time in the warehouse (the metric layer's SELECTs, the guarded SELECT);
- added: the rest, the product's own work: routing, example retrieval, prompt building,
  draft validation, the SQL guard, cards.

Also the SQL guard alone. Medians over several runs.

    .venv/bin/python bench/bench_llm.py [--runs 5] [--database data/commercy.duckdb]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sqlalchemy import event  # noqa: E402

from bot.llm import assistant  # noqa: E402
from bot.settings import Settings  # noqa: E402
from dialogs import llm as llm_module  # noqa: E402
from dialogs.context import AskContext  # noqa: E402
from dialogs.router import answer  # noqa: E402
from kpi.storage.sql_guard import guard_select  # noqa: E402
from kpi.storage.warehouse import open_warehouse  # noqa: E402
from tests.doubles.openai_server import OpenAICompatibleServer, purpose  # noqa: E402

TARGET_MS = 50
AS_OF = dt.date(2026, 11, 24)
TOP_PAGES = (
    "```sql\nSELECT h.pagePath, COUNT(*) AS views FROM Hits h JOIN Sessions s "
    "USING (session_key) WHERE s.date BETWEEN '2026-11-16' AND '2026-11-22' "
    "AND h.hitType = 'PAGE' GROUP BY h.pagePath ORDER BY views DESC LIMIT 10\n```"
)


def draft(metrics, dimensions=(), period="지난주", filters=()) -> str:
    query = {"in_catalog": True, "metrics": list(metrics), "dimensions": list(dimensions),
             "filters": list(filters), "period": period, "order": None, "limit": None,
             "compare": None}  # fmt: skip
    return json.dumps(query)


OUTSIDE = json.dumps({"in_catalog": False, "metrics": [], "dimensions": [], "filters": [],
                      "period": None, "order": None, "limit": None, "compare": None})  # fmt: skip
# (question, the query draft the model returns, the SQL it writes when outside the catalog)
CASES = [
    ("지난주 매출 알려줘", draft(["revenue"]), None),
    ("지난주 채널별 전환율", draft(["conversion_rate"], ["channel"]), None),
    ("revenue by device last week", draft(["revenue"], ["device"], "last week"), None),
    (
        "어제 모바일 이탈률",
        draft(
            ["bounce_rate"], period="어제", filters=[{"dimension": "device", "values": ["mobile"]}]
        ),
        None,
    ),
    ("sessions and users last month", draft(["sessions", "users"], period="last month"), None),
    ("최근 14일 일별 세션", draft(["sessions"], ["date"], "최근 14일"), None),
    ("Which pages were viewed most last week?", OUTSIDE, TOP_PAGES),
    ("지난주 가장 많이 본 페이지는?", OUTSIDE, TOP_PAGES),
]


class WarehouseClock:
    """Sums the time spent in the warehouse: SQLAlchemy statements and guarded reads."""

    def __init__(self, warehouse) -> None:
        self.seconds = 0.0
        self._started: list[float] = []
        event.listen(warehouse.engine, "before_cursor_execute", self._before)
        event.listen(warehouse.engine, "after_cursor_execute", self._after)
        read_only = warehouse.read_only_rows

        def timed(sql, **options):
            started = time.perf_counter()
            try:
                return read_only(sql, **options)
            finally:
                self.seconds += time.perf_counter() - started

        warehouse.read_only_rows = timed

    def _before(self, *_args) -> None:
        self._started.append(time.perf_counter())

    def _after(self, *_args) -> None:
        self.seconds += time.perf_counter() - self._started.pop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--database", default="data/commercy.duckdb")
    args = parser.parse_args()

    warehouse = open_warehouse(f"duckdb:///{Path(args.database).resolve()}", memory_limit="256MB")
    clock = WarehouseClock(warehouse)
    with OpenAICompatibleServer() as server:
        current: dict[str, str | None] = {}

        def responder(body):
            kind = purpose(body)
            if kind == "route":
                return json.dumps({"parts": [{"kind": "sql", "question": current["q"]}]},
                                  ensure_ascii=False)  # fmt: skip
            return {"query": current["draft"], "sql": current["sql"]}.get(kind) or "NOT_COVERED"

        server.responder = responder
        settings = Settings(COMMERCY_OPENAI_BASE_URL=server.base_url,
                            COMMERCY_CHAT_MODEL="bench", COMMERCY_LLM_MAX_RETRIES=0)  # fmt: skip
        ctx = AskContext(warehouse, "Asia/Seoul", AS_OF, assistant=assistant(settings))

        usage_seen: list[llm_module.Usage] = []
        real_metered = llm_module.metered

        from contextlib import contextmanager

        @contextmanager
        def metered():
            with real_metered() as usage:
                yield usage
            usage_seen.append(usage)

        import dialogs.assistant as assistant_module

        assistant_module.metered = metered

        def one(question, drafted, sql) -> tuple[float, float, float]:
            current.update(q=question, draft=drafted, sql=sql)
            clock.seconds = 0.0
            t = time.perf_counter()
            reply = answer(question, ctx)
            total = time.perf_counter() - t
            assert reply.route == "sql" and reply.rows, (question, reply.text)
            return total, usage_seen[-1].seconds, clock.seconds

        for case in CASES:  # warm: the Korean model, connections, caches
            one(*case)
        added_runs, llm_runs, total_runs, wh_runs = [], [], [], []
        for run in range(1, args.runs + 1):
            parts = [one(*case) for case in CASES]
            added = [total - model - wh for total, model, wh in parts]
            added_runs.append(statistics.median(added))
            llm_runs.append(statistics.median(p[1] for p in parts))
            wh_runs.append(statistics.median(p[2] for p in parts))
            total_runs.append(statistics.median(p[0] for p in parts))
            print(f"run {run}: added p50 {added_runs[-1] * 1000:.1f} ms, max "
                  f"{max(added) * 1000:.1f} ms; LLM {llm_runs[-1] * 1000:.1f} ms; "
                  f"warehouse {wh_runs[-1] * 1000:.1f} ms; total {total_runs[-1] * 1000:.1f} ms",
                  flush=True)  # fmt: skip

    statements = [extract for _, _, extract in CASES if extract] + [
        "SELECT d.country, SUM(t.totalTransactionRevenue) / 1e6 AS revenue FROM Sessions s "
        "JOIN Totals t USING (session_key) JOIN DeviceGeo d USING (session_key) "
        "WHERE s.date >= '2026-11-01' GROUP BY 1 ORDER BY 2 DESC"
    ]
    guard_times = []
    for _ in range(200):
        for sql in statements:
            t = time.perf_counter()
            guard_select(sql.strip("`").removeprefix("sql\n"))
            guard_times.append(time.perf_counter() - t)
    added = statistics.median(added_runs)
    print(f"SQL guard: p50 {statistics.median(guard_times) * 1000:.2f} ms per statement")
    ratio = added * 1000 / TARGET_MS
    print(
        f"LLM path, {len(CASES)} questions x {args.runs} runs: the product adds "
        f"{added * 1000:.1f} ms per answer (target {TARGET_MS}, ratio {ratio:.2f}) over the "
        f"model's {statistics.median(llm_runs) * 1000:.1f} ms; warehouse "
        f"{statistics.median(wh_runs) * 1000:.1f} ms"
    )
    print(f"measured {dt.datetime.now():%Y-%m-%d %H:%M} on {os.cpu_count()} cores")


if __name__ == "__main__":
    main()
