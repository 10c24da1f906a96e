"""The Teams check every card passes before the bot sends it.

`validate_card` returns the problems as sentences (an empty list: the card may be sent):

1. Size. The card, wrapped as the activity attachment, at most 28 KB of compact UTF-8
   JSON: the limit adaptive-cards-py's `MicrosoftTeams` target holds (taken from there,
   citing Microsoft Learn's "Format cards in Teams"), and the one Learn states for cards
   posted to Teams ("Create Incoming Webhooks": "The message size limit is 28 KB"). The
   whole message under 80 KB: Learn's "Format your bot messages" puts the bot message
   limit at about 100 KB counted as UTF-16 and recommends staying within 80 KB; the
   activity around the attachment is allowed for below.
2. Schema. The official Adaptive Card 1.5 JSON schema shipped with adaptive-cards-py,
   applied to what a plain 1.5 client sees: every `msteams` property removed and every
   Teams-only element (`Chart.*`, `CodeBlock`) replaced by its `fallback`, or dropped
   when the fallback is "drop" or missing. The schema forbids unknown properties, so a
   misspelt one fails too. Element types the schema does not know are named, and so are
   toggle buttons whose target id is missing and ids used twice. adaptive-cards-py's own
   validator then checks that no property needs a newer version than the card declares.
3. Universal Actions. With an Action.Execute anywhere, the card's version must be 1.5 and
   each Action.Execute needs an Action.Submit `fallback` (Learn, "Work with Universal
   Actions for Adaptive Cards": older Teams clients otherwise drop the button).

Why not only adaptive-cards-py's `CardValidator`: it validates the package's own model
re-serialized, which silently loses unknown properties and cannot hold Teams' chart
elements or element-level `msteams`. Its schemas, its Teams limit and its per-property
version check are used here on the card as sent.
"""

from __future__ import annotations

import copy
import json
import warnings
from collections.abc import Iterator
from functools import cache
from importlib import resources
from typing import Any

from adaptive_cards.card import AdaptiveCard
from adaptive_cards.validation import CardValidator, MicrosoftTeams, ValidationFailure
from jsonschema import Draft6Validator
from jsonschema.exceptions import ValidationError
from jsonschema.validators import extend
from pydantic import ValidationError as ModelError
from pydantic.warnings import PydanticDeprecatedSince211

ADAPTIVE_CARD_CONTENT_TYPE = "application/vnd.microsoft.card.adaptive"
SCHEMA_VERSION = "1.5"  # what Teams desktop and web render (DESIGN.md)
_SCHEMA_VERSION_NUMBERS = (1, 5)
CARD_LIMIT_BYTES = round(MicrosoftTeams().max_card_size() * 1024)  # 28 KB
MESSAGE_LIMIT_BYTES = 80 * 1024
# What the activity adds around the attachment (ids of the conversation, sender and
# recipient, serviceUrl, channelData, locale): under 1,000 characters in Teams' own
# examples; counted generously, in UTF-16 bytes.
ACTIVITY_ENVELOPE_BYTES = 4 * 1024
_DROP = object()


def card_attachment(card: dict[str, Any]) -> dict[str, Any]:
    """The card as the Bot Framework attachment of a message activity."""
    return {"contentType": ADAPTIVE_CARD_CONTENT_TYPE, "content": card}


