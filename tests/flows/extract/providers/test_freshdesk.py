"""freshdesk_tickets as shipped, against a loopback Freshdesk API v2 ticket list.

The server follows https://developers.freshdesk.com/api/#list_all_tickets , #pagination and
#ratelimit: ``GET /api/v2/tickets`` with ``updated_since`` (that time included), ``order_by`` /
``order_type``, ``per_page`` and ``include=requester,description``; a bare JSON array of tickets
(the shape of tests/fixtures/real/freshdesk/python-freshdesk_v2_ticket_1.json, with a requester
object for the include); the next page in a ``Link: <url>; rel="next"`` header, none on the last
page; ``page`` above its last page (300) is a 400 validation error; Basic auth ``<API key>:X``
(401 ``{"code": "invalid_credentials", ...}`` otherwise); ``X-RateLimit-Total`` /
``-Remaining`` / ``-Used-CurrentRequest`` on every answer. To keep the tests small it serves
``page_size`` tickets a page whatever ``per_page`` asks (a stand-in for 100), and the 300-page
limit is lowered to 3 where a test says so.
"""

import base64
import copy
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import duckdb
import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from flows.extract.http_fetch import PullError
from flows.extract.providers import freshdesk
from flows.extract.providers.freshdesk import LIST_PATH
from tests.flows.extract.providers.conftest import cursor_chain, pull_as_shipped, staged_payloads
from tests.flows.extract.providers.faults import FaultSuite, LoopbackApi, batches, json_response, normalized
from warehouse.ingest import channel_cursor

CHANNEL = "freshdesk_tickets"
KEY = "Fd3sKq8ZrT2mXw9LpV4n"  # the API key (the channel's secret)
FIXTURES = Path(__file__).parents[3] / "fixtures/real/freshdesk"
TICKET = json.loads((FIXTURES / "python-freshdesk_v2_ticket_1.json").read_text("utf-8"))
T0 = 1_790_000_000


