"""Fixtures of the provider tests (``wh`` and ``archive`` come from ../conftest.py) and ``pull_as_shipped``.

No Prefect here: pullers are plain Python, so this folder does not start the Prefect harness.
Every provider test pulls the channel **as shipped** (its own entry of transforms/channels/
channels.yaml) from a loopback server that follows the provider's published API.
"""

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import duckdb
import pytest

from flows.extract import pull_channel
from flows.extract.http_pull import PullSummary
from transforms.channels import Channel, get_channel


@pytest.fixture(scope="session", autouse=True)
def prefect_harness() -> Iterator[None]:
    """Overrides tests/flows/conftest.py: nothing here needs Prefect."""
    yield


def shipped(channel_id: str) -> Channel:
    """The channel's own entry of channels.yaml (never a made-up one)."""
    return get_channel(channel_id)


def pull_as_shipped(
    con: duckdb.DuckDBPyConnection, channel_id: str, archive: Path, base_url: str, **kwargs: Any
) -> PullSummary:
    """Pull ``channel_id`` as shipped from ``base_url`` into ``con``; retries do not really wait."""
    kwargs.setdefault("sleep", lambda seconds: None)
    kwargs.setdefault("secret", None)
    return pull_channel(con, shipped(channel_id), archive_dir=archive, run_id="test-run", base_url=base_url, **kwargs)


def staged_payloads(con: duckdb.DuckDBPyConnection, channel_id: str) -> list[dict]:
    """The raw records landed for ``channel_id``, in landing order."""
    import json

    rows = con.execute(
        "select p.payload from raw.channel_payloads p join raw.batches b on b.batch_id = p._batch_id"
        " where p.channel_id = ? order by b.batch_seq, p._record_index",
        [channel_id],
    ).fetchall()
    return [json.loads(r[0]) for r in rows]


def cursor_chain(con: duckdb.DuckDBPyConnection, channel_id: str) -> list[tuple[str | None, str | None]]:
    return con.execute(
        "select cursor_before, cursor_after from raw.batches where channel_id = ? order by batch_seq", [channel_id]
    ).fetchall()
