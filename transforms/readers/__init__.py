"""Readers: the bytes of one landed file → plain records, keyed by the channel's *format*.

``read_file(data, channel)`` picks the reader from ``READERS[channel.format]`` and passes it the
channel's ``reader`` options. Records are what the source said (JSON-serialisable values, no
renaming or typing); ``transforms.normalize`` maps them onto the canonical entities.

``reader.record_filter`` ({type: message}) then drops the records that are not the channel's by
rule (a messenger's service messages), counted in ``ReadResult.filtered``, whatever the format.

Limits (``ReaderOptions``): a file over ``max_file_bytes`` is ``UnreadableFile("too_large")``
before any reader sees it; no record over ``max_record_bytes`` leaves ``read_file`` (csv, jsonl,
xlsx and xml_feed check their rows, lines and entries themselves and say which; the others are
checked here). Readers of
container formats (xlsx) check the container and run in a child process with memory and time
limits (``transforms.readers.guard``); the text readers run in this process, the fast path, and
an exception other than UnreadableFile from one of them (a bug, or a RecursionError on a hostile
file) is ``UnreadableFile("reader_crashed")``: one file is quarantined, the run goes on.
"""

from transforms.channels.registry import Channel
from transforms.privacy import mask_pii
from transforms.readers import csv_export, eml, json_pages, jsonl, mbox, xlsx, xml_feed
from transforms.readers.base import Reader, ReadResult, RecordError, UnreadableFile, filter_records, limit_records
from transforms.readers.encoding import decode_text

READERS: dict[str, Reader] = {
    "csv": csv_export.read,
    "json_pages": json_pages.read,
    "jsonl": jsonl.read,
    "xlsx": xlsx.read,
    "eml": eml.read,
    "mbox": mbox.read,
    "xml_feed": xml_feed.read,
}


# Formats whose readers apply reader.max_record_bytes themselves, naming the row or line.
CHECKS_RECORD_SIZE = frozenset({"csv", "jsonl", "xlsx", "xml_feed"})
# Formats read in the reader child process (transforms.readers.guard).
CONTAINER_FORMATS = frozenset({"xlsx"})


def read_file(data: bytes, channel: Channel) -> ReadResult:
    """Read one file of ``channel``; raises UnreadableFile when the whole file cannot be read."""
    options = channel.reader
    if len(data) > options.max_file_bytes:
        raise UnreadableFile(
            "too_large", f"the file has {len(data):,} bytes, over reader.max_file_bytes {options.max_file_bytes:,}"
        )
    try:
        result = READERS[channel.format](data, options)
    except UnreadableFile:
        raise
    except Exception as exc:  # e.g. RecursionError on MIME parts nested 2,000 deep: this file, not the run
        message = mask_pii(" ".join(str(exc).split())[:200])
        raise UnreadableFile(
            "reader_crashed", f"the {channel.format} reader failed: {type(exc).__name__}: {message}"
        ) from exc
    result = filter_records(result, options.record_filter)
    # A record is no larger than its file here (text is decoded, never inflated), so small files need no check.
    if channel.format not in CHECKS_RECORD_SIZE and len(data) > options.max_record_bytes // 2:
        result = limit_records(result, options.max_record_bytes)
    return result


__all__ = [
    "CONTAINER_FORMATS",
    "READERS",
    "ReadResult",
    "RecordError",
    "UnreadableFile",
    "decode_text",
    "read_file",
]
