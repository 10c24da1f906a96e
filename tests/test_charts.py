"""Chart elements (cards/charts.py): the Adaptive Card Chart.Line, Chart.VerticalBar and
Chart.Donut Teams draws natively, built from a Series, with no NaN or infinity."""

from __future__ import annotations

import datetime as dt
import json
import math
import random
import re

import pytest

from cards.charts import Series, bar_chart_element, donut_chart_element, line_chart_element

END = dt.date(2026, 11, 23)
KOREAN_TITLE = "최근 14일 매출 추이"
DEVICES = ["모바일", "데스크톱", "태블릿"]


def days(count: int, end: dt.date = END) -> list[dt.date]:
    return [end - dt.timedelta(days=count - 1 - i) for i in range(count)]


def noisy(count: int, base: float, seed: int) -> list[float]:
    """Jagged values: the worst case for PNG compression."""
    rng = random.Random(seed)
    return [base * (0.8 + 0.4 * rng.random()) for _ in range(count)]


def this_week() -> Series:
    return Series("이번 주", days(14), noisy(14, 12_000, seed=1))


def last_week() -> Series:
    return Series("지난 주", days(14, END - dt.timedelta(days=14)), noisy(14, 11_000, seed=2))


def test_a_series_needs_a_value_for_every_x() -> None:
    with pytest.raises(ValueError, match="x values"):
        Series("매출", days(3), [1.0, 2.0])


def assert_json_ready(element: dict) -> None:
    json.dumps(element, allow_nan=False, ensure_ascii=False)
    assert "fallback" not in element  # the card builder adds the PNG as an Image fallback


def assert_number(value: object) -> None:
    assert isinstance(value, int | float)
    assert not isinstance(value, bool)
    assert math.isfinite(value)


def test_line_element_has_teams_chart_line_shape() -> None:
    values: list[float | None] = list(this_week().y)
    values[3] = None
    element = line_chart_element(
        Series("이번 주", days(14), values), title=KOREAN_TITLE, unit="usd", comparison=last_week()
    )
    assert_json_ready(element)
    assert element["type"] == "Chart.Line"
    assert element["title"] == KOREAN_TITLE
    current, previous = element["data"]
    assert (current["legend"], previous["legend"]) == ("이번 주", "지난 주")
    assert len(current["values"]) == 13  # the missing day is left out
    assert len(previous["values"]) == 14
    for point in current["values"] + previous["values"]:
        assert set(point) == {"x", "y"}
        assert re.fullmatch(r"\d{4}-\d\d-\d\d", point["x"])
        assert_number(point["y"])
    # Last week's points sit on this week's dates, so Teams overlays them.
    assert [p["x"] for p in previous["values"]] == [d.isoformat() for d in days(14)]


def test_line_element_without_comparison_has_one_series() -> None:
    element = line_chart_element(this_week(), title="매출", unit="usd")
    assert [series["legend"] for series in element["data"]] == ["이번 주"]


def test_ratios_go_to_cards_as_percentages_with_the_unit_on_the_axis() -> None:
    element = line_chart_element(
        Series("전환율", days(2), [0.0127, 0.0131]), title="전환율", unit="ratio"
    )
    assert [p["y"] for p in element["data"][0]["values"]] == [1.27, 1.31]
    assert element["yAxisTitle"] == "%"


def test_bar_element_has_teams_vertical_bar_shape() -> None:
    series = Series("매출", [*DEVICES, "기타"], [182_345.456, 120_044.25, 15_022.0, None])
    element = bar_chart_element(series, title="기기별 매출", unit="usd")
    assert_json_ready(element)
    assert element["type"] == "Chart.VerticalBar"
    assert element["title"] == "기기별 매출"
    assert element["data"] == [
        {"x": "모바일", "y": 182_345.46},
        {"x": "데스크톱", "y": 120_044.25},
        {"x": "태블릿", "y": 15_022.0},
    ]


def test_bar_element_counts_are_whole_numbers_and_date_labels_short() -> None:
    element = bar_chart_element(
        Series("주문", days(2), [10.4, 11.6]), title="일별 주문", unit="count"
    )
    assert element["data"] == [{"x": "11/22", "y": 10}, {"x": "11/23", "y": 12}]
    for point in element["data"]:
        assert isinstance(point["x"], str)
        assert_number(point["y"])


def test_donut_element_has_teams_donut_shape() -> None:
    series = Series(
        "매출", [*DEVICES, "환불", "미확인"], [182_345.5, 120_044.25, 15_022.0, -50.0, None]
    )
    element = donut_chart_element(series, title="기기별 매출 비중", unit="usd", lang="ko")
    assert_json_ready(element)
    assert element["type"] == "Chart.Donut"
    assert element["title"] == "기기별 매출 비중"
    assert [slice_["legend"] for slice_ in element["data"]] == DEVICES  # no negative, no missing
    for slice_ in element["data"]:
        assert set(slice_) == {"legend", "value"}
        assert isinstance(slice_["legend"], str)
        assert_number(slice_["value"])


def test_elements_carry_no_nan_or_infinity() -> None:
    series = Series("값", ["a", "b", "c"], [math.nan, math.inf, 1.0])
    for element in (
        line_chart_element(series, title="t", unit="decimal"),
        bar_chart_element(series, title="t", unit="decimal"),
        donut_chart_element(series, title="t", unit="decimal"),
    ):
        assert_json_ready(element)
