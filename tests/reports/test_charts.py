"""Charts: layout maths, then the SVG and the data table the tag renders."""

import itertools
import re
from decimal import Decimal
from xml.etree import ElementTree

import pytest
from django.template import Context, Template
from django.utils import translation

from reports.charts import (
    MAX_SERIES,
    PALETTE,
    WIDTH,
    Chart,
    Series,
    chart_layout,
    format_number,
    nice_ticks,
    text_width,
    truncate,
)

BRAND = "#1F6F5C"
MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
SVG = "{http://www.w3.org/2000/svg}"


def bar_chart(values, categories=None, **fields):
    categories = categories if categories is not None else [f"C{i}" for i in range(len(values))]
    defaults = {
        "kind": "bar",
        "title": "Participants per month",
        "description": "Participation rose all year.",
        "unit": "people",
        "series": [Series("Participants", values)],
        "categories": categories,
    }
    return Chart(**{**defaults, **fields})


def render(chart, brand=BRAND, **options):
    extra = " ".join(f"{key}={value}" for key, value in options.items())
    return Template(f"{{% load charts %}}{{% chart chart brand {extra} %}}").render(
        Context({"chart": chart, "brand": brand})
    )


def svg_of(html):
    match = re.search(r"<svg.*?</svg>", html, re.DOTALL)
    assert match, "no <svg> in the chart"
    return ElementTree.fromstring(match.group(0))  # noqa: S314 - our own template's output


def contrast_with_white(colour):
    def channel(c):
        c = int(c, 16) / 255
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (channel(colour[i : i + 2]) for i in (1, 3, 5))
    return 1.05 / (0.2126 * r + 0.7152 * g + 0.0722 * b + 0.05)


class TestNiceTicks:
    @pytest.mark.parametrize(
        ("maximum", "integers", "expected"),
        [
            (0, True, ["0", "1"]),
            (0, False, ["0", "1"]),
            (7, True, ["0", "2", "4", "6", "8"]),
            (10, True, ["0", "2", "4", "6", "8", "10"]),
            (999, True, ["0", "200", "400", "600", "800", "1000"]),
            (Decimal("1234.5"), False, ["0", "250", "500", "750", "1000", "1250"]),
            (Decimal("0.3"), False, ["0", "0.1", "0.2", "0.3"]),
            (1, True, ["0", "1"]),
            (1, False, ["0", "0.2", "0.4", "0.6", "0.8", "1"]),
            (3, False, ["0", "1", "2", "3"]),
            (Decimal("0.07"), False, ["0", "0.02", "0.04", "0.06", "0.08"]),
        ],
    )
    def test_ticks_run_from_zero_in_round_steps_to_a_value_covering_the_maximum(
        self, maximum, integers, expected
    ):
        ticks = nice_ticks(maximum, integers=integers)

        assert [str(t) for t in ticks] == expected

    @pytest.mark.parametrize("maximum", [1, 3, 7, 12, 99, 101, 999, 1001, 12345, Decimal("0.0042"), 7.77e9])
    def test_every_step_is_1_2_2_5_or_5_times_a_power_of_ten_and_at_most_five_intervals(self, maximum):
        ticks = nice_ticks(maximum)

        step = ticks[1] - ticks[0]
        mantissa = step.scaleb(-step.adjusted()).normalize()
        assert mantissa in {Decimal(1), Decimal(2), Decimal("2.5"), Decimal(5)}
        assert 1 <= len(ticks) - 1 <= 5
        assert ticks[-1] >= Decimal(str(maximum)) > ticks[-2]
        assert all(b - a == step for a, b in itertools.pairwise(ticks))


