"""PNG charts (cards/chart_png.py): within Teams' limits, with Hangul that renders, and
showing what the numbers say."""

from __future__ import annotations

import datetime as dt
import io
import math
import re
import warnings

import numpy as np
import pytest
from matplotlib import font_manager
from matplotlib.figure import Figure
from matplotlib.font_manager import FontProperties
from matplotlib.ft2font import FT2Font
from PIL import Image

from cards import chart_png as charts
from cards.chart_png import (
    FONT_PATH,
    MAX_PNG_BYTES,
    MAX_PNG_SIDE,
    bar_chart_figure,
    bar_chart_png,
    line_chart_figure,
    line_chart_png,
    sparkline_png,
)
from cards.charts import Series
from tests.test_charts import DEVICES, END, KOREAN_TITLE, days, last_week, noisy, this_week

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
COMPARISON_GREY = (0x9C, 0xA3, 0xAF)


def devices() -> Series:
    return Series("매출", DEVICES, [182_345.5, 120_044.25, 15_022.0])


def image(png: bytes) -> Image.Image:
    assert png.startswith(PNG_SIGNATURE)
    return Image.open(io.BytesIO(png))


def drawn(fig: Figure) -> Figure:
    fig.canvas.draw()
    return fig


def tick_texts(labels: list) -> list[str]:
    return [label.get_text() for label in labels if label.get_text()]


def pixels_near(png: bytes, rgb: tuple[int, int, int], tolerance: int = 12) -> int:
    pixels = np.asarray(image(png).convert("RGB"), dtype=int)
    return int((np.abs(pixels - np.array(rgb)).max(axis=2) <= tolerance).sum())


# --- PNG format and limits -----------------------------------------------------------------------


def test_line_chart_is_a_white_png_sized_for_a_teams_card() -> None:
    png = line_chart_png(this_week(), unit="usd", title=KOREAN_TITLE)
    picture = image(png)
    assert picture.format == "PNG"
    assert picture.size == (900, 510)  # 600x340 at 1.5x for HiDPI screens
    assert picture.convert("RGB").getpixel((2, picture.size[1] - 2)) == (255, 255, 255)
    assert len(png) <= MAX_PNG_BYTES


def test_bar_chart_is_a_png_within_the_limits() -> None:
    png = bar_chart_png(devices(), unit="usd", title="기기별 매출")
    width, height = image(png).size
    assert (width, height) == (900, 510)
    assert len(png) <= MAX_PNG_BYTES


def test_a_year_of_jagged_days_with_a_comparison_stays_within_the_limits() -> None:
    year = days(365)
    current = Series("올해", year, noisy(365, 0.013, seed=3))
    previous = Series("작년", days(365, END - dt.timedelta(days=365)), noisy(365, 0.012, seed=4))
    png = line_chart_png(current, unit="ratio", title="전환율", comparison=previous)
    assert max(image(png).size) <= MAX_PNG_SIDE
    assert len(png) <= MAX_PNG_BYTES


def test_fifty_bars_stay_within_the_limits_and_grow_taller() -> None:
    labels = [f"상품 카테고리 {i}번 (아주 긴 이름)" for i in range(50)]
    png = bar_chart_png(
        Series("주문", labels, noisy(50, 2_000, seed=5)), unit="count", title="주문"
    )
    width, height = image(png).size
    assert max(width, height) <= MAX_PNG_SIDE
    assert height > 510
    assert len(png) <= MAX_PNG_BYTES


def test_a_png_over_the_byte_limit_is_rendered_again_at_a_lower_dpi(monkeypatch) -> None:
    full = line_chart_png(this_week(), unit="usd", title=KOREAN_TITLE)
    monkeypatch.setattr(charts, "MAX_PNG_BYTES", len(full) - 1)
    smaller = line_chart_png(this_week(), unit="usd", title=KOREAN_TITLE)
    assert len(smaller) < len(full)
    assert image(smaller).size[0] < image(full).size[0]


def test_a_png_that_cannot_fit_raises_instead_of_sending_an_oversized_image(monkeypatch) -> None:
    monkeypatch.setattr(charts, "MAX_PNG_BYTES", 100)
    with pytest.raises(RuntimeError, match="bytes"):
        line_chart_png(this_week(), unit="usd", title=KOREAN_TITLE)


def test_sparkline_is_tiny_and_exactly_the_requested_size() -> None:
    png = sparkline_png([3, 4, 5, 4, 6, 7, 8])
    assert image(png).size == (240, 60)
    assert len(png) < 5_000
    assert image(sparkline_png([1, 2, 3], width_px=120, height_px=30)).size == (120, 30)


