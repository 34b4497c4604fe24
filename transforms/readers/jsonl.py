"""JSON Lines: one JSON object per line. A broken line is a RecordError; the others load.

Blank lines are ignored and do not count as records. Lines are split on \\n only (a JSON
string may hold U+2028), and a trailing \\r is dropped (CRLF files). A line over
``reader.max_record_bytes`` is a ``record_too_large`` RecordError, not parsed. A file that plainly
is another format (XML, HTML, an e-mail, a ZIP or PDF: ``transforms.readers.sniff``) fails whole
(``wrong_format``), saying what it looks like, instead of one broken_json error per line.
"""

import json

from transforms.channels.registry import ReaderOptions
from transforms.readers.base import ReadResult, RecordError, UnreadableFile, excerpt, text_bytes, too_large
from transforms.readers.encoding import decode_text
from transforms.readers.json_pages import loads
from transforms.readers.sniff import wrong_format_bytes, wrong_format_text


def read(data: bytes, options: ReaderOptions) -> ReadResult:
    other = wrong_format_bytes(data, "JSON Lines")
    if other:
        raise UnreadableFile("wrong_format", other)
    text = decode_text(data, options.encoding)
    other = wrong_format_text(text, "JSON Lines")
    if other:
        raise UnreadableFile("wrong_format", other)
    result = ReadResult()
    limit = options.max_record_bytes
    index = 0
    for line_number, line in enumerate(text.split("\n"), start=1):
        line = line.removesuffix("\r")
        if not line.strip():
            continue
        size = text_bytes(line)
        if size > limit:
            result.errors.append(too_large(index, line, size, limit, f"line {line_number}"))
            index += 1
            continue
        try:
            item = loads(line)
        except json.JSONDecodeError as exc:
            result.errors.append(
                RecordError(index, excerpt(line), "broken_json", f"line {line_number} col {exc.colno}: {exc.msg}")
            )
        except ValueError as exc:
            result.errors.append(RecordError(index, excerpt(line), "broken_json", f"line {line_number}: {exc}"))
        else:
            if isinstance(item, dict):
                result.add(index, item)
            else:
                result.errors.append(
                    RecordError(
                        index,
                        excerpt(line),
                        "not_an_object",
                        f"line {line_number} is a JSON {type(item).__name__}, not an object",
                    )
                )
        index += 1
    return result
