"""Charts as data: a chart's figures laid out into the geometry its SVG template draws.

Pure Python (no ORM, no other app): a selector gives a `Chart`, `chart_layout` turns it into a
`ChartLayout` — coordinates in a fixed viewBox 640 wide, axis ticks with round steps, labels that do
not overlap, legend, patterns — and the templates under `templates/reports/charts/` only print it.
The same layout serves the PDF (WeasyPrint) and the dashboard (a browser), so the SVG keeps to what
both draw alike: presentation attributes (no CSS, no JavaScript, no external file), `text-anchor`,
explicit `dy` offsets rather than `dominant-baseline`, `transform="rotate()"`, `<pattern>` fills.

Text widths are estimated from DejaVu Sans' advance widths (the report's font; Verdana, the
browser's fallback, is as wide), with a margin, to decide what fits. Numbers are formatted for the
active language by `django.utils.formats.number_format`: the caller activates the language.
"""

from __future__ import annotations

import hashlib
import math
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Literal

from django.utils.formats import number_format
from django.utils.translation import gettext

ChartKind = Literal["bar", "line", "hbar"]
Number = Decimal | float | int

KINDS: tuple[ChartKind, ...] = ("bar", "line", "hbar")
WIDTH = 640
HEIGHT = 320  # bar and line charts; a horizontal bar chart grows with its categories
FONT_FAMILY = "DejaVu Sans, Verdana, sans-serif"
FONT_SIZE = 12  # ticks, categories, legend
VALUE_FONT_SIZE = 11  # value labels on bars and points
TEXT_COLOR = "#1b1b1b"
MUTED_COLOR = "#4a5553"  # 7.4:1 on white
GRID_COLOR = "#d5dcda"
AXIS_COLOR = "#5f6b68"
DEFAULT_BRAND_COLOR = "#1F6F5C"
# Further series after the brand colour: each at least 4.5:1 on white (WCAG 1.4.11 asks 3:1 for
# graphics) and told apart by a pattern or marker too, never by colour alone.
PALETTE = ("#B35C00", "#0067A5", "#7A4A9E", "#4D4D4D")
MAX_SERIES = 1 + len(PALETTE)
BAR_PATTERNS = ("solid", "stripes", "dots", "crosshatch", "hlines")
LINE_DASHES = ("", "7 4", "2 3", "10 3 2 3", "4 4")
LINE_MARKERS = ("circle", "square", "triangle", "diamond", "cross")
MAX_TICKS = 5  # intervals on the value axis at most
MAX_ROTATED_CATEGORIES = 16  # more categories than this (30 days) are thinned instead of rotated
MAX_CATEGORY_LABEL_WIDTH = 120.0  # horizontal label under a bar or point
MAX_ROTATED_LABEL_WIDTH = 110.0
MAX_HBAR_LABEL_WIDTH = 200.0
MAX_LEGEND_LABEL_WIDTH = 220.0
MAX_DECIMALS = 2

_BRAND_COLOR_RE = re.compile(r"^#[0-9A-Fa-f]{6}$")
_ELLIPSIS = "…"
_ASCII_WIDTHS = (  # DejaVu Sans advance widths in 1/1000 em, for " " (32) to "~" (126)
    318, 401, 460, 838, 636, 950, 780, 275, 390, 390, 500, 838, 318, 361, 318, 337, 636, 636, 636,
    636, 636, 636, 636, 636, 636, 636, 337, 337, 838, 838, 838, 531, 1000, 684, 686, 698, 770, 632,
    575, 775, 752, 295, 295, 656, 557, 863, 748, 787, 603, 787, 695, 635, 611, 732, 684, 989, 685,
    611, 685, 390, 337, 390, 838, 500, 500, 613, 635, 550, 635, 615, 352, 635, 634, 278, 278, 579,
    278, 974, 634, 612, 635, 635, 411, 521, 392, 634, 592, 818, 592, 592, 525, 636, 337, 636, 838,
)  # fmt: skip
_OTHER_WIDTHS = {"\u00a0": 318, "\u202f": 200, _ELLIPSIS: 1000, "€": 636, "’": 318, "«": 612, "»": 612}


