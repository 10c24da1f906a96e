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

`--blind` instead runs the blind question sets (tests/data/blind: metrics_*, real_calendar_*,
why_*; written by people who had read the contract, not the code) through `answer()` twice,
offline and with the model, and prints per set: accuracy each way, the share of answers
that made no model call, model calls (and failed calls: time-outs, output that broke the
schema) and tokens per answer, and the median and p95 time. The circuit breaker is off
here, so every question the model should see is put to it.
The model is whatever the settings name (COMMERCY_CHAT_MODEL with COMMERCY_OPENAI_BASE_URL,
or AZURE_OPENAI_*: a local llama.cpp / Ollama / vLLM, or Azure OpenAI). With none set it
is the scripted server playing a model that is wrong in every way a weak one is: it splits
every message into sql+rag+reasoning, answers in a ``` fence, leaves fields out, reads
every period as the last 7 days and every metric as revenue, and invents a number in every
narrative; its accuracy is the floor the parser-first rules keep, its tokens are the
server's fixed count (the prompt size is printed in characters instead).

    .venv/bin/python bench/bench_llm.py --blind [--sets metrics_4,why_2] [--limit 20]
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
from tests.cases import load, mismatch  # noqa: E402
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
# Each with a word the parser cannot place ("보고용", "board deck"), so the model is asked:
# what the parser places never reaches it (issue 21) and would measure nothing here.
CASES = [
    ("지난주 매출 사장님 보고용으로 알려줘", draft(["revenue"]), None),
    ("지난주 채널별 전환율 임원 보고용", draft(["conversion_rate"], ["channel"]), None),
    (
        "revenue by device last week for the board deck",
        draft(["revenue"], ["device"], "last week"),
        None,
    ),
    (
        "어제 모바일 이탈률 사장님 보고용",
        draft(
            ["bounce_rate"], period="어제", filters=[{"dimension": "device", "values": ["mobile"]}]
        ),
        None,
    ),
    (
        "sessions and users last month for the board deck",
        draft(["sessions", "users"], period="last month"),
        None,
    ),
    ("최근 14일 일별 세션 임원 보고용", draft(["sessions"], ["date"], "최근 14일"), None),
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


BLIND = ROOT / "tests" / "data" / "blind"


def weak_model(body: dict) -> str:
    """Every mistake of a weak model at once, for each kind of call."""
    question = body["messages"][-1]["content"]
    kind = purpose(body)
    if kind == "route":
        parts = [{"kind": k, "question": question} for k in ("sql", "rag", "reasoning")]
        return (
            "Here you go:\n```json\n" + json.dumps({"parts": parts}, ensure_ascii=False) + "\n```"
        )
    if kind == "query":
        return json.dumps({"in_catalog": True, "metrics": ["revenue"], "period": "최근 7일"})
    if kind == "reasoning":
        return "Revenue fell 37% because of the weather [F1]."
    if kind == "sql":
        return "SELECT 1 AS x"
    return "NOT_COVERED"


def blind_cases(names: list[str] | None) -> list[tuple[str, dict]]:
    paths = sorted(p for p in BLIND.glob("*.jsonl")
                   if p.stem.startswith(("metrics_", "real_calendar_", "why_")))  # fmt: skip
    if names:
        paths = [p for p in paths if p.stem in names]
    return [(p.stem, case) for p in paths for case in load(p)]


def score(case: dict, reply) -> str | None:
    """Why `reply` is wrong for `case`: a why case by its computed facts (bench_why), any
    other by its route and query (tests/cases, as bench_parser scores the parser)."""
    from bench.bench_why import mismatch as why_mismatch

    if "kind" in case:
        return why_mismatch(case, reply.to_dict())
    return mismatch(case, type("Read", (), {"route": reply.route, "query": reply.query})())


def blind(args: argparse.Namespace) -> None:
    import logging
    import tempfile
    from collections import defaultdict

    from bench.bench_why import corpus_library
    from dialogs.parser import parse
    from kpi.metrics.query import MetricQuery

    logging.disable(logging.WARNING)  # each disagreement is logged; the table says it all
    settings = Settings()
    scripted = not settings.chat_model
    warehouse = open_warehouse(f"duckdb:///{Path(args.database).resolve()}", memory_limit="256MB")
    docs = corpus_library(Path(tempfile.mkdtemp(prefix="bench-llm-")))  # the sample playbooks
    cases = blind_cases(args.sets.split(",") if args.sets else None)
    if args.limit:
        cases = [c for i, c in enumerate(cases) if i % max(len(cases) // args.limit, 1) == 0]
    with OpenAICompatibleServer() as server:
        if scripted:
            server.responder = weak_model
            settings = Settings(COMMERCY_OPENAI_BASE_URL=server.base_url,
                                COMMERCY_CHAT_MODEL="weak", COMMERCY_LLM_MAX_RETRIES=0)  # fmt: skip
        model = assistant(settings)
        # Every question asks the model: the breaker would stop asking after a slow or
        # failed call, and the table would show the offline answers instead.
        model.llm.failures_to_open, model.llm.open_seconds = 10**9, 0.0
        rows: dict[str, dict[str, list]] = defaultdict(lambda: defaultdict(list))
        misses: list[str] = []
        print(f"model: {'the scripted weak model' if scripted else settings.chat_model}; "
              f"{len(cases)} blind questions", flush=True)  # fmt: skip
        for n, (batch, case) in enumerate(cases, start=1):
            as_of = dt.date.fromisoformat(case.get("as_of", AS_OF.isoformat()))
            previous = MetricQuery.from_dict(case["previous"]) if case.get("previous") else None
            results = {}
            for mode, helper in (("offline", None), ("model", model)):
                ctx = AskContext(warehouse, "Asia/Seoul", as_of, previous=previous,
                                 library=docs, assistant=helper)  # fmt: skip
                sent = len(server.requests)
                with llm_module.metered() as usage:
                    started = time.perf_counter()
                    reply = answer(case["q"], ctx)
                    seconds = time.perf_counter() - started
                chars = sum(len(m["content"]) for r in server.requests[sent:]
                            for m in r.get("messages", []))  # fmt: skip
                wrong = score(case, reply)
                results[mode] = wrong
                for key in (batch, "all"):
                    rows[key][f"{mode} right"].append(wrong is None)
                    rows[key][f"{mode} s"].append(seconds)
                    if mode == "model":
                        rows[key]["calls"].append(usage.calls)
                        rows[key]["failed"].append(usage.failures)
                        rows[key]["tokens"].append(usage.prompt_tokens + usage.completion_tokens)
                        rows[key]["chars"].append(chars)
            if results["model"] and not results["offline"]:
                placed = parse(case["q"], as_of=as_of, previous=previous).confident
                misses.append(f"  [{batch}] {case['q']!r} (placed: {placed}): {results['model']}")
            if n % 50 == 0:
                print(f"  {n}/{len(cases)}", flush=True)

    def pct(values: list) -> str:
        return f"{100 * sum(values) / max(len(values), 1):5.1f} %"

    def p95(values: list) -> float:
        ordered = sorted(values)
        return ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))] if ordered else 0.0

    print(f"{'set':<18} {'n':>4} {'offline':>8} {'model':>8} {'no call':>8} {'calls':>6} "
          f"{'failed':>6} "
          f"{'tokens':>7} {'prompt ch':>9} {'offline p50/p95 ms':>19} "
          f"{'model p50/p95 ms':>17}")  # fmt: skip
    for key in [*sorted(k for k in rows if k != "all"), "all"]:
        r = rows[key]
        n = len(r["calls"])
        chars = f"{sum(r['chars']) / n:.0f}" if scripted else "-"  # a real server's: tokens
        print(f"{key:<18} {n:>4} {pct(r['offline right']):>8} {pct(r['model right']):>8} "
              f"{pct([c == 0 for c in r['calls']]):>8} {sum(r['calls']) / n:6.2f} "
              f"{sum(r['failed']) / n:6.2f} "
              f"{sum(r['tokens']) / n:7.0f} {chars:>9} "
              f"{statistics.median(r['offline s']) * 1000:9.0f}/"
              f"{p95(r['offline s']) * 1000:<9.0f}{statistics.median(r['model s']) * 1000:8.0f}/"
              f"{p95(r['model s']) * 1000:<8.0f}")  # fmt: skip
    if misses:
        print(f"right offline, wrong with the model ({len(misses)}):")
        print("\n".join(misses))
    print(f"measured {dt.datetime.now():%Y-%m-%d %H:%M} on {os.cpu_count()} cores")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--database", default="data/commercy.duckdb")
    parser.add_argument("--blind", action="store_true",
                        help="the blind question sets, offline and with the model")  # fmt: skip
    parser.add_argument("--sets", help="with --blind: only these sets, e.g. metrics_4,why_2")
    parser.add_argument("--limit", type=int, help="with --blind: about this many questions")
    args = parser.parse_args()
    if args.blind:
        blind(args)
        return

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
