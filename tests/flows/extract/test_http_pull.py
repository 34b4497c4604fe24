"""Pulling channel APIs page by page into raw, against a real HTTP server on loopback.

No Prefect here: the extract layer is plain Python, so this module does not start the harness.
"""

import base64
import json
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path
from typing import Any

import duckdb
import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from flows.extract import (
    ChannelsFailed,
    MissingSecretError,
    PullError,
    for_each_channel,
    pull_channel,
    pullable_channels,
    resolve_secret,
)
from flows.extract.http_fetch import RETRY_AFTER_CAP_SECONDS, retry_after_seconds
from flows.extract.http_pull import pull_pages
from tests.flows.extract.fake_apis import FakeApi, _json, make_channel, ozon_review
from transforms.channels import Channel
from warehouse import connect_memory
from warehouse.ingest import channel_cursor, land_batch

Serve = Callable[..., FakeApi]
TOKEN = "tok-SECRET-123"


@pytest.fixture(scope="session", autouse=True)
def prefect_harness() -> Iterator[None]:
    """Overrides tests/flows/conftest.py for this module: nothing here needs Prefect."""
    yield


def pull(con: duckdb.DuckDBPyConnection, channel: Channel, archive: Path, base_url: str, **kwargs: Any) -> Any:
    kwargs.setdefault("sleep", lambda seconds: None)
    kwargs.setdefault("secret", None)
    return pull_channel(con, channel, archive_dir=archive, run_id="test-run", base_url=base_url, **kwargs)


def landed_ids(con: duckdb.DuckDBPyConnection, channel_id: str) -> list[str]:
    rows = con.execute(
        "select json_extract_string(payload, '$.id') from raw.channel_payloads where channel_id = ?"
        " order by _batch_id, _record_index",
        [channel_id],
    ).fetchall()
    return sorted(r[0] for r in rows)


def cursor_chain(con: duckdb.DuckDBPyConnection, channel_id: str) -> list[tuple[str | None, str | None]]:
    return con.execute(
        "select cursor_before, cursor_after from raw.batches where channel_id = ? order by batch_seq", [channel_id]
    ).fetchall()


def ids(api: FakeApi) -> list[str]:
    return sorted(str(r["id"]) for r in api.records)


# --- pagination ------------------------------------------------------------------------------

PAGINATION = {  # style: (paging value per request, cursor chain of the landed pages, final cursor, stop)
    "zendesk": (["1", "2", "3"], [(None, "1"), ("1", "2"), ("2", "2")], "2", "short page"),
    "wildberries": (["0", "2", "4"], [(None, "2"), ("2", "4"), ("4", "5")], "5", "short page"),
    "ozon": (
        [None, "oz-0001", "oz-0003", "oz-0004"],
        [(None, "oz-0001"), ("oz-0001", "oz-0003"), ("oz-0003", "oz-0004")],
        "oz-0004",
        "empty page",
    ),
}


def _paging_values(api: FakeApi, style: str) -> list[Any]:
    if style == "ozon":
        return [r["json"].get("last_id") for r in api.requests]
    key = "page" if style == "zendesk" else "skip"
    return [r["args"][key] for r in api.requests]


@pytest.mark.parametrize("style", PAGINATION)
def test_each_pagination_pulls_every_page_with_its_cursor(wh, archive, base_url, serve: Serve, style: str) -> None:
    api = serve(style, 5)
    channel = make_channel(style)
    summary = pull(wh, channel, archive, base_url)

    values, chain, final, stopped = PAGINATION[style]
    assert _paging_values(api, style) == values
    assert (summary.pages_fetched, summary.pages_landed, summary.records) == (len(values), 3, 5)
    assert (summary.last_cursor, summary.stopped) == (final, stopped)
    assert landed_ids(wh, channel.id) == ids(api)
    assert cursor_chain(wh, channel.id) == chain
    assert channel_cursor(wh, channel.id) == final
    batches = wh.execute("select source_file, source_uri from raw.batches order by batch_seq").fetchall()
    assert len({file for file, _ in batches}) == 3
    assert all(file.startswith(f"{channel.id}/pull-{channel.pull.pagination}-") for file, _ in batches)
    assert all(uri.startswith(base_url.rstrip("/") + channel.pull.path) for _, uri in batches)


def test_post_bodies_carry_the_fixed_params_and_page_size(wh, archive, base_url, serve: Serve) -> None:
    api = serve("ozon", 3)
    pull(wh, make_channel("ozon"), archive, base_url)
    assert api.requests[0]["json"] == {"sort_dir": "ASC", "limit": 2}
    assert api.requests[1]["json"] == {"sort_dir": "ASC", "limit": 2, "last_id": "oz-0001"}


