"""What every reader returns, and the two ways a file can fail.

A reader turns the bytes of one landed file into plain records (dicts of JSON-serialisable
values), exactly as the source said them: no renaming, no typing, no normalization. A file that
cannot be read at all raises ``UnreadableFile`` (the whole file goes to quarantine.files); a bad
record in an otherwise readable file becomes a ``RecordError`` (quarantine.records) and the
others still load.
"""

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from transforms.channels.registry import ReaderOptions

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


def excerpt(text: str) -> str:
    return text[:EXCERPT_CHARS]
