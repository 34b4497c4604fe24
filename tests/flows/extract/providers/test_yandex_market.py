"""The ``yandex_market_reviews`` channel as shipped, pulled from a loopback Partner API.

``FakeMarket`` answers as https://yandex.ru/dev/market/partner-api/doc/ru/reference/goods-feedback/getGoodsFeedbacks
and the OpenAPI in tests/fixtures/real/yandex_market/ say: ``POST /v2/businesses/{businessId}/goods-feedback``
with the ``Api-Key`` header, query ``limit`` (at most 50) and ``page_token``, body ``dateTimeFrom``
(exclusive); reviews in publication order; ``{"status": "OK", "result": {"feedbacks", "paging":
{"nextPageToken"}}}``; errors ``{"status": "ERROR", "errors": [{"code", "message"}]}`` with 401, 420
Enhance Your Calm (…/concepts/error-codes, …/concepts/limits), 429 and 5xx.
"""

import base64
import json
import logging
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from flows.extract import PullError
from tests.flows.extract.providers.checks import TimeoutFirst, assert_secret_nowhere, cursor_of, quarantined
from tests.flows.extract.providers.conftest import cursor_chain, pull_as_shipped, staged_payloads
from warehouse.ingest import channel_cursor

CHANNEL = "yandex_market_reviews"
API_KEY = "ACMA:8rXq2LmZ9vKpT4wYc7NdHs3Bf6Ug1Je5:a1b2c3d4"
BUSINESS = 4_281_337
PATH = f"/v2/businesses/{BUSINESS}/goods-feedback"
START = datetime(2026, 10, 1, 9, 0, tzinfo=UTC)
MOSCOW = timedelta(hours=3)


def market_error(status: int, code: str, message: str) -> Response:
    body = {"status": "ERROR", "errors": [{"code": code, "message": message}]}
    return Response(json.dumps(body), status=status, content_type="application/json")


def token_after(feedback_id: int, hop: int = 0) -> str:  # the shape the sample generator writes, too
    key = {"op": ">", "key": {"id": feedback_id}} | ({"hop": hop} if hop else {})
    key = json.dumps(key, separators=(",", ":"))
    return base64.urlsafe_b64encode(key.encode()).decode().rstrip("=")


class FakeMarket:
    def __init__(self) -> None:
        self.feedbacks: list[dict[str, Any]] = []
        self.requests: list[dict[str, Any]] = []
        self.failures: list[Response] = []
        self.empty_after: set[int] = set()  # feedbackIds after which an empty page (with a token) comes
        self.token_at_end = False  # the last page with reviews still has a token (to an empty page)
        self.repeat_token = False
        self.down_after: int | None = None  # requests after this many answer 500

    def add(self, count: int, *, at: datetime | None = None) -> list[int]:
        added = []
        for _ in range(count):
            number = len(self.feedbacks)
            when = at or START + timedelta(minutes=7 * number)
            feedback_id = 137_400_000 + 31 * number
            self.feedbacks.append(
                {
                    "feedbackId": feedback_id,
                    "createdAt": when.astimezone(UTC).replace(tzinfo=None).isoformat() + "+00:00"
                    if number % 2
                    else (when + MOSCOW).replace(tzinfo=None).isoformat() + "+03:00",  # both offsets occur
                    "needReaction": True,
                    "identifiers": {"orderId": 52_000_000 + number, "offerId": f"IM-{10001 + number % 9}"},
                    "author": "Пользователь скрыл данные",
                    "description": {"advantages": "Цена", "disadvantages": "Упаковка", "comment": f"Отзыв {number}"},
                    "media": {"photos": [], "videos": []},
                    "statistics": {"rating": 1 + number % 5, "commentsCount": 0, "recommended": number % 3 != 0},
                }
            )
            added.append(feedback_id)
        return added

    def handle(self, request: Request) -> Response:
        body = request.get_json(silent=True) or {}
        self.requests.append({"args": dict(request.args), "json": body, "key": request.headers.get("Api-Key")})
        if self.failures:
            return self.failures.pop(0)
        if self.down_after is not None and len(self.requests) > self.down_after:
            return market_error(500, "INTERNAL_ERROR", "boom")
        if request.headers.get("Api-Key") != API_KEY:
            return market_error(401, "UNAUTHORIZED", "Api-Key is missing or invalid")
        limit = int(request.args.get("limit", 25))
        if not 1 <= limit <= 50:
            return market_error(400, "BAD_REQUEST", "limit must be between 1 and 50")
        since = datetime.fromisoformat(body["dateTimeFrom"]) if "dateTimeFrom" in body else None
        listed = sorted(
            (f for f in self.feedbacks if since is None or datetime.fromisoformat(f["createdAt"]) > since),
            key=lambda f: (datetime.fromisoformat(f["createdAt"]), f["feedbackId"]),
        )
        ids, start = [f["feedbackId"] for f in listed], 0
        if "page_token" in request.args:
            after = json.loads(base64.urlsafe_b64decode(request.args["page_token"] + "=="))["key"]["id"]
            if after in self.empty_after:  # nothing on this page, but the token goes on
                self.empty_after.discard(after)
                return self._page([], token_after(after, hop=1))
            start = ids.index(after) + 1 if after in ids else len(ids)
        page = listed[start : start + limit]
        more = start + limit < len(listed) or (self.token_at_end and bool(page))
        token = token_after(page[-1]["feedbackId"]) if page and more else None
        if self.repeat_token and "page_token" in request.args:
            token = request.args["page_token"]
        return self._page(page, token)

    def _page(self, feedbacks: list[dict[str, Any]], token: str | None) -> Response:
        paging = {"nextPageToken": token} if token else {}
        body = {"status": "OK", "result": {"feedbacks": feedbacks, "paging": paging}}
        return Response(json.dumps(body, ensure_ascii=False), content_type="application/json")


