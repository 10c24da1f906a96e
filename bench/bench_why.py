"""Why and what-to-do answers, offline: first-sight accuracy on question sets written by
someone who never read the code, and the time of a whole answer on the full sample year.

A case is right when the reply's route is "reasoning" and its computed facts name the
case's kind (change, state, what_to_do), metric, segment and, where the case states them,
the period and the comparison. Sets: tests/data/blind/why_*.jsonl (each batch scored once
before any change it prompted; that first-sight score is kept in the README).

Timing: every question answered end to end (`dialogs.router.answer`, the playbooks
indexed locally) on the warehouse, the median of the runs per question; target p95 <= 1 s.

    .venv/bin/python bench/bench_why.py [--runs 3] [--database data/commercy.duckdb] [--quiet]
"""

from __future__ import annotations

import argparse
import datetime as dt
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bot.documents import library  # noqa: E402
from bot.settings import Settings  # noqa: E402
from dialogs.context import AskContext  # noqa: E402
from dialogs.router import answer  # noqa: E402
from kpi.storage.warehouse import open_warehouse  # noqa: E402
from rag_indexer import sample_corpus  # noqa: E402
from tests.cases import load  # noqa: E402

SETS = sorted((ROOT / "tests" / "data" / "blind").glob("why_*.jsonl"))
TARGET_P95_SECONDS = 1.0


def span(value: Any) -> dict[str, str] | None:
    return {"start": value["start"], "end": value["end"]} if value else None


def segment(value: dict[str, Any] | None) -> dict[str, list[str]]:
    return {k: sorted([v] if isinstance(v, str) else v) for k, v in (value or {}).items()}


def mismatch(case: dict[str, Any], reply: dict[str, Any]) -> str | None:
    """Why the reply is wrong for the case, or None."""
    if reply["route"] != "reasoning":
        return f"route {reply['route']}"
    facts = reply.get("facts") or {}
    if not facts:
        return "no facts"
    wrong = []
    if not case.get("combined") and facts.get("kind") != case["kind"]:
        wrong.append(f"kind {facts.get('kind')} != {case['kind']}")
    if facts.get("metric") != case["metric"]:
        wrong.append(f"metric {facts.get('metric')} != {case['metric']}")
    if segment(facts.get("segment")) != segment(case.get("segment")):
        wrong.append(f"segment {facts.get('segment')} != {case.get('segment')}")
    for key in ("period", "comparison"):
        if case.get(key) and span(facts.get(key)) != span(case[key]):
            wrong.append(f"{key} {span(facts.get(key))} != {span(case[key])}")
    return "; ".join(wrong) or None


def corpus_library(folder: Path):
    return library(Settings(), sample_corpus.indexed(folder))


def main() -> int:
    options = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    options.add_argument("--runs", type=int, default=3)
    options.add_argument("--database", default="data/commercy.duckdb")
    options.add_argument("--quiet", action="store_true", help="do not list the misses")
    args = options.parse_args()
    warehouse = open_warehouse(f"duckdb:///{args.database}")
    with tempfile.TemporaryDirectory() as folder:
        docs = corpus_library(Path(folder))
        totals: dict[str, list[int]] = defaultdict(lambda: [0, 0])
        timings: list[float] = []
        misses = []
        for path in SETS:
            for case in load(path):
                context = AskContext(warehouse=warehouse, zone="Asia/Seoul",
                                     as_of=dt.date.fromisoformat(case["as_of"]),
                                     library=docs)  # fmt: skip
                seconds = []
                for _ in range(args.runs):
                    started = time.perf_counter()
                    reply = answer(case["q"], context).to_dict()
                    seconds.append(time.perf_counter() - started)
                timings.append(statistics.median(seconds))
                why = mismatch(case, reply)
                for key in ("all", f"set {path.stem}", f"lang {case['lang']}",
                            f"kind {case['kind']}"):  # fmt: skip
                    totals[key][1] += 1
                    totals[key][0] += why is None
                if why:
                    misses.append(f"  [{path.stem}] {case['q']!r}: {why}")
    right, total = totals["all"]
    print(f"why answers right (route, kind, metric, segment, period, comparison): "
          f"{right}/{total} = {100 * right / max(total, 1):.1f} %")  # fmt: skip
    for key in sorted(k for k in totals if k != "all"):
        print(f"  {key:<22} {totals[key][0]}/{totals[key][1]}")
    timings.sort()
    p95 = timings[min(len(timings) - 1, int(0.95 * len(timings)))]
    print(f"answer time: median {1000 * statistics.median(timings):.0f} ms, p95 "
          f"{1000 * p95:.0f} ms (target {TARGET_P95_SECONDS:.0f} s, ratio "
          f"{p95 / TARGET_P95_SECONDS:.2f}), {args.runs} runs a question")  # fmt: skip
    if misses and not args.quiet:
        print(f"misses ({len(misses)}):")
        print("\n".join(misses))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
