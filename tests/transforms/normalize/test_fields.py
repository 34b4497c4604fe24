"""Field extraction (transforms/normalize/fields.py)."""

import json

import polars as pl

from transforms.channels.registry import Channel
from transforms.normalize.fields import PAYLOAD_OK, extract_sources, field_value, source_column


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