# Input ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Series:
    """One series of a chart: a name (the legend, the table's column) and one value per category."""

    name: str
    values: Sequence[Number]


@dataclass(frozen=True)
class Chart:
    """What a selector gives: the figures and the words around them, in the reader's language.

    `description` is the sentence a screen reader hears after the title (the SVG's `<desc>`): it
    summarises the data ("Participation rose from 120 in January to 310 in June."). `unit` labels
    the value axis and the table's columns ("km", "kg CO2e"); `category_label` heads the table's
    first column ("Month", "Team"). `id` makes the element ids; give one when the same chart
    appears twice in a page.
    """

    kind: ChartKind
    title: str
    description: str
    unit: str
    series: Sequence[Series]
    categories: Sequence[str]
    category_label: str = ""
    id: str = ""


# Output -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Tick:
    value: Decimal
    position: float  # y of a gridline (bar, line), x (hbar)
    label: TextLabel


@dataclass(frozen=True)
class TextLabel:
    text: str  # as drawn, possibly cut with an ellipsis
    full: str
    x: float
    y: float
    anchor: Literal["start", "middle", "end"] = "middle"
    rotate: float = 0.0  # degrees, around (x, y)
    tick_x: float | None = None  # a category's small tick on the axis


@dataclass(frozen=True)
class Bar:
    series_index: int
    category_index: int
    x: float
    y: float
    width: float
    height: float
    fill: str
    value: Decimal
    label: TextLabel | None  # the value, where it fits


@dataclass(frozen=True)
class Point:
    x: float
    y: float
    value: Decimal
    marker: str  # an SVG path
    label: TextLabel | None


@dataclass(frozen=True)
class Line:
    series_index: int
    name: str
    color: str
    dasharray: str
    points: tuple[Point, ...]
    polyline: str  # "x,y x,y …"


@dataclass(frozen=True)
class Pattern:
    id: str
    kind: str  # one of BAR_PATTERNS but "solid"
    color: str
    size: int


@dataclass(frozen=True)
class LegendItem:
    series_index: int
    name: str
    label: TextLabel
    swatch_x: float
    swatch_y: float
    swatch_end_x: float  # lines: the sample segment from swatch_x to here, at swatch_mid_y
    swatch_mid_y: float
    fill: str  # bars: the bar's fill
    color: str
    dasharray: str  # lines
    marker: str  # lines: marker path at the swatch's centre


@dataclass(frozen=True)
class TableRow:
    category: str
    cells: tuple[str, ...]


@dataclass(frozen=True)
class ChartLayout:
    """Everything the chart's templates print; coordinates in the viewBox, rounded to 0.1."""

    kind: ChartKind
    template: str
    dom_id: str
    title_id: str
    desc_id: str
    title: str
    description: str
    unit: str
    empty: bool
    width: int
    height: int
    plot_left: float
    plot_top: float
    plot_right: float
    plot_bottom: float
    ticks: tuple[Tick, ...]
    categories: tuple[TextLabel, ...]
    bars: tuple[Bar, ...]
    lines: tuple[Line, ...]
    patterns: tuple[Pattern, ...]
    legend: tuple[LegendItem, ...]
    unit_label: TextLabel | None
    value_labels: bool  # whether values are written on the chart (else only in the table)
    category_header: str
    value_headers: tuple[str, ...]
    rows: tuple[TableRow, ...]
    font_family: str = FONT_FAMILY
    font_size: int = FONT_SIZE
    value_font_size: int = VALUE_FONT_SIZE
    text_color: str = TEXT_COLOR
    muted_color: str = MUTED_COLOR
    grid_color: str = GRID_COLOR
    axis_color: str = AXIS_COLOR

    @property
    def category_tick_end(self) -> float:
        return _r(self.plot_bottom + 4)


