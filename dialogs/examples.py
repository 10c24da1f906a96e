"""Question -> query pairs the model sees as few-shot examples, the nearest ones first.

The library starts with `examples.jsonl` (questions marketers ask, in Korean and
English, with the query each means) and grows from answers people confirm with the
card's "👍 Correct" button. Nearness is lexical: the idf-weighted cosine of the two
questions' search terms (Korean morphemes, English words; language/terms.py), so
"지난주 채널별 매출" finds "지난달 채널별 전환율" without an embedding model.
"""

from __future__ import annotations

import json
import math
import threading
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from language.terms import terms

SEEDS = Path(__file__).with_name("examples.jsonl")


@dataclass(frozen=True)
class Example:
    question: str
    query: dict[str, Any]  # a QueryDraft as JSON


def seed_examples(path: Path = SEEDS) -> list[Example]:
    rows = (json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line)
    return [Example(row["question"], row["query"]) for row in rows]


class ExampleLibrary:
    def __init__(
        self,
        examples: Iterable[Example] = (),
        *,
        save: Callable[[Example], None] | None = None,
    ) -> None:
        self._save = save
        self._lock = threading.Lock()
        self._examples: list[Example] = []
        self._terms: list[Counter[str]] = []
        for example in examples:
            self._add(example)

    def __len__(self) -> int:
        return len(self._examples)

    def _add(self, example: Example) -> None:
        self._examples.append(example)
        self._terms.append(Counter(terms(example.question)))

    def add(self, example: Example) -> None:
        """A confirmed answer: kept (and saved) unless the same question is there."""
        with self._lock:
            if any(e.question == example.question for e in self._examples):
                return
            self._add(example)
        if self._save is not None:
            self._save(example)

    def nearest(self, question: str, k: int = 4) -> list[Example]:
        asked = Counter(terms(question))
        with self._lock:
            examples, counted = list(self._examples), list(self._terms)
        if not asked or not examples:
            return examples[:k]
        documents = Counter(t for c in counted for t in c)
        idf = {t: math.log((1 + len(counted)) / (1 + documents[t])) + 1 for t in asked}

        def cosine(other: Counter[str]) -> float:
            shared = sum(asked[t] * other[t] * idf[t] ** 2 for t in asked if t in other)
            if not shared:
                return 0.0
            norm = math.sqrt(sum((asked[t] * idf[t]) ** 2 for t in asked))
            other_norm = math.sqrt(sum(v * v for v in other.values()))
            return shared / (norm * other_norm)

        ranked = sorted(range(len(examples)), key=lambda i: -cosine(counted[i]))
        return [examples[i] for i in ranked[:k]]