class TestBarLayout:
    def test_bars_stand_on_the_axis_with_heights_proportional_to_their_values(self):
        layout = chart_layout(bar_chart([100, 50, 0, 25]))

        heights = [bar.height for bar in layout.bars]
        assert [t.value for t in layout.ticks][-1] == 100
        full = layout.plot_bottom - layout.plot_top
        assert heights == pytest.approx([full, full / 2, 0, full / 4], abs=0.15)
        for bar in layout.bars:
            assert bar.y + bar.height == pytest.approx(layout.plot_bottom, abs=0.15)

    def test_bars_are_evenly_spaced_inside_the_plot_in_category_order(self):
        layout = chart_layout(bar_chart([1, 2, 3, 4]))

        centres = [bar.x + bar.width / 2 for bar in layout.bars]
        gaps = {round(b - a, 1) for a, b in itertools.pairwise(centres)}
        assert len(gaps) == 1
        assert layout.plot_left < layout.bars[0].x
        assert layout.bars[-1].x + layout.bars[-1].width < layout.plot_right <= WIDTH

    def test_grouped_bars_sit_side_by_side_within_their_category(self):
        chart = bar_chart([10, 20], ["A", "B"], series=[Series("2024", [10, 20]), Series("2025", [20, 40])])

        layout = chart_layout(chart)

        a_2024, b_2024, a_2025, b_2025 = layout.bars
        assert a_2024.x < a_2025.x < b_2024.x < b_2025.x
        assert a_2025.height == pytest.approx(2 * a_2024.height, abs=0.15)
        assert a_2024.fill == BRAND
        assert a_2025.fill.startswith("url(#")  # a pattern, not only another colour

    def test_value_labels_are_written_above_bars_when_they_fit(self):
        layout = chart_layout(bar_chart([120, 1310, 0], ["Jan", "Feb", "Mar"]))

        assert layout.value_labels
        labels = [bar.label for bar in layout.bars if bar.label is not None]
        assert [label.text for label in labels] == ["120", "1,310", "0"]
        for bar, label in zip(layout.bars, labels, strict=True):
            assert label.y < bar.y

    def test_value_labels_are_left_out_when_one_does_not_fit(self):
        values = [123456789] * 30
        layout = chart_layout(bar_chart(values))

        assert not layout.value_labels
        assert all(bar.label is None for bar in layout.bars)

    def test_all_zeros_draw_an_axis_from_0_to_1_and_flat_bars(self):
        layout = chart_layout(bar_chart([0, 0, 0]))

        assert not layout.empty
        assert [t.value for t in layout.ticks] == [0, 1]
        assert all(bar.height == 0 for bar in layout.bars)

    def test_a_single_value_is_one_bar_reaching_near_the_top(self):
        layout = chart_layout(bar_chart([7], ["Only"]))

        (bar,) = layout.bars
        assert [t.value for t in layout.ticks][-1] == 8
        assert bar.height == pytest.approx((layout.plot_bottom - layout.plot_top) * 7 / 8, abs=0.15)
        assert layout.categories[0].text == "Only"

    def test_decimal_and_float_inputs_give_the_same_geometry(self):
        as_decimal = chart_layout(bar_chart([Decimal("1.5"), Decimal("3.25")]))
        as_float = chart_layout(bar_chart([1.5, 3.25]))

        assert [b.height for b in as_decimal.bars] == [b.height for b in as_float.bars]
        assert [b.value for b in as_float.bars] == [Decimal("1.5"), Decimal("3.25")]
        assert [row.cells for row in as_decimal.rows] == [("1.5",), ("3.25",)]

    @pytest.mark.parametrize("bad", [-1, Decimal("-0.5"), -0.001])
    def test_negative_values_are_refused(self, bad):
        with pytest.raises(ValueError, match="negative"):
            chart_layout(bar_chart([1, bad]))

    @pytest.mark.parametrize("bad", [float("nan"), float("inf"), "12", True])
    def test_what_is_not_a_finite_number_is_refused(self, bad):
        with pytest.raises(ValueError, match="number"):
            chart_layout(bar_chart([1, bad]))

    def test_a_series_must_have_one_value_per_category(self):
        with pytest.raises(ValueError, match="2 values for 3 categories"):
            chart_layout(bar_chart([1, 2], ["a", "b", "c"]))

    def test_too_many_series_or_a_colour_not_as_rrggbb_are_refused(self):
        many = [Series(f"S{i}", [1]) for i in range(MAX_SERIES + 1)]
        with pytest.raises(ValueError, match="at most"):
            chart_layout(bar_chart([1], ["a"], series=many))
        with pytest.raises(ValueError, match="#RRGGBB"):
            chart_layout(bar_chart([1], ["a"]), brand_color="red;}")

    @pytest.mark.parametrize(
        "chart",
        [
            bar_chart([], []),
            bar_chart([], [], series=[]),
            bar_chart([1], ["a"], series=[]),
        ],
    )
    def test_no_category_or_no_series_is_an_empty_chart(self, chart):
        layout = chart_layout(chart)

        assert layout.empty
        assert layout.bars == ()
        assert layout.lines == ()