@pytest.fixture
def market(httpserver: HTTPServer, monkeypatch: pytest.MonkeyPatch) -> FakeMarket:
    monkeypatch.setenv("OTKLIK_YANDEX_MARKET_BUSINESS_ID", str(BUSINESS))
    fake = FakeMarket()
    httpserver.expect_request(PATH, method="POST").respond_with_handler(fake.handle)
    return fake


def pull(wh, archive, base_url: str, **kwargs: Any):
    kwargs.setdefault("secret", API_KEY)
    return pull_as_shipped(wh, CHANNEL, archive, base_url, **kwargs)


def landed_ids(wh) -> list[int]:
    return sorted(p["feedbackId"] for p in staged_payloads(wh, CHANNEL))


def test_pages_land_with_a_resumable_cursor_and_the_last_one_with_the_watermark(wh, archive, base_url, market) -> None:
    ids = market.add(120)
    summary = pull(wh, archive, base_url)

    assert [r["args"].get("page_token") for r in market.requests] == [None, token_after(ids[49]), token_after(ids[99])]
    assert all(r["args"]["limit"] == "50" and r["json"] == {} and r["key"] == API_KEY for r in market.requests)
    assert (summary.pages_landed, summary.records) == (3, 120)
    assert landed_ids(wh) == ids
    chain = [(json.loads(b) if b else None, json.loads(a)) for b, a in cursor_chain(wh, CHANNEL)]
    newest = market.feedbacks[-1]["createdAt"]
    assert [a.get("page_token") for _, a in chain] == [token_after(ids[49]), token_after(ids[99]), None]
    assert chain[-1][1] == {"since": newest, "ids": [ids[-1]]}
    assert chain[1][1]["newest"] == market.feedbacks[99]["createdAt"]  # where the query stood
    uris = [r[0] for r in wh.execute("select source_uri from raw.batches order by batch_seq").fetchall()]
    assert uris[0] == f"{base_url.rstrip('/')}{PATH}?limit=50"


def test_a_second_pull_asks_from_the_watermark_and_lands_nothing_twice(wh, archive, base_url, market) -> None:
    market.add(60)
    pull(wh, archive, base_url)
    newest = datetime.fromisoformat(market.feedbacks[-1]["createdAt"])

    again = pull(wh, archive, base_url)
    assert market.requests[-1]["json"] == {"dateTimeFrom": (newest - timedelta(seconds=1)).isoformat()}
    assert (again.pages_landed, again.records) == (0, 0)

    same_second = market.add(1, at=newest)  # published in the second of the watermark, after the pull
    later = market.add(2)
    more = pull(wh, archive, base_url)
    assert (more.pages_landed, more.records) == (1, 3)
    assert landed_ids(wh) == sorted(f["feedbackId"] for f in market.feedbacks)  # each once
    assert cursor_of(wh, CHANNEL) == {"since": market.feedbacks[-1]["createdAt"], "ids": [later[-1]]}
    assert same_second[0] in landed_ids(wh)


def test_a_pull_that_fails_mid_query_resumes_it_at_the_page_token(wh, archive, base_url, market) -> None:
    ids = market.add(120)
    market.down_after = 2
    with pytest.raises(PullError, match="HTTP 500 on all 6 attempt"):
        pull(wh, archive, base_url)
    stood = cursor_of(wh, CHANNEL)
    # page 1 landed once page 2 was seen; page 2 waits for the answer after it, which failed
    assert stood["page_token"] == token_after(ids[49]) and landed_ids(wh) == ids[:50]

    market.down_after = None
    market.requests.clear()
    pull(wh, archive, base_url)
    assert [r["args"].get("page_token") for r in market.requests] == [token_after(ids[49]), token_after(ids[99])]
    assert market.requests[0]["json"] == {}  # the same query as the one it resumes (no dateTimeFrom)
    assert landed_ids(wh) == ids and cursor_of(wh, CHANNEL)["since"] == market.feedbacks[-1]["createdAt"]


def test_an_empty_page_in_the_middle_is_passed(wh, archive, base_url, market) -> None:
    ids = market.add(75)
    market.empty_after = {ids[49]}  # the page after the first is empty, with a token that goes on
    summary = pull(wh, archive, base_url)
    assert (summary.pages_landed, summary.records, len(market.requests)) == (2, 75, 3)
    assert cursor_of(wh, CHANNEL) == {"since": market.feedbacks[-1]["createdAt"], "ids": [ids[-1]]}


