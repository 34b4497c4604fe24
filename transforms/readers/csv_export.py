"""CSV exports: any delimiter, quoted fields holding delimiters and new lines, CRLF.

The stdlib ``csv`` module in strict mode reads the file (not polars: one malformed row must
become one RecordError, not a failed file). The first non-blank row is the header; names are
stripped of whitespace and a stray BOM. A record maps header → cell text. Blank rows and rows
of only empty cells are skipped; a row with more or fewer cells than the header is a RecordError
(a trailing empty cell left by a trailing delimiter is tolerated), and so is a row over
``reader.max_record_bytes`` (``record_too_large``): the csv module's own 128 KiB field cap is
lifted, so that a 10 MB field is read to its end and only its row is rejected. A rejected row keeps
only the masked start of its cells (``base.excerpt``), and its detail says which row and line.
A file that plainly is another format (XML, HTML, JSON, a workbook: ``transforms.readers.sniff``),
which the csv module would read as rows of nonsense, fails whole (``wrong_format``) saying so.
"""

import csv
import io
import re
from collections.abc import Iterator

from transforms.channels.registry import ReaderOptions
from transforms.readers.base import ReadResult, RecordError, UnreadableFile, excerpt, text_bytes, too_large
from transforms.readers.encoding import decode_text
from transforms.readers.sniff import wrong_format_bytes, wrong_format_text

SNIFF_DELIMITERS = ",;\t|"
SNIFF_SAMPLE_CHARS = 64 * 1024
# Fields are bounded by the file (reader.max_file_bytes) and rows by reader.max_record_bytes; the
# module-wide cap only ever rises, to the largest int the C parser takes.
_FIELD_SIZE_LIMIT = 2**31 - 1


def read(data: bytes, options: ReaderOptions) -> ReadResult:
    other = wrong_format_bytes(data, "CSV")
    if other:
        raise UnreadableFile("wrong_format", other)
    text = decode_text(data, options.encoding)
    other = wrong_format_text(text, "CSV")
    if other:
        raise UnreadableFile("wrong_format", other)
    delimiter = options.delimiter or sniff_delimiter(text)
    if len(delimiter) != 1:
        raise UnreadableFile("bad_delimiter", f"reader.delimiter must be one character, got {delimiter!r}")
    if csv.field_size_limit() < _FIELD_SIZE_LIMIT:
        csv.field_size_limit(_FIELD_SIZE_LIMIT)
    limit = options.max_record_bytes
    result = ReadResult()
    rows = _rows(text, delimiter)
    header: list[str] | None = None
    header_bytes = 0
    index = 0
    for row, error, line in rows:
        where = f"row {index + 1} (line {line})"
        if error is not None:
            if header is None:
                raise UnreadableFile("broken_csv", f"the header row cannot be parsed: {error}")
            result.errors.append(RecordError(index, excerpt(row_text(row, delimiter)), "broken_csv_row", error))
            index += 1
            continue
        if not any(cell.strip() for cell in row):
            continue
        if header is None:
            header = _header(row)
            header_bytes = sum(text_bytes(name) for name in header)
            continue
        size = header_bytes + sum(text_bytes(cell) for cell in row)
        cells = _fit(row, header)
        if size > limit:
            result.errors.append(too_large(index, row_text(row, delimiter), size, limit, where))
        elif cells is None:
            result.errors.append(
                RecordError(
                    index,
                    excerpt(row_text(row, delimiter)),
                    "wrong_cell_count",
                    f"{where}: {len(row)} cells where the header has {len(header)} (delimiter {delimiter!r})",
                )
            )
        else:
            result.add(index, dict(zip(header, cells, strict=True)))
        index += 1
    return result


def _rows(text: str, delimiter: str) -> Iterator[tuple[list[str], str | None, int]]:
    """Yield (cells, None, line) per row, or (what was read, error, line) for a row the csv module refused.

    ``line`` is the 1-based physical line the row starts on.
    """
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    physical_lines: list[str] = []
    while True:
        line = reader.line_num
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            if not physical_lines:
                physical_lines = re.split(r"\r\n|\r|\n", text)
            first_line = physical_lines[line] if line < len(physical_lines) else ""
            yield [first_line], f"line {line + 1}: {exc}", line + 1
            if reader.line_num == line:  # no progress: give up rather than loop
                return
            continue
        yield row, None, line + 1


def _header(row: list[str]) -> list[str]:
    names = [cell.strip().lstrip("\ufeff").strip() for cell in row]
    while names and not names[-1]:
        names.pop()  # "a;b;c;" leaves one empty trailing name
    seen: dict[str, int] = {}
    unique = []
    for position, name in enumerate(names, start=1):
        name = name or f"column_{position}"
        if name in seen:
            seen[name] += 1
            name = f"{name}_{seen[name]}"
        else:
            seen[name] = 1
        unique.append(name)
    return unique


def _fit(row: list[str], header: list[str]) -> list[str] | None:
    if len(row) == len(header):
        return row
    if len(row) > len(header) and not any(cell.strip() for cell in row[len(header) :]):
        return row[: len(header)]
    return None


def row_text(row: list[str], delimiter: str) -> str:
    return delimiter.join(row)


def sniff_delimiter(text: str) -> str:
    """The delimiter of the first lines: csv.Sniffer, else the commonest candidate in the header."""
    sample = text[:SNIFF_SAMPLE_CHARS]
    if len(text) > SNIFF_SAMPLE_CHARS and "\n" in sample:
        sample = sample[: sample.rindex("\n")]
    try:
        return csv.Sniffer().sniff(sample, delimiters=SNIFF_DELIMITERS).delimiter
    except csv.Error:
        pass
    first_line = next((line for line in sample.splitlines() if line.strip()), "")
    counts = {candidate: first_line.count(candidate) for candidate in SNIFF_DELIMITERS}
    best = max(counts, key=lambda candidate: counts[candidate])
    return best if counts[best] else ","