# Numbers and text -------------------------------------------------------------------------------


def to_decimal(value: Number) -> Decimal:
    """A figure as a Decimal; refuses what is not a finite number or is negative."""
    if isinstance(value, bool) or not isinstance(value, Decimal | float | int):
        raise ValueError(f"{value!r} is not a number.")
    try:
        number = value if isinstance(value, Decimal) else Decimal(str(value))
    except (InvalidOperation, ValueError, TypeError) as error:
        raise ValueError(f"{value!r} is not a number.") from error
    if not number.is_finite():
        raise ValueError(f"{value!r} is not a finite number.")
    if number < 0:
        raise ValueError(f"{value!r} is negative: impact figures never are.")
    return number


def _decimal_places(number: Decimal, most: int = MAX_DECIMALS) -> int:
    rounded = number.quantize(Decimal(1).scaleb(-most), rounding=ROUND_HALF_UP).normalize()
    exponent = rounded.as_tuple().exponent
    return max(0, -exponent) if isinstance(exponent, int) else 0


def format_number(value: Number, decimals: int | None = None) -> str:
    """A figure for the active language: "1,234.5" in English, "1 234,5" in French.

    Without `decimals`, as many as the figure has, at most two.
    """
    number = to_decimal(value)
    places = _decimal_places(number) if decimals is None else decimals
    number = number.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)
    return number_format(number, decimal_pos=places, force_grouping=True)


def nice_ticks(maximum: Number, *, integers: bool = False, most: int = MAX_TICKS) -> list[Decimal]:
    """Ticks from 0 to the first round value covering `maximum`: steps of 1, 2, 2.5 or 5 × 10ⁿ.

    At most `most` intervals; with `integers` (counts of people), no step below 1. A maximum of 0
    gives 0 and 1, so that an all-zero chart still has an axis.
    """
    top = to_decimal(maximum)
    if top == 0:
        return [Decimal(0), Decimal(1)]
    exponent = math.floor(math.log10(float(top) / most)) - 1
    while True:
        for mantissa in (Decimal(1), Decimal(2), Decimal("2.5"), Decimal(5)):
            step = mantissa.scaleb(exponent)
            if integers and (step < 1 or step != step.to_integral_value()):
                continue
            intervals = math.ceil(top / step)
            if intervals <= most:
                return [_plain(step * i) for i in range(intervals + 1)]
        exponent += 1


def _plain(number: Decimal) -> Decimal:
    """1000 rather than 1E+3, 0.3 rather than 0.30."""
    if number == number.to_integral_value():
        return Decimal(int(number))
    return number.normalize()


def text_width(text: str, font_size: float = FONT_SIZE, *, bold: bool = False) -> float:
    """Estimated width of `text` in DejaVu Sans, with 5 % to spare (10 % in bold)."""
    total = 0
    for char in text:
        code = ord(char)
        if 32 <= code <= 126:
            total += _ASCII_WIDTHS[code - 32]
        elif char in _OTHER_WIDTHS:
            total += _OTHER_WIDTHS[char]
        else:
            base = unicodedata.normalize("NFKD", char)[:1]
            total += _ASCII_WIDTHS[ord(base) - 32] if base and 32 <= ord(base) <= 126 else 700
    return total * font_size / 1000 * (1.10 if bold else 1.05)


def truncate(text: str, max_width: float, font_size: float = FONT_SIZE) -> str:
    """`text` cut with an ellipsis so that it fits in `max_width`."""
    text = " ".join(text.split())
    if text_width(text, font_size) <= max_width:
        return text
    cut = text
    while cut and text_width(cut.rstrip() + _ELLIPSIS, font_size) > max_width:
        cut = cut[:-1]
    return cut.rstrip() + _ELLIPSIS


def _r(value: float) -> float:
    return round(value, 1)


# Layout -----------------------------------------------------------------------------------------