def test_a_token_to_an_empty_last_page_leaves_the_watermark_not_the_token(wh, archive, base_url, market) -> None:
    ids = market.add(30)
    market.token_at_end = True
    summary = pull(wh, archive, base_url)
    assert (summary.pages_landed, len(market.requests)) == (1, 2)  # the page was landed after the empty one
    assert cursor_of(wh, CHANNEL) == {"since": market.feedbacks[-1]["createdAt"], "ids": [ids[-1]]}


def test_a_401_names_the_secret_and_nothing_moves(wh, archive, base_url, market) -> None:
    market.add(3)
    with pytest.raises(PullError) as caught:
        pull(wh, archive, base_url, secret="ACMA:wrong-key-000000")
    message = str(caught.value)
    assert "HTTP 401" in message and "renew Prefect Secret block 'yandex-market-api-key'" in message
    assert "UNAUTHORIZED" in message and (channel_cursor(wh, CHANNEL), landed_ids(wh)) == (None, [])


@pytest.mark.parametrize(
    ("failure", "waits"),
    [
        (lambda: market_error(420, "LIMIT_EXCEEDED", "Hit rate limit of 4 parallel requests"), None),
        (lambda: Response(status=420, headers={"Retry-After": "4"}), [4.0]),
        (lambda: market_error(429, "TOO_MANY_REQUESTS", "slow down"), None),
        (lambda: Response(status=429, headers={"Retry-After": "9"}), [9.0]),
        (lambda: market_error(503, "SERVICE_UNAVAILABLE", "overloaded"), None),
    ],
    ids=["420", "420-retry-after", "429", "429-retry-after", "503"],
)
def test_rate_limits_and_outages_are_retried(wh, archive, base_url, market, failure, waits) -> None:
    market.add(3)
    market.failures = [failure()]
    sleeps: list[float] = []
    assert pull(wh, archive, base_url, sleep=sleeps.append).records == 3
    if waits is None:
        assert len(sleeps) == 1 and 0 < sleeps[0] <= 60
    else:
        assert sleeps == waits


def test_420_that_lasts_fails_retryable_with_the_apis_words(wh, archive, base_url, market) -> None:
    market.add(3)
    market.failures = [market_error(420, "LIMIT_EXCEEDED", "Hit rate limit") for _ in range(6)]
    with pytest.raises(PullError, match="420 Enhance Your Calm: LIMIT_EXCEEDED: Hit rate limit on all 6") as caught:
        pull(wh, archive, base_url)
    assert caught.value.retryable


def test_a_timeout_is_retried(wh, archive, base_url, market) -> None:
    market.add(3)
    with httpx.Client(transport=TimeoutFirst(2)) as client:
        assert pull(wh, archive, base_url, client=client).records == 3


def test_an_answer_that_is_not_json_is_quarantined_and_the_cursor_stays(wh, archive, base_url, market) -> None:
    market.add(3)
    market.failures = [Response("<html>maintenance</html>", content_type="text/html")]
    with pytest.raises(PullError, match="is not a page"):
        pull(wh, archive, base_url)
    assert quarantined(wh, CHANNEL) in (["broken_json"], ["wrong_format"])
    assert channel_cursor(wh, CHANNEL) is None
    pull(wh, archive, base_url)
    assert len(landed_ids(wh)) == 3


def test_a_page_token_that_comes_back_stops_the_pull(wh, archive, base_url, market) -> None:
    ids = market.add(120)
    market.repeat_token = True
    with pytest.raises(PullError, match=r"again \(the cursor does not advance"):
        pull(wh, archive, base_url)
    assert len(market.requests) == 2 and landed_ids(wh) == ids[:50]  # the first page, once the second was seen


def test_the_business_id_is_required(wh, archive, base_url, market, monkeypatch) -> None:
    monkeypatch.delenv("OTKLIK_YANDEX_MARKET_BUSINESS_ID")
    with pytest.raises(PullError, match="OTKLIK_YANDEX_MARKET_BUSINESS_ID"):
        pull(wh, archive, base_url)
    assert market.requests == []


def test_the_api_key_is_nowhere(wh, archive, base_url, market, caplog) -> None:
    caplog.set_level(logging.DEBUG)
    market.add(3)
    market.feedbacks[1]["description"]["comment"] = f"ключ {API_KEY} утёк"
    pull(wh, archive, base_url)
    market.failures = [market_error(400, "BAD_REQUEST", f"bad Api-Key {API_KEY} or {API_KEY[5:20]}")]
    with pytest.raises(PullError) as caught:
        pull(wh, archive, base_url)
    logs = "\n".join(r.getMessage() for r in caplog.records if r.name != "werkzeug")
    assert "goods-feedback" in logs
    assert_secret_nowhere(API_KEY, wh, archive, logs, str(caught.value), repr(caught.value.args))