@pytest.mark.parametrize(
    ("style", "fetched_again", "new_pages", "new_rows"),
    [
        # page numbers cannot say "half of page 3": the short page 3 is asked for again; unchanged it
        # is skipped by its hash, grown it lands again (1 repeated item that staging deduplicates)
        ("zendesk", 1, 2, 3),
        ("wildberries", 1, 1, 2),  # offsets are exact
        ("ozon", 1, 1, 2),  # so are API cursors
    ],
)
def test_a_second_pull_starts_at_the_committed_cursor(
    wh, archive, base_url, serve: Serve, style: str, fetched_again: int, new_pages: int, new_rows: int
) -> None:
    api = serve(style, 5)
    channel = make_channel(style)
    pull(wh, channel, archive, base_url)
    rows = wh.execute("select count(*) from raw.channel_payloads").fetchone()[0]

    again = pull(wh, channel, archive, base_url)
    assert (again.pages_fetched, again.pages_landed, again.records) == (fetched_again, 0, 0)
    assert wh.execute("select count(*) from raw.channel_payloads").fetchone()[0] == rows

    api.add(2)
    more = pull(wh, channel, archive, base_url)
    assert (more.pages_landed, more.records) == (new_pages, new_rows)
    assert wh.execute("select count(*) from raw.channel_payloads").fetchone()[0] == rows + new_rows
    assert sorted(set(landed_ids(wh, channel.id))) == ids(api)


def test_a_last_page_without_next_cursor_keeps_the_cursor_before_it(wh, archive, base_url, serve: Serve) -> None:
    api = serve("ozon", 5)
    api.last_id_at_end = False
    channel = make_channel("ozon")
    first = pull(wh, channel, archive, base_url)
    assert (first.pages_landed, first.last_cursor, first.stopped) == (3, "oz-0003", "no next cursor")

    again = pull(wh, channel, archive, base_url)
    assert (again.pages_fetched, again.pages_skipped, again.last_cursor) == (1, 1, "oz-0003")
    assert landed_ids(wh, channel.id) == ids(api)


# --- retries and failures ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("retry_after", "expected"),
    [
        ("7", 7.0),
        (format_datetime(datetime.now(UTC) + timedelta(hours=1), usegmt=True), RETRY_AFTER_CAP_SECONDS),
    ],
    ids=["seconds", "http-date-capped"],
)
def test_429_waits_as_retry_after_says(wh, archive, base_url, serve: Serve, retry_after: str, expected: float) -> None:
    api = serve("zendesk", 3)
    api.failures = [Response("slow down", status=429, headers={"Retry-After": retry_after})]
    sleeps: list[float] = []
    summary = pull(wh, make_channel("zendesk"), archive, base_url, sleep=sleeps.append)
    assert sleeps == [expected]
    assert [r["args"]["page"] for r in api.requests] == ["1", "1", "2"]
    assert summary.records == 3


def test_retry_after_parsing() -> None:
    now = datetime(2026, 10, 1, 12, 0, tzinfo=UTC)
    assert retry_after_seconds("120") == 120.0
    assert retry_after_seconds("Thu, 01 Oct 2026 12:00:30 GMT", now) == 30.0
    assert retry_after_seconds("Thu, 01 Oct 2026 11:00:00 GMT", now) == 0.0
    assert retry_after_seconds("soon") is None
    assert retry_after_seconds(None) is None


def test_503_twice_then_200_succeeds_after_backoff(wh, archive, base_url, serve: Serve) -> None:
    api = serve("zendesk", 3)
    api.failures = [Response("down", status=503), Response("down", status=503)]
    sleeps: list[float] = []
    summary = pull(wh, make_channel("zendesk"), archive, base_url, sleep=sleeps.append)
    assert len(sleeps) == 2 and all(0 < s <= 60 for s in sleeps)
    assert summary.records == 3


def test_500_forever_fails_after_max_retries(wh, archive, base_url, serve: Serve) -> None:
    api = serve("zendesk", 3)
    api.failures = [Response("boom", status=500) for _ in range(10)]
    sleeps: list[float] = []
    with pytest.raises(PullError, match=r"HTTP 500 on all 3 attempt\(s\) \(pull.max_retries=2\)") as caught:
        pull(wh, make_channel("zendesk", max_retries=2), archive, base_url, sleep=sleeps.append)
    assert caught.value.retryable
    assert (len(api.requests), len(sleeps)) == (3, 2)
    assert wh.execute("select count(*) from raw.batches").fetchone()[0] == 0


