"""Trend charts as inline SVG, drawn here: a line of one figure over the review's months.

Written by hand rather than through altair and vl-convert (which drew them until the review got a year
of history): a monthly review draws 4 charts for the company and 2 per directorate, and each went
through Vega-Lite's JSON-schema validation and a JavaScript engine, 0.4–0.6 s a chart, 7–11 s of the
demo's 60 s budget. A line with its axis labels is a few dozen SVG elements; this takes milliseconds,
needs no script and no font metrics, and gives the same bytes for the same numbers.
"""

from datetime import date
from math import floor, log10

from markupsafe import escape

INK, ACCENT, GRID, MUTED = "#1f2933", "#2f6fb0", "#d9e2ec", "#616e7c"
FONT = "Arial, sans-serif"


def month_label(month: date) -> str:
    return f"{month:%m.%Y}"


def _ticks(low: float, high: float, count: int = 4) -> list[float]:
    """Round tick values covering [low, high] (1, 2, 2.5 or 5 times a power of ten apart)."""
    if high == low:
        high, low = high + 1, low - 1 if low != 0 else 0
    raw = (high - low) / count
    magnitude = 10 ** floor(log10(raw))
    step = next(m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= raw)
    first = floor(low / step) * step
    ticks = []
    value = first
    while value < high + step * 0.999:
        ticks.append(round(value, 10))
        value += step
    return ticks


def _number(value: float) -> str:
    text = f"{value:,.10g}".replace(",", "\u00a0").replace(".", ",")
    return text.replace("-", "\u2212")


def trend_svg(points: list[tuple[date, float | None]], *, title: str, y_title: str, width: int = 300) -> str:
    """A line of one figure over months (None: no data that month, drawn as a gap), with its title,
    a y axis of round ticks and the months under the x axis."""
    height, left, right, top, bottom = 200, 44, 8, 26, 44
    plot_w, plot_h = width - left - right, height - top - bottom
    values = [v for _, v in points if v is not None]
    ticks = _ticks(min([*values, 0.0]), max([*values, 0.0])) if values else [0.0, 1.0]
    low, high = ticks[0], ticks[-1]
    span = (high - low) or 1.0
    step_x = plot_w / max(len(points) - 1, 1)

    def x(i: int) -> float:
        return round(left + i * step_x, 1)

    def y(v: float) -> float:
        return round(top + plot_h - (v - low) / span * plot_h, 1)

    parts = [
        f'<svg class="trend" width="{width}" height="{height}" viewBox="0 0 {width} {height}" role="img"'
        f' aria-label="{escape(title)}" font-family="{FONT}">',
        f'<text x="0" y="14" font-size="13" font-weight="600" fill="{INK}">{escape(title)}</text>',
        f'<text x="{width - right}" y="14" font-size="10" fill="{MUTED}" text-anchor="end">{escape(y_title)}</text>',
    ]
    for tick in ticks:
        parts.append(
            f'<line x1="{left}" x2="{width - right}" y1="{y(tick)}" y2="{y(tick)}" stroke="{GRID}" stroke-width="1"/>'
        )
        parts.append(
            f'<text x="{left - 4}" y="{y(tick) + 3}" font-size="9" fill="{MUTED}" text-anchor="end">'
            f"{_number(tick)}</text>"
        )
    for i, (month, _) in enumerate(points):
        parts.append(
            f'<text x="{x(i)}" y="{top + plot_h + 10}" font-size="8" fill="{MUTED}" text-anchor="end"'
            f' transform="rotate(-45 {x(i)} {top + plot_h + 10})">{month_label(month)}</text>'
        )
    segment: list[str] = []
    segments: list[list[str]] = []
    for i, (_, value) in enumerate(points):
        if value is None:
            if segment:
                segments.append(segment)
            segment = []
            continue
        segment.append(f"{x(i)},{y(value)}")
    if segment:
        segments.append(segment)
    for run in segments:
        if len(run) > 1:
            parts.append(f'<polyline points="{" ".join(run)}" fill="none" stroke="{ACCENT}" stroke-width="2"/>')
    for i, (month, value) in enumerate(points):
        if value is not None:
            parts.append(
                f'<circle cx="{x(i)}" cy="{y(value)}" r="2.5" fill="{ACCENT}">'
                f"<title>{month_label(month)}: {_number(round(value, 1))}</title></circle>"
            )
    parts.append("</svg>")
    return "".join(parts)