def chart_layout(chart: Chart, *, brand_color: str = DEFAULT_BRAND_COLOR) -> ChartLayout:
    """Lay `chart` out; raises ValueError on data no chart should show (negative, ragged)."""
    if chart.kind not in KINDS:
        raise ValueError(f"Unknown chart kind {chart.kind!r}: one of {', '.join(KINDS)}.")
    if not _BRAND_COLOR_RE.match(brand_color):
        raise ValueError(f"{brand_color!r} is not a colour as #RRGGBB.")
    if len(chart.series) > MAX_SERIES:
        raise ValueError(f"{len(chart.series)} series: a chart shows at most {MAX_SERIES}.")
    categories = tuple(str(category) for category in chart.categories)
    values: list[list[Decimal]] = []
    for series in chart.series:
        if len(series.values) != len(categories):
            raise ValueError(
                f"Series {series.name!r} has {len(series.values)} values for {len(categories)} categories."
            )
        values.append([to_decimal(value) for value in series.values])

    dom_id = _dom_id(chart, values)
    empty = not categories or not values
    colors = [brand_color if i == 0 else PALETTE[(i - 1) % len(PALETTE)] for i in range(len(values))]
    patterns = tuple(
        Pattern(f"{dom_id}-pattern-{i}", BAR_PATTERNS[i], colors[i], 8 if BAR_PATTERNS[i] == "stripes" else 6)
        for i in range(len(values))
        if chart.kind != "line" and BAR_PATTERNS[i] != "solid"
    )
    fills = [
        colors[i] if chart.kind == "line" or BAR_PATTERNS[i] == "solid" else f"url(#{dom_id}-pattern-{i})"
        for i in range(len(values))
    ]
    legend: tuple[LegendItem, ...] = ()
    unit_label = None
    plot = _Plot(WIDTH, HEIGHT, 0, 0, WIDTH, HEIGHT)
    if not empty:
        legend, top = _legend(chart, colors, fills)
        if chart.unit:
            unit_label = TextLabel(
                truncate(chart.unit, WIDTH / 2), chart.unit, 8, _r(top + FONT_SIZE), anchor="start"
            )
            top += FONT_SIZE + 6
        maximum = max(max(column) for column in values)
        integers = all(value == value.to_integral_value() for column in values for value in column)
        tick_values = nice_ticks(maximum, integers=integers)
        tick_decimals = max(_decimal_places(value, 4) for value in tick_values)
        tick_labels = [format_number(value, tick_decimals) for value in tick_values]
        geometry = _hbar if chart.kind == "hbar" else _vertical
        plot = geometry(chart, categories, values, colors, fills, top, tick_values, tick_labels)
    unit_suffix = f" ({chart.unit})" if chart.unit else ""
    return ChartLayout(
        kind=chart.kind,
        template=f"reports/charts/{chart.kind}.svg",
        dom_id=dom_id,
        title_id=f"{dom_id}-title",
        desc_id=f"{dom_id}-desc",
        title=chart.title,
        description=chart.description,
        unit=chart.unit,
        empty=empty,
        width=plot.width,
        height=plot.height,
        plot_left=plot.plot_left,
        plot_top=plot.plot_top,
        plot_right=plot.plot_right,
        plot_bottom=plot.plot_bottom,
        ticks=plot.ticks,
        categories=plot.categories,
        bars=plot.bars,
        lines=plot.lines,
        patterns=() if empty else patterns,
        legend=legend,
        unit_label=unit_label,
        value_labels=plot.value_labels,
        category_header=chart.category_label or gettext("Category"),
        value_headers=tuple(f"{series.name}{unit_suffix}" for series in chart.series),
        rows=tuple(
            TableRow(category, tuple(format_number(column[i]) for column in values))
            for i, category in enumerate(categories)
        ),
    )