class TestCategoryLabels:
    def test_twelve_short_months_are_all_written_level(self):
        layout = chart_layout(bar_chart(list(range(12)), MONTHS))

        assert [label.text for label in layout.categories] == MONTHS
        assert all(label.rotate == 0 for label in layout.categories)
        self.assert_no_overlap(layout)

    def test_twelve_long_month_names_are_rotated_rather_than_overlapping(self):
        months = [f"{m} 2025" for m in ["January", "February", "March", "April", "May", "June"] * 2]
        layout = chart_layout(bar_chart(list(range(12)), months))

        assert len(layout.categories) == 12
        assert all(label.rotate == -45 and label.anchor == "end" for label in layout.categories)
        assert layout.plot_bottom < 320 - 40  # room made under the axis

    def test_a_long_first_rotated_label_stays_inside_the_drawing(self):
        months = ["septembre 2025 (mois de rentrée)", *(f"M{i}" * 4 for i in range(11))]
        layout = chart_layout(bar_chart(list(range(12)), months))

        first = layout.categories[0]
        assert first.rotate == -45
        assert first.x - (text_width(first.text) + 6) * 0.7072 >= 0

    def test_thirty_days_are_thinned_to_labels_that_do_not_overlap(self):
        days = [f"{d:02d}/06" for d in range(1, 31)]
        layout = chart_layout(bar_chart(list(range(30)), days, kind="line"))

        shown = [label.full for label in layout.categories]
        assert 5 <= len(shown) < 30
        assert shown[0] == "01/06"
        indexes = [days.index(day) for day in shown]
        steps = {b - a for a, b in itertools.pairwise(indexes)}
        assert len(steps) == 1  # evenly thinned
        self.assert_no_overlap(layout)

    def test_long_category_names_are_cut_with_an_ellipsis_in_the_chart_and_whole_in_the_table(self):
        long_name = "Association des amis du jardin partagé de la rue des Lilas et environs"
        chart = bar_chart([3, 4], [long_name, "Vélo"], kind="hbar")

        layout = chart_layout(chart)

        drawn = layout.categories[0]
        assert drawn.text.endswith("…")
        assert len(drawn.text) < len(long_name)
        assert drawn.full == long_name
        assert layout.rows[0].category == long_name
        html = render(chart)
        assert f'<th scope="row">{long_name}</th>' in html
        assert f">{drawn.text}</text>" in html

    def test_truncate_keeps_text_that_fits_and_cuts_what_does_not(self):
        assert truncate("Short", 100) == "Short"
        cut = truncate("A rather long label indeed", 60)
        assert cut.endswith("…")
        assert text_width(cut) <= 60

    @staticmethod
    def assert_no_overlap(layout):
        spans = sorted(
            (label.x - text_width(label.text) / 2, label.x + text_width(label.text) / 2)
            for label in layout.categories
        )
        for (_, right), (left, _) in itertools.pairwise(spans):
            assert right <= left, "category labels overlap"
        assert spans[0][0] >= 0
        assert spans[-1][1] <= WIDTH