def spelled(at: int) -> str:
    return datetime.fromtimestamp(at, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class FreshdeskApi(LoopbackApi):
    def __init__(self, page_size: int = 2, last_page: int = 300) -> None:
        super().__init__()
        self.tickets: dict[int, dict[str, Any]] = {}
        self.clock = T0
        self.page_size, self.last_page = page_size, last_page

    def add(self, count: int, text: str | None = None, *, same_second: bool = False) -> None:
        for _ in range(count):
            ticket = copy.deepcopy(TICKET)
            ticket["id"] = 1 + len(self.tickets)
            ticket["subject"] = f"Ремонт {ticket['id']}: чайник не греет"
            ticket["description_text"] = text or f"Сдал чайник в ремонт, заявка {ticket['id']}."
            ticket["description"] = f"<div>{ticket['description_text']}</div>"
            ticket["requester"] = {"id": 6012691534, "name": "Rachel", "email": "rachel@example.com", "phone": None}
            self.clock += 0 if same_second else 1
            ticket["created_at"] = ticket["updated_at"] = spelled(self.clock)
            self.tickets[ticket["id"]] = ticket

    def edit(self, ticket_id: int, text: str) -> None:
        self.clock += 1
        self.tickets[ticket_id] |= {"description_text": text, "updated_at": spelled(self.clock)}

    def answer(self, request: Request) -> Response:
        if request.headers.get("Authorization") != "Basic " + base64.b64encode(f"{KEY}:X".encode()).decode():
            return json_response({"code": "invalid_credentials", "message": "You have to be logged in."}, 401)
        page = int(request.args.get("page", 1))
        if page > self.last_page:
            error = {"field": "page", "message": "It should be a Positive Integer less than or equal to 300"}
            return json_response(
                {"description": "Validation failed", "errors": [error | {"code": "invalid_value"}]}, 400
            )
        since = datetime.fromisoformat(request.args["updated_since"])
        assert (request.args["order_by"], request.args["order_type"]) == ("updated_at", "asc")
        matching = sorted(
            (t for t in self.tickets.values() if datetime.fromisoformat(t["updated_at"]) >= since),
            key=lambda t: (t["updated_at"], t["id"]),
        )
        chunk = matching[(page - 1) * self.page_size : page * self.page_size]
        headers = {"X-RateLimit-Total": "700", "X-RateLimit-Remaining": "690", "X-RateLimit-Used-CurrentRequest": "3"}
        if page * self.page_size < len(matching):
            query = urlencode({k: v for k, v in request.args.items() if k != "page"} | {"page": page + 1})
            headers["Link"] = f'<{request.host_url.rstrip("/")}{LIST_PATH}?{query}>; rel="next"'
        return json_response(chunk, headers=headers)


@pytest.fixture
def api(httpserver: HTTPServer) -> FreshdeskApi:
    tickets = FreshdeskApi()
    tickets.add(5)
    httpserver.expect_request(LIST_PATH, method="GET").respond_with_handler(tickets.handle)
    return tickets


@pytest.fixture
def secret() -> str:
    return KEY


@pytest.fixture
def pull(wh: duckdb.DuckDBPyConnection, archive: Path, httpserver: HTTPServer) -> Any:
    def run(**kwargs: Any) -> Any:
        kwargs.setdefault("secret", KEY)
        return pull_as_shipped(wh, CHANNEL, archive, httpserver.url_for("/"), **kwargs)

    return run


class TestFaults(FaultSuite):
    channel_id = CHANNEL


def mark(at: int, *ids: int) -> str:
    return json.dumps({"since": spelled(at), "ids": sorted(str(i) for i in ids)}, separators=(",", ":"))


def ids_landed(con: duckdb.DuckDBPyConnection) -> list[int]:
    return sorted(t["id"] for t in staged_payloads(con, CHANNEL))


def test_the_link_header_pages_from_updated_since_with_a_watermark_per_page(
    api: FreshdeskApi, pull: Any, wh: duckdb.DuckDBPyConnection, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level("DEBUG", logger="flows.extract.providers.freshdesk")
    summary = pull()
    first = api.requests[0]["args"]
    assert first == {
        "updated_since": "2020-01-01T00:00:00Z",
        "order_by": "updated_at",
        "order_type": "asc",
        "per_page": "100",
        "include": "requester,description",
    }
    assert [r["args"].get("page") for r in api.requests] == [None, "2", "3"]
    assert cursor_chain(wh, CHANNEL) == [
        (None, mark(T0 + 2, 2)),
        (mark(T0 + 2, 2), mark(T0 + 4, 4)),
        (mark(T0 + 4, 4), mark(T0 + 5, 5)),
    ]
    assert (summary.pages_landed, summary.records) == (3, 5) and ids_landed(wh) == [1, 2, 3, 4, 5]
    expected = "Basic " + base64.b64encode(f"{KEY}:X".encode()).decode()
    assert {r["headers"]["Authorization"] for r in api.requests} == {expected}
    assert "x-ratelimit-remaining" in caplog.text.lower()


def test_the_next_pull_asks_from_the_watermark_and_lands_nothing_twice(
    api: FreshdeskApi, pull: Any, wh: duckdb.DuckDBPyConnection
) -> None:
    pull()
    again = pull()  # the last ticket comes back (updated_since includes its time) and is dropped
    assert api.requests[-1]["args"]["updated_since"] == spelled(T0 + 5)
    assert (again.pages_fetched, again.pages_landed, again.records) == (1, 0, 0)

    api.add(1, same_second=True)  # ticket 6: the same second as ticket 5, after the last pull
    api.edit(1, "Починили, спасибо!")
    api.add(1)
    more = pull()
    assert (more.records, ids_landed(wh)) == (3, [1, 1, 2, 3, 4, 5, 6, 7])
    assert channel_cursor(wh, CHANNEL) == mark(T0 + 7, 7)
    staged = normalized(wh, CHANNEL)  # the edit is a version ordered by updated_at; no duplicates
    assert (staged.rows.height, staged.history.height, staged.rejects.height) == (7, 1, 0)


def test_page_300_starts_the_listing_again_from_the_latest_updated_at(
    api: FreshdeskApi, pull: Any, wh: duckdb.DuckDBPyConnection, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(freshdesk, "LAST_PAGE", 3)  # Freshdesk's 300, lowered with the server's
    api.last_page = 3
    api.add(5)  # 10 tickets, 2 a page
    summary = pull()
    asked = [(r["args"]["updated_since"], r["args"].get("page")) for r in api.requests]
    assert asked == [
        ("2020-01-01T00:00:00Z", None),
        ("2020-01-01T00:00:00Z", "2"),
        ("2020-01-01T00:00:00Z", "3"),
        (spelled(T0 + 6), None),  # ticket 6 again (dropped), and 7
        (spelled(T0 + 6), "2"),
        (spelled(T0 + 6), "3"),
    ]
    assert (summary.records, ids_landed(wh)) == (10, list(range(1, 11)))


def test_a_page_of_tickets_already_landed_in_the_middle_is_passed_over(
    api: FreshdeskApi, pull: Any, wh: duckdb.DuckDBPyConnection
) -> None:
    api.add(1, same_second=True)  # tickets 5 and 6 share a second
    pull()
    api.add(3)
    api.page_size = 2  # the first page again holds only tickets 5 and 6: nothing new on it
    summary = pull()
    assert (summary.pages_fetched, summary.pages_landed, summary.records) == (3, 2, 3)
    assert ids_landed(wh) == list(range(1, 10))


def test_a_next_link_to_another_host_is_not_followed(
    api: FreshdeskApi, pull: Any, wh: duckdb.DuckDBPyConnection
) -> None:
    original = api.answer

    def elsewhere(request: Request) -> Response:
        response = original(request)
        response.headers["Link"] = '<https://attacker.example/api/v2/tickets?page=2>; rel="next"'
        return response

    api.answer = elsewhere  # type: ignore[method-assign]
    with pytest.raises(PullError, match=r"attacker\.example"):
        pull()
    assert len(api.requests) == 1 and batches(wh, CHANNEL) == 1


def test_a_next_link_that_repeats_stops_the_pull(api: FreshdeskApi, pull: Any, wh: duckdb.DuckDBPyConnection) -> None:
    original = api.answer

    def loop(request: Request) -> Response:
        response = original(request)
        if request.args.get("page") == "2":
            response.headers["Link"] = response.headers["Link"].replace("page=3", "page=2")
        return response

    api.answer = loop  # type: ignore[method-assign]
    with pytest.raises(PullError, match="next page repeats"):
        pull()
    assert len(api.requests) == 2 and channel_cursor(wh, CHANNEL) == mark(T0 + 4, 4)


def test_a_key_written_as_key_colon_x_works_too(api: FreshdeskApi, pull: Any) -> None:
    assert pull(secret=f"{KEY}:X").records == 5
