"""How a number is shown: one formatter per unit, in Korean and English.

The catalog gives every metric a unit; cards, charts, the CLI and alerts format through
here so "전환율 1.27%" reads the same everywhere.
"""

from __future__ import annotations

import math
from typing import Literal

Unit = Literal["count", "usd", "ratio", "seconds", "decimal"]
Lang = Literal["ko", "en"]
UNITS: tuple[Unit, ...] = ("count", "usd", "ratio", "seconds", "decimal")
MISSING = "—"


def format_value(value: float | None, unit: Unit, lang: Lang = "en") -> str:
    """`value` as a person reads it: 12,345 / $1,234.56 / 1.27% / 2m 5s (2분 5초) / 3.78."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return MISSING
    if unit == "count":
        return f"{value:,.0f}"
    if unit == "usd":
        return f"-${-value:,.2f}" if value < 0 else f"${value:,.2f}"
    if unit == "ratio":
        return f"{value * 100:.2f}%"
    if unit == "seconds":
        minutes, seconds = divmod(round(value), 60)
        if lang == "ko":
            return f"{minutes}분 {seconds}초" if minutes else f"{seconds}초"
        return f"{minutes}m {seconds}s" if minutes else f"{seconds}s"
    if unit == "decimal":
        return f"{value:,.2f}"
    raise ValueError(f"unknown unit {unit!r}")


def format_change(current: float | None, previous: float | None, unit: Unit) -> str:
    """The change from `previous` to `current`: ratios in percentage points, the rest in %."""
    if current is None or previous is None:
        return MISSING
    if unit == "ratio":
        return f"{(current - previous) * 100:+.2f}%p"
    if previous == 0:
        return MISSING
    return f"{(current - previous) / abs(previous) * 100:+.1f}%"


def format_about(value: float, lang: Lang = "en") -> str:
    """An expected count as people say it: 18, 2.4, 0.35, or "under 0.01" (an alert's
    "about N expected", where N may be far below one)."""
    if value >= 10:
        return f"{value:,.0f}"
    if value >= 1:
        return f"{value:.1f}"
    if value >= 0.01:
        return f"{value:.2f}"
    return "0.01 미만" if lang == "ko" else "under 0.01"
