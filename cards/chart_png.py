"""Charts for Teams cards as PNG images (matplotlib, Agg).

Three PNG charts: a time series with an optional comparison line, bars by dimension and a
sparkline. The same `Series` also become Teams' own chart elements (`cards.charts`); the card
builder shows the element where Teams can draw it and the PNG as the element's Image fallback.

Rendering is pure and thread-safe for the bot server: every chart is its own `Figure` on its
own `FigureCanvasAgg`, pyplot and its global figure registry are never touched.

Korean text: koreanize-matplotlib ships NanumGothic, which has every Hangul syllable. The font
files are registered with matplotlib once, at import, by path. The package itself is not
imported: its import rewrites rcParams, rescans font folders and imports distutils. Importing
this module sets two rcParams for the whole process, and nothing else: `font.family` to
NanumGothic (it also has Latin letters, digits, "$", "%" and "…") and `axes.unicode_minus`
to False, because NanumGothic has no U+2212 minus sign.

Every number drawn on a chart is formatted by `kpi.metrics.units.format_value`.
"""

from __future__ import annotations

import datetime as dt
import importlib.util
import io
import math
import struct
import unicodedata
from collections.abc import Sequence
from pathlib import Path
from typing import Any, cast

import matplotlib as mpl
import numpy as np
from matplotlib import dates as mdates
from matplotlib import font_manager, ticker
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.container import BarContainer
from matplotlib.figure import Figure
from matplotlib.font_manager import FontProperties
from matplotlib.transforms import offset_copy
from PIL import Image

from cards.charts import (
    VALUE_LABELS_MAX_BARS,
    Series,
    aligned_comparison,
    as_date,
    check_unit,
    is_date,
    x_label,
)
from kpi.metrics.units import Lang, Unit, format_value

__all__ = [
    "FONT_PATH",
    "MAX_PNG_BYTES",
    "MAX_PNG_SIDE",
    "Series",
    "bar_chart_figure",
    "bar_chart_png",
    "line_chart_figure",
    "line_chart_png",
    "sparkline_png",
]

MAX_PNG_BYTES = 200_000
MAX_PNG_SIDE = 1024

# --- Font: registered once per process --------------------------------------------------------


def _bundled_font_dir() -> Path:
    """koreanize-matplotlib's font folder, found without importing (and so running) the package."""
    spec = importlib.util.find_spec("koreanize_matplotlib")
    if spec is None or not spec.submodule_search_locations:
        raise ImportError("koreanize-matplotlib is required for Korean chart text")
    return Path(next(iter(spec.submodule_search_locations))) / "fonts"


FONT_PATH = _bundled_font_dir() / "NanumGothic.ttf"
_BOLD_FONT_PATH = _bundled_font_dir() / "NanumGothicBold.ttf"
for _path in (FONT_PATH, _BOLD_FONT_PATH):
    font_manager.fontManager.addfont(str(_path))
FONT_NAME = FontProperties(fname=FONT_PATH).get_name()
mpl.rcParams["font.family"] = [FONT_NAME]
mpl.rcParams["axes.unicode_minus"] = False
# Load the 4.6 MB font now, so the first chart a user asks for is not the slow one.
font_manager.get_font(str(FONT_PATH))

# --- Look ---------------------------------------------------------------------------------------

# Teams shows a card image about 600 px wide; rendering at 1.5x keeps it sharp on HiDPI screens
# while staying well under the size and time budgets. Lower DPIs are the fallbacks when a PNG
# comes out over MAX_PNG_BYTES: same layout (it is in inches and points), fewer pixels.
_CHART_SIZE_IN = (6.0, 3.4)
_NO_DATA_SIZE_IN = (6.0, 1.2)
_DPI_STEPS = (150, 110, 80)
_SPARKLINE_DPI = 100

_COLOR = "#2563EB"
_COMPARISON_COLOR = "#9CA3AF"
_TEXT_COLOR = "#1F2937"
_MUTED_COLOR = "#6B7280"
_GRID_COLOR = "#E5E7EB"

_TITLE_PT = 11.0
_TITLE_WEIGHT = 600  # matplotlib files NanumGothicBold under 600; "bold" (700) logs a miss
_TICK_PT = 8.5
_LEGEND_PT = 8.5
_VALUE_LABEL_PT = 8.0

