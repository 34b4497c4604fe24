"""The faults every puller must survive, as a test class each provider's test module subclasses.

A subclass (``class TestFaults(FaultSuite)``) names its ``channel_id`` and provides three fixtures:

- ``api``: its loopback API (a ``LoopbackApi`` answering on ``httpserver``) holding two pages or more;
- ``secret``: the credentials the API accepts (planted: they must never show anywhere);
- ``pull``: ``pull(**kwargs)`` pulls the channel **as shipped** from the API with ``secret``.

Each fault is answered by the API to the first request of a pull (``api.failures``); after it the
API answers as documented. What the tests check: the pull's outcome, what landed (raw.batches,
quarantine.files), the committed cursor, the waits asked of ``sleep``, and that the secret shows
in no log record, warehouse table, archive file or error message.
"""

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import duckdb
import httpx
import pytest
from werkzeug import Request, Response

from flows.extract.http_fetch import PullError, secret_name
from transforms.channels import get_channel
from warehouse.ingest import channel_cursor

Pull = Callable[..., Any]


class LoopbackApi:
    """A provider's API on loopback: records each request, answers ``failures`` first, then ``answer``."""

    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        self.failures: list[Response] = []

    def handle(self, request: Request) -> Response:
        self.requests.append(
            {
                "method": request.method,
                "path": request.path,
                "args": {key: _one_or_all(request.args.getlist(key)) for key in request.args},
                "json": request.get_json(silent=True),
                "headers": dict(request.headers),
                "url": request.url,
            }
        )
        if self.failures:
            return self.failures.pop(0)
        return self.answer(request)

    def answer(self, request: Request) -> Response:
        raise NotImplementedError

    def add(self, count: int, text: str | None = None) -> None:
        raise NotImplementedError


def _one_or_all(values: list[str]) -> str | list[str]:
    return values[0] if len(values) == 1 else values


