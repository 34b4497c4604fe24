"""Field extraction (transforms/normalize/fields.py)."""

import json
import math
import re

import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st

from transforms.channels.registry import Channel
from transforms.normalize.fields import LONG_NUMBER, PAYLOAD_OK, extract_sources, field_value, loads, source_column


def test_values_come_back_as_text() -> None:
    record = {
        "s": " text ",
        "i": 7,
        "f": 4.5,
        "b": True,
        "n": None,
        "o": {"k": [1, 2]},
        "№ записи": "12",
        "im:rating": {"label": "4"},
        "a.b": "dotted key is not a path",
        "a": {"b": {"c": "deep"}},
    }
    sources = ["s", "i", "f", "b", "n", "o", "№ записи", "im:rating.label", "a.b.c", "missing", "s.deeper"]
    out = extract_sources(pl.Series([json.dumps(record, ensure_ascii=False)]), sources)
    assert out.row(0) == (
        True,
        " text ",
        "7",
        "4.5",
        "true",
        None,
        '{"k": [1, 2]}',
        "12",
        "4",
        "deep",
        None,
        None,
    )
    assert out.columns == [PAYLOAD_OK, *[source_column(s) for s in sources]]


def test_payloads_that_are_not_objects() -> None:
    out = extract_sources(pl.Series(["[1]", "junk", None, '"s"', "{}"]), ["x"])
    assert out[PAYLOAD_OK].to_list() == [False, False, False, False, True]
    assert out[source_column("x")].to_list() == [None] * 5


def test_list_sources_join_and_skip_blank_parts() -> None:
    channel = Channel.model_validate(
        {
            "id": "c",
            "display_name": "c",
            "format": "csv",
            "fields": {"source_item_id": "id", "received_at": ["d", "t"], "body_text": ["a", "b", "c"]},
        }
    )
    records = [{"d": "05.10.2026", "t": "14:03", "a": "x", "b": " ", "c": "y"}, {"d": "", "t": "", "a": None}]
    texts = pl.Series([json.dumps(r) for r in records])
    frame = extract_sources(texts, ["a", "b", "c", "d", "t"])
    out = frame.select(
        at=field_value(channel, "received_at"),
        body=field_value(channel, "body_text", "\n"),
        unmapped=field_value(channel, "device"),
    )
    assert out.rows() == [("05.10.2026 14:03", "x\ny", None), (None, None, None)]


JSON_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()  # unbounded: past 64 bits orjson would make a float
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(),  # surrogates included: orjson refuses them, json reads them
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=5), inner, max_size=4),
    max_leaves=12,
)


def _same(a: object, b: object) -> bool:
    """Equal values of the same types (1 is not 1.0, -0.0 is not 0.0), NaN equal to NaN."""
    if type(a) is not type(b):
        return False
    if isinstance(a, float):
        return (math.isnan(a) and math.isnan(b)) or (a == b and math.copysign(1, a) == math.copysign(1, b))
    if isinstance(a, list):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    return a == b


@settings(max_examples=400)
@given(JSON_VALUES)
def test_loads_gives_what_json_loads_gives(value: object) -> None:
    """Whatever json.dumps wrote (as ingest writes payloads), ``loads`` reads back what json.loads does."""
    text = json.dumps(value, ensure_ascii=False)
    long_number = re.search(LONG_NUMBER, text) is not None
    assert _same(loads(text, long_number=long_number), json.loads(text))


def test_integers_past_64_bits_stay_integers() -> None:
    """orjson would read them as floats without a word; a payload with 19 digits in a row goes to json."""
    payloads = pl.Series(
        [
            '{"id": 123456789012345678901234567890, "n": -9223372036854775809}',
            '{"id": 9223372036854775807, "n": 1.5e300}',
            '{"id": "12345678901234567890123", "n": NaN}',
        ]
    )
    out = extract_sources(payloads, ["id", "n"])
    assert out[source_column("id")].to_list() == [
        "123456789012345678901234567890",
        "9223372036854775807",
        "12345678901234567890123",
    ]
    assert out[source_column("n")].to_list() == ["-9223372036854775809", "1.5e+300", "NaN"]