# Margins in inches, so they hold at every DPI.
_PAD_IN = 0.15
_TITLE_ROW_IN = 0.38
_LEGEND_ROW_IN = 0.24
_XTICK_ROW_IN = 0.32

_MARKERS_MAX_POINTS = 31  # dots on each point read well up to a month of days
_DENSE_POINTS = 90
_VERTICAL_MAX_BARS = 10
# About how many narrow characters fit side by side under vertical bars on a 6-inch chart.
_VERTICAL_LABEL_CELLS = 70
_BAR_LABEL_MAX_CELLS = 24
_BAR_PITCH_IN = 0.26  # height per bar in a horizontal chart, before the 1024 px cap squeezes it

_SECOND_STEPS = (1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 21600, 86400)
_SECOND_TICKS_MAX = 6

_NO_DATA = {"ko": "데이터 없음", "en": "No data"}


# --- PNG entry points ---------------------------------------------------------------------------


def line_chart_png(
    series: Series,
    *,
    unit: str,
    title: str,
    lang: str = "ko",
    comparison: Series | None = None,
) -> bytes:
    """A line chart PNG (900x510 px), the comparison dashed grey; see `line_chart_figure`."""
    return _to_png(
        line_chart_figure(series, unit=unit, title=title, lang=lang, comparison=comparison)
    )


def bar_chart_png(
    series: Series,
    *,
    unit: str,
    title: str,
    lang: str = "ko",
    horizontal: bool | None = None,
) -> bytes:
    """A bar chart PNG, horizontal when labels are long or many; see `bar_chart_figure`."""
    return _to_png(
        bar_chart_figure(series, unit=unit, title=title, lang=lang, horizontal=horizontal)
    )


def sparkline_png(
    values: Sequence[float | None], *, width_px: int = 240, height_px: int = 60
) -> bytes:
    """A bare line of `values`, exactly `width_px` x `height_px`, the last point dotted.

    No axes, labels or text; `None` leaves a gap; no values gives a faint flat line.
    """
    for side in (width_px, height_px):
        if not 8 <= side <= MAX_PNG_SIDE:
            raise ValueError(f"sparkline sides must be 8 to {MAX_PNG_SIDE} px, got {side}")
    fig = _new_figure((width_px / _SPARKLINE_DPI, height_px / _SPARKLINE_DPI))
    ax = fig.add_axes((0, 0, 1, 1))
    ax.set_axis_off()
    ys = _floats(values)
    if np.isnan(ys).all():
        ax.axhline(0, color=_GRID_COLOR, linewidth=1)
        ax.set_ylim(-1, 1)
    else:
        xs = np.arange(len(ys))
        ax.plot(xs, ys, color=_COLOR, linewidth=1.5, solid_capstyle="round")
        last = _last_finite_index(ys)
        ax.plot([xs[last]], [ys[last]], "o", color=_COLOR, markersize=3)
        ax.margins(x=0.03, y=0.18)
    return _to_png(fig, dpis=(_SPARKLINE_DPI,))


# --- Figures (public so tests and notebooks can inspect them) -------------------------------


def line_chart_figure(
    series: Series,
    *,
    unit: str,
    title: str,
    lang: str = "ko",
    comparison: Series | None = None,
) -> Figure:
    """The figure behind `line_chart_png`.

    Dates on the x axis read "11/16"; string x values are shown as categories. The comparison
    (e.g. last week) is drawn over `series`' x values: point by point on the same x where the
    two series share x values, else by position (its first point over `series`' first), which
    is how a previous period overlays the current one. Only `series` decides "no data".
    """
    check_unit(unit)
    if _is_empty(series.y):
        return _no_data_figure(title, lang)
    fig = _new_figure(_CHART_SIZE_IN)
    ax = fig.add_axes((0, 0, 1, 1))  # placed by _place_axes once the labels are known
    _style_axes(ax)
    xs = _x_positions(series.x)
    ys = _floats(series.y)
    short = len(ys) <= _MARKERS_MAX_POINTS
    dense = len(ys) > _DENSE_POINTS  # thick lines over hundreds of points fuse into a band
    ax.plot(
        xs,
        ys,
        color=_COLOR,
        linewidth=1.3 if dense else 2.0,
        marker="o" if short else None,
        markersize=3.2,
        label=_literal(series.label),
        zorder=3,
    )
    if comparison is not None:
        ax.plot(
            xs,
            _floats(aligned_comparison(series, comparison)),
            color=_COMPARISON_COLOR,
            linestyle=(0, (4, 2.5)),
            linewidth=1.1 if dense else 1.6,
            label=_literal(comparison.label),
            zorder=2,
        )
    _setup_x_axis(ax, series.x, xs)
    _setup_value_axis(ax.yaxis, unit, lang)
    legend = comparison is not None
    if legend:
        _draw_legend(ax)
    _draw_title(fig, title)
    _place_axes(fig, ax, legend=legend)
    return fig


