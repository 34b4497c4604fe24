"""The monthly and weekly reviews: published snapshots rendered as HTML, a drill-down page and XLSX."""

from transforms.review.format import format_decimal, format_int, format_percent, month_title
from transforms.review.monthly import SMALL_SAMPLE_ANSWERS, render_monthly_review

__all__ = [
    "SMALL_SAMPLE_ANSWERS",
    "format_decimal",
    "format_int",
    "format_percent",
    "month_title",
    "render_monthly_review",
]
