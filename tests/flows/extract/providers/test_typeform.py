"""The survey channels pulled as shipped from Typeform's Responses API on loopback (fake_typeform.py).

nps_email_survey and licence_expiry_survey, each by its own channels.yaml entry: token paging
(``after``, never combined with ``sort``), the cursor committed per page, incremental pulls, the
export layout of each channel (columns, delimiter, encoding, dates), and the faults of the
extraction contract.
"""

import json
import logging
import re
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb
import polars as pl
import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from flows.extract import PullError, pull_channel
from flows.extract.providers import typeform
from otklik.sample.surveys import LICENCE_HEADER
from otklik.sample.writers import NPS_HEADER
from tests.flows.extract.providers.conftest import cursor_chain, pull_as_shipped, shipped, staged_payloads
from tests.flows.extract.providers.fake_typeform import TOKEN, FakeTypeform, _answer, nps_response
from transforms.normalize import normalize_channel
from warehouse.ingest import channel_cursor

NPS = "nps_email_survey"
LICENCE = "licence_expiry_survey"
PAGE = 100  # the shipped page_size


def serve(httpserver: HTTPServer, responses: list[dict[str, Any]], **kwargs: Any) -> FakeTypeform:
    api = FakeTypeform(responses, **kwargs)
    httpserver.expect_request(re.compile(r"^/forms/.*")).respond_with_handler(api.handle)
    return api


def pull(wh: duckdb.DuckDBPyConnection, archive: Path, base_url: str, channel_id: str = NPS, **kwargs: Any):
    kwargs.setdefault("secret", TOKEN)
    return pull_as_shipped(wh, channel_id, archive, base_url, **kwargs)


def tokens(responses: list[dict[str, Any]]) -> list[str]:
    return sorted(r["token"] for r in responses)


def landed_ids(wh: duckdb.DuckDBPyConnection, channel_id: str = NPS, column: str = "response_id") -> list[str]:
    """The landed response ids, sorted (batches are ordered by their content-hash id, not by time)."""
    return sorted(p[column] for p in staged_payloads(wh, channel_id))


def staged(wh: duckdb.DuckDBPyConnection, channel_id: str) -> pl.DataFrame:
    """The channel's landed payloads through staging (normalize), as the pipeline reads them."""
    frame = wh.execute(
        "select payload::varchar as payload, _batch_id, _source_file, _record_index from raw.channel_payloads"
        " where channel_id = ? order by _batch_id, _record_index",
        [channel_id],
    ).pl()
    return normalize_channel(frame, shipped(channel_id), pii_key=b"k", as_of=datetime(2026, 12, 1, tzinfo=UTC)).rows


def everything_left_behind(wh: duckdb.DuckDBPyConnection, archive: Path) -> str:
    tables = wh.execute(
        "select table_schema, table_name from information_schema.tables where table_schema in ('raw', 'quarantine')"
    ).fetchall()
    text = "\n".join(str(wh.execute(f'select * from "{s}"."{t}"').fetchall()) for s, t in tables)
    files = [p.read_bytes().decode("utf-8", "replace") for p in archive.rglob("*") if p.is_file()]
    return text + "\n".join(files)


# --- paging and the cursor ------------------------------------------------------------------------


def test_pages_follow_the_after_token_with_the_cursor_committed_per_page(
    wh, archive, base_url, httpserver, monkeypatch
) -> None:
    monkeypatch.setattr(typeform, "clock", lambda: 100.0)  # requests answered at once: each next one waits
    api = serve(httpserver, [nps_response(n) for n in range(2 * PAGE + 5)])
    sleeps: list[float] = []
    summary = pull(wh, archive, base_url, sleep=sleeps.append)

    every = [r["token"] for r in api.responses]
    first, *others = [r["args"] for r in api.requests]
    assert first == {"page_size": "100", "completed": "true", "sort": "submitted_at,asc"}
    assert others == [
        {"page_size": "100", "completed": "true", "after": every[PAGE - 1]},
        {"page_size": "100", "completed": "true", "after": every[2 * PAGE - 1]},
    ]  # `after` without `sort`: the documented traversal in processing order
    assert cursor_chain(wh, NPS) == [(None, every[99]), (every[99], every[199]), (every[199], every[204])]
    assert landed_ids(wh) == sorted(every) and summary.records == 205
    assert sleeps == [0.5, 0.5]  # 2 requests per second at most

    api.responses += [nps_response(n) for n in range(205, 208)]  # the second pull takes only what is new
    pull(wh, archive, base_url)
    assert api.requests[-1]["args"] == {"page_size": "100", "completed": "true", "after": every[204]}
    assert landed_ids(wh) == tokens(api.responses)
    assert cursor_chain(wh, NPS)[-1] == (every[204], api.responses[-1]["token"])

    again = pull(wh, archive, base_url)  # nothing new: one request, nothing landed twice
    assert (again.pages_landed, again.records) == (0, 0)
    assert len(landed_ids(wh)) == 208 and channel_cursor(wh, NPS) == api.responses[-1]["token"]


