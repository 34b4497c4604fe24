"""The reviewers' workbook (XLSX) of one month's sample.

Every value is written as what it is, never as something Excel would evaluate: texts go through
``write_string`` and the workbook is opened with ``strings_to_formulas`` off, so a customer who
typed ``=HYPERLINK(...)`` or ``+7 (999)...`` into a complaint shows up as that text, not as a formula
(formula injection). The verdict column offers pass / fail from a drop-down list, and clarity_score
(the closing comment's clarity, optional) takes a whole number 1–5.
"""

from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import polars as pl
import xlsxwriter

# (column, header width); the import reads case_id and verdict, clarity_score, reviewer and comment if present.
COLUMNS = (
    ("sample_month", 12),
    ("case_id", 18),
    ("sample_reason", 16),
    ("directorate_id", 16),
    ("department_id", 16),
    ("manager_id", 14),
    ("opened_at", 17),
    ("closed_at", 17),
    ("channel_id", 20),
    ("kind", 12),
    ("body_text", 60),
    ("verdict", 10),
    ("clarity_score", 13),
    ("reviewer", 18),
    ("comment", 40),
)
REVIEWER_COLUMNS = ("verdict", "clarity_score", "reviewer", "comment")


def _text(value: object, zone: ZoneInfo) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.astimezone(zone).strftime("%Y-%m-%d %H:%M")
    if hasattr(value, "strftime"):
        return value.strftime("%Y-%m")
    return str(value)


def write_sample_workbook(sample: pl.DataFrame, path: Path, *, timezone: str) -> Path:
    """Write ``sample`` (one row per sampled case, ``COLUMNS`` but the reviewer's) to ``path``."""
    zone = ZoneInfo(timezone)
    path.parent.mkdir(parents=True, exist_ok=True)
    workbook = xlsxwriter.Workbook(
        str(path), {"strings_to_formulas": False, "strings_to_numbers": False, "strings_to_urls": False}
    )
    try:
        sheet = workbook.add_worksheet("sample")
        header = workbook.add_format({"bold": True, "bg_color": "#DDEBF7"})
        wrap = workbook.add_format({"text_wrap": True, "valign": "top"})
        for col, (name, width) in enumerate(COLUMNS):
            sheet.write_string(0, col, name, header)
            sheet.set_column(col, col, width, wrap if name in ("body_text", "comment") else None)
        for row, record in enumerate(sample.iter_rows(named=True), start=1):
            for col, (name, _) in enumerate(COLUMNS):
                if name not in REVIEWER_COLUMNS:
                    sheet.write_string(row, col, _text(record.get(name), zone))
        names = [name for name, _ in COLUMNS]
        verdict_col, clarity_col = names.index("verdict"), names.index("clarity_score")
        last_row = max(sample.height, 1)
        sheet.data_validation(1, verdict_col, last_row, verdict_col, {"validate": "list", "source": ["pass", "fail"]})
        sheet.data_validation(
            1,
            clarity_col,
            last_row,
            clarity_col,
            {
                "validate": "integer",
                "criteria": "between",
                "minimum": 1,
                "maximum": 5,
                "input_title": "clarity_score",
                "input_message": "Ясность комментария при закрытии: 1 (непонятно) … 5 (ясно); можно оставить пустым",
            },
        )
        sheet.freeze_panes(1, 2)
        sheet.autofilter(0, 0, last_row, len(COLUMNS) - 1)
    finally:
        workbook.close()
    return path