def bar_chart_figure(
    series: Series,
    *,
    unit: str,
    title: str,
    lang: str = "ko",
    horizontal: bool | None = None,
) -> Figure:
    """The figure behind `bar_chart_png`: one bar per x value, in the given order.

    `horizontal=None` chooses: horizontal when there are more than 10 bars or the labels would
    not fit side by side under vertical bars. Up to 12 bars carry their value; a missing value
    is a "—" at zero. Horizontal charts grow taller with the bar count, up to 1024 px.
    """
    check_unit(unit)
    if _is_empty(series.y):
        return _no_data_figure(title, lang)
    labels = [x_label(x) for x in series.x]
    if horizontal is None:
        horizontal = _prefers_horizontal(labels)
    height_in = _horizontal_height_in(len(labels)) if horizontal else _CHART_SIZE_IN[1]
    fig = _new_figure((_CHART_SIZE_IN[0], height_in))
    ax = fig.add_axes((0, 0, 1, 1))
    _style_axes(ax, value_axis="x" if horizontal else "y")
    heights = np.nan_to_num(_floats(series.y), nan=0.0)  # a missing bar: "—" at zero
    if horizontal:
        labels = [_shorten(label) for label in labels]
        label_pt = _horizontal_label_pt(height_in, len(labels))
        bars = _draw_horizontal_bars(ax, labels, heights, label_pt)
        _setup_value_axis(ax.xaxis, unit, lang)
    else:
        bars = _draw_vertical_bars(ax, labels, heights)
        _setup_value_axis(ax.yaxis, unit, lang)
    if len(labels) <= VALUE_LABELS_MAX_BARS:
        texts = [format_value(v, unit, _lang(lang)) for v in _optional_floats(series.y)]
        ax.bar_label(bars, labels=texts, padding=3, fontsize=_VALUE_LABEL_PT, color=_TEXT_COLOR)
        ax.margins(**{"x" if horizontal else "y": 0.16})  # room for the longest bar's label
    _draw_title(fig, title)
    if horizontal:
        _place_axes(fig, ax, legend=False, left_labels=labels, left_pt=label_pt)
    else:
        _place_axes(fig, ax, legend=False)
    return fig


def _draw_horizontal_bars(
    ax: Axes, labels: Sequence[str], heights: np.ndarray, label_pt: float
) -> BarContainer:
    positions = np.arange(len(labels))
    bars = ax.barh(positions, heights, height=0.7, color=_COLOR, zorder=3)
    _draw_category_labels(ax, positions, labels, label_pt)
    ax.set_yticks([])
    ax.invert_yaxis()  # first bar at the top, as in a ranked list
    ax.margins(y=0.02)
    if (heights < 0).any():
        ax.axvline(0, color=_MUTED_COLOR, linewidth=0.8, zorder=4)
    return bars


def _draw_vertical_bars(ax: Axes, labels: Sequence[str], heights: np.ndarray) -> BarContainer:
    positions = np.arange(len(labels))
    bars = ax.bar(positions, heights, width=0.65, color=_COLOR, zorder=3)
    ax.set_xticks(positions, [_literal(_shorten(label, 12)) for label in labels])
    ax.tick_params(axis="x", length=0)
    if (heights < 0).any():
        ax.axhline(0, color=_MUTED_COLOR, linewidth=0.8, zorder=4)
    return bars


# --- Building blocks ----------------------------------------------------------------------------


