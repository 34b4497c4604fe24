"""Builders for payload frames: what raw.channel_payloads holds for one channel."""

import json
from collections.abc import Callable
from typing import Any

import polars as pl
import pytest

PayloadBuilder = Callable[..., pl.DataFrame]


def build_payloads(
    records: list[Any], source_file: str = "landing/file-1.jsonl", batch_id: str = "batch-1"
) -> pl.DataFrame:
    """One payload row per record (dicts are JSON-encoded; strings are used as the raw payload)."""
    return pl.DataFrame(
        {
            "payload": [r if isinstance(r, str) or r is None else json.dumps(r, ensure_ascii=False) for r in records],
            "_batch_id": [batch_id] * len(records),
            "_source_file": [source_file] * len(records),
            "_record_index": list(range(len(records))),
        },
        schema={
            "payload": pl.String,
            "_batch_id": pl.String,
            "_source_file": pl.String,
            "_record_index": pl.Int64,
        },
    )


@pytest.fixture
def payloads() -> PayloadBuilder:
    return build_payloads