class TestLineAndHorizontalLayout:
    def test_line_points_are_at_category_centres_and_value_heights(self):
        chart = bar_chart([0, 50, 100], ["a", "b", "c"], kind="line")

        layout = chart_layout(chart)

        (line,) = layout.lines
        xs = [p.x for p in line.points]
        ys = [p.y for p in line.points]
        assert xs[1] - xs[0] == pytest.approx(xs[2] - xs[1], abs=0.15)
        assert ys == pytest.approx(
            [layout.plot_bottom, (layout.plot_top + layout.plot_bottom) / 2, layout.plot_top], abs=0.15
        )
        assert line.polyline == " ".join(f"{x:g},{y:g}" for x, y in zip(xs, ys, strict=True))
        assert line.color == BRAND

    def test_each_line_has_its_own_dashes_and_marker_and_a_legend(self):
        chart = bar_chart(
            [1, 2],
            ["a", "b"],
            kind="line",
            series=[Series("North", [1, 2]), Series("South", [2, 1]), Series("East", [0, 3])],
        )

        layout = chart_layout(chart)

        assert len({line.dasharray for line in layout.lines}) == 3
        shapes = {re.sub(r"[^A-Za-z]", "", line.points[0].marker) for line in layout.lines}
        assert len(shapes) == 3  # circle, square, triangle: not told apart by colour alone
        assert [item.name for item in layout.legend] == ["North", "South", "East"]
        assert [line.color for line in layout.lines] == [BRAND, PALETTE[0], PALETTE[1]]

    def test_one_series_has_no_legend(self):
        assert chart_layout(bar_chart([1, 2])).legend == ()

    def test_horizontal_bars_grow_right_from_the_category_labels(self):
        chart = bar_chart([40, 10], ["Web design", "Accounting"], kind="hbar")

        layout = chart_layout(chart)

        first, second = layout.bars
        assert first.x == second.x == layout.plot_left
        assert first.width == pytest.approx(4 * second.width, abs=0.2)
        assert first.y < second.y
        assert all(label.x < layout.plot_left for label in layout.categories)
        labels = [bar.label for bar in layout.bars if bar.label is not None]
        assert len(labels) == 2
        assert all(label.x + text_width(label.text, 11) <= WIDTH for label in labels)

    def test_a_horizontal_chart_grows_with_its_categories(self):
        few = chart_layout(bar_chart([1, 2], kind="hbar"))
        many = chart_layout(bar_chart(list(range(20)), kind="hbar"))

        assert many.height > few.height


class TestNumbers:
    def test_numbers_follow_the_active_language(self):
        with translation.override("fr"):
            assert format_number(Decimal("1234.5")) == "1\xa0234,5"
            assert format_number(1234567) == "1\xa0234\xa0567"
        with translation.override("en"):
            assert format_number(Decimal("1234.5")) == "1,234.5"

    def test_at_most_two_decimals_and_none_that_are_zero(self):
        with translation.override("en"):
            assert format_number(Decimal("2.50")) == "2.5"
            assert format_number(Decimal("7.000")) == "7"
            assert format_number(1 / 3) == "0.33"
            assert format_number(Decimal("0.005")) == "0.01"

    def test_french_chart_labels_and_table_but_coordinates_stay_dotted(self):
        chart = bar_chart([Decimal("1234.5"), Decimal("0.5")], ["Janv.", "Févr."], kind="bar")

        with translation.override("fr"):
            layout = chart_layout(chart)
            html = render(chart)

        assert layout.rows[0].cells == ("1\xa0234,5",)
        assert [t.label.text for t in layout.ticks][-1] == "1\xa0250"
        assert '<td class="number">1\xa0234,5</td>' in html
        assert ">1\xa0234,5</text>" in html
        svg = svg_of(html)
        for element in svg.iter():
            if element is svg:
                continue  # width="100%": it scales to its container
            for name in ("x", "y", "width", "height", "x1", "y1", "x2", "y2"):
                if name in element.attrib:
                    float(element.attrib[name])  # "12,5" would fail