def test_sparkline_refuses_sides_beyond_the_png_limit() -> None:
    with pytest.raises(ValueError, match="sparkline"):
        sparkline_png([1, 2], width_px=MAX_PNG_SIDE + 1)


# --- Hangul ----------------------------------------------------------------------------------


def render_korean_charts() -> list[Figure]:
    line = line_chart_figure(
        this_week(), unit="seconds", title=KOREAN_TITLE, comparison=last_week()
    )
    bars = bar_chart_figure(devices(), unit="usd", title="기기별 매출")
    long_bars = bar_chart_figure(
        Series("매출", [f"{name} 캠페인 그룹" for name in DEVICES * 5], list(range(15))),
        unit="count",
        title="캠페인별 주문",
    )
    empty = line_chart_figure(Series("매출", [], []), unit="usd", title=KOREAN_TITLE)
    for fig in (line, bars, long_bars, empty):
        drawn(fig)
    return [line, bars, long_bars, empty]


def missing_glyph_warnings(caught: list[warnings.WarningMessage]) -> list[str]:
    return [str(w.message) for w in caught if "missing from font" in str(w.message)]


def test_korean_title_and_labels_render_without_missing_glyph_warnings() -> None:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        render_korean_charts()
        sparkline_png([1, None, 3])
    assert missing_glyph_warnings(caught) == []


def test_the_missing_glyph_check_does_catch_a_font_without_hangul() -> None:
    """The check above proves something: with a Latin-only font the same text warns."""
    fig = Figure(figsize=(3, 1))
    fig.text(0.1, 0.5, KOREAN_TITLE, fontproperties=FontProperties(family="DejaVu Sans"))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fig.savefig(io.BytesIO(), format="png")
    assert missing_glyph_warnings(caught)


def test_every_text_is_drawn_with_the_bundled_font_which_has_every_hangul_glyph() -> None:
    font = FT2Font(str(FONT_PATH))
    texts = [
        text
        for fig in render_korean_charts()
        for text in fig.findobj(lambda artist: hasattr(artist, "get_fontproperties"))
        if text.get_text()
    ]
    hangul = {c for text in texts for c in text.get_text() if "가" <= c <= "힣"}
    assert set("최근일매출추이모바일데스크톱태블릿이번주지난데이터없음") <= hangul
    assert [c for c in sorted(hangul) if font.get_char_index(ord(c)) == 0] == []
    used_fonts = {font_manager.findfont(text.get_fontproperties()) for text in texts}
    assert {path.split("/")[-1] for path in used_fonts} <= {
        "NanumGothic.ttf",
        "NanumGothicBold.ttf",
    }


def test_axis_minus_is_a_hyphen_because_the_korean_font_has_no_unicode_minus() -> None:
    assert FT2Font(str(FONT_PATH)).get_char_index(ord("\N{MINUS SIGN}")) == 0
    fig = drawn(bar_chart_figure(Series("변화", ["A", "B"], [-5, 5]), unit="count", title="변화"))
    labels = tick_texts(fig.axes[0].get_yticklabels())
    assert any(label.startswith("-") for label in labels)
    assert not any("\N{MINUS SIGN}" in label for label in labels)


# --- What the charts show --------------------------------------------------------------------


def test_value_axis_labels_are_formatted_by_unit() -> None:
    usd = drawn(line_chart_figure(this_week(), unit="usd", title="매출"))
    assert all(re.fullmatch(r"\$[\d,]+", t) for t in tick_texts(usd.axes[0].get_yticklabels()))
    ratio = Series("전환율", days(14), [0.0127 + i / 10_000 for i in range(14)])
    rates = drawn(line_chart_figure(ratio, unit="ratio", title="전환율", lang="en"))
    labels = tick_texts(rates.axes[0].get_yticklabels())
    assert all(re.fullmatch(r"\d+\.\d\d%", t) for t in labels)


def test_dates_on_the_x_axis_read_month_slash_day() -> None:
    fig = drawn(line_chart_figure(this_week(), unit="usd", title=KOREAN_TITLE))
    labels = tick_texts(fig.axes[0].get_xticklabels())
    assert labels
    assert all(re.fullmatch(r"1[12]/\d{1,2}", t) for t in labels)


def test_comparison_is_a_dashed_grey_line_with_its_own_legend_entry() -> None:
    fig = line_chart_figure(this_week(), unit="usd", title=KOREAN_TITLE, comparison=last_week())
    ax = fig.axes[0]
    assert tick_texts(ax.get_legend().get_texts()) == ["이번 주", "지난 주"]
    current, comparison = ax.get_lines()
    assert current.get_linestyle() == "-"
    assert comparison.get_linestyle() == "--"
    assert comparison.get_color().upper() == "#9CA3AF"
    # Last week is drawn over this week's dates, point by point.
    assert list(comparison.get_xdata()) == list(current.get_xdata())


