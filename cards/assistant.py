"""Cards the LLM path adds: rows from model-written SQL, a reasoned answer with its facts
and sources, a reply made of several parts, the "this was right" button, and a note
under an answer (the LLM was unavailable, so this is the offline answer).
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from typing import Any

from adaptive_cards import card as ac
from adaptive_cards import types as act

from cards.answer import MAX_TABLE_ROWS, sql_block
from cards.elements import (
    Element,
    build_card,
    bullets,
    dump,
    heading,
    lang_code,
    subtle,
    text,
    tr,
)

CONFIRM_VERB = "confirm"
MAX_COLUMNS = 6
MAX_CELL = 80
MAX_PARTS = 3


def _clip(value: Any, limit: int = MAX_CELL) -> str:
    shown = "—" if value is None else str(value)
    return shown if len(shown) <= limit else shown[: limit - 1] + "…"


def sql_rows_card(
    question: str, columns: Sequence[str], rows: Sequence[Sequence[Any]], sql: str, *, lang: str
) -> dict[str, Any]:
    """Rows a model-written, guarded SELECT returned, with that SQL behind "Show SQL"."""
    code = lang_code(lang)
    body: list[Element] = [
        heading(_clip(question, 120)),
        subtle(
            tr(
                code,
                "지표 카탈로그 밖의 질문이라 AI가 쓴 SQL로 계산했어요 (읽기 전용, 검사 통과).",
                "Outside the metric catalog, so this was computed with SQL the AI wrote "
                "(read-only, checked).",
            )
        ),
    ]
    shown_columns = list(columns[:MAX_COLUMNS])
    if not rows:
        body.append(text(tr(code, "결과가 없어요.", "No rows.")))
    else:
        header = ac.TableRow(
            cells=[
                ac.TableCell(items=[text(_clip(c, 30), weight=act.FontWeight.BOLDER)])
                for c in shown_columns
            ]
        )
        table_rows = [header] + [
            ac.TableRow(
                cells=[ac.TableCell(items=[text(_clip(v))]) for v in row[: len(shown_columns)]]
            )
            for row in rows[:MAX_TABLE_ROWS]
        ]
        body.append(
            ac.Table(
                columns=[ac.TableColumnDefinition(width=1) for _ in shown_columns],
                rows=table_rows,
                first_row_as_header=True,
                show_grid_lines=False,
            )
        )
        if len(rows) > MAX_TABLE_ROWS:
            hidden = len(rows) - MAX_TABLE_ROWS
            body.append(subtle(tr(code, f"… 외 {hidden}행 더", f"… {hidden} more rows")))
    body.extend(sql_block(sql, code))
    return build_card(body, lang=code, summary=_clip(question, 120), full_width=True)


def reasoning_card(
    question: str,
    narrative: str,
    facts: Sequence[str],
    sources: Sequence[tuple[str, str | None]],
    *,
    lang: str,
    note: str | None = None,
) -> dict[str, Any]:
    """A "why / what should we do" answer: the narrative, the computed facts it rests on
    ([F1], ...) and the passages it cites ([1] file p.N, linked)."""
    code = lang_code(lang)
    body: list[Element] = [heading(_clip(question, 120)), text(narrative)]
    if facts:
        body.append(subtle(tr(code, "계산한 사실", "Computed facts"), spacing=act.Spacing.MEDIUM))
        body.append(bullets([f"[F{n}] {fact}" for n, fact in enumerate(facts, start=1)]))
    if sources:
        body.append(subtle(tr(code, "출처", "Sources"), spacing=act.Spacing.MEDIUM))
        body.append(
            bullets(
                [
                    f"[{n}] [{label}]({url})" if url else f"[{n}] {label}"
                    for n, (label, url) in enumerate(sources, start=1)
                ]
            )
        )
    if note:
        body.append(subtle(note))
    return build_card(body, lang=code, summary=_clip(narrative, 200), full_width=True)


def confirm_action(question: str, query: dict[str, Any], *, lang: str) -> dict[str, Any]:
    """ "👍 Correct": the question and the query it was read as become an example the model
    sees for similar questions. Action.Execute, with Action.Submit for older clients."""
    code = lang_code(lang)
    title = tr(code, "👍 정확해요", "👍 Correct")
    data = {"question": question[:500], "query": query}
    fallback = ac.ActionSubmit(title=title, data={"verb": CONFIRM_VERB, **data})
    return dump(ac.ActionExecute(title=title, verb=CONFIRM_VERB, data=data, fallback=fallback))


def with_action(card: dict[str, Any], action: dict[str, Any]) -> dict[str, Any]:
    changed = copy.deepcopy(card)
    changed["actions"] = [*changed.get("actions", [])[:4], action]
    return changed


def with_note(card: dict[str, Any] | None, note: str) -> dict[str, Any] | None:
    """`card` with a small line of `note` at the end of its body."""
    if card is None:
        return None
    changed = copy.deepcopy(card)
    changed.setdefault("body", []).append(dump(subtle(note)))
    return changed


def combined_card(parts: Sequence[dict[str, Any]], *, lang: str) -> dict[str, Any]:
    """Several answers in one card, one container each, in the order they were asked.

    Element ids (the "Show SQL" targets) get the part's number so that each toggle opens
    its own SQL."""
    code = lang_code(lang)
    body: list[dict[str, Any]] = []
    actions: list[dict[str, Any]] = []
    for n, part in enumerate(parts[:MAX_PARTS], start=1):
        items = _renumbered(copy.deepcopy(part.get("body", [])), n)
        body.append({"type": "Container", "separator": n > 1, "spacing": "Large", "items": items})
        actions.extend(part.get("actions", []))
    card = build_card(
        [], lang=code, summary=parts[0].get("fallbackText") if parts else None, full_width=True
    )
    card["body"] = body
    if actions:
        card["actions"] = actions[:5]
    return card


def _renumbered(items: Any, n: int) -> Any:
    if isinstance(items, list):
        return [_renumbered(item, n) for item in items]
    if isinstance(items, dict):
        out = {k: _renumbered(v, n) for k, v in items.items()}
        if isinstance(out.get("id"), str):
            out["id"] = f"{out['id']}-{n}"
        if isinstance(out.get("elementId"), str):
            out["elementId"] = f"{out['elementId']}-{n}"
        return out
    return items
