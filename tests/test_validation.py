"""The card check (cards/validation.py): it catches what Teams would reject (size, unknown
elements, Action.Execute without a Submit fallback, schema errors at their place, toggles
without their target) and sees a card as a plain client does."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from cards import answer_card, help_card, validate_card
from cards.answer import SQL_BLOCK_ID
from cards.validation import known_types

# The cards spec's fixtures (query results from a generated warehouse) and card helpers.
from tests.test_cards import daily as daily
from tests.test_cards import daily_chart, element, follow_ups, of_type
from tests.test_cards import scalar as scalar
from tests.test_cards import warehouse as warehouse


@pytest.fixture
def good(scalar) -> dict[str, Any]:
    card = answer_card(scalar, lang="ko", period_label="p", follow_ups=follow_ups("ko"))
    assert validate_card(card) == []
    return card


def test_validator_catches_an_oversized_card(good):
    good["body"].append({"type": "TextBlock", "text": "매출 " * 6000, "wrap": True})
    [problem, *_] = validate_card(good)
    assert "KB" in problem and "28" in problem


def test_validator_catches_a_message_too_large_in_utf16():
    card = help_card(lang="en")
    # ASCII doubles in UTF-16: under 28 KB of UTF-8 here is not the point, the total is.
    card["body"].append({"type": "TextBlock", "text": "x" * 45_000})
    problems = validate_card(card)
    assert any("UTF-16" in p and "80 KB" in p for p in problems)


def test_validator_catches_an_unknown_element_type(good):
    good["body"].insert(1, {"type": "Carousel", "pages": []})
    assert validate_card(good) == ["body[1]: unknown element type 'Carousel'"]


def test_validator_catches_an_action_execute_without_fallback(good):
    del good["actions"][0]["fallback"]
    [problem] = validate_card(good)
    assert "Action.Execute" in problem and "fallback" in problem and "actions[0]" in problem


def test_validator_wants_a_submit_fallback_and_version_one_five(good):
    good["actions"][0]["fallback"] = "drop"
    assert any("no fallback" in p for p in validate_card(good))
    good["actions"][0]["fallback"] = {"type": "Action.OpenUrl", "url": "https://x.example"}
    assert any("Action.Submit" in p for p in validate_card(good))
    old = help_card(lang="en")
    old["version"] = "1.2"
    old["actions"] = good["actions"][1:]
    problems = validate_card(old)
    assert any("version 1.5" in p for p in problems)
    assert any("needs card version 1.5" in p for p in problems)  # adaptive-cards-py's check


def test_validator_reads_schema_errors_at_their_place(good):
    good["body"][0]["colour"] = "good"
    good["body"][1]["size"] = "huge"
    problems = validate_card(good)
    assert any(p.startswith("body[0]:") and "'colour' was unexpected" in p for p in problems)
    assert any(p.startswith("body[1].size:") and "'huge'" in p for p in problems)


def test_validator_sees_what_a_plain_client_sees(good, daily):
    good["body"][0]["msteams"] = {"entities": []}  # Teams-only, removed before the schema
    assert validate_card(good) == []
    card = answer_card(daily, lang="en", period_label="p", chart_element=daily_chart(daily, "en"))
    [line] = of_type(card, "Chart.Line")
    line["fallback"] = {"type": "Image"}  # a fallback the schema rejects: no url
    assert any("'url' is a required property" in p for p in validate_card(card))
    for chart in ("Chart.Pie", "Chart.Gauge", "Chart.HorizontalBar.Stacked"):
        assert chart not in known_types()


def test_validator_catches_a_toggle_without_its_target(good):
    element(good, SQL_BLOCK_ID)["id"] = "elsewhere"
    at = next(i for i, part in enumerate(good["body"]) if part["type"] == "ActionSet")
    assert validate_card(good) == [
        f"body[{at}].actions[0]: toggles element 'sql', which is not in the card"
    ]


def test_validator_refuses_what_is_not_a_card(tmp_path: Path):
    assert validate_card({"type": "Message"}) != []
    assert validate_card({"type": "AdaptiveCard", "version": "1.5", "body": []}) == [
        "the card body is empty"
    ]