def test_401_fails_at_once_naming_status_and_url_but_not_the_token(wh, archive, base_url, serve: Serve) -> None:
    api = serve("zendesk", 3)
    api.failures = [Response(f'{{"error": "invalid token {TOKEN}"}}', status=401)]
    channel = make_channel("zendesk", {"credentials_env": "OTKLIK_TEST_API_TOKEN"}, auth="bearer")
    sleeps: list[float] = []
    with pytest.raises(PullError) as caught:
        pull(wh, channel, archive, base_url, secret=TOKEN, sleep=sleeps.append)
    message = str(caught.value)
    assert "HTTP 401 UNAUTHORIZED" in message.upper()
    assert f"GET {base_url.rstrip('/')}/api/v2/tickets.json?page=1&per_page=2" in message
    assert TOKEN not in message and "invalid token ***" in message
    assert not caught.value.retryable
    assert (len(api.requests), sleeps) == (1, [])


def test_a_timeout_is_retried_then_fails_clearly(wh, archive, base_url, httpserver: HTTPServer) -> None:
    def slow(request: Request) -> Response:
        time.sleep(0.4)
        return _json({"tickets": []})

    httpserver.expect_request("/api/v2/tickets.json").respond_with_handler(slow)
    channel = make_channel("zendesk", timeout_seconds=0.1, max_retries=1)
    sleeps: list[float] = []
    with pytest.raises(PullError, match=r"timed out .*pull.timeout_seconds=0.1.* on all 2 attempt") as caught:
        pull(wh, channel, archive, base_url, sleep=sleeps.append)
    assert caught.value.retryable and len(sleeps) == 1


# --- auth and secrets ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("auth", "extra", "secret", "header", "expected"),
    [
        ("bearer", {}, TOKEN, "Authorization", f"Bearer {TOKEN}"),
        ("header", {"auth_header": "Api-Key"}, TOKEN, "Api-Key", TOKEN),
        ("basic", {}, "robot:pa:ss", "Authorization", "Basic " + base64.b64encode(b"robot:pa:ss").decode()),
    ],
)
def test_auth_headers_arrive_as_configured(
    wh, archive, base_url, serve: Serve, monkeypatch, auth: str, extra: dict, secret: str, header: str, expected: str
) -> None:
    monkeypatch.setenv("OTKLIK_TEST_API_TOKEN", secret)
    api = serve("wildberries", 3)
    channel = make_channel("wildberries", {"credentials_env": "OTKLIK_TEST_API_TOKEN"}, auth=auth, **extra)
    pull(wh, channel, archive, base_url, secret=resolve_secret(channel))
    assert [r["headers"].get(header) for r in api.requests] == [expected] * 2
    uris = " ".join(r[0] for r in wh.execute("select source_uri from raw.batches").fetchall())
    assert secret not in uris


def test_resolve_secret_by_name() -> None:
    env_channel = make_channel("zendesk", {"credentials_env": "OTKLIK_X_TOKEN"}, auth="bearer")
    block_channel = make_channel("zendesk", {"credentials_block": "x-api"}, auth="bearer")
    both = make_channel("zendesk", {"credentials_env": "OTKLIK_X_TOKEN", "credentials_block": "x-api"}, auth="bearer")
    assert resolve_secret(env_channel, {"OTKLIK_X_TOKEN": "from-env"}) == "from-env"
    assert resolve_secret(make_channel("zendesk"), {}) is None
    assert resolve_secret(block_channel, {}, load_block={"x-api": "from-block"}.get) == "from-block"
    assert resolve_secret(both, {"OTKLIK_X_TOKEN": "from-env"}, load_block={"x-api": "b"}.get) == "from-env"
    assert resolve_secret(both, {}, load_block={"x-api": "from-block"}.get) == "from-block"
    with pytest.raises(MissingSecretError, match="environment variable OTKLIK_X_TOKEN"):
        resolve_secret(env_channel, {"OTKLIK_X_TOKEN": ""})
    with pytest.raises(MissingSecretError, match="OTKLIK_X_TOKEN or Prefect Secret block 'x-api'"):
        resolve_secret(both, {}, load_block=lambda name: None)


# --- guards and crash safety ---------------------------------------------------------------------