@dataclass(frozen=True)
class _Plot:
    width: int
    height: int
    plot_left: float
    plot_top: float
    plot_right: float
    plot_bottom: float
    ticks: tuple[Tick, ...] = ()
    categories: tuple[TextLabel, ...] = ()
    bars: tuple[Bar, ...] = ()
    lines: tuple[Line, ...] = ()
    value_labels: bool = False


def _dom_id(chart: Chart, values: list[list[Decimal]]) -> str:
    if chart.id:
        return re.sub(r"[^A-Za-z0-9_-]", "-", chart.id)
    digest = hashlib.sha256(
        repr((chart.kind, chart.title, list(chart.categories), [str(v) for c in values for v in c])).encode()
    )
    return f"chart-{digest.hexdigest()[:10]}"


def _legend(chart: Chart, colors: list[str], fills: list[str]) -> tuple[tuple[LegendItem, ...], float]:
    """A legend when there are several series, in rows across the top; returns it and its bottom."""
    if len(chart.series) < 2:
        return (), 8.0
    items = []
    x, y = 8.0, 6.0
    swatch = 26.0 if chart.kind == "line" else 14.0
    for i, series in enumerate(chart.series):
        name = truncate(series.name, MAX_LEGEND_LABEL_WIDTH)
        item_width = swatch + 6 + text_width(name)
        if x > 8 and x + item_width > WIDTH - 8:
            x, y = 8.0, y + 20
        marker = _marker(LINE_MARKERS[i], x + swatch / 2, y + 7, 3.5) if chart.kind == "line" else ""
        items.append(
            LegendItem(
                series_index=i,
                name=series.name,
                label=TextLabel(name, series.name, _r(x + swatch + 6), _r(y + 11.5), anchor="start"),
                swatch_x=_r(x),
                swatch_y=_r(y),
                swatch_end_x=_r(x + swatch),
                swatch_mid_y=_r(y + 7),
                fill=fills[i],
                color=colors[i],
                dasharray=LINE_DASHES[i],
                marker=marker,
            )
        )
        x += item_width + 20
    return tuple(items), y + 24


