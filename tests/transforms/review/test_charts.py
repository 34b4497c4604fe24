"""Trend charts drawn as inline SVG (transforms/review/charts.py)."""

import re
from datetime import date
from xml.etree import ElementTree

from transforms.review.charts import _ticks, trend_svg

MONTHS = [date(2025, 10, 1), date(2025, 11, 1), date(2025, 12, 1), date(2026, 1, 1)]


def test_a_month_without_data_is_a_gap_in_the_line() -> None:
    svg = trend_svg(list(zip(MONTHS, [10.0, None, 30.0, 40.0], strict=True)), title="NPS", y_title="−100…100")
    ElementTree.fromstring(svg)  # well-formed
    assert svg.count("<polyline") == 1  # 10 stands alone; 30 → 40 is one line
    assert svg.count("<circle") == 3
    assert all(m.strftime("%m.%Y") in svg for m in MONTHS)


def test_ticks_are_round_and_cover_the_values() -> None:
    assert _ticks(0, 37) == [0, 10, 20, 30, 40]
    assert _ticks(-12.5, 41.0)[0] <= -12.5 and _ticks(-12.5, 41.0)[-1] >= 41.0
    assert _ticks(0, 0) == [0, 0.25, 0.5, 0.75, 1.0]  # a flat line at 0 still gets an axis


def test_points_are_placed_by_value_and_the_title_is_escaped() -> None:
    svg = trend_svg(list(zip(MONTHS, [0.0, 50.0, 100.0, 100.0], strict=True)), title="<b>Жалобы</b>", y_title="шт.")
    assert "&lt;b&gt;Жалобы&lt;/b&gt;" in svg and "<b>" not in svg
    ys = [float(v) for v in re.findall(r'cy="([\d.]+)"', svg)]
    assert ys[0] > ys[1] > ys[2] == ys[3]  # higher value, higher on the page
    assert trend_svg(list(zip(MONTHS, [0.0, 50.0, 100.0, 100.0], strict=True)), title="a", y_title="b") == trend_svg(
        list(zip(MONTHS, [0.0, 50.0, 100.0, 100.0], strict=True)), title="a", y_title="b"
    )


def test_no_data_at_all_draws_axes_only() -> None:
    svg = trend_svg([(m, None) for m in MONTHS], title="CSAT", y_title="%")
    ElementTree.fromstring(svg)
    assert "<polyline" not in svg and "<circle" not in svg
