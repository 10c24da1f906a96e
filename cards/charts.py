"""Chart data and Teams' own chart elements (Chart.Line, Chart.VerticalBar, Chart.Donut).

A `Series` is what every chart draws, whether as a native Adaptive Card element here or as
a PNG (`cards.chart_png`, matplotlib); the card builder shows the element where Teams can
draw it and the PNG as the element's Image fallback. Pure: JSON-ready dicts out.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from kpi.metrics.units import UNITS

# Beyond this many bars, values printed on each bar crowd each other (element and PNG alike).
VALUE_LABELS_MAX_BARS = 12

# Teams chart colours (the Adaptive Card chart colour names).
_CARD_COLOR = "categoricalBlue"
_CARD_COMPARISON_COLOR = "neutral"


@dataclass(frozen=True)
class Series:
    """One series: `x` are dates (time series) or category labels (bars), `y` the values.

    A `None` in `y` is a missing value: a gap in a line, a "—" bar.
    """

    label: str
    x: Sequence[dt.date | str]
    y: Sequence[float | None]

    def __post_init__(self) -> None:
        if len(self.x) != len(self.y):
            raise ValueError(f"series {self.label!r}: {len(self.x)} x values, {len(self.y)} y")


# --- Adaptive Card chart elements ---------------------------------------------------------------
#
# Shapes as Teams documents them ("Charts in Adaptive Cards", Microsoft Learn):
#   Chart.Line:        {"type", "title", "data": [{"legend", "color"?, "values": [{"x", "y"}]}]}
#   Chart.VerticalBar: {"type", "title", "data": [{"x", "y"}], "showBarValues"?, "color"?}
#   Chart.Donut:       {"type", "title", "data": [{"legend", "value"}], "colorSet"?}
# plus "xAxisTitle"/"yAxisTitle" on the line and bar charts.
# Numbers: plain JSON numbers. Teams cannot format units, so ratios go out as percentages
# (0.0127 -> 1.27) and the unit goes into "yAxisTitle" ("%", "USD ($)", "초"); money and
# decimals are rounded to cents, counts and seconds to whole numbers.
# x values: on the line, dates as ISO strings ("2026-11-16", as in Microsoft's line example);
# bars and donut slices are categories, so dates there read "11/16" as in the PNG.
# Teams has no null point: missing values are left out, so the native line bridges the gap that
# the PNG shows.
# No element carries a "fallback": the card builder adds {"type": "Image", "url": <PNG URL>}.


def line_chart_element(
    series: Series,
    *,
    title: str,
    unit: str,
    lang: str = "ko",
    comparison: Series | None = None,
) -> dict[str, Any]:
    """A Teams "Chart.Line" element: `series`, then the comparison aligned as in the PNG.

    JSON-ready and without "fallback" (the card builder adds the PNG as an Image fallback).
    """
    check_unit(unit)
    data = [_line_data(series.label, series.x, series.y, unit, _CARD_COLOR)]
    if comparison is not None:
        aligned = aligned_comparison(series, comparison)
        data.append(_line_data(comparison.label, series.x, aligned, unit, _CARD_COMPARISON_COLOR))
    return _element("Chart.Line", title, unit, lang, data)


def bar_chart_element(series: Series, *, title: str, unit: str, lang: str = "ko") -> dict[str, Any]:
    """A Teams "Chart.VerticalBar" element, one {"x", "y"} per category (missing ones left out).

    JSON-ready and without "fallback" (the card builder adds the PNG as an Image fallback).
    """
    check_unit(unit)
    data = [
        {"x": x_label(x), "y": number}
        for x, y in zip(series.x, series.y, strict=True)
        if (number := _card_number(y, unit)) is not None
    ]
    element = _element("Chart.VerticalBar", title, unit, lang, data)
    element["color"] = _CARD_COLOR
    element["showBarValues"] = len(data) <= VALUE_LABELS_MAX_BARS
    return element


def donut_chart_element(
    series: Series, *, title: str, unit: str, lang: str = "ko"
) -> dict[str, Any]:
    """A Teams "Chart.Donut" element, one {"legend", "value"} per category.

    Missing and negative values are left out: a slice cannot be negative. JSON-ready and
    without "fallback" (the card builder adds the PNG as an Image fallback).
    """
    check_unit(unit)
    data = [
        {"legend": x_label(x), "value": number}
        for x, y in zip(series.x, series.y, strict=True)
        if (number := _card_number(y, unit)) is not None and number >= 0
    ]
    return {"type": "Chart.Donut", "title": title, "colorSet": "categorical", "data": data}


def _element(
    kind: str, title: str, unit: str, lang: str, data: list[dict[str, Any]]
) -> dict[str, Any]:
    element: dict[str, Any] = {"type": kind, "title": title}
    axis_title = _card_axis_title(unit, lang)
    if axis_title:
        element["yAxisTitle"] = axis_title
    element["data"] = data
    return element


def _line_data(
    legend: str,
    xs: Sequence[dt.date | str],
    ys: Sequence[float | None],
    unit: str,
    color: str,
) -> dict[str, Any]:
    values = [
        {"x": _card_date(x), "y": number}
        for x, y in zip(xs, ys, strict=True)
        if (number := _card_number(y, unit)) is not None
    ]
    return {"legend": legend, "color": color, "values": values}


def _card_number(value: float | None, unit: str) -> float | int | None:
    """A value as Teams shows it, or None for a missing or non-finite value."""
    if value is None or not math.isfinite(value):
        return None
    if unit == "ratio":
        return round(value * 100, 2)
    if unit in ("count", "seconds"):
        return round(value)
    return round(value, 2)


def _card_axis_title(unit: str, lang: str) -> str | None:
    titles = {
        "usd": "USD ($)",
        "ratio": "%",
        "seconds": "초" if lang == "ko" else "seconds",
    }
    return titles.get(unit)


def _card_date(x: dt.date | str) -> str:
    return as_date(x).isoformat() if is_date(x) else str(x)


def check_unit(unit: str) -> None:
    if unit not in UNITS:
        raise ValueError(f"unknown unit {unit!r}; expected one of {', '.join(UNITS)}")


def is_date(x: object) -> bool:
    return isinstance(x, dt.date)


def as_date(x: dt.date) -> dt.date:
    return x.date() if isinstance(x, dt.datetime) else x


def x_label(x: dt.date | str) -> str:
    return _month_day(as_date(x)) if is_date(x) else str(x)


def _month_day(day: dt.date) -> str:
    return f"{day.month}/{day.day}"


def aligned_comparison(series: Series, comparison: Series) -> list[float | None]:
    """The comparison's values over `series`' x values: by shared x, else by position."""
    if set(series.x) & set(comparison.x):
        by_x = dict(zip(comparison.x, comparison.y, strict=True))
        return [by_x.get(x) for x in series.x]
    padded = [*comparison.y, *([None] * len(series.x))]
    return padded[: len(series.x)]