def _vertical(
    chart: Chart,
    categories: tuple[str, ...],
    values: list[list[Decimal]],
    colors: list[str],
    fills: list[str],
    top: float,
    tick_values: list[Decimal],
    tick_labels: list[str],
) -> _Plot:
    """Bars or a line over categories along x, values up y."""
    count = len(categories)
    plot_top = top + 16  # room for the value label of a bar reaching the top
    plot_left = max(28.0, max(text_width(label) for label in tick_labels) + 14)
    plot_right = WIDTH - 12.0
    band = (plot_right - plot_left) / count
    centres = [plot_left + band * (i + 0.5) for i in range(count)]

    # Category labels: all horizontal if they fit, else rotated (few categories), else thinned.
    full_width = max(text_width(c) for c in categories)
    if full_width <= band - 4:
        shown, texts, rotate = list(range(count)), list(categories), False
    elif count <= MAX_ROTATED_CATEGORIES and band >= FONT_SIZE * 1.6:
        shown, rotate = list(range(count)), True
        texts = [truncate(c, MAX_ROTATED_LABEL_WIDTH) for c in categories]
    else:
        texts = [truncate(c, MAX_CATEGORY_LABEL_WIDTH) for c in categories]
        widest = max(text_width(t) for t in texts)
        step = max(1, math.ceil((widest + 8) / band))
        shown, rotate = list(range(0, count, step)), False
    if rotate:
        # The first label runs down-left from its category: widen the left margin if it would
        # leave the drawing.
        reach = (text_width(texts[0]) + FONT_SIZE / 2) * math.sqrt(0.5)
        deficit = reach - (plot_left + band / 2 + 4) + 2
        if deficit > 0:
            plot_left += deficit
            band = (plot_right - plot_left) / count
            centres = [plot_left + band * (i + 0.5) for i in range(count)]
        longest = max(text_width(texts[i]) for i in shown)
        bottom_margin = 12 + (longest + FONT_SIZE) * math.sqrt(0.5) + 4
    else:
        bottom_margin = 26.0
    plot_bottom = HEIGHT - bottom_margin
    plot_height = plot_bottom - plot_top
    axis_max = tick_values[-1]

    def y_of(value: Decimal) -> float:
        return plot_bottom - float(value / axis_max) * plot_height

    ticks = tuple(
        Tick(value, _r(y_of(value)), TextLabel(label, label, _r(plot_left - 6), _r(y_of(value) + 4), "end"))
        for value, label in zip(tick_values, tick_labels, strict=True)
    )
    category_labels = []
    for i in shown:
        text = texts[i]
        if rotate:
            x, y = centres[i] + 4, plot_bottom + 12
            category_labels.append(
                TextLabel(text, categories[i], _r(x), _r(y), "end", -45.0, tick_x=_r(centres[i]))
            )
        else:
            half = text_width(text) / 2
            x = min(max(centres[i], half + 2), WIDTH - half - 2)
            category_labels.append(
                TextLabel(text, categories[i], _r(x), _r(plot_bottom + 17), tick_x=_r(centres[i]))
            )

    bars: list[Bar] = []
    lines: list[Line] = []
    value_labels = False
    if chart.kind == "bar":
        series_count = len(values)
        group = min(band * 0.72, 56.0 * series_count)
        width = group / series_count
        room = band - 2 if series_count == 1 else width
        texts_by_bar = [[format_number(v) for v in column] for column in values]
        value_labels = all(text_width(t, VALUE_FONT_SIZE) <= room for column in texts_by_bar for t in column)
        for s, column in enumerate(values):
            for i, value in enumerate(column):
                x = centres[i] - group / 2 + s * width
                y = y_of(value)
                label = None
                if value_labels:
                    label = TextLabel(texts_by_bar[s][i], texts_by_bar[s][i], _r(x + width / 2), _r(y - 4))
                gap = 1.0 if series_count > 1 else 0.0
                bars.append(
                    Bar(
                        s,
                        i,
                        _r(x + gap / 2),
                        _r(y),
                        _r(width - gap),
                        _r(plot_bottom - y),
                        fills[s],
                        value,
                        label,
                    )
                )
    else:
        labelled = len(values) == 1 and count <= 16
        texts_by_point = [format_number(v) for v in values[0]] if labelled else []
        if labelled:
            labelled = all(text_width(t, VALUE_FONT_SIZE) <= band - 2 for t in texts_by_point)
        value_labels = labelled
        radius = 3.5 if band >= 14 else 2.5
        for s, column in enumerate(values):
            points = []
            for i, value in enumerate(column):
                x, y = centres[i], y_of(value)
                label = None
                if labelled:
                    # Below a dip the line would cross a label above it; elsewhere above the point.
                    before = column[i - 1] if i > 0 else None
                    after = column[i + 1] if i + 1 < count else None
                    dip = (before is None or before > value) and (after is None or after > value)
                    below = dip and (before is not None or after is not None) and plot_bottom - y >= 20
                    label_y = y + 16 if below else y - 8
                    label = TextLabel(texts_by_point[i], texts_by_point[i], _r(x), _r(label_y))
                points.append(Point(_r(x), _r(y), value, _marker(LINE_MARKERS[s], x, y, radius), label))
            polyline = " ".join(f"{p.x:g},{p.y:g}" for p in points)
            lines.append(Line(s, chart.series[s].name, colors[s], LINE_DASHES[s], tuple(points), polyline))
    return _Plot(
        WIDTH,
        HEIGHT,
        _r(plot_left),
        _r(plot_top),
        _r(plot_right),
        _r(plot_bottom),
        ticks,
        tuple(category_labels),
        tuple(bars),
        tuple(lines),
        value_labels,
    )


