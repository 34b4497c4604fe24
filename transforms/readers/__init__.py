"""Readers: the bytes of one landed file → plain records, keyed by the channel's *format*.

``read_file(data, channel)`` picks the reader from ``READERS[channel.format]`` and passes it the
channel's ``reader`` options. Records are what the source said (JSON-serialisable values, no
renaming or typing); ``transforms.normalize`` maps them onto the canonical entities.
"""

from transforms.channels.registry import Channel
from transforms.readers import csv_export, eml, json_pages, jsonl, mbox, xlsx
from transforms.readers.base import Reader, ReadResult, RecordError, UnreadableFile
from transforms.readers.encoding import decode_text

READERS: dict[str, Reader] = {
    "csv": csv_export.read,
    "json_pages": json_pages.read,
    "jsonl": jsonl.read,
    "xlsx": xlsx.read,
    "eml": eml.read,
    "mbox": mbox.read,
}


def read_file(data: bytes, channel: Channel) -> ReadResult:
    """Read one file of ``channel``; raises UnreadableFile when the whole file cannot be read."""
    return READERS[channel.format](data, channel.reader)


__all__ = ["READERS", "ReadResult", "RecordError", "UnreadableFile", "decode_text", "read_file"]