def _new_figure(size_in: tuple[float, float]) -> Figure:
    fig = Figure(figsize=size_in, dpi=_DPI_STEPS[0], facecolor="white")
    FigureCanvasAgg(fig)
    return fig


def _lang(lang: str) -> Lang:
    return "ko" if lang == "ko" else "en"


def _floats(values: Sequence[float | None]) -> np.ndarray:
    """Values as floats with NaN for missing (and infinite) ones: lines break at NaN."""
    floats = np.array([math.nan if v is None else float(v) for v in values], dtype=float)
    return np.where(np.isfinite(floats), floats, math.nan)


def _optional_floats(values: Sequence[float | None]) -> list[float | None]:
    return [None if v is None or not math.isfinite(v) else float(v) for v in values]


def _is_empty(values: Sequence[float | None]) -> bool:
    return all(v is None or not math.isfinite(v) for v in values)


def _last_finite_index(ys: np.ndarray) -> int:
    return int(np.flatnonzero(np.isfinite(ys))[-1])


def _literal(text: str) -> str:
    """`text` drawn as written: matplotlib reads a pair of "$" as math ("$5 to $10")."""
    return text.replace("$", r"\$")


def _display_cells(text: str) -> int:
    """Width in narrow-character cells: Hangul and other wide characters take two."""
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def _shorten(text: str, max_cells: int = _BAR_LABEL_MAX_CELLS) -> str:
    if _display_cells(text) <= max_cells:
        return text
    kept: list[str] = []
    cells = 0
    for char in text:
        cells += _display_cells(char)
        if cells > max_cells - 1:
            break
        kept.append(char)
    return "".join(kept).rstrip() + "…"


def _prefers_horizontal(labels: Sequence[str]) -> bool:
    if len(labels) > _VERTICAL_MAX_BARS:
        return True
    widest = max((_display_cells(label) for label in labels), default=0)
    return widest * len(labels) > _VERTICAL_LABEL_CELLS


def _horizontal_height_in(bar_count: int) -> float:
    wanted = _TITLE_ROW_IN + _XTICK_ROW_IN + _PAD_IN + bar_count * _BAR_PITCH_IN
    return min(max(wanted, _CHART_SIZE_IN[1]), MAX_PNG_SIDE / _DPI_STEPS[0])


def _horizontal_label_pt(height_in: float, bar_count: int) -> float:
    """Category label size: smaller when many bars share the 1024 px height."""
    pitch_pt = (height_in - _TITLE_ROW_IN - _XTICK_ROW_IN) / max(bar_count, 1) * 72
    return max(6.0, min(_TICK_PT, pitch_pt * 0.75))


def _x_positions(xs: Sequence[dt.date | str]) -> np.ndarray:
    """Dates as matplotlib date numbers (calendar gaps stay gaps), anything else by index."""
    if xs and all(is_date(x) for x in xs):
        days = np.array([as_date(x).isoformat() for x in xs], dtype="datetime64[D]")
        return mdates.date2num(days)
    return np.arange(len(xs), dtype=float)


def _setup_x_axis(ax: Axes, xs: Sequence[dt.date | str], positions: np.ndarray) -> None:
    if all(is_date(x) for x in xs):
        locator = mdates.AutoDateLocator(minticks=3, maxticks=7)
        ax.xaxis.set_major_locator(locator)
        ax.xaxis.set_major_formatter(
            ticker.FuncFormatter(lambda v, _pos: x_label(mdates.num2date(v).date()))
        )
    else:
        labels = [_literal(_shorten(str(x), 10)) for x in xs]
        ax.xaxis.set_major_locator(ticker.MaxNLocator(nbins=7, integer=True))
        ax.xaxis.set_major_formatter(
            ticker.FuncFormatter(
                lambda v, _pos: labels[int(v)] if 0 <= int(v) < len(labels) else ""
            )
        )
    # Fixed limits (autoscale would pad to round dates); one point still gets some width.
    pad = (positions[-1] - positions[0]) * 0.02 or 1.0
    ax.set_xlim(positions[0] - pad, positions[-1] + pad)


