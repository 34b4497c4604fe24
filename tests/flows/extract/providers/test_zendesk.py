"""zendesk_tickets as shipped, against a loopback Zendesk incremental ticket export (cursor based).

The server follows https://developer.zendesk.com/api-reference/ticketing/ticket-management/incremental_exports/
and https://developer.zendesk.com/documentation/ticketing/managing-tickets/using-the-incremental-export-api :
``GET /api/v2/incremental/tickets/cursor.json`` with ``start_time`` (Unix seconds) on the first
request and ``cursor`` after it; ``{"tickets", "after_url", "after_cursor", "before_url",
"before_cursor", "end_of_stream"}``; every ticket changed after the cursor comes back once, as its
current version, in the order of its last change (an edited ticket comes back whole); Basic auth
``{email}/token:{api_token}`` (401 ``{"error": "Couldn't authenticate you"}`` otherwise); 429 with
Retry-After for its 10 requests a minute. The tickets are the documented ticket object of
tests/fixtures/documented/zendesk/ticket.json with ids, times and texts of our own. The server
answers at most ``page_limit`` tickets a page (the export may answer fewer than ``per_page``:
only ``end_of_stream`` says it is done).
"""

import base64
import copy
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb
import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from flows.extract.http_fetch import PullError
from flows.extract.providers.zendesk import EXPORT_PATH
from tests.flows.extract.providers.conftest import cursor_chain, pull_as_shipped, staged_payloads
from tests.flows.extract.providers.faults import FaultSuite, LoopbackApi, batches, json_response, normalized
from warehouse.ingest import channel_cursor

CHANNEL = "zendesk_tickets"
SECRET = "support-robot@shop.example/token:Zk7qR2xWp9LmT4vB8nC3"
TICKET = json.loads((Path(__file__).parents[3] / "fixtures/documented/zendesk/ticket.json").read_text("utf-8"))
T0 = 1_790_000_000  # 2026-09-21


def encode(at: int, ticket_id: int) -> str:
    """A cursor as Zendesk spells one (base64 of "<time>.0||<id>|")."""
    return base64.b64encode(f"{at}.0||{ticket_id}|".encode()).decode()


def decode(cursor: str) -> tuple[int, int]:
    at, _, ticket_id, _ = base64.b64decode(cursor).decode().split("|")
    return int(float(at)), int(ticket_id)