def test_the_bearer_token_is_sent_as_documented(wh, archive, base_url, httpserver) -> None:
    api = serve(httpserver, [nps_response(1)])
    pull(wh, archive, base_url)
    request = api.requests[0]
    assert request["path"] == "/forms/nps4ftrBuy/responses"
    assert request["headers"]["Authorization"] == f"Bearer {TOKEN}"


def test_an_empty_page_ends_the_pull_and_the_next_one_goes_on_from_the_token(wh, archive, base_url, httpserver) -> None:
    """Token paging cannot skip: an empty answer in the middle only ends this pull at the last token."""
    api = serve(httpserver, [nps_response(n) for n in range(PAGE + 7)])
    first_page = json.dumps({"total_items": 107, "page_count": 2, "items": api.responses[:PAGE]})
    empty = json.dumps({"total_items": 0, "page_count": 0, "items": []})
    api.failures = [
        Response(first_page, content_type="application/json"),
        Response(empty, content_type="application/json"),
    ]
    pull(wh, archive, base_url)
    assert channel_cursor(wh, NPS) == api.responses[PAGE - 1]["token"]
    assert len(landed_ids(wh)) == PAGE

    pull(wh, archive, base_url)
    assert api.requests[-1]["args"]["after"] == api.responses[PAGE - 1]["token"]
    assert landed_ids(wh) == tokens(api.responses)


# --- what lands: each channel's export layout -----------------------------------------------------


def test_nps_columns_score_contact_and_dates_as_the_export_writes_them(wh, archive, base_url, httpserver) -> None:
    serve(httpserver, [nps_response(9, contact=True, comment="Курьер опоздал, перезвоните"), nps_response(10)])
    pull(wh, archive, base_url)

    payloads = staged_payloads(wh, NPS)
    assert list(payloads[0]) == list(NPS_HEADER)  # the sample generator's header, in its order
    assert payloads[0] == {
        "response_id": nps_response(9)["token"],
        "survey": "after_delivery",
        "submitted_at": "2026-10-05T09:33:00+00:00",
        "recommend_score": "9",
        "comment": "Курьер опоздал, перезвоните",
        "contact_me": "yes",
        "phone": "+79160000009",
        "email": "client9@example.ru",
        "customer_id": "C0009",
        "order_number": "ORD-9",
        "store_code": "",
        "segment": "b2c",
    }
    assert (payloads[1]["contact_me"], payloads[1]["comment"], payloads[1]["phone"]) == ("no", "", "")

    rows = staged(wh, NPS)
    assert rows["score_raw"].to_list() == [9.0, 10.0]
    assert rows["has_contact_request"].to_list() == [True, False]
    assert rows["received_at"][0] == datetime(2026, 10, 5, 9, 33, tzinfo=UTC)


def licence_response(n: int, *, contact: bool) -> dict[str, Any]:
    response = nps_response(n)
    response["hidden"] = {"customer_id": f"C{n}", "licence": f"PRO-{2000000 + n}", "licence_ends": "19.12.2026"}
    response["hidden"]["segment"] = "b2b"
    response["answers"] = [
        _answer("recommend_score", "opinion_scale", "number", 7),
        _answer("improve", "long_text", "text", "Дешевле; и быстрее"),
        _answer("contact_me", "yes_no", "boolean", contact),
        _answer("email", "email", "email", f"it{n}@firma.ru"),
    ]
    return response


def test_licence_survey_lands_as_its_excel_export(wh, archive, base_url, httpserver) -> None:
    serve(httpserver, [licence_response(1, contact=True), licence_response(2, contact=False)], form_id="proExp75d")
    pull(wh, archive, base_url, LICENCE)

    (path,) = [Path(p) for (p,) in wh.execute("select archive_path from raw.batches").fetchall()]
    data = path.read_bytes()
    header = ";".join(LICENCE_HEADER).encode()
    assert data.startswith(b"\xef\xbb\xbf" + header + b"\r\n")  # UTF-8 with a BOM, ";", CRLF
    assert b'"\xd0\x94\xd0\xb5\xd1\x88\xd0\xb5\xd0\xb2\xd0\xbb\xd0\xb5; ' in data  # "Дешевле; …" quoted

    first, second = staged_payloads(wh, LICENCE)
    assert first["Дата заполнения"] == "05.10.2026 10:17"  # 07:17 UTC, Moscow wall clock to the minute
    assert (first["Оценка"], first["Хочу, чтобы со мной связались"], second["Хочу, чтобы со мной связались"]) == (
        "7",
        "Да",
        "",
    )
    rows = staged(wh, LICENCE)
    assert rows["has_contact_request"].to_list() == [True, False]
    assert rows["licence_ref"].to_list() == ["PRO-2000001", "PRO-2000002"]
    assert rows["received_at"][0] == datetime(2026, 10, 5, 7, 17, tzinfo=UTC)


# --- faults ---------------------------------------------------------------------------------------