class _UnitFormatter(ticker.Formatter):
    """Tick labels through format_value, without ".00" when every tick is a whole number."""

    def __init__(self, unit: Unit, lang: Lang) -> None:
        self.unit = unit
        self.lang = lang

    def __call__(self, x: float, pos: int | None = None) -> str:
        return format_value(x, self.unit, self.lang)

    def format_ticks(self, values: Sequence[float]) -> list[str]:
        labels = [self(v) for v in values]
        whole = all(float(v).is_integer() for v in values)
        if whole and self.unit in ("usd", "decimal"):
            labels = [label.removesuffix(".00") for label in labels]
        return labels


class _SecondsLocator(ticker.Locator):
    """Ticks on clock steps (15 s, 1 min, 5 min…) so labels read "2분 0초", not "1분 40초"."""

    def __call__(self) -> Sequence[float]:
        low, high = self.axis.get_view_interval()  # type: ignore[union-attr]
        return self.tick_values(low, high)

    def tick_values(self, vmin: float, vmax: float) -> Sequence[float]:
        span = abs(vmax - vmin)
        step = next((s for s in _SECOND_STEPS if span / s <= _SECOND_TICKS_MAX), None)
        if step is None:  # days of seconds: no clock step is coarse enough
            return ticker.MaxNLocator(nbins=5).tick_values(vmin, vmax)
        return ticker.MultipleLocator(step).tick_values(vmin, vmax)


def _setup_value_axis(axis: Any, unit: str, lang: str) -> None:
    axis.set_major_formatter(_UnitFormatter(unit, _lang(lang)))  # type: ignore[arg-type]
    if unit == "count":
        axis.set_major_locator(ticker.MaxNLocator(nbins=5, integer=True))
    elif unit == "seconds":
        axis.set_major_locator(_SecondsLocator())
    else:
        axis.set_major_locator(ticker.MaxNLocator(nbins=5))


def _style_axes(ax: Axes, value_axis: str = "y") -> None:
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    for side in ("left", "bottom"):
        ax.spines[side].set_color(_GRID_COLOR)
    ax.grid(axis=value_axis, color=_GRID_COLOR, linewidth=0.8, zorder=0)
    ax.set_axisbelow(True)
    ax.tick_params(labelsize=_TICK_PT, colors=_MUTED_COLOR, labelcolor=_TEXT_COLOR, length=3)


def _draw_legend(ax: Axes) -> None:
    ax.legend(
        loc="lower left",
        bbox_to_anchor=(0.0, 1.0),
        ncol=2,
        frameon=False,
        fontsize=_LEGEND_PT,
        borderaxespad=0.3,
        handlelength=2.4,
        labelcolor=_TEXT_COLOR,
    )


def _draw_title(fig: Figure, title: str) -> None:
    width_in, height_in = fig.get_size_inches()
    fig.text(
        _PAD_IN / width_in,
        1 - 0.12 / height_in,
        _literal(_fit_title(fig, title)),
        ha="left",
        va="top",
        fontsize=_TITLE_PT,
        fontweight=_TITLE_WEIGHT,
        color=_TEXT_COLOR,
    )


def _fit_title(fig: Figure, title: str) -> str:
    """The title, cut with "…" if it is wider than the figure."""
    room_in = fig.get_size_inches()[0] - 2 * _PAD_IN
    prop = FontProperties(size=_TITLE_PT, weight=_TITLE_WEIGHT)
    text = title
    while text and _text_width_in(fig, text, prop) > room_in:
        text = text[:-2] + "…" if len(text) > 2 else ""
    return text


def _no_data_figure(title: str, lang: str) -> Figure:
    """A short strip: the title and "데이터 없음" / "No data", card-wide but not chart-tall."""
    fig = _new_figure(_NO_DATA_SIZE_IN)
    _draw_title(fig, title)
    fig.text(
        0.5,
        0.4,
        _NO_DATA[_lang(lang)],
        ha="center",
        va="center",
        fontsize=13,
        color=_MUTED_COLOR,
    )
    return fig


def _text_width_in(fig: Figure, text: str, prop: FontProperties) -> float:
    renderer = fig.canvas.get_renderer()  # type: ignore[attr-defined]
    width, _height, _descent = renderer.get_text_width_height_descent(text, prop, ismath=False)
    return width / fig.dpi