def _compact(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def card_size(card: dict[str, Any]) -> int:
    """Bytes of the attachment as compact UTF-8 JSON (how adaptive-cards-py measures)."""
    return len(_compact(card_attachment(card)).encode("utf-8"))


def message_size(card: dict[str, Any]) -> int:
    """Estimated bytes of the whole message activity in UTF-16, as Teams counts it."""
    activity = {"type": "message", "attachments": [card_attachment(card)]}
    return len(_compact(activity).encode("utf-16-le")) + ACTIVITY_ENVELOPE_BYTES


# --- The plain 1.5 view ----------------------------------------------------------------


def is_teams_only(node: Any) -> bool:
    """Elements Teams draws that the 1.5 schema does not have."""
    kind = node.get("type") if isinstance(node, dict) else None
    return isinstance(kind, str) and (kind.startswith("Chart.") or kind == "CodeBlock")


def plain_view(card: dict[str, Any]) -> dict[str, Any]:
    """`card` as a plain Adaptive Cards 1.5 client sees it: no `msteams` anywhere, every
    Teams-only element replaced by its fallback element or dropped. `card` is not changed."""
    return _plain(copy.deepcopy(card))


def _plain(node: Any) -> Any:
    if isinstance(node, list):
        kept = [_plain(item) for item in node]
        return [item for item in kept if item is not _DROP]
    if not isinstance(node, dict):
        return node
    if is_teams_only(node):
        fallback = node.get("fallback")
        # A fallback may itself be Teams-only; the client then tries its fallback.
        return _plain(fallback) if isinstance(fallback, dict) else _DROP
    plain = {}
    for key, value in node.items():
        if key == "msteams":
            continue
        value = _plain(value)
        if value is not _DROP:
            plain[key] = value
    return plain


# --- Walking a card --------------------------------------------------------------------


def _nodes(node: Any, path: str = "") -> Iterator[tuple[str, dict[str, Any]]]:
    """Every object in the card with its path (body[2].items[0]). Action `data` is the
    author's payload, not card structure, so it is not entered."""
    if isinstance(node, dict):
        yield path, node
        for key, value in node.items():
            if key == "data" and str(node.get("type", "")).startswith("Action."):
                continue
            yield from _nodes(value, f"{path}.{key}" if path else key)
    elif isinstance(node, list):
        for index, item in enumerate(node):
            yield from _nodes(item, f"{path}[{index}]")


def _version(value: Any) -> tuple[int, ...] | None:
    try:
        return tuple(int(part) for part in str(value).split("."))
    except ValueError:
        return None


@cache
def _schema() -> dict[str, Any]:
    text = resources.files("adaptive_cards") / "schemas" / f"schema-{SCHEMA_VERSION}.json"
    return json.loads(text.read_text(encoding="utf-8"))


_ANY_OF = Draft6Validator.VALIDATORS["anyOf"]


def _any_of_by_type(
    validator: Any, any_of: list[Any], instance: Any, schema: dict[str, Any]
) -> Iterator[ValidationError]:
    """anyOf, trying the element's own definition first.

    The schema lists every element (and action) as an anyOf branch
    {"required": ["type"], "allOf": [{"$ref": "#/definitions/<type>"}]}; plain anyOf
    works through all earlier branches in full before reaching the right one, ten times
    the work on a table-heavy card. When the branch named by the instance's "type" passes,
    so does the anyOf; otherwise the standard anyOf runs and reports as before."""
    kind = instance.get("type") if isinstance(instance, dict) else None
    if isinstance(kind, str):
        for branch in any_of:
            refs = branch.get("allOf") if isinstance(branch, dict) else None
            if refs and str(refs[0].get("$ref", "")).rpartition("/")[2] == kind:
                if next(validator.descend(instance, branch), None) is None:
                    return
                break
    yield from _ANY_OF(validator, any_of, instance, schema)


_TypedValidator = extend(Draft6Validator, {"anyOf": _any_of_by_type})


@cache
def _validator() -> Any:
    return _TypedValidator(_schema())


@cache
def known_types() -> frozenset[str]:
    """Every `type` value the 1.5 schema defines (elements, actions, rows, cells, runs)."""
    found: set[str] = set()

    def collect(node: Any) -> None:
        if isinstance(node, dict):
            kind = node.get("properties", {}).get("type", {})
            if isinstance(kind, dict):
                found.update(v for v in kind.get("enum", []) if isinstance(v, str))
            for value in node.values():
                collect(value)
        elif isinstance(node, list):
            for value in node:
                collect(value)

    collect(_schema())
    return frozenset(found)


def _where(path: str) -> str:
    return path or "the card"


# --- The checks ------------------------------------------------------------------------


def validate_card(card: dict[str, Any]) -> list[str]:
    """The problems that would keep `card` from rendering in Teams as intended."""
    if not isinstance(card, dict) or card.get("type") != "AdaptiveCard":
        return ['not an Adaptive Card: the top level needs "type": "AdaptiveCard"']
    problems = _size_problems(card)
    problems += _version_problems(card)
    problems += _execute_problems(card)
    plain = plain_view(card)
    if not plain.get("body"):
        problems.append("the card body is empty")
    unknown = _unknown_types(plain)
    problems += [f"{_where(path)}: unknown element type {kind!r}" for path, kind in unknown]
    problems += _schema_problems(plain, skip=[path for path, _ in unknown])
    problems += _id_problems(plain)
    version = _version(card.get("version"))
    if not unknown and version is not None and version < _SCHEMA_VERSION_NUMBERS:
        # At 1.5 the schema has already refused anything newer; below it, a 1.5 property
        # (a Table, an action's "mode") is valid JSON that older clients do not know.
        problems += _field_version_problems(plain)
    return problems


def _size_problems(card: dict[str, Any]) -> list[str]:
    problems = []
    size = card_size(card)
    if size > CARD_LIMIT_BYTES:
        problems.append(
            f"the card is {size / 1024:.1f} KB as JSON; Teams takes at most "
            f"{CARD_LIMIT_BYTES / 1024:.0f} KB per card"
        )
    total = message_size(card)
    if total > MESSAGE_LIMIT_BYTES:
        problems.append(
            f"the message would be about {total / 1024:.1f} KB in UTF-16; stay under "
            f"{MESSAGE_LIMIT_BYTES / 1024:.0f} KB (Teams rejects about 100 KB)"
        )
    return problems


def _version_problems(card: dict[str, Any]) -> list[str]:
    version = _version(card.get("version"))
    if version is None:
        return [f'the card version {card.get("version")!r} is not a version like "1.5"']
    if version > _SCHEMA_VERSION_NUMBERS:
        return [f"the card declares version {card['version']}; Teams renders up to 1.5"]
    return []


def _execute_problems(card: dict[str, Any]) -> list[str]:
    problems = []
    executes = [(p, n) for p, n in _nodes(card) if n.get("type") == "Action.Execute"]
    version = _version(card.get("version"))
    if executes and (version is None or version < _SCHEMA_VERSION_NUMBERS):
        problems.append(
            f"Action.Execute needs card version 1.5; this card says {card.get('version')!r}"
        )
    for path, action in executes:
        name = f"Action.Execute {action.get('title', '')!r} at {path}"
        fallback = action.get("fallback")
        if not isinstance(fallback, dict):
            problems.append(
                f"{name} has no fallback action; Teams clients without Universal Actions "
                "would drop the button (add an Action.Submit fallback)"
            )
        elif fallback.get("type") != "Action.Submit":
            problems.append(
                f"{name} falls back to {fallback.get('type')!r}; Teams expects Action.Submit"
            )
    return problems


def _unknown_types(plain: dict[str, Any]) -> list[tuple[str, str]]:
    known = known_types()
    return [
        (path, node["type"])
        for path, node in _nodes(plain)
        # Sign-in buttons under "authentication" carry Bot Framework types ("signin").
        if isinstance(node.get("type"), str)
        and node["type"] not in known
        and not path.startswith("authentication")
    ]


def _error_path(error: ValidationError) -> str:
    path = ""
    for part in error.absolute_path:
        path += f"[{part}]" if isinstance(part, int) else (f".{part}" if path else str(part))
    return path


def _is_type_mismatch(error: ValidationError) -> bool:
    return error.validator == "enum" and list(error.relative_path) == ["type"]


def _causes(error: ValidationError) -> list[ValidationError]:
    """The specific reasons behind an "is not valid under any of the given schemas".

    An element is checked against every element definition (anyOf); only the branch for
    its own "type" says what is wrong with it, so that branch is followed down, to every
    error in it. Where no single branch is meant (a value that may be an enum or null),
    one complaint is kept, one about the value rather than "is not of type 'null'"."""
    if not error.context:
        return [error]
    branches: dict[Any, list[ValidationError]] = {}
    for sub in error.context:
        branches.setdefault(sub.relative_schema_path[0], []).append(sub)
    meant = [errs for errs in branches.values() if not any(map(_is_type_mismatch, errs))]
    if len(meant) == 1:
        return [cause for sub in meant[0] for cause in _causes(sub)]
    closest = min(error.context, key=lambda e: (e.validator == "type", -len(e.path)))
    return _causes(closest)


def _schema_problems(plain: dict[str, Any], *, skip: list[str]) -> list[str]:
    """Schema errors as "path: what is wrong". Errors inside an element of unknown type are
    left out: that element is reported already."""
    problems = set()
    for error in _validator().iter_errors(plain):
        for cause in _causes(error):
            path = _error_path(cause)
            if any(path == s or path.startswith((s + ".", s + "[")) for s in skip):
                continue
            problems.add(f"{_where(path)}: {cause.message} (Adaptive Card {SCHEMA_VERSION} schema)")
    return sorted(problems)


def _id_problems(plain: dict[str, Any]) -> list[str]:
    problems = []
    ids: dict[str, str] = {}
    targets: list[tuple[str, str]] = []
    for path, node in _nodes(plain):
        element_id = node.get("id")
        if isinstance(element_id, str) and not str(node.get("type", "")).startswith("Action."):
            if element_id in ids:
                problems.append(f"{path}: id {element_id!r} is also used at {ids[element_id]}")
            ids.setdefault(element_id, path)
        if node.get("type") == "Action.ToggleVisibility":
            for target in node.get("targetElements", []):
                target_id = target.get("elementId") if isinstance(target, dict) else target
                targets.append((path, str(target_id)))
    problems += [
        f"{path}: toggles element {target!r}, which is not in the card"
        for path, target in targets
        if target not in ids
    ]
    return problems


def _field_version_problems(plain: dict[str, Any]) -> list[str]:
    """adaptive-cards-py's per-property version check (e.g. a Table in a 1.2 card). Its
    models accept less than the schema does (a toggle target written as a bare string);
    a card they cannot load is skipped here, having passed the schema already."""
    try:
        model = AdaptiveCard.model_validate(plain)
    except ModelError:
        return []
    validator = CardValidator(MicrosoftTeams())
    with warnings.catch_warnings():
        # adaptive-cards-py 0.4.3 reads `model_fields` from instances, which pydantic 2.11
        # deprecates: one warning per property checked, nothing the card can change.
        warnings.simplefilter("ignore", PydanticDeprecatedSince211)
        validator.validate(model, debug=False)
    problems = []
    for finding in validator.details():
        if finding.failure != ValidationFailure.INVALID_FIELD_VERSION:
            continue
        # message_additional reads "Field version exceeds card version: Table | type | 1.5"
        detail = finding.message_additional.rpartition(": ")[2]
        parts = [part.strip() for part in detail.split("|")]
        if len(parts) == 3:
            problems.append(f"{parts[0]}.{parts[1]} needs card version {parts[2]} or later")
        else:
            problems.append(f"{finding.message}: {finding.message_additional}")
    return sorted(set(problems))
