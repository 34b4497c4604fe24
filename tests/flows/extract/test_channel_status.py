"""`otklik channels list` / `check`: the status table and the first-page check, on the shipped registry.

No Prefect here (Secret blocks are passed as a function); the CLI itself, with real Prefect
blocks, is tested in test_channels_cli.py.
"""

import json
from collections.abc import Iterator

import duckdb
import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from flows.extract.status import channel_statuses, check_channel
from tests.flows.extract.fake_apis import ozon_review
from transforms.channels import get_channel, load_channels
from warehouse.ingest import land_batch

SECRET = "ozon-KEY-planted-7f3a9c"


@pytest.fixture(scope="module", autouse=True)
def prefect_harness() -> Iterator[None]:
    """Overrides tests/flows/conftest.py for this module: nothing here needs Prefect."""
    yield


def no_blocks(name: str) -> None:
    return None


def test_every_channel_is_listed_with_its_extraction_and_nothing_secret() -> None:
    environ = {"OTKLIK_OZON_API_URL": "http://127.0.0.1:9", "OTKLIK_TELEGRAM_BOT_TOKEN": "tg-SECRET-0001"}
    statuses = channel_statuses(load_channels(), None, environ=environ, load_block=no_blocks)
    assert [s.channel_id for s in statuses] == [c.id for c in load_channels()]
    by_id = {s.channel_id: s for s in statuses}
    ozon = by_id["ozon_reviews"]
    assert (ozon.extraction, ozon.provider, ozon.url_set, ozon.credentials_resolve) == (
        "pull",
        "rest_pages",
        True,
        False,
    )
    assert ozon.credentials == "block ozon-seller-api-key"
    files = [s for s in statuses if s.extraction == "file"]
    assert all(s.why_file for s in files)
    assert by_id["telegram_bot"].credentials_resolve is True
    assert "tg-SECRET-0001" not in json.dumps([s.as_json() for s in statuses])


def test_the_last_extraction_and_the_cursor_come_from_the_warehouse(wh: duckdb.DuckDBPyConnection, archive) -> None:
    channel = get_channel("ozon_reviews")
    page = json.dumps({"reviews": [ozon_review(1)], "has_next": False, "last_id": "oz-0001"}).encode()
    land_batch(
        wh, channel.id, channel, page, source_file="ozon_reviews/p.json", source_uri="http://x/", archive_dir=archive,
        run_id="r", cursor_after="oz-0001",
    )  # fmt: skip
    statuses = {s.channel_id: s for s in channel_statuses(load_channels(), wh, environ={}, load_block=no_blocks)}
    assert statuses["ozon_reviews"].cursor == "oz-0001"
    assert statuses["ozon_reviews"].last_extracted_at is not None
    assert statuses["wildberries_feedbacks"].last_extracted_at is None


def _ozon(request: Request) -> Response:
    if request.headers.get("Api-Key") != SECRET:
        return Response(json.dumps({"code": 7, "message": "Invalid Api-Key"}), status=401)
    body = {"reviews": [ozon_review(i) for i in range(3)], "has_next": True, "last_id": "oz-0002"}
    return Response(json.dumps(body), content_type="application/json")


def test_check_reads_the_first_page_and_lands_nothing(httpserver: HTTPServer, monkeypatch, caplog) -> None:
    httpserver.expect_request("/v1/review/list", method="POST").respond_with_handler(_ozon)
    monkeypatch.setenv("OTKLIK_OZON_CLIENT_ID", "12345")  # pull.headers_from_env are read from the process
    environ = {"OTKLIK_OZON_API_URL": httpserver.url_for("/")}
    channel = get_channel("ozon_reviews")
    result = check_channel(channel, cursor=None, environ=environ, load_block=lambda name: SECRET)
    assert (result.ok, result.records) == (True, 3), result.message
    assert len(httpserver.log) == 1  # the first page only

    refused = check_channel(channel, cursor=None, environ=environ, load_block=lambda name: "wrong-key-0000000")
    assert not refused.ok
    assert "401" in refused.message and "renew Prefect Secret block 'ozon-seller-api-key'" in refused.message
    assert SECRET not in refused.message and SECRET not in caplog.text


def test_check_names_what_is_missing() -> None:
    channel = get_channel("ozon_reviews")
    missing = check_channel(channel, cursor=None, environ={}, load_block=no_blocks)
    assert not missing.ok and "ozon-seller-api-key" in missing.message
    unset = check_channel(channel, cursor=None, environ={}, load_block=lambda name: SECRET)
    assert not unset.ok and "OTKLIK_OZON_API_URL" in unset.message
    file_channel = check_channel(get_channel("store_complaint_book"), cursor=None, environ={}, load_block=no_blocks)
    assert file_channel.ok and "landing folder" in file_channel.message


def test_reset_cursor_sets_or_removes_it_and_records_why(tmp_path, archive, monkeypatch) -> None:
    from typer.testing import CliRunner

    from otklik.cli import app
    from warehouse import connect
    from warehouse.ingest import channel_cursor

    monkeypatch.setenv("OTKLIK_WAREHOUSE", str(tmp_path / "w.duckdb"))
    channel = get_channel("ozon_reviews")
    page = json.dumps({"reviews": [ozon_review(1)], "has_next": False, "last_id": "oz-0001"}).encode()
    with connect() as con:
        land_batch(
            con, channel.id, channel, page, source_file="ozon_reviews/p.json", source_uri="http://x/",
            archive_dir=archive, run_id="r", cursor_after="oz-0001",
        )  # fmt: skip
    runner = CliRunner()
    to = runner.invoke(app, ["channels", "reset-cursor", "ozon_reviews", "--to", "oz-0000", "--reason", "re-read"])
    assert to.exit_code == 0, to.output
    assert "'oz-0001' -> 'oz-0000'" in to.output
    gone = runner.invoke(app, ["channels", "reset-cursor", "ozon_reviews", "--reason", "provider changed"])
    assert gone.exit_code == 0, gone.output
    unknown = runner.invoke(app, ["channels", "reset-cursor", "no_such_channel", "--reason", "x"])
    assert unknown.exit_code == 1 and "unknown channel" in unknown.output
    with connect(read_only=True) as con:
        assert channel_cursor(con, "ozon_reviews") is None
        runs = con.execute(
            "select state, message from audit.runs where flow = 'reset-cursor' order by started_at"
        ).fetchall()
    assert runs == [
        ("completed", "cursor 'oz-0001' -> 'oz-0000': re-read"),
        ("completed", "cursor 'oz-0000' -> None: provider changed"),
    ]
