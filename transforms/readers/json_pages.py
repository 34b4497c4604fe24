"""JSON pages: one JSON document per file (an API response page), records under a dotted path.

``reader.records_path`` ("result.feedbacks") leads to the list of records; without it the
document itself is the list. A path that ends on a single object yields that one record (an API
"get one item" response), and on null an empty page. Broken JSON fails the whole file with the
line and column; items that are not objects are RecordErrors.
"""

import json
from typing import Any

from transforms.channels.registry import ReaderOptions
from transforms.readers.base import ReadResult, RecordError, UnreadableFile, excerpt
from transforms.readers.encoding import decode_text


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def loads(text: str) -> Any:
    """json.loads without NaN/Infinity, which are not JSON and not storable as JSON.

    Nesting past Python's recursion limit (``[[[[...`` 1,000 deep) is a ValueError like other bad
    JSON, not a RecursionError that would stop the caller.
    """
    try:
        return json.loads(text, parse_constant=_reject_constant)
    except RecursionError:
        raise ValueError("the JSON nests too deeply to be read") from None


def read(data: bytes, options: ReaderOptions) -> ReadResult:
    text = decode_text(data, options.encoding)
    try:
        document = loads(text)
    except json.JSONDecodeError as exc:
        raise UnreadableFile("broken_json", f"line {exc.lineno} col {exc.colno}: {exc.msg}") from exc
    except ValueError as exc:
        raise UnreadableFile("broken_json", str(exc)) from exc
    items = records_at(document, options.records_path)
    result = ReadResult()
    for index, item in enumerate(items):
        if isinstance(item, dict):
            result.add(index, item)
        else:
            result.errors.append(
                RecordError(
                    index,
                    excerpt(json.dumps(item, ensure_ascii=False)),
                    "not_an_object",
                    f"item {index} under {options.records_path or 'the document'} is a "
                    f"{type(item).__name__}, not an object",
                )
            )
    return result


def records_at(document: Any, records_path: str | None) -> list[Any]:
    node = document
    walked: list[str] = []
    for key in records_path.split(".") if records_path else []:
        where = ".".join(walked) or "the document"
        if not isinstance(node, dict):
            raise UnreadableFile(
                "missing_records_path",
                f"records_path {records_path!r}: {where} is a {type(node).__name__}, not an object",
            )
        if key not in node:
            keys = sorted(node)[:20]
            raise UnreadableFile(
                "missing_records_path",
                f"records_path {records_path!r}: no key {key!r} in {where}; keys: {keys}",
            )
        node = node[key]
        walked.append(key)
    if node is None:
        return []
    if isinstance(node, dict):
        return [node]
    if isinstance(node, list):
        return node
    raise UnreadableFile(
        "missing_records_path",
        f"records_path {records_path!r} leads to a {type(node).__name__}, not a list of records",
    )