def json_response(document: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(
        json.dumps(document, ensure_ascii=False),
        status=status,
        headers=headers or {},
        content_type="application/json; charset=utf-8",
    )


class TimeoutFirst(httpx.HTTPTransport):
    """A transport whose first ``count`` requests time out (as a read that never answers would)."""

    def __init__(self, count: int = 1) -> None:
        super().__init__()
        self.count = count

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if self.count > 0:
            self.count -= 1
            raise httpx.ReadTimeout("timed out", request=request)
        return super().handle_request(request)


def batches(con: duckdb.DuckDBPyConnection, channel_id: str) -> int:
    return con.execute("select count(*) from raw.batches where channel_id = ?", [channel_id]).fetchone()[0]


def quarantined_files(con: duckdb.DuckDBPyConnection, channel_id: str) -> list[tuple[str, str]]:
    return con.execute(
        "select source_file, reason from quarantine.files where channel_id = ? order by source_file", [channel_id]
    ).fetchall()


def our_logs(caplog: pytest.LogCaptureFixture) -> str:
    """Every record logged on our side of the wire (the loopback server's access log is the provider's)."""
    return "\n".join(
        f"{r.getMessage()} {r.exc_text or ''}" for r in caplog.records if not r.name.startswith("werkzeug")
    )


def assert_nowhere(secret: str, con: duckdb.DuckDBPyConnection, archive: Path, *texts: str) -> None:
    """``secret`` is in no table of the warehouse, no archived file and none of ``texts``."""
    tables = con.execute(
        "select table_schema, table_name from information_schema.tables where table_type = 'BASE TABLE'"
    ).fetchall()
    for schema, table in tables:
        rows = con.execute(f'select * from "{schema}"."{table}"').fetchall()
        assert secret not in repr(rows), (
            f"{schema}.{table} holds the secret: {[r for r in rows if secret in repr(r)][:1]}"
        )
    for path in archive.rglob("*") if archive.exists() else []:
        if path.is_file():
            assert secret.encode() not in path.read_bytes(), f"{path} holds the secret"
    for text in texts:
        assert secret not in text


class FaultSuite:
    """The preamble's faults, for any puller (see the module docstring)."""

    channel_id: str

    def test_refused_credentials_name_the_secret_and_move_nothing(
        self, api: LoopbackApi, pull: Pull, wh: duckdb.DuckDBPyConnection
    ) -> None:
        pull()
        before = (batches(wh, self.channel_id), channel_cursor(wh, self.channel_id))
        api.add(2)
        for status in (401, 403):
            api.failures = [json_response({"error": "refused"}, status=status)]
            sleeps: list[float] = []
            with pytest.raises(PullError) as caught:
                pull(sleep=sleeps.append)
            message = str(caught.value)
            assert f"HTTP {status}" in message and not caught.value.retryable and sleeps == []
            assert f"renew {secret_name(get_channel(self.channel_id))}, the cursor has not moved" in message
            assert (batches(wh, self.channel_id), channel_cursor(wh, self.channel_id)) == before

    def test_429_waits_as_retry_after_says(self, api: LoopbackApi, pull: Pull) -> None:
        api.failures = [json_response({"error": "slow down"}, status=429, headers={"Retry-After": "7"})]
        sleeps: list[float] = []
        assert pull(sleep=sleeps.append).records > 0
        assert sleeps == [7.0]

    def test_429_without_retry_after_backs_off(self, api: LoopbackApi, pull: Pull) -> None:
        api.failures = [json_response({"error": "slow down"}, status=429)]
        sleeps: list[float] = []
        assert pull(sleep=sleeps.append).records > 0
        assert len(sleeps) == 1 and 0 < sleeps[0] <= 60

    def test_5xx_then_success(self, api: LoopbackApi, pull: Pull) -> None:
        api.failures = [Response("Bad Gateway", status=502), Response("down", status=503)]
        sleeps: list[float] = []
        summary = pull(sleep=sleeps.append)
        assert summary.records > 0 and len(sleeps) == 2

    def test_a_timeout_is_retried(self, api: LoopbackApi, pull: Pull) -> None:
        sleeps: list[float] = []
        with httpx.Client(transport=TimeoutFirst(1), follow_redirects=False) as client:
            summary = pull(sleep=sleeps.append, client=client)
        assert summary.records > 0 and len(sleeps) == 1

    def test_a_page_that_is_not_json_is_quarantined_and_the_cursor_stays(
        self, api: LoopbackApi, pull: Pull, wh: duckdb.DuckDBPyConnection
    ) -> None:
        pull()
        cursor, landed = channel_cursor(wh, self.channel_id), batches(wh, self.channel_id)
        api.add(1)
        api.failures = [Response("<html><body>Maintenance</body></html>", status=200, content_type="text/html")]
        with pytest.raises(PullError, match="quarantined"):
            pull()
        assert len(quarantined_files(wh, self.channel_id)) == 1
        assert channel_cursor(wh, self.channel_id) == cursor
        assert batches(wh, self.channel_id) == landed  # quarantined: no batch, so no cursor either
        assert pull().records == 1  # the next pull lands what is new from the same cursor

    def test_the_secret_never_leaks(
        self,
        api: LoopbackApi,
        pull: Pull,
        secret: str,
        wh: duckdb.DuckDBPyConnection,
        archive: Path,
        caplog: pytest.LogCaptureFixture,
    ) -> None:
        caplog.set_level("DEBUG")
        api.add(1, text=f"the token is {secret} (pasted by a customer)")
        api.failures = [Response(f"upstream echoed {secret}", status=503)]
        pull()
        api.failures = [json_response({"error": f"invalid credentials {secret}"}, status=401)]
        with pytest.raises(PullError) as caught:
            pull()
        assert "***" in str(caught.value)
        assert_nowhere(secret, wh, archive, our_logs(caplog), str(caught.value), repr(caught.value.summary))


def normalized(con: duckdb.DuckDBPyConnection, channel_id: str) -> Any:
    """What staging makes of the channel's raw payloads (as warehouse/staging.py reads them)."""
    from datetime import UTC, datetime

    from transforms.normalize import normalize_channel

    payloads = con.execute(
        "select p.payload::varchar as payload, p._batch_id, p._source_file, p._record_index,"
        " b.batch_seq as _batch_seq"
        " from raw.channel_payloads as p left join raw.batches as b on b.batch_id = p._batch_id"
        " where p.channel_id = ? order by p._source_file, p._record_index",
        [channel_id],
    ).pl()
    return normalize_channel(payloads, get_channel(channel_id), pii_key=b"k", as_of=datetime(2027, 1, 1, tzinfo=UTC))