def test_a_refused_token_names_the_secret_and_moves_nothing(wh, archive, base_url, httpserver) -> None:
    api = serve(httpserver, [nps_response(1)])
    with pytest.raises(PullError, match=r"HTTP 401.*renew environment variable OTKLIK_SURVEY_API_TOKEN") as caught:
        pull(wh, archive, base_url, secret="tfp_expired-token-000000")
    assert not caught.value.retryable and len(api.requests) == 1
    assert wh.execute("select count(*) from raw.batches").fetchone() == (0,)
    assert channel_cursor(wh, NPS) is None


@pytest.mark.parametrize(("headers", "waited"), [({"Retry-After": "7"}, 7.0), ({}, None)], ids=["retry-after", "none"])
def test_429_waits_then_goes_on(wh, archive, base_url, httpserver, headers: dict, waited: float | None) -> None:
    api = serve(httpserver, [nps_response(n) for n in range(3)])
    api.failures = [Response('{"code": "TOO_MANY_REQUESTS"}', status=429, headers=headers)]
    sleeps: list[float] = []
    pull(wh, archive, base_url, sleep=sleeps.append)
    assert len(api.requests) == 2 and landed_ids(wh) == tokens(api.responses)
    assert sleeps and (sleeps[0] == waited if waited else 0 < sleeps[0] <= 2)  # backoff: 1 s + jitter


def test_5xx_then_success(wh, archive, base_url, httpserver) -> None:
    api = serve(httpserver, [nps_response(n) for n in range(3)])
    api.failures = [Response(status=503), Response(status=502)]
    pull(wh, archive, base_url)
    assert len(api.requests) == 3 and landed_ids(wh) == tokens(api.responses)


def test_a_timeout_is_retried_then_fails_with_nothing_moved(wh, archive, base_url, httpserver) -> None:
    release = threading.Event()

    def slow(request: Request) -> Response:
        release.wait(2)
        return Response("{}", content_type="application/json")

    httpserver.expect_request(re.compile(r"^/forms/.*")).respond_with_handler(slow)
    entry = shipped(NPS)  # as shipped, but a short timeout so that the test does not wait 30 s
    options = entry.how_extracted.options | {"timeout_seconds": 0.1, "max_retries": 1}
    channel = entry.model_copy(update={"extraction": entry.how_extracted.model_copy(update={"options": options})})
    with pytest.raises(PullError, match=r"timed out .* on all 2 attempt") as caught:
        pull_channel(
            wh, channel, archive_dir=archive, run_id="t", secret=TOKEN, base_url=base_url, sleep=lambda s: None
        )
    assert caught.value.retryable and channel_cursor(wh, NPS) is None
    release.set()  # let the server finish the abandoned requests before the next test uses it
    time.sleep(0.1)


def test_a_page_that_is_not_json_is_quarantined_and_the_cursor_stays(wh, archive, base_url, httpserver) -> None:
    api = serve(httpserver, [nps_response(n) for n in range(PAGE + 5)])
    page_one = json.dumps({"total_items": 105, "page_count": 2, "items": api.responses[:PAGE]})
    api.failures = [
        Response(page_one, content_type="application/json"),
        Response("<html>Bad gateway</html>", status=200, content_type="text/html"),
    ]
    with pytest.raises(PullError, match=r"is not a page .*not JSON"):
        pull(wh, archive, base_url)
    (quarantined,) = wh.execute("select source_file from quarantine.files").fetchall()
    assert quarantined[0].startswith(f"{NPS}/pull-after-")
    assert channel_cursor(wh, NPS) == api.responses[PAGE - 1]["token"]  # page one landed, page two did not

    pull(wh, archive, base_url)  # recovered: the rest lands, nothing twice
    assert landed_ids(wh) == tokens(api.responses)


def test_an_api_that_ignores_after_stops_instead_of_looping(wh, archive, base_url, httpserver) -> None:
    api = serve(httpserver, [nps_response(n) for n in range(PAGE + 5)], ignore_after=True)
    with pytest.raises(PullError, match="repeated response"):
        pull(wh, archive, base_url)
    assert len(api.requests) == 2 and len(landed_ids(wh)) == PAGE
    assert channel_cursor(wh, NPS) == api.responses[PAGE - 1]["token"]


def test_the_token_never_leaves(wh, archive, base_url, httpserver, caplog) -> None:
    caplog.set_level(logging.DEBUG)
    echoing = nps_response(1)
    echoing["hidden"]["segment"] = f"debug {TOKEN}"  # an API echoing the credentials into a page
    api = serve(httpserver, [echoing])
    pull(wh, archive, base_url)
    assert staged_payloads(wh, NPS)[0]["segment"] == "debug ***"

    api.failures = [Response(json.dumps({"code": "FORBIDDEN", "description": f"token {TOKEN} lacks scope"}), 403)]
    with pytest.raises(PullError) as caught:
        pull(wh, archive, base_url)
    assert "renew environment variable OTKLIK_SURVEY_API_TOKEN" in str(caught.value)
    for where in (str(caught.value), caplog.text, everything_left_behind(wh, archive)):
        assert TOKEN not in where and "PLANTED-typeform" not in where
