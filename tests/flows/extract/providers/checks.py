"""Checks the provider tests share: a secret found nowhere, a timeout without waiting, a cursor read back."""

import json
from pathlib import Path

import duckdb
import httpx

from warehouse.ingest import channel_cursor

__all__ = ["TimeoutFirst", "assert_secret_nowhere", "cursor_of", "quarantined", "raw_text"]


def raw_text(con: duckdb.DuckDBPyConnection) -> str:
    """Every row of every table of the raw and quarantine schemas, as one text."""
    tables = con.execute(
        "select table_schema, table_name from information_schema.tables where table_schema in ('raw', 'quarantine')"
    ).fetchall()
    return "\n".join(repr(con.execute(f'select * from "{s}"."{t}"').fetchall()) for s, t in tables)


def assert_secret_nowhere(secret: str, con: duckdb.DuckDBPyConnection, archive: Path, logs: str, *texts: str) -> None:
    """``secret`` (and any 8 characters of it) in no log line, no warehouse row, no archived file, no message."""
    pieces = {secret} | {secret[i : i + 8] for i in range(len(secret) - 7)}
    archived = [path.read_bytes().decode("utf-8", "replace") for path in archive.rglob("*") if path.is_file()]
    places = {"logs": logs, "warehouse": raw_text(con), "archive": "\n".join(archived), "messages": "\n".join(texts)}
    for where, text in places.items():
        found = sorted(piece for piece in pieces if piece in text)
        assert not found, f"the secret shows in the {where}: {found[:3]}"
    assert archived, "nothing was archived: the check would pass vacuously"


def cursor_of(con: duckdb.DuckDBPyConnection, channel_id: str) -> object:
    """The committed cursor, parsed when it is a JSON object."""
    cursor = channel_cursor(con, channel_id)
    return json.loads(cursor) if cursor and cursor.startswith("{") else cursor


def quarantined(con: duckdb.DuckDBPyConnection, channel_id: str) -> list[str]:
    """The reasons of what the channel's reader refused: whole files, and lines or records of a file."""
    files = con.execute("select reason from quarantine.files where channel_id = ?", [channel_id]).fetchall()
    records = con.execute(
        "select reason from quarantine.records where channel_id = ? order by record_index", [channel_id]
    ).fetchall()
    return [reason for (reason,) in files + records]


class TimeoutFirst(httpx.HTTPTransport):
    """A transport whose first ``times`` requests time out (no real wait), then reach the server."""

    def __init__(self, times: int) -> None:
        super().__init__()
        self.times = times
        self.timed_out = 0

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if self.timed_out < self.times:
            self.timed_out += 1
            raise httpx.ReadTimeout("timed out", request=request)
        return super().handle_request(request)
