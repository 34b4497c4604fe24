"""What every reader returns, and the two ways a file can fail.

A reader turns the bytes of one landed file into plain records (dicts of JSON-serialisable
values), exactly as the source said them: no renaming, no typing, no normalization. A file that
cannot be read at all raises ``UnreadableFile`` (the whole file goes to quarantine.files); a bad
record in an otherwise readable file becomes a ``RecordError`` (quarantine.records) and the
others still load.

Excerpts of bad records (``excerpt``) are masked like staged text (``transforms.privacy.mask_pii``:
phones, e-mail addresses, card numbers) before they are cut, because quarantine.records is not in
the ``restricted`` schema; the whole record stays in the archived file. Names cannot be told from
other words and stay as written.
"""

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from transforms.channels.registry import ReaderOptions
from transforms.privacy import mask_pii

EXCERPT_CHARS = 500  # quarantine.records.raw_excerpt keeps the first 500 characters


class UnreadableFile(Exception):
    """The whole file cannot be read; ``reason`` is a short machine code."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail


@dataclass(frozen=True)
class RecordError:
    """One bad record in an otherwise readable file."""

    record_index: int  # 0-based position among the file's records (same numbering as good records)
    raw_excerpt: str
    reason: str
    detail: str


@dataclass
class ReadResult:
    records: list[dict[str, Any]] = field(default_factory=list)
    errors: list[RecordError] = field(default_factory=list)
    attachments_count: int = 0  # e-mail attachments seen (and ignored) in the file
    filtered: int = 0  # records dropped by the channel's reader.record_filter (not feedback by rule)
    # Position of records[i] in the file, counted over good and bad records alike, so that a
    # record and an error never share an index. Empty means "records[i] is at position i".
    record_indexes: list[int] = field(default_factory=list)

    def indexed_records(self) -> list[tuple[int, dict[str, Any]]]:
        """(record_index, record) pairs: the index to store as ``_record_index``."""
        indexes = self.record_indexes or range(len(self.records))
        return list(zip(indexes, self.records, strict=True))

    def add(self, index: int, record: dict[str, Any]) -> None:
        self.records.append(record)
        self.record_indexes.append(index)


Reader = Callable[[bytes, ReaderOptions], ReadResult]


# Masking a window this much longer than the excerpt and cutting after it keeps a number or address
# that straddles the cut from being left half-masked inside the excerpt.
_MASK_MARGIN_CHARS = 64


def excerpt(text: str) -> str:
    """The first EXCERPT_CHARS characters of ``text`` with phones, e-mails and cards masked.

    The text is masked first and cut after, on a window large enough that whatever straddles the
    window's end lies past the cut: masking can shorten a text (a card of 19 characters becomes 7),
    so the window grows until its masked form is long enough.
    """
    window = EXCERPT_CHARS * 4
    while True:
        masked = mask_pii(text[:window])
        if window >= len(text) or len(masked) >= EXCERPT_CHARS + _MASK_MARGIN_CHARS:
            return masked[:EXCERPT_CHARS]
        window *= 2


def text_bytes(text: str) -> int:
    """UTF-8 length of ``text`` (what the warehouse stores)."""
    return len(text) if text.isascii() else len(text.encode("utf-8", "surrogatepass"))


def record_bytes(record: Any, limit: int) -> int:
    """UTF-8 size of a record's keys and values (numbers by their digits), counted until past ``limit``."""
    total = 0
    stack = [record]
    while stack and total <= limit:
        value = stack.pop()
        if isinstance(value, str):
            total += text_bytes(value)
        elif isinstance(value, dict):
            for key, item in value.items():
                total += text_bytes(str(key))
                stack.append(item)
        elif isinstance(value, list | tuple):
            stack.extend(value)
        elif value is not None:
            total += len(str(value))
    return total


def record_preview(record: Any, chars: int = EXCERPT_CHARS * 4) -> str:
    """The start of a record as ``key: value`` text, for the (masked) excerpt of a record too large to keep."""
    if not isinstance(record, dict):
        return str(record)[:chars]
    parts: list[str] = []
    used = 0
    for key, value in record.items():
        if used >= chars:
            break
        part = f"{key}: {value if isinstance(value, str) else str(value)[:chars]}"[: chars - used]
        parts.append(part)
        used += len(part) + 2
    return "; ".join(parts)


def too_large(index: int, preview: str, size: int, limit: int, where: str) -> RecordError:
    """The RecordError of a record over ``reader.max_record_bytes``; ``where`` says which (row 3, line 7)."""
    return RecordError(
        index,
        excerpt(preview),
        "record_too_large",
        f"{where}: {size:,} bytes, over reader.max_record_bytes {limit:,}; only its masked start is kept here",
    )


def limit_records(result: ReadResult, limit: int, what: str = "record") -> ReadResult:
    """``result`` with every record over ``limit`` bytes moved to its errors (``record_too_large``)."""
    kept = ReadResult(errors=list(result.errors), attachments_count=result.attachments_count, filtered=result.filtered)
    moved = False
    for index, record in result.indexed_records():
        size = record_bytes(record, limit)
        if size > limit:
            kept.errors.append(too_large(index, record_preview(record), size, limit, f"{what} {index + 1}"))
            moved = True
        else:
            kept.add(index, record)
    if not moved:
        return result
    kept.errors.sort(key=lambda error: error.record_index)
    return kept


def result_to_json(result: ReadResult) -> dict[str, Any]:
    """A ReadResult as JSON values (how a reader in a child process hands it back)."""
    return {
        "records": result.records,
        "record_indexes": result.record_indexes,
        "errors": [[e.record_index, e.raw_excerpt, e.reason, e.detail] for e in result.errors],
        "attachments_count": result.attachments_count,
        "filtered": result.filtered,
    }


def result_from_json(value: dict[str, Any]) -> ReadResult:
    return ReadResult(
        records=value["records"],
        errors=[RecordError(int(i), str(x), str(r), str(d)) for i, x, r, d in value["errors"]],
        attachments_count=int(value["attachments_count"]),
        record_indexes=[int(i) for i in value["record_indexes"]],
        filtered=int(value.get("filtered", 0)),
    )


def filter_records(result: ReadResult, record_filter: dict[str, str | list[str]]) -> ReadResult:
    """``result`` without the records that ``reader.record_filter`` rules out, counted in ``filtered``.

    A record is kept when the value at every dotted path of the filter is one of its values (text as
    the mapping reads it: numbers and booleans by their JSON text); a record without the path is
    dropped too. Kept records keep their positions in the file.
    """
    if not record_filter:
        return result
    wanted = {path: {values} if isinstance(values, str) else set(values) for path, values in record_filter.items()}
    kept = ReadResult(errors=result.errors, attachments_count=result.attachments_count, filtered=result.filtered)
    for index, record in result.indexed_records():
        if all(_text_at(record, path) in values for path, values in wanted.items()):
            kept.add(index, record)
        else:
            kept.filtered += 1
    return kept


def _text_at(record: dict[str, Any], path: str) -> str | None:
    value: Any = record
    for key in path.split("."):
        value = value.get(key) if isinstance(value, dict) else None
    if value is None or isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False)