class TestRenderedChart:
    def test_the_svg_is_labelled_by_its_title_and_description(self):
        html = render(bar_chart([1, 2, 3], ["a", "b", "c"]))

        svg = svg_of(html)
        assert svg.get("role") == "img"
        title = svg.find(f"{SVG}title")
        desc = svg.find(f"{SVG}desc")
        assert title.text == "Participants per month"
        assert desc.text == "Participation rose all year."
        assert svg.get("aria-labelledby").split() == [title.get("id"), desc.get("id")]
        assert html.count(f'id="{title.get("id")}"') == 1
        assert svg.get("viewBox") == "0 0 640 320"

    def test_no_script_no_external_reference_no_style(self):
        chart = bar_chart([1, 2], ["a", "b"], series=[Series("A", [1, 2]), Series("B", [2, 1])])

        html = render(chart)

        assert "<script" not in html.lower()
        assert "javascript:" not in html.lower()
        assert "style=" not in html  # the Content-Security-Policy allows no inline style
        assert re.findall(r'(?:href|src)="', html) == []
        fills = set(re.findall(r'fill="url\(#([^)]+)\)"', html))
        assert fills
        assert all(f'<pattern id="{fill}"' in html for fill in fills)

    def test_the_table_holds_every_value_with_its_category(self):
        values = [120, 180, 240, 260, 300, 420, 380, 390, 610, 800, 1100, 1310]
        chart = bar_chart(values, MONTHS, category_label="Month")

        with translation.override("en"):
            html = render(chart)

        match = re.search(r"<table.*?</table>", html, re.DOTALL)
        assert match
        table = match.group(0)
        assert "<caption>Participants per month</caption>" in table
        assert '<th scope="col">Month</th>' in table
        assert '<th scope="col" class="number">Participants (people)</th>' in table
        rows = re.findall(r'<tr><th scope="row">([^<]+)</th><td class="number">([^<]+)</td></tr>', table)
        assert rows == [(month, format_number(v)) for month, v in zip(MONTHS, values, strict=True)]

    def test_each_series_is_a_column_of_the_table(self):
        chart = bar_chart(
            [1, 2], ["a", "b"], unit="", series=[Series("2024", [1, 2]), Series("2025", [3, Decimal("4.5")])]
        )

        html = render(chart)

        assert '<th scope="col" class="number">2024</th><th scope="col" class="number">2025</th>' in html
        assert '<tr><th scope="row">b</th><td class="number">2</td><td class="number">4.5</td></tr>' in html

    def test_an_empty_chart_says_so_instead_of_drawing(self):
        with translation.override("en"):
            html = render(bar_chart([], []))

        assert "No data for this period" in html
        assert "Participants per month" in html
        assert "<svg" not in html
        assert "<table" not in html

    def test_the_dashboard_can_fold_the_table_in_details_and_it_stays_in_the_html(self):
        html = render(bar_chart([1, 2], ["a", "b"]), collapse_table="True")

        assert "<details" in html
        assert "<summary>" in html
        assert '<th scope="row">a</th>' in html

    @pytest.mark.parametrize("kind", ["bar", "line", "hbar"])
    def test_every_kind_renders_well_formed_svg(self, kind):
        chart = bar_chart(
            [1, 2, 3], ["a", "b", "c"], kind=kind, series=[Series("A", [1, 2, 3]), Series("B", [3, 2, 1])]
        )

        svg = svg_of(render(chart))

        assert svg.find(f"{SVG}title") is not None
        assert len(list(svg.iter(f"{SVG}text"))) >= 3

    def test_text_is_escaped(self):
        chart = bar_chart([1], ["<b>x</b>"], title="A & B <script>", description='"quoted"')

        html = render(chart)

        assert "<script>" not in html
        assert "<b>" not in html
        svg_of(html)  # still well-formed

    def test_the_palette_and_the_default_brand_colour_contrast_with_white(self):
        for colour in (BRAND, *PALETTE):
            assert contrast_with_white(colour) >= 4.5, colour