def _widest(labels: Sequence[str], keep: int = 3) -> list[str]:
    """The few labels that can be the widest: measuring each of 50 would cost ~20 ms."""
    return sorted(labels, key=_display_cells, reverse=True)[:keep]


def _tick_labels(axis: Any) -> list[str]:
    """The labels an axis will draw, computed without drawing the figure."""
    low, high = sorted(axis.get_view_interval())
    locs = [v for v in axis.get_major_locator()() if low - 1e-9 <= v <= high + 1e-9]
    return [label.replace(r"\$", "$") for label in axis.get_major_formatter().format_ticks(locs)]


def _draw_category_labels(
    ax: Axes, positions: np.ndarray, labels: Sequence[str], size_pt: float
) -> None:
    """Labels left of a horizontal bar chart, drawn as texts where ticks would be."""
    just_left = offset_copy(ax.get_yaxis_transform(), fig=ax.figure, x=-4, units="points")
    for position, label in zip(positions, labels, strict=True):
        ax.text(
            0,
            position,
            _literal(label),
            transform=just_left,
            ha="right",
            va="center",
            fontsize=size_pt,
            color=_TEXT_COLOR,
            clip_on=False,
        )


def _place_axes(
    fig: Figure,
    ax: Axes,
    *,
    legend: bool,
    left_labels: Sequence[str] | None = None,
    left_pt: float = _TICK_PT,
) -> None:
    """Margins from the widest left label instead of tight_layout, which draws twice."""
    width_in, height_in = fig.get_size_inches()
    labels = _tick_labels(ax.yaxis) if left_labels is None else _widest(left_labels)
    prop = FontProperties(size=left_pt)
    label_in = max((_text_width_in(fig, label, prop) for label in labels), default=0.0)
    left = _PAD_IN + label_in + 0.08
    top = _TITLE_ROW_IN + (_LEGEND_ROW_IN if legend else 0.0)
    ax.set_position(
        (
            left / width_in,
            _XTICK_ROW_IN / height_in,
            1 - (left + _PAD_IN + 0.1) / width_in,
            1 - (top + _XTICK_ROW_IN) / height_in,
        )
    )


# --- PNG encoding -------------------------------------------------------------------------------


def _to_png(fig: Figure, dpis: Sequence[int] = _DPI_STEPS) -> bytes:
    """PNG bytes within MAX_PNG_SIDE and MAX_PNG_BYTES, trying lower DPIs until it fits."""
    largest_in = max(fig.get_size_inches())
    for dpi in dpis:
        fig.set_dpi(min(dpi, math.floor(MAX_PNG_SIDE / largest_in)))
        data = _encode_png(fig)
        width, height = _png_size(data)
        if len(data) <= MAX_PNG_BYTES and max(width, height) <= MAX_PNG_SIDE:
            return data
    raise RuntimeError(f"chart PNG is {len(data):,} bytes at {width}x{height} px at {fig.dpi} dpi")


def _encode_png(fig: Figure) -> bytes:
    """The figure as a 256-colour palette PNG.

    A chart has a handful of colours plus anti-aliasing shades, so the palette looks the same
    as RGBA and the file is about a third of the size, in less time than RGBA compression.
    """
    canvas = fig.canvas
    canvas.draw()
    rgba = Image.frombuffer(
        "RGBA", canvas.get_width_height(), canvas.buffer_rgba(), "raw", "RGBA", 0, 1
    )
    palette = rgba.convert("RGB").quantize(256, method=Image.Quantize.FASTOCTREE)
    _restore_white(palette)
    buffer = io.BytesIO()
    palette.save(buffer, format="png")
    return buffer.getvalue()


def _restore_white(image: Image.Image) -> None:
    """Octree quantizing turns white into (254, 254, 254): make the background white again.

    The top-left pixel is always background: every chart keeps a margin there.
    """
    colors = image.getpalette() or []
    index = cast(int, image.getpixel((0, 0)))  # a palette image's pixels are indexes
    colors[3 * index : 3 * index + 3] = [255, 255, 255]
    image.putpalette(colors)


def _png_size(data: bytes) -> tuple[int, int]:
    """Width and height from the PNG's IHDR chunk, which always comes first."""
    width, height = struct.unpack(">II", data[16:24])
    return width, height
