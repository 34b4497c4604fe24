"""Charts as inline SVG, drawn offline: altair (Vega-Lite) rendered by vl-convert, no scripts."""

import re
from datetime import date

import altair as alt
import polars as pl
import vl_convert

# Inline SVG inside HTML needs no namespace declarations; dropping them keeps the page free of any URL.
_NAMESPACES = re.compile(r'\s+xmlns(:\w+)?="[^"]*"')
INK, ACCENT = "#1f2933", "#2f6fb0"


def month_label(month: date) -> str:
    return f"{month:%m.%Y}"


def trend_svg(points: list[tuple[date, float | None]], *, title: str, y_title: str, width: int = 300) -> str:
    """A line of one figure over months (None: no data that month, drawn as a gap)."""
    frame = pl.DataFrame(
        {"month": [month_label(m) for m, _ in points], "value": [v for _, v in points]},
        schema={"month": pl.String, "value": pl.Float64},
    )
    order = frame["month"].to_list()
    base = alt.Chart(frame.to_pandas()).encode(
        x=alt.X("month:O", sort=order, title=None, axis=alt.Axis(labelAngle=-45)),
        y=alt.Y("value:Q", title=y_title),
    )
    chart = (
        (base.mark_line(color=ACCENT) + base.mark_point(color=ACCENT, filled=True, size=30))
        .properties(title=title, width=width, height=140)
        .configure_view(stroke=None)
        .configure_axis(labelColor=INK, titleColor=INK, labelFont="Arial", titleFont="Arial")
        .configure_title(font="Arial", fontSize=13, color=INK, anchor="start")
    )
    return inline_svg(vl_convert.vegalite_to_svg(chart.to_json()))


def inline_svg(svg: str) -> str:
    return _NAMESPACES.sub("", svg, count=2)
