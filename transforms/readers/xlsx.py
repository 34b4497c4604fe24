"""Excel workbooks (.xlsx, also .xls/.ods via calamine): the first sheet or ``reader.sheet``.

The first row is the header. Every cell becomes text as a person would read it: whole numbers
without ".0" ("123"), other numbers as written ("4.5"), date cells as ISO ("2026-10-05", or
"2026-10-05T14:03:27" when the cell has a time), text as typed. A column that mixes real date
cells with dates typed as text (a store's complaint book) therefore reaches the normalizer as
ISO or as the typed text, and the normalizer accepts both. Empty rows are skipped.

A workbook is checked before it is loaded (``transforms.readers.container``: size, deflate bombs,
DTDs, a sheet spanning more than ``reader.max_cells`` cells), then read by calamine in the child
process of ``transforms.readers.guard``, with its memory and time limits: a workbook that still
crashes or exhausts the reader is quarantined, and this process goes on. A row over
``reader.max_record_bytes`` is a ``record_too_large`` RecordError.
"""

from typing import Any

import fastexcel
import polars as pl

from transforms.channels.registry import ReaderOptions
from transforms.readers import guard
from transforms.readers.base import (
    ReadResult,
    UnreadableFile,
    record_bytes,
    record_preview,
    result_from_json,
    result_to_json,
    too_large,
)
from transforms.readers.container import check_workbook

_MIDNIGHT = r"^(\d{4}-\d{2}-\d{2}) 00:00:00(?:\.0+)?$"
_DATETIME = r"^(\d{4}-\d{2}-\d{2}) (\d{2}:\d{2}:\d{2}(?:\.\d+)?)$"


def read(data: bytes, options: ReaderOptions) -> ReadResult:
    """Check the workbook here, read it in the reader child process."""
    try:
        check_workbook(data, options.max_cells)
    except UnreadableFile:
        raise
    except Exception as exc:  # a container the checks did not foresee: refused, never loaded
        raise UnreadableFile("broken_xlsx", f"the workbook's container cannot be checked: {exc}") from exc
    answer = guard.run_in_child("transforms.readers.xlsx:read_in_child", data, options.model_dump(mode="json"))
    return result_from_json(answer)


def read_in_child(data: bytes, options: dict[str, Any]) -> dict[str, Any]:
    """``read_in_process`` as JSON values: what the child process runs."""
    return result_to_json(read_in_process(data, ReaderOptions.model_validate(options)))


def read_in_process(data: bytes, options: ReaderOptions) -> ReadResult:
    """Load the workbook with calamine, in this process: only ever in the reader child process."""
    try:
        workbook = fastexcel.read_excel(data)
    except Exception as exc:  # calamine raises its own error types for every kind of damage
        raise UnreadableFile("broken_xlsx", f"not a readable workbook: {exc}") from exc
    names = workbook.sheet_names
    if not names:
        raise UnreadableFile("missing_sheet", "the workbook has no sheets")
    if options.sheet is not None and options.sheet not in names:
        raise UnreadableFile("missing_sheet", f"no sheet {options.sheet!r}; sheets: {names}")
    try:
        sheet = workbook.load_sheet(options.sheet or 0, dtypes="string")
        frame = sheet.to_polars()
    except Exception as exc:
        raise UnreadableFile("broken_xlsx", f"sheet {options.sheet or names[0]!r} cannot be read: {exc}") from exc
    frame = frame.rename({name: name.strip() for name in frame.columns}) if _renames_cleanly(frame) else frame
    text = pl.col(pl.String)
    frame = frame.with_columns(
        text.str.replace(_MIDNIGHT, "${1}").str.replace(_DATETIME, "${1}T${2}"),
    ).filter(~pl.all_horizontal(pl.all().is_null() | (pl.all().cast(pl.String).str.strip_chars() == "")))
    result = ReadResult()
    limit = options.max_record_bytes
    for index, record in enumerate(frame.to_dicts()):
        size = record_bytes(record, limit)
        if size > limit:
            result.errors.append(too_large(index, record_preview(record), size, limit, f"data row {index + 1}"))
        else:
            result.add(index, record)
    return result


def _renames_cleanly(frame: pl.DataFrame) -> bool:
    stripped = [name.strip() for name in frame.columns]
    return len(set(stripped)) == len(stripped)
