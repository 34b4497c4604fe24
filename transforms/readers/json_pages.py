"""JSON pages: one JSON document per file (an API response page), records under a dotted path.

``reader.records_path`` ("result.feedbacks") leads to the list of records; without it the
document itself is the list. A key followed by ``[]`` walks every item of a list: a Telegram
Desktop export of the whole account keeps each chat's messages in ``chats.list[].messages``.
``reader.parent_fields`` ({chat_id: id}) copies fields of the parent (the object whose key holds
the records' list: that chat; for ``messages`` the document) onto each of its records, so that an
id unique only within its chat can be made whole (``source_item_id: [chat_id, id]``); a parent
without the field fails the file (``missing_parent_field``), a record that already has a key of
that name is a RecordError (``parent_field_clash``). A path that ends on a single object yields
that one record (an API "get one item" response), and on null an empty page. Broken JSON fails the whole file with the
line and column, led by what the file is when it plainly is another format ("XML sent to a JSON
reader: the file starts with '<?xml'"); items that are not objects are RecordErrors.
"""

import json
from typing import Any

from transforms.channels.registry import ReaderOptions
from transforms.readers.base import ReadResult, RecordError, UnreadableFile, excerpt
from transforms.readers.encoding import decode_text
from transforms.readers.sniff import wrong_format_bytes, wrong_format_text


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
    other = wrong_format_bytes(data, "JSON")
    if other:
        raise UnreadableFile("wrong_format", other)
    text = decode_text(data, options.encoding)
    try:
        document = loads(text)
    except json.JSONDecodeError as exc:
        raise UnreadableFile("broken_json", _broken(text, f"line {exc.lineno} col {exc.colno}: {exc.msg}")) from exc
    except ValueError as exc:
        raise UnreadableFile("broken_json", _broken(text, str(exc))) from exc
    result = ReadResult()
    for index, (parent, item) in enumerate(records_with_parents(document, options.records_path)):
        if not isinstance(item, dict):
            result.errors.append(
                RecordError(
                    index,
                    excerpt(json.dumps(item, ensure_ascii=False)),
                    "not_an_object",
                    f"item {index} under {options.records_path or 'the document'} is a "
                    f"{type(item).__name__}, not an object",
                )
            )
            continue
        clash = [name for name in options.parent_fields if name in item]
        if clash:
            result.errors.append(
                RecordError(
                    index,
                    excerpt(json.dumps(item, ensure_ascii=False)),
                    "parent_field_clash",
                    f"item {index} already has {', '.join(map(repr, clash))}, which reader.parent_fields would set "
                    "from its parent: name the parent field otherwise",
                )
            )
            continue
        result.add(index, {**item, **parent_values(parent, options)})
    return result


def _broken(text: str, problem: str) -> str:
    """The JSON parser's problem, led by what the file is when it plainly is another format."""
    other = wrong_format_text(text, "JSON")
    return f"{other} ({problem})" if other else problem


def parent_values(parent: Any, options: ReaderOptions) -> dict[str, Any]:
    """reader.parent_fields looked up in the object that holds the records' list."""
    values = {}
    for name, path in options.parent_fields.items():
        node = parent
        for key in path.split("."):
            if not isinstance(node, dict) or key not in node:
                raise UnreadableFile(
                    "missing_parent_field",
                    f"reader.parent_fields {name}: no {path!r} in the parent of the records "
                    f"(records_path {options.records_path!r})",
                )
            node = node[key]
        values[name] = node
    return values


def records_at(document: Any, records_path: str | None) -> list[Any]:
    """The records under ``records_path`` (``key[]`` walks every item of a list), in document order."""
    return [item for _, item in records_with_parents(document, records_path)]


def records_with_parents(document: Any, records_path: str | None) -> list[tuple[Any, Any]]:
    """(parent, record) pairs: the parent is the object whose last key holds the records' list.

    ``chats.list[].messages``: every chat of ``chats.list`` is the parent of its messages; ``messages``:
    the document is. Without a path the document is the list and there is no parent (None).
    """
    if not records_path:
        return [(None, item) for item in _as_records(document, records_path)]
    pairs: list[tuple[Any, Any]] = []
    _walk(document, records_path.split("."), [], records_path, pairs)
    return pairs


def _walk(node: Any, keys: list[str], walked: list[str], records_path: str, pairs: list[tuple[Any, Any]]) -> None:
    key, rest = keys[0], keys[1:]
    name = key.removesuffix("[]")
    where = ".".join(walked) or "the document"
    if not isinstance(node, dict):
        raise UnreadableFile(
            "missing_records_path",
            f"records_path {records_path!r}: {where} is a {type(node).__name__}, not an object",
        )
    if name not in node:
        raise UnreadableFile(
            "missing_records_path",
            f"records_path {records_path!r}: no key {name!r} in {where}; keys: {sorted(node)[:20]}",
        )
    child = node[name]
    if not rest:
        pairs.extend((node, item) for item in _as_records(child, records_path))
        return
    if not key.endswith("[]"):
        _walk(child, rest, [*walked, name], records_path, pairs)
        return
    if child is None:
        return
    if not isinstance(child, list):
        raise UnreadableFile(
            "missing_records_path",
            f"records_path {records_path!r}: {'.'.join([*walked, name])} is a {type(child).__name__}, not a list",
        )
    for position, item in enumerate(child):
        _walk(item, rest, [*walked, f"{name}[{position}]"], records_path, pairs)


def _as_records(node: Any, records_path: str | None) -> list[Any]:
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
