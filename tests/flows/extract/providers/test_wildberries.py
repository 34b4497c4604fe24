"""wildberries_feedbacks as shipped, against a loopback Wildberries Feedbacks API.

The server follows https://dev.wildberries.ru/openapi/customer-communication#tag/feedbacks
(``GET /api/v1/feedbacks``: ``isAnswered`` required, ``take`` ≤ 5000, ``skip`` with skip + take ≤
199,990, ``order`` dateAsc / dateDesc, ``dateFrom`` / ``dateTo`` in Unix seconds, that second
included; ``{"data": {"countUnanswered", "countArchive", "feedbacks"}, "error", "errorText",
"additionalErrors"}``) and https://dev.wildberries.ru/openapi/api-information (the token as is in
``Authorization``; 401 ``{"title": "unauthorized", "detail", "code", "requestId", "origin",
"status", "statusText", "timestamp"}``; 429 with ``X-Ratelimit-Retry`` / ``-Limit`` / ``-Reset``
and a body of the same form). The feedback is the documented one of
tests/fixtures/documented/wildberries with ids, dates and texts of our own. To keep the tests
small it answers at most ``page_limit`` feedbacks a request (a stand-in for ``take``).
"""

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
from flows.extract.providers import wildberries
from flows.extract.providers.wildberries import FEEDBACKS_PATH
from tests.flows.extract.providers.conftest import cursor_chain, pull_as_shipped, staged_payloads
from tests.flows.extract.providers.faults import FaultSuite, LoopbackApi, batches, json_response
from warehouse.ingest import channel_cursor

CHANNEL = "wildberries_feedbacks"
TOKEN = "eyJhbGciOiJFUzI1NiJ9.Kq7Xz2Lm9Pw4Rt8Vb3NcYd6H"
SAMPLE = Path(__file__).parents[3] / "fixtures/documented/wildberries/feedbacks_page.json"
FEEDBACK = json.loads(SAMPLE.read_text("utf-8"))["data"]["feedbacks"][0]
T0 = 1_790_000_000
START = 1_577_836_800  # 2020-01-01T00:00:00Z, the shipped date_from


