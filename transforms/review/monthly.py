"""The monthly management review: one self-contained Russian HTML page from marts.management_monthly.

Pure rendering: the caller reads the mart and writes the file. The page makes no external
requests (inline CSS, inline SVG, no scripts), so it can be mailed or archived as evidence.
"""

from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any

import jinja2
import polars as pl

TEMPLATES_DIR = Path(__file__).with_name("templates")

# Mirrors `is_nps_small_sample` in transforms/sql/marts/management_monthly.sql (a test holds both).
NPS_SMALL_SAMPLE_ANSWERS = 30

COMPANY_DIRECTORATE_ID = "all"
MISSING_DIRECTORATE_ID = "unassigned"

MONTHS_NOMINATIVE = (
    "январь", "февраль", "март", "апрель", "май", "июнь",
    "июль", "август", "сентябрь", "октябрь", "ноябрь", "декабрь",
)  # fmt: skip

NBSP = "\u00a0"
MINUS = "\u2212"
DASH = "—"

# Chart geometry (px): name column, then the complaints panel, then the NPS panel (−100…100).
_NAME_WIDTH, _PANEL_WIDTH, _GAP, _ROW_HEIGHT, _TOP = 230, 230, 40, 28, 34


def _group(digits: str) -> str:
    return f"{int(digits):,}".replace(",", NBSP)


def format_int(value: int | None) -> str:
    """1234567 → '1 234 567' (non-breaking spaces); negatives with a minus sign."""
    if value is None:
        return DASH
    return f"{MINUS if value < 0 else ''}{_group(str(abs(value)))}"


def format_decimal(value: float | None, digits: int = 1) -> str:
    """41.25 → '41,3' (half up, as people round); -12.5 → '−12,5'; 1234.5 → '1 234,5'."""
    if value is None:
        return DASH
    rounded = Decimal(repr(value)).quantize(Decimal(1).scaleb(-digits), rounding=ROUND_HALF_UP)
    whole, _, fraction = f"{abs(rounded):f}".partition(".")
    text = _group(whole) + (f",{fraction}" if fraction else "")
    return f"{MINUS}{text}" if rounded < 0 else text


def format_percent(rate: float | None, digits: int = 1) -> str:
    """A 0–1 rate as '92,5 %'."""
    return DASH if rate is None else f"{format_decimal(rate * 100, digits)}{NBSP}%"


def month_title(month: date) -> str:
    return f"{MONTHS_NOMINATIVE[month.month - 1]} {month.year}"


def _environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES_DIR),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(int=format_int, dec=format_decimal, pct=format_percent)
    return env


def _has_activity(row: dict[str, Any]) -> bool:
    cases = row["sla_close_24h_measured_count"] + row["sla_first_contact_1h_measured_count"]
    return bool(row["items_count"] or cases or row["orders_count"])


def _split_rows(mart: pl.DataFrame, month: date) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    rows = mart.filter(pl.col("report_month") == month).to_dicts()
    company = [r for r in rows if r["directorate_id"] == COMPANY_DIRECTORATE_ID]
    if not company:
        raise ValueError(f"the mart has no company row ('{COMPANY_DIRECTORATE_ID}') for {month:%Y-%m}")
    directorates = sorted(
        (
            r
            for r in rows
            if r["directorate_id"] != COMPANY_DIRECTORATE_ID
            # The missing member is shown only when something landed there: then it is a to-do.
            and (r["directorate_id"] != MISSING_DIRECTORATE_ID or _has_activity(r))
        ),
        key=lambda r: (r["directorate_id"] == MISSING_DIRECTORATE_ID, r["directorate_name"]),
    )
    return company[0], directorates


def _chart(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Bar geometry for the inline SVG: complaints (count) and NPS (−100…100) per directorate."""
    most = max((r["complaints_count"] for r in rows), default=0) or 1
    complaints_x = _NAME_WIDTH
    nps_zero = _NAME_WIDTH + _PANEL_WIDTH + _GAP + _PANEL_WIDTH / 2
    bars = []
    for i, row in enumerate(rows):
        nps = row["nps"]
        nps_len = 0.0 if nps is None else abs(nps) / 100 * _PANEL_WIDTH / 2
        bars.append(
            {
                "name": row["directorate_name"],
                "y": _TOP + i * _ROW_HEIGHT,
                "complaints_width": round(row["complaints_count"] / most * (_PANEL_WIDTH - 50), 1),
                "complaints_label": format_int(row["complaints_count"]),
                "nps_x": round(nps_zero - nps_len if (nps or 0) < 0 else nps_zero, 1),
                "nps_width": round(nps_len, 1),
                "nps_label": DASH if nps is None else format_decimal(nps),
                "nps_label_x": round(nps_zero + (8 if (nps or 0) < 0 else -8), 1),
                "nps_label_anchor": "start" if (nps or 0) < 0 else "end",
                "is_small_sample": row["is_nps_small_sample"] and nps is not None,
            }
        )
    return {
        "bars": bars,
        "width": _NAME_WIDTH + 2 * _PANEL_WIDTH + _GAP + 10,
        "height": _TOP + len(rows) * _ROW_HEIGHT + 10,
        "row_height": _ROW_HEIGHT,
        "complaints_x": complaints_x,
        "nps_x0": nps_zero - _PANEL_WIDTH / 2,
        "nps_zero": nps_zero,
        "panel_width": _PANEL_WIDTH,
    }


def render_monthly_review(
    mart: pl.DataFrame,
    *,
    month: date,
    company_name: str,
    generated_at: datetime,
    sources: dict[str, str],
) -> str:
    """Render the review of ``month`` (its first day) from marts.management_monthly rows.

    Args:
        mart: rows of marts.management_monthly; other months are ignored.
        month: the first day of the reported month.
        company_name: shown under the title.
        generated_at: when the page was made (shown in the footer with its timezone).
        sources: provenance shown in the footer, e.g. the warehouse path and the build run id.

    Returns:
        The page as one HTML string.

    Raises:
        ValueError: the mart has no company row for ``month``.
    """
    company, directorates = _split_rows(mart, month.replace(day=1))
    template = _environment().get_template("monthly.html.j2")
    return template.render(
        title=f"Ежемесячный обзор обратной связи — {month_title(month)}",
        company_name=company_name,
        company=company,
        directorates=directorates,
        chart=_chart(directorates),
        small_sample_answers=NPS_SMALL_SAMPLE_ANSWERS,
        generated_at=f"{generated_at:%d.%m.%Y %H:%M} {generated_at.tzname() or ''}".strip(),
        sources=sources,
    )