def test_comparison_line_shows_in_the_png() -> None:
    alone = line_chart_png(this_week(), unit="usd", title=KOREAN_TITLE)
    compared = line_chart_png(this_week(), unit="usd", title=KOREAN_TITLE, comparison=last_week())
    assert pixels_near(compared, COMPARISON_GREY) > pixels_near(alone, COMPARISON_GREY) + 500


def test_comparison_sharing_dates_is_aligned_by_date() -> None:
    current = Series("실적", days(3), [1.0, 2.0, 3.0])
    target = Series("목표", days(2), [10.0, 20.0])  # the last two of the same days
    fig = line_chart_figure(current, unit="count", title="목표 대비", comparison=target)
    assert np.allclose(fig.axes[0].get_lines()[1].get_ydata(), [math.nan, 10, 20], equal_nan=True)


def test_missing_values_leave_gaps_in_the_line() -> None:
    values: list[float | None] = list(this_week().y)
    values[5] = None
    fig = line_chart_figure(Series("매출", days(14), values), unit="usd", title=KOREAN_TITLE)
    ys = fig.axes[0].get_lines()[0].get_ydata()
    assert math.isnan(ys[5])
    assert np.isfinite(np.delete(ys, 5)).all()


def test_missing_bar_is_shown_as_a_dash_at_zero() -> None:
    series = Series("세션 시간", ["서울", "부산", "인천"], [125.0, None, 610.0])
    fig = bar_chart_figure(series, unit="seconds", title="평균 세션 시간")
    ax = fig.axes[0]
    assert [bar.get_height() for bar in ax.patches] == [125.0, 0.0, 610.0]
    assert [t.get_text() for t in ax.texts] == ["2분 5초", "—", "10분 10초"]


def is_horizontal(fig: Figure) -> bool:
    """Bars of value 1: a horizontal bar is 1 wide and 0.7 high, a vertical one the reverse."""
    bar = fig.axes[0].patches[0]
    return bar.get_width() > bar.get_height()


@pytest.mark.parametrize(
    ("labels", "horizontal"),
    [
        (DEVICES, False),
        ([f"채널 {i}" for i in range(12)], True),  # many bars
        (["네이버 쇼핑 검색광고 캠페인", "카카오 비즈보드 리타게팅", "구글"], True),  # long labels
    ],
)
def test_bars_turn_horizontal_when_labels_are_many_or_long(
    labels: list[str], horizontal: bool
) -> None:
    fig = bar_chart_figure(Series("값", labels, [1.0] * len(labels)), unit="count", title="t")
    assert is_horizontal(fig) == horizontal


def test_horizontal_can_be_forced_either_way() -> None:
    forced = bar_chart_figure(devices(), unit="usd", title="t", horizontal=True)
    assert is_horizontal(forced)
    assert [t.get_text() for t in forced.axes[0].texts][:3] == DEVICES
    many = Series("값", [f"채널 {i}" for i in range(12)], [1.0] * 12)
    assert not is_horizontal(bar_chart_figure(many, unit="count", title="t", horizontal=False))


@pytest.mark.parametrize(
    "render",
    [
        lambda s: line_chart_png(s, unit="usd", title=KOREAN_TITLE),
        lambda s: bar_chart_png(s, unit="usd", title=KOREAN_TITLE),
    ],
)
@pytest.mark.parametrize("series", [Series("매출", [], []), Series("매출", DEVICES, [None] * 3)])
def test_no_data_gives_a_small_png_instead_of_an_error(render, series: Series) -> None:
    png = render(series)
    width, height = image(png).size
    assert width <= 900
    assert height < 300
    assert len(png) < 10_000


@pytest.mark.parametrize(("lang", "message"), [("ko", "데이터 없음"), ("en", "No data")])
def test_no_data_says_so_in_the_chart_language(lang: str, message: str) -> None:
    fig = line_chart_figure(Series("x", [], []), unit="count", title="제목", lang=lang)
    assert message in [text.get_text() for text in fig.texts]


def test_sparkline_of_nothing_is_still_an_image() -> None:
    assert image(sparkline_png([])).size == (240, 60)
    assert image(sparkline_png([None, None])).size == (240, 60)


def test_an_unknown_unit_is_refused_before_anything_is_drawn() -> None:
    with pytest.raises(ValueError, match="unit"):
        line_chart_png(this_week(), unit="won", title="t")