def test_a_cursor_that_never_advances_stops_with_the_first_pages_landed(
    wh, archive, base_url, httpserver: HTTPServer
) -> None:
    records = [ozon_review(n) for n in range(4)]
    requests: list[str | None] = []

    def stuck(request: Request) -> Response:
        requests.append(request.args.get("cursor"))
        chunk = records[:2] if "cursor" not in request.args else records[2:]
        return _json({"reviews": chunk, "next": "X"})

    httpserver.expect_request("/v1/stuck").respond_with_handler(stuck)
    channel = make_channel("ozon", path="/v1/stuck", method="GET", page_param="cursor", next_cursor_path="next")
    with pytest.raises(PullError, match="does not advance") as caught:
        pull(wh, channel, archive, base_url)
    assert requests == [None, "X"]
    assert caught.value.summary.pages_landed == 1
    assert landed_ids(wh, channel.id) == ["oz-0000", "oz-0001"]
    assert channel_cursor(wh, channel.id) == "X"

    with pytest.raises(PullError, match="does not advance"):  # and again, at once, on the next run
        pull(wh, channel, archive, base_url)
    assert requests == [None, "X", "X"]


def test_an_api_that_ignores_the_page_number_stops_at_the_repeated_page(wh, archive, base_url, serve: Serve) -> None:
    api = serve("zendesk", 6)
    api.ignore_paging = True
    channel = make_channel("zendesk")
    with pytest.raises(PullError, match="same page as the request before"):
        pull(wh, channel, archive, base_url)
    assert len(api.requests) == 2
    assert (len(landed_ids(wh, channel.id)), channel_cursor(wh, channel.id)) == (2, "1")


def test_max_pages_ends_a_pull_and_the_next_one_goes_on(wh, archive, base_url, serve: Serve) -> None:
    api = serve("wildberries", 9)
    channel = make_channel("wildberries", max_pages=3)
    first = pull(wh, channel, archive, base_url)
    assert (first.pages_landed, first.last_cursor, first.stopped) == (3, "6", "max_pages=3")
    second = pull(wh, channel, archive, base_url)
    assert (second.pages_landed, second.last_cursor, second.stopped) == (2, "9", "short page")
    assert [r["args"]["skip"] for r in api.requests] == ["0", "2", "4", "6", "8"]
    assert landed_ids(wh, channel.id) == ids(api)


def test_a_secret_in_the_base_url_stays_out_of_the_ledger_and_errors(wh, archive, httpserver: HTTPServer) -> None:
    webhook = httpserver.url_for("/rest/1/hook-key-42/")  # Bitrix24: the webhook URL is the secret
    api = FakeApi("wildberries", [])
    api.add(1)
    httpserver.expect_request("/rest/1/hook-key-42/api/v1/feedbacks").respond_with_handler(api.handle)
    channel = make_channel("wildberries", {"credentials_env": "OTKLIK_TEST_HOOK"}, base_url_env="OTKLIK_TEST_HOOK")
    pull(wh, channel, archive, webhook, secret=webhook)
    (uri,) = wh.execute("select source_uri from raw.batches").fetchone()
    assert uri.startswith("***/api/v1/feedbacks?") and "hook-key-42" not in uri

    api.failures = [Response("gone", status=404)]
    with pytest.raises(PullError, match=r"GET \*\*\*/api/v1/feedbacks\?.* HTTP 404") as caught:
        pull(wh, channel, archive, webhook, secret=webhook)
    assert "hook-key-42" not in str(caught.value)


def test_a_page_that_is_not_json_is_quarantined_and_the_cursor_stays(wh, archive, base_url, serve: Serve) -> None:
    api = serve("wildberries", 3)
    api.failures = [Response("<html>maintenance</html>", status=200, content_type="text/html")]
    channel = make_channel("wildberries")
    with pytest.raises(PullError, match="not a page of records"):
        pull(wh, channel, archive, base_url)
    assert wh.execute("select reason from quarantine.files").fetchall() == [("broken_json",)]
    assert channel_cursor(wh, channel.id) is None

    pull(wh, channel, archive, base_url)  # the API recovered: everything lands
    assert landed_ids(wh, channel.id) == ids(api)


