"""Pull a channel's mapped fields out of the JSON payloads.

A source is a dotted path into one record ("description.comment"); every segment is a key
(keys may hold spaces, colons, Cyrillic: "№ записи", "im:rating"). A list of sources is joined,
skipping empty parts. Values come back as text: strings as they are, numbers and booleans as
their JSON text ("7", "4.5", "true"), objects and lists as JSON; blank text becomes null. Rich
text given as a list of runs (``["Hello ", {"type": "bold", "text": "world"}]``, a Telegram
export's ``text``) is flattened to its plain text ("Hello world"), not kept as JSON.

Each payload is parsed once, in one pass that pulls every source the channel maps
(``extract_sources``). That is the one per-row Python step of normalization, chosen on
measurement: Polars' ``str.json_path_match`` parses the whole document again for every path,
and on 100k payloads × 11 paths it took 3.2 s against 0.8 s for one ``json.loads`` pass.
Everything after it is Polars expressions.

A payload is parsed by orjson (``loads``), which gives what ``json.loads`` gives two to three times
faster (the 2.19 M CRM case events of a 1M-item history: 1.8 s against 5.0 s), except where the two
part: an integer beyond 64 bits (orjson makes it a float without a word), NaN and infinities, lone
surrogates (orjson refuses those). A payload with a run of 19 digits, or one orjson refuses, is
parsed by ``json.loads``, as before.
"""

import json
from typing import Any

import orjson
import polars as pl

from transforms.channels.registry import Channel

PAYLOAD_OK = "_payload_ok"
# Characters trimmed from every extracted value (spelled out: Python and Rust agree on them).
TRIM_CHARS = " \t\n\r\x0b\x0c\u00a0\u202f\u3000\ufeff" + "".join(map(chr, range(0x2000, 0x200B)))


def source_column(source: str) -> str:
    return f"_src:{source}"


def sources(channel: Channel, field: str) -> list[str]:
    mapped = channel.fields.get(field)
    if mapped is None:
        return []
    return [mapped] if isinstance(mapped, str) else list(mapped)


def all_sources(channel: Channel) -> list[str]:
    return sorted({source for field in channel.fields for source in sources(channel, field)})


# 19 digits: the shortest integer past a signed 64-bit one (-9223372036854775809), which orjson turns into a
# float. Looked for by Polars over the whole column (Rust's regex: 0.8 s for 2.19 M payloads; Python's re per
# payload took 5.6 s, more than the parsing it saves).
LONG_NUMBER = r"[0-9]{19}"


def loads(payload: str, *, long_number: bool) -> Any:
    """``json.loads(payload)``, faster: by orjson unless the payload holds a run of 19 digits
    (``long_number``) or orjson refuses it (module docstring)."""
    if not long_number:
        try:
            return orjson.loads(payload)
        except orjson.JSONDecodeError:  # NaN, infinities, lone surrogates, or not JSON: json decides
            pass
    return json.loads(payload)


def _as_text(value: Any) -> str | None:
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, list) and is_rich_text(value):
        return "".join(part if isinstance(part, str) else part["text"] for part in value)
    return json.dumps(value, ensure_ascii=False)  # floats as JSON writes them, objects, lists


def is_rich_text(value: list[Any]) -> bool:
    """A list of text runs: strings and entity objects with a ``text`` string, at least one object.

    Telegram's exports and Bot API write formatted text so: ``["Check this ", {"type": "bold",
    "text": "important"}, " message"]``. A list of plain strings (tags) is not text and stays JSON.
    """
    entities = 0
    for part in value:
        if isinstance(part, dict) and isinstance(part.get("text"), str):
            entities += 1
        elif not isinstance(part, str):
            return False
    return entities > 0


def extract_sources(payloads: pl.Series, source_paths: list[str]) -> pl.DataFrame:
    """One column per source (text or null) and ``_payload_ok`` (the payload is a JSON object)."""
    columns: list[list[str | None]] = [[] for _ in source_paths]
    top_level = [(column.append, source) for column, source in zip(columns, source_paths, strict=True)]
    nested = [(append, tuple(source.split("."))) for append, source in top_level if "." in source]
    top_level = [(append, source) for append, source in top_level if "." not in source]
    ok: list[bool] = []
    long_numbers = payloads.str.contains(LONG_NUMBER).to_list()
    for payload, long_number in zip(payloads.to_list(), long_numbers, strict=True):
        try:
            record = loads(payload, long_number=long_number) if payload is not None else None
        except (ValueError, TypeError, RecursionError):
            record = None
        if type(record) is not dict:
            ok.append(False)
            for column in columns:
                column.append(None)
            continue
        ok.append(True)
        get = record.get
        for append, key in top_level:
            value = get(key)
            append(value if value is None or type(value) is str else _as_text(value))
        for append, path in nested:
            value = record
            for key in path:
                value = value.get(key) if type(value) is dict else None
            append(value if value is None or type(value) is str else _as_text(value))
    data: dict[str, Any] = {PAYLOAD_OK: ok}
    data.update({source_column(source): column for source, column in zip(source_paths, columns, strict=True)})
    schema = {PAYLOAD_OK: pl.Boolean, **{source_column(source): pl.String for source in source_paths}}
    return pl.DataFrame(data, schema=schema)


def raw_value(source: str) -> pl.Expr:
    """The text at ``source``, trimmed; null when absent, null or blank."""
    value = pl.col(source_column(source)).str.strip_chars(TRIM_CHARS)
    return pl.when(value == "").then(None).otherwise(value)


def field_value(channel: Channel, field: str, separator: str = " ") -> pl.Expr:
    """A mapped field as text (list sources joined, empty parts skipped); null when unmapped."""
    parts = [raw_value(source) for source in sources(channel, field)]
    if not parts:
        return pl.lit(None, dtype=pl.String)
    if len(parts) == 1:
        return parts[0]
    joined = pl.concat_str(parts, separator=separator, ignore_nulls=True)
    return pl.when(joined == "").then(None).otherwise(joined)


def describe_source(channel: Channel, field: str) -> str:
    """How a field is mapped, for reject details: "'submitted_at'" or "'Дата' + 'Время'"."""
    return " + ".join(repr(source) for source in sources(channel, field)) or "(not mapped)"
