"""`{% chart chart brand_color %}`: a chart drawn in SVG with its data table beside it.

    {% load charts %}
    {% chart participation organization.brand_color %}
    {% chart participation organization.brand_color collapse_table=True %}  {# the dashboard #}

The table is always in the HTML (the text alternative); `collapse_table` folds it in a `<details>`.
Numbers follow the active language: activate it before rendering.
"""

from typing import Any

from django import template

from reports.charts import DEFAULT_BRAND_COLOR, Chart, chart_layout

register = template.Library()


@register.inclusion_tag("reports/charts/_chart.html", name="chart")
def chart_tag(
    chart: Chart, brand_color: str = DEFAULT_BRAND_COLOR, collapse_table: bool = False
) -> dict[str, Any]:
    return {
        "layout": chart_layout(chart, brand_color=brand_color or DEFAULT_BRAND_COLOR),
        "collapse_table": collapse_table,
    }