@pytest.mark.parametrize("crash", ["before", "after"], ids=["before-landing-page-2", "after-landing-page-2"])
def test_a_crash_mid_pull_resumes_and_ends_like_a_clean_pull(
    wh, archive, base_url, serve: Serve, tmp_path: Path, crash: str
) -> None:
    api = serve("zendesk", 5)
    channel = make_channel("zendesk")
    calls = 0

    def land_then_crash(data: bytes, **where: Any) -> Any:
        nonlocal calls
        calls += 1
        if calls == 2 and crash == "before":
            raise RuntimeError("killed")
        outcome = land_batch(wh, channel.id, channel, data, archive_dir=archive, run_id="r", **where)
        if calls == 2:
            raise RuntimeError("killed")
        return outcome

    with pytest.raises(RuntimeError, match="killed"):
        pull_pages(channel, base_url=base_url, cursor=None, land=land_then_crash, secret=None)
    committed = "1" if crash == "before" else "2"
    assert channel_cursor(wh, channel.id) == committed

    del api.requests[:]
    resumed = pull(wh, channel, archive, base_url)
    assert api.requests[0]["args"]["page"] == str(int(committed) + 1)
    assert resumed.pages_skipped == 0

    clean = connect_memory()
    pull(clean, channel, tmp_path / "clean-archive", base_url)
    for con in (wh, clean):
        assert landed_ids(con, channel.id) == ids(api)  # every item once
    assert cursor_chain(wh, channel.id) == cursor_chain(clean, channel.id)
    clean.close()


# --- the flow's plain helpers ---------------------------------------------------------------------


def test_one_failing_channel_does_not_stop_the_others() -> None:
    def work(channel_id: str) -> str:
        if channel_id == "broken":
            raise PullError("broken: GET https://api.example/x answered HTTP 500 on all 6 attempt(s)")
        return f"pulled {channel_id}"

    results = for_each_channel(["first", "broken", "last"], work)
    assert results.done == {"first": "pulled first", "last": "pulled last"}
    assert list(results.failed) == ["broken"]
    with pytest.raises(ChannelsFailed, match=r"pull failed for channels \['broken'\] — broken: PullError: .*HTTP 500"):
        results.raise_if_failed()
    for_each_channel(["ok"], str.upper).raise_if_failed()  # nothing failed: no error


def test_only_channels_with_a_base_url_are_pulled() -> None:
    configured = make_channel("zendesk", {"id": "configured"}, base_url_env="OTKLIK_A_URL")
    unset = make_channel("ozon", {"id": "unset"}, base_url_env="OTKLIK_B_URL")
    disabled = make_channel("ozon", {"id": "disabled", "enabled": False}, base_url_env="OTKLIK_A_URL")
    files_only = Channel.model_validate(
        {
            "id": "files_only",
            "display_name": "x",
            "format": "jsonl",
            "fields": {"source_item_id": "a", "received_at": "b"},
        }
    )
    pull_now, skipped = pullable_channels([configured, unset, disabled, files_only], {"OTKLIK_A_URL": "http://api"})
    assert [c.id for c in pull_now] == ["configured"]
    assert skipped == {"unset": "OTKLIK_B_URL is not set"}


def test_headers_from_env_and_restart_from_the_first_page(
    httpserver, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Ozon-style account headers come from the environment; a feed with resume false restarts."""
    monkeypatch.setenv("TEST_CLIENT_ID", "client-42")
    channel = Channel.model_validate(
        {
            "id": "newest_first",
            "display_name": "Newest-first feed",
            "format": "json_pages",
            "reader": {"records_path": "items"},
            "fields": {"source_item_id": "id", "received_at": "at"},
            "pull": {
                "base_url_env": "UNUSED",
                "path": "/feed",
                "pagination": "page",
                "page_size": 2,
                "headers_from_env": {"Client-Id": "TEST_CLIENT_ID"},
                "resume": False,
            },
        }
    )
    pages = {"1": [{"id": 3, "at": "2026-10-03T00:00:00Z"}, {"id": 2, "at": "2026-10-02T00:00:00Z"}],
             "2": [{"id": 1, "at": "2026-10-01T00:00:00Z"}]}  # fmt: skip

    def respond(request: Request) -> Response:
        assert request.headers["Client-Id"] == "client-42"
        return Response(json.dumps({"items": pages.get(request.args.get("page"), [])}), content_type="application/json")

    httpserver.expect_request("/feed").respond_with_handler(respond)
    con = connect_memory()
    first = pull_channel(con, channel, archive_dir=tmp_path, run_id="r1", secret=None, base_url=httpserver.url_for(""))
    assert first.records == 3
    pages["1"] = [{"id": 4, "at": "2026-10-04T00:00:00Z"}, *pages["1"]][:2]  # a new review pushes the rest down
    pages["2"] = [{"id": 2, "at": "2026-10-02T00:00:00Z"}, {"id": 1, "at": "2026-10-01T00:00:00Z"}]
    second = pull_channel(con, channel, archive_dir=tmp_path, run_id="r2", secret=None, base_url=httpserver.url_for(""))
    assert second.cursor_start is None  # restarted at page 1, so the new review is seen
    ids = {r[0] for r in con.execute("select payload->>'id' from raw.channel_payloads").fetchall()}
    assert "4" in ids