class ZendeskExport(LoopbackApi):
    def __init__(self, page_limit: int = 2) -> None:
        super().__init__()
        self.tickets: dict[int, dict[str, Any]] = {}
        self.changed: dict[int, int] = {}  # ticket id -> Unix time of its last change
        self.clock = T0
        self.page_limit = page_limit

    def add(self, count: int, text: str | None = None) -> None:
        for _ in range(count):
            ticket = copy.deepcopy(TICKET)
            ticket["id"] = 4821 + len(self.tickets)
            ticket["url"] = f"https://example.zendesk.com/api/v2/tickets/{ticket['id']}.json"
            ticket["subject"] = f"Заказ {ticket['id']}: не пришёл возврат"
            ticket["description"] = text or f"Отменил заказ {ticket['id']}, деньги не вернулись."
            ticket["created_at"] = ticket["updated_at"] = self._tick(ticket["id"])
            self.tickets[ticket["id"]] = ticket

    def edit(self, ticket_id: int, **fields: Any) -> None:
        ticket = self.tickets[ticket_id]
        ticket.update(fields)
        ticket["updated_at"] = self._tick(ticket_id)

    def _tick(self, ticket_id: int) -> str:
        self.clock += 60
        self.changed[ticket_id] = self.clock
        return datetime.fromtimestamp(self.clock, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")

    def answer(self, request: Request) -> Response:
        expected = "Basic " + base64.b64encode(SECRET.encode()).decode()
        if request.headers.get("Authorization") != expected:
            return json_response({"error": "Couldn't authenticate you"}, status=401)
        if "cursor" in request.args:
            after = decode(request.args["cursor"])
        elif "start_time" in request.args:
            after = (int(request.args["start_time"]) - 1, 2**62)
        else:
            return json_response({"error": "InvalidPaginationParameter", "description": "start_time or cursor"}, 400)
        size = min(int(request.args.get("per_page", 1000)), 1000, self.page_limit)
        order = sorted((at, ticket_id) for ticket_id, at in self.changed.items() if (at, ticket_id) > after)
        chunk = order[:size]
        last = chunk[-1] if chunk else after
        cursor = encode(*last)
        return json_response(
            {
                "tickets": [self.tickets[ticket_id] for _, ticket_id in chunk],
                "after_url": f"https://example.zendesk.com{EXPORT_PATH}?cursor={cursor}",
                "after_cursor": cursor,
                "before_url": None,
                "before_cursor": encode(*chunk[0]) if chunk else None,
                "end_of_stream": len(order) <= size,
            }
        )


@pytest.fixture
def api(httpserver: HTTPServer) -> ZendeskExport:
    export = ZendeskExport()
    export.add(5)
    httpserver.expect_request(EXPORT_PATH, method="GET").respond_with_handler(export.handle)
    return export


@pytest.fixture
def secret() -> str:
    return SECRET


@pytest.fixture
def pull(wh: duckdb.DuckDBPyConnection, archive: Path, httpserver: HTTPServer) -> Any:
    def run(**kwargs: Any) -> Any:
        kwargs.setdefault("secret", SECRET)
        return pull_as_shipped(wh, CHANNEL, archive, httpserver.url_for("/"), **kwargs)

    return run


class TestFaults(FaultSuite):
    channel_id = CHANNEL


def test_the_export_pages_until_end_of_stream_committing_each_after_cursor(
    api: ZendeskExport, pull: Any, wh: duckdb.DuckDBPyConnection
) -> None:
    summary = pull()
    assert [r["args"] for r in api.requests] == [
        {"start_time": "0", "per_page": "1000"},
        {"cursor": encode(T0 + 120, 4822), "per_page": "1000"},
        {"cursor": encode(T0 + 240, 4824), "per_page": "1000"},
    ]
    chain = [encode(T0 + 120, 4822), encode(T0 + 240, 4824), encode(T0 + 300, 4825)]
    assert cursor_chain(wh, CHANNEL) == [(None, chain[0]), (chain[0], chain[1]), (chain[1], chain[2])]
    assert (summary.pages_landed, summary.records, summary.last_cursor) == (3, 5, chain[2])
    assert sorted(t["id"] for t in staged_payloads(wh, CHANNEL)) == [4821, 4822, 4823, 4824, 4825]
    assert all(r["headers"]["Authorization"].startswith("Basic ") for r in api.requests)


def test_the_next_pull_resumes_at_the_cursor_and_an_edit_comes_back_as_a_version(
    api: ZendeskExport, pull: Any, wh: duckdb.DuckDBPyConnection
) -> None:
    pull()
    nothing = pull()
    assert (nothing.pages_fetched, nothing.pages_landed, len(api.requests)) == (1, 0, 4)
    assert api.requests[-1]["args"]["cursor"] == channel_cursor(wh, CHANNEL)

    api.edit(4821, description="Деньги вернулись, спасибо.")  # what the ticket says changed
    api.edit(4822, status="solved")  # only its state changed
    api.add(1)
    more = pull()
    assert (more.pages_landed, more.records) == (2, 3)
    assert sorted(t["id"] for t in staged_payloads(wh, CHANNEL)) == [4821, 4821, 4822, 4822, 4823, 4824, 4825, 4826]

    # Staging: versions of one id are ordered by updated_at, the latest is the current row. A new
    # version whose mapped fields are unchanged (a status change) is a duplicate, not an edit.
    staged = normalized(wh, CHANNEL)
    assert staged.rows.height == 6
    edited = staged.rows.filter(staged.rows["feedback_id"] == "zendesk_tickets:4821")
    assert edited["body_text"].to_list()[0].endswith("Деньги вернулись, спасибо.")
    assert edited["is_edited"].to_list() == [True]
    assert staged.history["feedback_id"].to_list() == ["zendesk_tickets:4821"]
    assert staged.rejects.select("reason", "detail").row(0)[0] == "duplicate"
    assert "zendesk_tickets:4822" in staged.rejects["detail"][0]


def test_the_after_url_host_is_never_asked(api: ZendeskExport, pull: Any) -> None:
    pull()
    assert all(r["url"].startswith("http://localhost") for r in api.requests)  # never example.zendesk.com


def test_an_after_cursor_that_does_not_advance_stops_the_pull(
    api: ZendeskExport, pull: Any, wh: duckdb.DuckDBPyConnection
) -> None:
    first = encode(T0 + 120, 4822)
    original = api.answer

    def repeat(request: Request) -> Response:
        if request.args.get("cursor") == first:  # a broken export: the same after_cursor again
            return json_response({"tickets": [api.tickets[4823]], "after_cursor": first, "end_of_stream": False})
        return original(request)

    api.answer = repeat  # type: ignore[method-assign]
    with pytest.raises(PullError, match="does not advance"):
        pull()
    assert cursor_chain(wh, CHANNEL) == [(None, first)]
    assert channel_cursor(wh, CHANNEL) == first


def test_an_empty_page_in_the_middle_is_passed_over(
    api: ZendeskExport, pull: Any, wh: duckdb.DuckDBPyConnection
) -> None:
    original = api.answer
    empty_at, after_empty = encode(T0 + 120, 4822), encode(T0 + 150, 0)

    def with_hole(request: Request) -> Response:
        if request.args.get("cursor") == empty_at:
            return json_response({"tickets": [], "after_cursor": after_empty, "end_of_stream": False})
        return original(request)

    api.answer = with_hole  # type: ignore[method-assign]
    summary = pull()
    assert (summary.pages_fetched, summary.pages_landed) == (4, 3)
    assert [r["args"].get("cursor") for r in api.requests][1:3] == [empty_at, after_empty]
    assert sorted(t["id"] for t in staged_payloads(wh, CHANNEL)) == [4821, 4822, 4823, 4824, 4825]
    assert channel_cursor(wh, CHANNEL) == encode(T0 + 300, 4825)


def test_a_secret_of_the_wrong_form_is_refused_before_any_request(api: ZendeskExport, pull: Any) -> None:
    with pytest.raises(PullError, match="/token:<API token>"):
        pull(secret="just-a-token-without-the-email")
    assert api.requests == []


def test_the_wrong_token_is_refused_by_the_server(api: ZendeskExport, pull: Any, wh: duckdb.DuckDBPyConnection) -> None:
    with pytest.raises(PullError, match=r"HTTP 401.*renew Prefect Secret block 'zendesk-api-token'"):
        pull(secret="support-robot@shop.example/token:wrong")
    assert batches(wh, CHANNEL) == 0
