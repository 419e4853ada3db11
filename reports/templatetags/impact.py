"""Figures in pages: `{{ value|number }}`, `{{ value|number:1 }}`, and the participation gauge.

    {% load impact %}
    {{ row.co2e_avoided_kg|number:1 }}            {# "1,234.5" / "1 234,5"; "—" for none #}
    {% participation_gauge report.participation brand_color %}

Numbers follow the active language, as the charts' do (reports.charts.format_number).
"""

import math
from decimal import Decimal
from typing import Any

from django import template

from reports.charts import DEFAULT_BRAND_COLOR
from reports.selectors import Participation, number

register = template.Library()

GAUGE_WIDTH, GAUGE_LEFT, GAUGE_RIGHT = 640, 12, 628


@register.filter(name="number")
def number_filter(value: Decimal | int | None, decimals: int | None = None) -> str:
    return number(value, None if decimals in (None, "") else int(decimals))


@register.inclusion_tag("reports/_gauge.svg", name="participation_gauge")
def participation_gauge(
    participation: Participation, brand_color: str = DEFAULT_BRAND_COLOR
) -> dict[str, Any]:
    """A scale from 0 with the published range shaded and the organisation's rate marked on it."""
    benchmark = participation.benchmark
    if benchmark is None or participation.rate is None:
        return {"shown": False}
    rate = float(participation.rate)
    top = max(50, math.ceil(max(rate, float(benchmark.high)) / 10) * 10)

    def x(value: float) -> float:
        return round(GAUGE_LEFT + (GAUGE_RIGHT - GAUGE_LEFT) * min(value, top) / top, 1)

    return {
        "shown": True,
        "brand_color": brand_color or DEFAULT_BRAND_COLOR,
        "sentence": benchmark.sentence,
        "width": GAUGE_WIDTH,
        "left": GAUGE_LEFT,
        "right": GAUGE_RIGHT,
        "low_x": x(float(benchmark.low)),
        "high_x": x(float(benchmark.high)),
        "range_width": round(x(float(benchmark.high)) - x(float(benchmark.low)), 1),
        "range_middle": max(round((x(float(benchmark.low)) + x(float(benchmark.high))) / 2, 1), 110),
        "rate_x": x(rate),
        "rate_label": f"{number(participation.rate, 1)} %",
        "range_label": f"{number(benchmark.low)}–{number(benchmark.high)} %",
        "ticks": [{"x": x(value)} for value in range(0, top + 1, 10)],
        "first_tick": "0 %",
        "last_tick": f"{top} %",
        "track_width": GAUGE_RIGHT - GAUGE_LEFT,
        "rate_label_x": min(max(x(rate), GAUGE_LEFT + 30), GAUGE_RIGHT - 30),
    }
