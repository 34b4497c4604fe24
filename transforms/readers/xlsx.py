"""Excel workbooks (.xlsx, also .xls/.ods via calamine): the first sheet or ``reader.sheet``.

The first row is the header. Every cell becomes text as a person would read it: whole numbers
without ".0" ("123"), other numbers as written ("4.5"), date cells as ISO ("2026-10-05", or
"2026-10-05T14:03:27" when the cell has a time), text as typed. A column that mixes real date
cells with dates typed as text (a store's complaint book) therefore reaches the normalizer as
ISO or as the typed text, and the normalizer accepts both. Empty rows are skipped.
"""

import fastexcel
import polars as pl

from transforms.channels.registry import ReaderOptions
from transforms.readers.base import ReadResult, UnreadableFile

_MIDNIGHT = r"^(\d{4}-\d{2}-\d{2}) 00:00:00(?:\.0+)?$"
_DATETIME = r"^(\d{4}-\d{2}-\d{2}) (\d{2}:\d{2}:\d{2}(?:\.\d+)?)$"


def read(data: bytes, options: ReaderOptions) -> ReadResult:
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
    records = frame.to_dicts()
    return ReadResult(records=records, record_indexes=list(range(len(records))))


def _renames_cleanly(frame: pl.DataFrame) -> bool:
    stripped = [name.strip() for name in frame.columns]
    return len(set(stripped)) == len(stripped)
