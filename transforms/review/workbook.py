"""The review as an XLSX workbook: one sheet per frozen table, the drill-through, the items, provenance.

Safe against formula injection: xlsxwriter never turns a string into a formula, a number or a URL
here, and every text is written with write_string, so a customer's "=HYPERLINK(...)" stays text.
"""

import json
import re
from collections.abc import Iterable
from datetime import date, datetime
from decimal import Decimal
from itertools import chain, islice
from pathlib import Path
from typing import Any

import xlsxwriter

from transforms.review.format import label
from transforms.review.items import shown_counts
from transforms.review.restatement import restatement_view
from transforms.review.snapshot import Snapshot

SAFE_OPTIONS = {"strings_to_formulas": False, "strings_to_numbers": False, "strings_to_urls": False}
# Rows go to disk as they are written (rows are written in order): memory stays flat for a big month.
WORKBOOK_OPTIONS = {**SAFE_OPTIONS, "constant_memory": True}
# Excel's limit: 1,048,576 rows a sheet, the header included. A longer table goes on over more sheets.
EXCEL_MAX_ROWS = 1_048_576
_SHEET_FORBIDDEN = re.compile(r"[\[\]:*?/\\]")
ITEM_COLUMNS = {
    "feedback": ("feedback_id", "received_local", "channel_id", "directorate_id", "feedback_type_id",
                 "feedback_type_label", "kind", "question_type", "score_raw", "score_scale", "body_text"),
    "sla_clock": ("case_id", "sla_policy_id", "sla_state", "directorate_id", "manager_id", "started_local",
                  "due_local", "achieved_local", "feedback_id", "body_text"),
}  # fmt: skip
ITEM_SHEETS = {"feedback": "Элементы", "sla_clock": "Элементы SLA"}


def sheet_name(table: str, used: set[str]) -> str:
    """The table's name without its schema, at most 31 characters, unique in the workbook."""
    base = _SHEET_FORBIDDEN.sub("_", table.split(".", 1)[-1])[:31]
    name, n = base, 2
    while name.lower() in used:
        suffix = f"~{n}"
        name, n = base[: 31 - len(suffix)] + suffix, n + 1
    used.add(name.lower())
    return name


class _Writer:
    def __init__(self, book: xlsxwriter.Workbook) -> None:
        self.header = book.add_format({"bold": True, "text_wrap": True, "valign": "top"})
        self.date = book.add_format({"num_format": "dd.mm.yyyy"})
        self.datetime = book.add_format({"num_format": "dd.mm.yyyy hh:mm"})

    def cell(self, sheet: Any, row: int, col: int, value: Any) -> None:
        if type(value) is str:  # most cells: test it first
            sheet.write_string(row, col, value)
        elif value is None:
            sheet.write_blank(row, col, None)
        elif isinstance(value, bool):
            sheet.write_boolean(row, col, value)
        elif isinstance(value, int | float | Decimal):
            sheet.write_number(row, col, float(value) if isinstance(value, Decimal) else value)
        elif isinstance(value, datetime):
            sheet.write_datetime(row, col, value.replace(tzinfo=None), self.datetime)
        elif isinstance(value, date):
            sheet.write_datetime(row, col, datetime.combine(value, datetime.min.time()), self.date)
        else:
            sheet.write_string(row, col, value if isinstance(value, str) else json.dumps(value, ensure_ascii=False))

    def table(self, sheet: Any, columns: list[str], rows: Iterable[list[Any]], *, labels: bool = True) -> int:
        """Write the header and ``rows``; the number of rows written."""
        for col, name in enumerate(columns):
            sheet.write_string(0, col, label(name) if labels else name, self.header)
            sheet.set_column(col, col, 16 if name != "body_text" else 60)
        written = 0
        for written, values in enumerate(rows, start=1):
            for col, value in enumerate(values):
                self.cell(sheet, written, col, value)
        sheet.freeze_panes(1, 0)
        return written

    def tables(
        self,
        book: xlsxwriter.Workbook,
        name: str,
        used: set[str],
        columns: list[str],
        rows: Iterable[list[Any]],
        *,
        labels: bool = True,
        autofilter: bool = False,
        rows_per_sheet: int = EXCEL_MAX_ROWS - 1,
    ) -> list[str]:
        """``rows`` under one header on sheet ``name``, going on to «name (2)», … past ``rows_per_sheet``
        (xlsxwriter would otherwise drop the rows past Excel's limit without a word); the sheet names.
        The rows are read once, as they are written (the items of a big month come page by page)."""
        names: list[str] = []
        rest = iter(rows)
        while True:
            sheet = book.add_worksheet(sheet_name(name if not names else f"{name} ({len(names) + 1})", used))
            written = self.table(sheet, columns, islice(rest, rows_per_sheet), labels=labels)
            if autofilter:  # a big figure's items: filter here
                sheet.autofilter(0, 0, max(written, 1), len(columns) - 1)
            names.append(sheet.name)
            following = next(rest, None) if written == rows_per_sheet else None
            if following is None:
                return names
            rest = chain([following], rest)


