"""Adaptive Card builders (answer, chart, alert, daily summary, welcome, help).

Every builder is a pure function returning the card as a JSON-ready dict (schema 1.5,
built with adaptive-cards-py models; Teams chart elements as plain dicts). Send a card as
`card_attachment(card)` after `validate_card(card)` has found nothing.
"""

from cards.alert import acknowledged, alert_card
from cards.answer import answer_card
from cards.common import (
    clarify_card,
    error_card,
    help_card,
    not_available_card,
    unknown_card,
    welcome_card,
)
from cards.summary import summary_card
from cards.validation import card_attachment, validate_card

__all__ = [
    "acknowledged",
    "alert_card",
    "answer_card",
    "card_attachment",
    "clarify_card",
    "error_card",
    "help_card",
    "not_available_card",
    "summary_card",
    "unknown_card",
    "validate_card",
    "welcome_card",
]
