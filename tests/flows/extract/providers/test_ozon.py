"""ozon_reviews as shipped (the generic ``rest_pages`` puller), against a loopback Ozon Seller API.

The server follows the Seller API's reviews method, https://docs.ozon.ru/api/seller/#operation/ReviewAPI_ReviewList
(``POST /v1/review/list``): headers ``Client-Id`` and ``Api-Key``; a JSON body with ``last_id``
(empty or absent: from the start), ``limit`` (20..100), ``sort_dir`` and ``status``; the answer
``{"reviews": [...], "has_next", "last_id"}`` with the review object of
tests/fixtures/real/ozon/ozon-api-client_v1_review_list_response.json (the spec's example);
errors as ``{"code", "message", "details"}`` (code 16 unauthenticated 401, 7 permission denied
403, 8 rate limit 429). ``last_id`` is the last review of the page; asked after the last review,
the list answers no reviews and ``has_next`` false.
"""

import copy
import json
from pathlib import Path
from typing import Any

import duckdb
import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from flows.extract.http_fetch import PullError
from tests.flows.extract.providers.conftest import cursor_chain, pull_as_shipped, staged_payloads
from tests.flows.extract.providers.faults import FaultSuite, LoopbackApi, json_response
from warehouse.ingest import channel_cursor

CHANNEL = "ozon_reviews"
API_KEY = "8c2f4b1e-7d3a-4e5f-9a6b-0c1d2e3f4a5b"
CLIENT_ID = "836412"
SAMPLE = Path(__file__).parents[3] / "fixtures/real/ozon/ozon-api-client_v1_review_list_response.json"
REVIEW = json.loads(SAMPLE.read_text("utf-8"))["reviews"][0]


class OzonSellerApi(LoopbackApi):
    def __init__(self) -> None:
        super().__init__()
        self.reviews: list[dict[str, Any]] = []

    def add(self, count: int, text: str | None = None) -> None:
        for _ in range(count):
            review = copy.deepcopy(REVIEW)
            number = len(self.reviews)
            review |= {
                "id": f"0190f{number:05d}-4c1e-7a2b-9d3c-{number:012d}",
                "sku": 180550365 + number % 7,
                "text": text or f"Отзыв {number}: упаковка порвана",
                "rating": 1 + number % 5,
                "published_at": f"2026-10-{1 + number // 100:02d}T08:{number % 60:02d}:00.000Z",
                "status": "UNPROCESSED",
                "order_status": "DELIVERED",
            }
            self.reviews.append(review)

    def answer(self, request: Request) -> Response:
        if request.headers.get("Client-Id") != CLIENT_ID or request.headers.get("Api-Key") != API_KEY:
            return json_response({"code": 16, "message": "Invalid Api-Key, please contact support", "details": []}, 401)
        body = request.get_json()
        limit = int(body.get("limit", 100))
        if not 20 <= limit <= 100:
            return json_response({"code": 3, "message": "limit must be in [20, 100]", "details": []}, 400)
        ids = [r["id"] for r in self.reviews]
        start = ids.index(body["last_id"]) + 1 if body.get("last_id") else 0
        chunk = self.reviews[start : start + limit]
        has_next = start + len(chunk) < len(self.reviews)
        return json_response({"reviews": chunk, "has_next": has_next, "last_id": chunk[-1]["id"] if chunk else ""})


@pytest.fixture
def api(httpserver: HTTPServer) -> OzonSellerApi:
    seller = OzonSellerApi()
    seller.add(250)
    httpserver.expect_request("/v1/review/list", method="POST").respond_with_handler(seller.handle)
    return seller


@pytest.fixture
def secret() -> str:
    return API_KEY


@pytest.fixture
def pull(wh: duckdb.DuckDBPyConnection, archive: Path, httpserver: HTTPServer, monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.setenv("OTKLIK_OZON_CLIENT_ID", CLIENT_ID)  # pull.headers_from_env: read from the process

    def run(**kwargs: Any) -> Any:
        kwargs.setdefault("secret", API_KEY)
        return pull_as_shipped(wh, CHANNEL, archive, httpserver.url_for("/"), **kwargs)

    return run


class TestFaults(FaultSuite):
    channel_id = CHANNEL


def test_last_id_pages_with_the_cursor_committed_per_page(
    api: OzonSellerApi, pull: Any, wh: duckdb.DuckDBPyConnection
) -> None:
    summary = pull()
    ids = [r["id"] for r in api.reviews]
    assert [r["json"] for r in api.requests] == [
        {"sort_dir": "ASC", "status": "ALL", "limit": 100},
        {"sort_dir": "ASC", "status": "ALL", "limit": 100, "last_id": ids[99]},
        {"sort_dir": "ASC", "status": "ALL", "limit": 100, "last_id": ids[199]},
        {"sort_dir": "ASC", "status": "ALL", "limit": 100, "last_id": ids[249]},  # answers no reviews
    ]
    assert cursor_chain(wh, CHANNEL) == [(None, ids[99]), (ids[99], ids[199]), (ids[199], ids[249])]
    assert (summary.pages_landed, summary.records, summary.stopped) == (3, 250, "empty page")
    assert {(r["headers"]["Client-Id"], r["headers"]["Api-Key"]) for r in api.requests} == {(CLIENT_ID, API_KEY)}


def test_the_next_pull_asks_after_the_last_review_only(
    api: OzonSellerApi, pull: Any, wh: duckdb.DuckDBPyConnection
) -> None:
    pull()
    nothing = pull()
    assert (nothing.pages_fetched, nothing.pages_landed) == (1, 0)
    api.add(3)
    more = pull()
    assert (more.records, channel_cursor(wh, CHANNEL)) == (3, api.reviews[-1]["id"])
    assert len(staged_payloads(wh, CHANNEL)) == 253


def test_a_last_id_that_repeats_stops_the_pull(api: OzonSellerApi, pull: Any, wh: duckdb.DuckDBPyConnection) -> None:
    original = api.answer
    stuck = api.reviews[99]["id"]

    def repeat(request: Request) -> Response:
        if request.get_json().get("last_id") == stuck:
            return json_response({"reviews": api.reviews[100:200], "has_next": True, "last_id": stuck})
        return original(request)

    api.answer = repeat  # type: ignore[method-assign]
    with pytest.raises(PullError, match="does not advance"):
        pull()
    assert channel_cursor(wh, CHANNEL) == stuck


def test_an_empty_page_in_the_middle_ends_the_pull_and_the_next_resumes(
    api: OzonSellerApi, pull: Any, wh: duckdb.DuckDBPyConnection
) -> None:
    api.failures = [
        json_response({"reviews": api.reviews[:100], "has_next": True, "last_id": api.reviews[99]["id"]}),
        json_response({"reviews": [], "has_next": True, "last_id": ""}),
    ]
    first = pull()
    assert (first.records, first.stopped, channel_cursor(wh, CHANNEL)) == (100, "empty page", api.reviews[99]["id"])
    assert pull().records == 150
    assert len(staged_payloads(wh, CHANNEL)) == 250


def test_a_wrong_api_key_is_refused_with_ozons_error(api: OzonSellerApi, pull: Any) -> None:
    with pytest.raises(PullError, match=r"HTTP 401.*Invalid Api-Key") as caught:
        pull(secret="0000-wrong-key-0000")
    assert "renew Prefect Secret block 'ozon-seller-api-key'" in str(caught.value)
