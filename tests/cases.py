"""The parser's question cases and how a parse is compared with one, shared by
tests/test_parser.py and bench/bench_parser.py so that both score the same way.

A case is a JSON line: "q" (the message), "route", optionally "as_of", "previous" (the
conversation's last query, as `MetricQuery.to_dict` writes it) and the expected query's
fields at the top level ("metrics", "dimensions", "filters", "start", "end", "limit"), a
filter's values as one string or a list.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from dialogs.parser import Parsed, parse
from kpi.metrics.query import MetricQuery

ROOT = Path(__file__).resolve().parents[1]
QUESTIONS = ROOT.parent / "shared" / "questions.jsonl"  # the reference questions
PARSER_CASES = ROOT / "tests" / "data" / "parser_cases.jsonl"
AS_OF = dt.date(2026, 11, 24)  # a Tuesday; a case may set its own
# The query fields a case states and a parse is scored on.
QUERY_FIELDS = ("metrics", "dimensions", "filters", "start", "end", "limit")


def load(path: Path) -> list[dict[str, Any]]:
    with path.open(encoding="utf-8") as lines:
        return [json.loads(line) for line in lines if line.strip()]


def as_of(case: Mapping[str, Any]) -> dt.date:
    return dt.date.fromisoformat(case["as_of"]) if "as_of" in case else AS_OF


def previous(case: Mapping[str, Any]) -> MetricQuery | None:
    return MetricQuery.from_dict(case["previous"]) if case.get("previous") else None


def run(case: Mapping[str, Any]) -> Parsed:
    return parse(case["q"], as_of=as_of(case), previous=previous(case))


def comparable(query: Mapping[str, Any]) -> dict[str, Any]:
    """The scored fields of a query dict (a case, or `MetricQuery.to_dict()`), with the
    optional ones defaulted and each filter's values as a sorted list."""
    filters = query.get("filters") or {}
    return {
        "metrics": list(query["metrics"]),
        "dimensions": list(query.get("dimensions") or []),
        "filters": {
            name: sorted([values] if isinstance(values, str) else values)
            for name, values in filters.items()
        },
        "start": query.get("start"),
        "end": query.get("end"),
        "limit": query.get("limit"),
    }


def expected(case: Mapping[str, Any]) -> dict[str, Any] | None:
    """The query the case expects, or None when it states none (help, unknown, ...)."""
    return comparable(case) if "metrics" in case else None


def actual(parsed: Parsed) -> dict[str, Any] | None:
    return comparable(parsed.query.to_dict()) if parsed.query is not None else None


def mismatch(case: Mapping[str, Any], parsed: Parsed) -> str | None:
    """Why `parsed` is wrong for `case` (route, then each query field), or None."""
    if parsed.route != case["route"]:
        return f"route {parsed.route} != {case['route']}"
    wanted = expected(case)
    if wanted is None:
        return None
    got = actual(parsed)
    if got is None:
        return "no query"
    # A why question that names no period states none: its period is the answer's choice.
    fields = [k for k in QUERY_FIELDS if k not in ("start", "end") or wanted[k] is not None]
    wrong = [f"{k} {got[k]} != {wanted[k]}" for k in fields if got[k] != wanted[k]]
    return "; ".join(wrong) or None