def _figure_rows(snapshot: Snapshot, anchors: set[str] | None, per_figure: int | None) -> list[list[Any]]:
    """Figure → item rows; a figure with more than ``per_figure`` items gets one row saying where they are."""
    counts = shown_counts(snapshot, anchors)
    big = {} if per_figure is None else {f: n for f, n in counts.items() if n > per_figure}
    rows = [list(r) for r in snapshot.drill.pairs([f for f in counts if f not in big]).iter_rows()] if counts else []
    for figure, count in sorted(big.items()):
        kind = snapshot.drill.kind_of(figure)
        sheet = ITEM_SHEETS.get(kind, "Элементы")
        rows.append([figure, kind, f"{count} элементов: отфильтруйте лист «{sheet}» по строке показателя"])
    return rows


def write_workbook(
    snapshot: Snapshot,
    path: Path,
    *,
    title: str,
    sources: dict[str, str],
    anchors: set[str] | None = None,
    per_figure: int | None = None,
    rows_per_sheet: int = EXCEL_MAX_ROWS - 1,
) -> Path:
    """Write ``path``: «Обзор», a sheet per table, «Пересчёт» (version > 1), «Показатели» (figure → items),
    «Элементы» and «Элементы SLA»."""
    used: set[str] = set()
    with xlsxwriter.Workbook(str(path), WORKBOOK_OPTIONS) as book:
        # The file's creation stamp is the publication time, so re-rendering a frozen version
        # writes the same bytes (xlsxwriter would stamp the current time).
        book.set_properties({"created": snapshot.published_at.replace(tzinfo=None)})
        out = _Writer(book)
        about = book.add_worksheet(sheet_name("Обзор", used))
        out.table(about, ["Поле", "Значение"], [["Обзор", title], *[[k, v] for k, v in sources.items()]], labels=False)
        about.set_column(1, 1, 90)
        for frozen in snapshot.tables.values():
            out.tables(book, frozen.name, used, frozen.frame.columns, [list(r) for r in frozen.frame.iter_rows()])
        view = restatement_view(snapshot.restatement)
        if view is not None:
            sheet = book.add_worksheet(sheet_name("Пересчёт", used))
            rows = [[c["table"], c["row"], c["figure"], c["old"], c["new"]] for c in view["changes"]]
            rows += [
                ["новые входные данные", b["batch_id"], b["source_file"], "", b["loaded_at"]]
                for b in view["new_batches"]
            ]
            rows += [["изменена конфигурация", name, "", "", ""] for name in view["config_changes"]]
            out.table(sheet, ["Таблица", "Строка", "Показатель", "Было", "Стало"], rows, labels=False)
        figure_rows = _figure_rows(snapshot, anchors, per_figure)
        columns = ["figure_id", "item_kind", "item_id"]
        out.tables(book, "Показатели", used, columns, figure_rows, labels=False, rows_per_sheet=rows_per_sheet)
        for kind, columns in ITEM_COLUMNS.items():
            rows = snapshot.drill.rows(kind, columns)
            out.tables(
                book, ITEM_SHEETS[kind], used, list(columns), rows, autofilter=True, rows_per_sheet=rows_per_sheet
            )
    return path