def spelled(at: int) -> str:
    return datetime.fromtimestamp(at, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class WildberriesFeedbacks(LoopbackApi):
    def __init__(self, page_limit: int = 2) -> None:
        super().__init__()
        self.feedbacks: list[dict[str, Any]] = []
        self.clock, self.page_limit, self.max_skip_plus_take = T0, page_limit, 199_990
        self.ignore_skip = False

    def add(self, count: int, text: str | None = None, *, answered: bool = False, same_second: bool = False) -> None:
        for _ in range(count):
            feedback = copy.deepcopy(FEEDBACK)
            self.clock += 0 if same_second else 60
            feedback |= {
                "id": f"Wb{len(self.feedbacks):06d}xQ",
                "text": text or f"Отзыв {len(self.feedbacks)}: кейс разбит",
                "createdDate": spelled(self.clock),
                "answer": {"text": "Спасибо!", "state": "wbRu", "editable": False} if answered else None,
            }
            self.feedbacks.append(feedback)

    def answer_it(self, index: int) -> None:
        self.feedbacks[index]["answer"] = {"text": "Заменим кейс", "state": "wbRu", "editable": True}

    def answer(self, request: Request) -> Response:
        if request.headers.get("Authorization") != TOKEN:
            return json_response(_problem(401, "unauthorized", "token problem; token is malformed"), 401)
        take, skip = int(request.args["take"]), int(request.args["skip"])
        if take > 5000 or skip + take > self.max_skip_plus_take:
            return json_response(
                {"data": None, "error": True, "errorText": "Неверный take или skip", "additionalErrors": None}, 400
            )
        answered = request.args["isAnswered"] == "true"
        since = int(request.args.get("dateFrom", 0))
        matching = sorted(
            (
                f
                for f in self.feedbacks
                if (f["answer"] is not None) == answered
                and datetime.fromisoformat(f["createdDate"]).timestamp() >= since
            ),
            key=lambda f: (f["createdDate"], f["id"]),
        )
        skip = 0 if self.ignore_skip else skip
        chunk = matching[skip : skip + min(take, self.page_limit)]
        unanswered = sum(f["answer"] is None for f in self.feedbacks)
        data = {"countUnanswered": unanswered, "countArchive": 0, "feedbacks": chunk}
        return json_response({"data": data, "error": False, "errorText": "", "additionalErrors": None})


def _problem(status: int, title: str, detail: str) -> dict[str, Any]:
    return {
        "title": title,
        "detail": detail,
        "code": "07e4668e-ac2242c5c8c5-[UK-4dx7JUdskGZ]",
        "requestId": "9d3c02cc698f8b041c661a7c28bed293",
        "origin": "s2s-api-auth-feedbacks",
        "status": status,
        "statusText": {401: "Unauthorized", 429: "Too Many Requests"}[status],
        "timestamp": "2026-10-06T17:45:00Z",
    }


@pytest.fixture
def api(httpserver: HTTPServer) -> WildberriesFeedbacks:
    feedbacks = WildberriesFeedbacks()
    feedbacks.add(3)
    feedbacks.add(2, answered=True)
    httpserver.expect_request(FEEDBACKS_PATH, method="GET").respond_with_handler(feedbacks.handle)
    return feedbacks


@pytest.fixture
def secret() -> str:
    return TOKEN


@pytest.fixture
def pull(wh: duckdb.DuckDBPyConnection, archive: Path, httpserver: HTTPServer) -> Any:
    def run(**kwargs: Any) -> Any:
        kwargs.setdefault("secret", TOKEN)
        return pull_as_shipped(wh, CHANNEL, archive, httpserver.url_for("/"), **kwargs)

    return run


class TestFaults(FaultSuite):
    channel_id = CHANNEL


def mark(false: tuple[int, list[int]] | None, true: tuple[int, list[int]] | None) -> str:
    def one(entry: tuple[int, list[int]] | None) -> dict[str, Any]:
        at, numbers = entry or (START, [])
        return {"since": spelled(at) if entry else "2020-01-01T00:00:00Z", "ids": [f"Wb{n:06d}xQ" for n in numbers]}

    return json.dumps({"false": one(false), "true": one(true)}, separators=(",", ":"))


def asked(api: WildberriesFeedbacks) -> list[tuple[str, str, str]]:
    return [(r["args"]["isAnswered"], r["args"]["dateFrom"], r["args"]["skip"]) for r in api.requests]


def ids_landed(con: duckdb.DuckDBPyConnection) -> list[str]:
    return sorted(f["id"] for f in staged_payloads(con, CHANNEL))


def test_both_lists_page_by_skip_from_date_from_with_a_watermark_per_page(
    api: WildberriesFeedbacks, pull: Any, wh: duckdb.DuckDBPyConnection
) -> None:
    summary = pull()
    start = str(START)
    assert api.requests[0]["args"] == {
        "isAnswered": "false",
        "take": "5000",
        "skip": "0",
        "order": "dateAsc",
        "dateFrom": start,
    }
    assert asked(api) == [
        ("false", start, "0"),
        ("false", start, "2"),
        ("false", start, "3"),  # empty: the unanswered list is done
        ("true", start, "0"),
        ("true", start, "2"),
    ]
    assert cursor_chain(wh, CHANNEL) == [
        (None, mark((T0 + 120, [1]), None)),
        (mark((T0 + 120, [1]), None), mark((T0 + 180, [2]), None)),
        (mark((T0 + 180, [2]), None), mark((T0 + 180, [2]), (T0 + 300, [4]))),
    ]
    assert (summary.pages_landed, summary.records) == (3, 5)
    assert {r["headers"]["Authorization"] for r in api.requests} == {TOKEN}  # as is, without "Bearer"


def test_the_next_pull_asks_from_each_lists_watermark_and_lands_nothing_twice(
    api: WildberriesFeedbacks, pull: Any, wh: duckdb.DuckDBPyConnection
) -> None:
    pull()
    api.requests.clear()
    nothing = pull()
    assert asked(api) == [
        ("false", str(T0 + 180), "0"),  # feedback 2 again: dropped
        ("false", str(T0 + 180), "1"),
        ("true", str(T0 + 300), "0"),  # feedback 4 again: dropped
        ("true", str(T0 + 300), "1"),
    ]
    assert (nothing.pages_landed, nothing.records) == (0, 0)

    api.answer_it(0)  # answered since: older than the answered list's watermark, not asked again
    api.add(1, same_second=True)  # feedback 5, the same second as 4 (answered), but unanswered
    api.add(1, answered=True)  # feedback 6
    more = pull()
    assert more.records == 2
    assert ids_landed(wh) == [f"Wb{n:06d}xQ" for n in range(7)]
    assert channel_cursor(wh, CHANNEL) == mark((T0 + 300, [5]), (T0 + 360, [6]))


def test_x_ratelimit_retry_is_honoured_as_a_retry_after(api: WildberriesFeedbacks, pull: Any) -> None:
    headers = {"X-Ratelimit-Retry": "4", "X-Ratelimit-Limit": "3", "X-Ratelimit-Reset": "4"}
    problem = _problem(429, "too many requests", "Limited by c122a060-a7fb-4bb4-abb0-32fd4e18d489")
    api.failures = [json_response(problem, status=429, headers=headers)]
    sleeps: list[float] = []
    assert pull(sleep=sleeps.append).records == 5
    assert sleeps == [4.0]


def test_an_error_flag_in_a_200_answer_stops_the_pull(
    api: WildberriesFeedbacks, pull: Any, wh: duckdb.DuckDBPyConnection
) -> None:
    api.failures = [
        json_response({"data": None, "error": True, "errorText": "Нет доступа к отзывам", "additionalErrors": None})
    ]
    with pytest.raises(PullError, match="Нет доступа к отзывам"):
        pull()
    assert batches(wh, CHANNEL) == 0


def test_skip_plus_take_past_its_limit_asks_again_from_the_watermark(
    api: WildberriesFeedbacks, pull: Any, wh: duckdb.DuckDBPyConnection, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(wildberries, "MAX_SKIP_PLUS_TAKE", 5004)  # 199,990, lowered with the server's
    api.max_skip_plus_take = 5004
    api.add(6)  # 9 unanswered
    pull()
    unanswered = [(date_from, skip) for answered, date_from, skip in asked(api) if answered == "false"]
    assert unanswered == [
        (str(START), "0"),
        (str(START), "2"),
        (str(START), "4"),  # skip 6 + take 5000 would pass the limit: again from feedback 7's date
        (str(T0 + 480), "0"),  # 7 again (dropped) and 8
        (str(T0 + 480), "2"),
        (str(T0 + 480), "4"),
    ]
    assert ids_landed(wh) == [f"Wb{n:06d}xQ" for n in range(11)]


def test_a_page_of_feedbacks_already_landed_in_the_middle_is_passed_over(
    api: WildberriesFeedbacks, pull: Any, wh: duckdb.DuckDBPyConnection
) -> None:
    api.feedbacks, api.clock = api.feedbacks[:3], T0 + 180
    api.add(1, same_second=True)  # feedbacks 2 and 3 share a second
    pull()
    api.add(2)
    summary = pull()  # the first page holds only 2 and 3 again: not landed, the next page is
    assert (summary.pages_fetched, summary.pages_landed, summary.records) == (4, 1, 2)
    assert ids_landed(wh) == [f"Wb{n:06d}xQ" for n in range(6)]


def test_a_page_that_repeats_stops_the_pull(
    api: WildberriesFeedbacks, pull: Any, wh: duckdb.DuckDBPyConnection
) -> None:
    api.ignore_skip = True
    with pytest.raises(PullError, match="same page"):
        pull()
    assert channel_cursor(wh, CHANNEL) == mark((T0 + 120, [1]), None)


def test_the_token_is_refused_in_the_documented_form(api: WildberriesFeedbacks, pull: Any) -> None:
    with pytest.raises(PullError, match=r"HTTP 401") as caught:
        pull(secret="Bearer " + TOKEN)
    assert "renew Prefect Secret block 'wildberries-feedbacks-token'" in str(caught.value)
    assert "token problem" in str(caught.value)