def _hbar(
    chart: Chart,
    categories: tuple[str, ...],
    values: list[list[Decimal]],
    colors: list[str],
    fills: list[str],
    top: float,
    tick_values: list[Decimal],
    tick_labels: list[str],
) -> _Plot:
    """Horizontal bars: categories down the left (long names: teams, skills), values along x."""
    count, series_count = len(categories), len(values)
    texts = [truncate(c, MAX_HBAR_LABEL_WIDTH) for c in categories]
    plot_left = max(text_width(t) for t in texts) + 16
    value_texts = [[format_number(v) for v in column] for column in values]
    widest_value = max(text_width(t, VALUE_FONT_SIZE) for column in value_texts for t in column)
    plot_right = WIDTH - max(widest_value + 10, text_width(tick_labels[-1]) / 2 + 4, 12.0)
    row = max(26.0, series_count * 14.0 + 12)
    thickness = min(row * 0.7, 18.0 * series_count) / series_count
    plot_top = top + 4
    plot_bottom = plot_top + count * row
    height = math.ceil(plot_bottom + 26)
    axis_max = tick_values[-1]

    def x_of(value: Decimal) -> float:
        return plot_left + float(value / axis_max) * (plot_right - plot_left)

    ticks = tuple(
        Tick(value, _r(x_of(value)), TextLabel(label, label, _r(x_of(value)), _r(plot_bottom + 17)))
        for value, label in zip(tick_values, tick_labels, strict=True)
    )
    category_labels = tuple(
        TextLabel(texts[i], categories[i], _r(plot_left - 8), _r(plot_top + row * (i + 0.5) + 4), "end")
        for i in range(count)
    )
    value_labels = thickness >= VALUE_FONT_SIZE
    bars = []
    for s, column in enumerate(values):
        for i, value in enumerate(column):
            y = plot_top + row * (i + 0.5) - thickness * series_count / 2 + s * thickness
            end = x_of(value)
            label = None
            if value_labels:
                text = value_texts[s][i]
                label = TextLabel(text, text, _r(end + 4), _r(y + thickness / 2 + 4), "start")
            gap = 1.0 if series_count > 1 else 0.0
            bars.append(
                Bar(
                    s,
                    i,
                    _r(plot_left),
                    _r(y + gap / 2),
                    _r(end - plot_left),
                    _r(thickness - gap),
                    fills[s],
                    value,
                    label,
                )
            )
    return _Plot(
        WIDTH,
        height,
        _r(plot_left),
        _r(plot_top),
        _r(plot_right),
        _r(plot_bottom),
        ticks,
        category_labels,
        tuple(bars),
        (),
        value_labels,
    )


def _marker(kind: str, x: float, y: float, r: float) -> str:
    """A point's marker as an SVG path: each series has its own shape, not only its colour."""
    if kind == "circle":
        return f"M{x - r:.1f},{y:.1f}a{r:g},{r:g} 0 1,0 {2 * r:g},0a{r:g},{r:g} 0 1,0 {-2 * r:g},0z"
    if kind == "square":
        s = r * 0.9
        return f"M{x - s:.1f},{y - s:.1f}h{2 * s:.1f}v{2 * s:.1f}h{-2 * s:.1f}z"
    if kind == "triangle":
        s = r * 1.25
        return f"M{x:.1f},{y - s:.1f}L{x + s:.1f},{y + s * 0.8:.1f}L{x - s:.1f},{y + s * 0.8:.1f}z"
    if kind == "diamond":
        s = r * 1.3
        return f"M{x:.1f},{y - s:.1f}L{x + s:.1f},{y:.1f}L{x:.1f},{y + s:.1f}L{x - s:.1f},{y:.1f}z"
    s, t = r * 1.2, r * 0.45  # a plus sign, filled
    return (
        f"M{x - t:.1f},{y - s:.1f}h{2 * t:.1f}v{s - t:.1f}h{s - t:.1f}v{2 * t:.1f}h{t - s:.1f}"
        f"v{s - t:.1f}h{-2 * t:.1f}v{t - s:.1f}h{t - s:.1f}v{-2 * t:.1f}h{s - t:.1f}z"
    )
