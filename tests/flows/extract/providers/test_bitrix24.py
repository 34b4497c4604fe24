"""bitrix24_activities as shipped, against a loopback Bitrix24 portal's inbound webhook.

The server follows
https://apidocs.bitrix24.com/api-reference/crm/timeline/activities/activity-base/crm-activity-list.html ,
https://apidocs.bitrix24.com/settings/how-to-call-rest-api/list-methods-pecularities.html ,
https://apidocs.bitrix24.com/settings/performance/huge-data.html and
https://apidocs.bitrix24.com/settings/performance/limits.html : ``crm.activity.list`` at
``/rest/<user>/<webhook key>/crm.activity.list.json``, a JSON body with ``order``, ``filter``
(``>ID``) and ``start`` (-1: no count, no ``next``; otherwise offsets of 50 with ``next`` and
``total``); 50 records an answer, every value a string; a wrong key is 401 ``INVALID_CREDENTIALS``;
its rate limits are 503 ``QUERY_LIMIT_EXCEEDED`` and 429 ``OPERATION_TIME_LIMIT``. The activity is
the documented example of tests/fixtures/real/bitrix24 with ids and texts of our own.
"""

import copy
import json
import re
from pathlib import Path
from typing import Any

import duckdb
import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from flows.extract.http_fetch import PullError
from tests.flows.extract.providers.conftest import cursor_chain, pull_as_shipped, staged_payloads
from tests.flows.extract.providers.faults import (
    FaultSuite,
    LoopbackApi,
    assert_nowhere,
    batches,
    json_response,
    our_logs,
)
from warehouse.ingest import channel_cursor

CHANNEL = "bitrix24_activities"
KEY = "q8Zt2LmXr5KvW3nB"  # the webhook's key: what makes the URL a secret
SAMPLE = Path(__file__).parents[3] / "fixtures/real/bitrix24/b24-rest-docs_crm.activity.list_response_example.json"
ACTIVITY = json.loads(SAMPLE.read_text("utf-8"))["result"][0]
TIME = {"start": 1724677896.29, "finish": 1724677896.31, "duration": 0.02, "processing": 0.01}


class Bitrix24Portal(LoopbackApi):
    def __init__(self) -> None:
        super().__init__()
        self.activities: list[dict[str, Any]] = []
        self.ignore_filter = False

    def add(self, count: int, text: str | None = None) -> None:
        for _ in range(count):
            activity = copy.deepcopy(ACTIVITY)
            number = len(self.activities)
            activity["ID"] = str(20 + 3 * number)  # ids with gaps: deleted activities leave holes
            activity["SUBJECT"] = f"Квартальная встреча {number}"
            activity["DESCRIPTION"] = text or f"Клиент {number}: готов рекомендовать"
            activity["RESULT_VALUE"] = str(number % 11)
            self.activities.append(activity)

    def answer(self, request: Request) -> Response:
        if request.path != f"/rest/1/{KEY}/crm.activity.list.json":
            return json_response(
                {"error": "INVALID_CREDENTIALS", "error_description": "Invalid request credentials"}, 401
            )
        body = request.get_json()
        assert body["order"] == {"ID": "ASC"}
        after = 0 if self.ignore_filter else int(body.get("filter", {}).get(">ID", 0))
        matching = [a for a in self.activities if int(a["ID"]) > after]
        start = int(body.get("start", 0))
        if start == -1:
            return json_response({"result": matching[:50], "total": 0, "time": TIME})
        page = {"result": matching[start : start + 50], "total": len(matching), "time": TIME}
        return json_response(page | ({"next": start + 50} if start + 50 < len(matching) else {}))


@pytest.fixture
def api(httpserver: HTTPServer) -> Bitrix24Portal:
    portal = Bitrix24Portal()
    portal.add(120)
    httpserver.expect_request(re.compile(r"/rest/.*"), method="POST").respond_with_handler(portal.handle)
    return portal


@pytest.fixture
def secret(httpserver: HTTPServer) -> str:
    return httpserver.url_for(f"/rest/1/{KEY}/")


@pytest.fixture
def pull(wh: duckdb.DuckDBPyConnection, archive: Path, secret: str) -> Any:
    def run(**kwargs: Any) -> Any:
        webhook = kwargs.pop("webhook", secret)
        return pull_as_shipped(wh, CHANNEL, archive, webhook, secret=webhook, **kwargs)

    return run


class TestFaults(FaultSuite):
    channel_id = CHANNEL


def test_activities_page_by_id_with_start_minus_one_and_the_last_id_as_cursor(
    api: Bitrix24Portal, pull: Any, wh: duckdb.DuckDBPyConnection
) -> None:
    summary = pull()
    assert [r["json"] for r in api.requests] == [
        {"order": {"ID": "ASC"}, "filter": {">ID": last}, "start": -1} for last in (0, 167, 317)
    ]
    assert cursor_chain(wh, CHANNEL) == [(None, "167"), ("167", "317"), ("317", "377")]
    assert (summary.pages_fetched, summary.pages_landed, summary.records) == (3, 3, 120)
    assert len({a["ID"] for a in staged_payloads(wh, CHANNEL)}) == 120


def test_the_next_pull_asks_after_the_last_id_only(
    api: Bitrix24Portal, pull: Any, wh: duckdb.DuckDBPyConnection
) -> None:
    pull()
    nothing = pull()
    assert (nothing.pages_fetched, nothing.pages_landed) == (1, 0)  # an empty answer: nothing new
    api.add(3)
    more = pull()
    assert api.requests[-1]["json"]["filter"] == {">ID": 377}
    assert (more.records, channel_cursor(wh, CHANNEL)) == (3, "386")
    assert len(staged_payloads(wh, CHANNEL)) == 123


def test_a_full_last_page_is_followed_by_an_empty_answer(api: Bitrix24Portal, pull: Any) -> None:
    api.activities = api.activities[:100]
    summary = pull()
    assert (summary.pages_fetched, summary.pages_landed, summary.last_cursor) == (3, 2, "317")


def test_its_own_rate_limits_are_retried(api: Bitrix24Portal, pull: Any) -> None:
    limited = {"error": "QUERY_LIMIT_EXCEEDED", "error_description": "Too many requests"}
    api.failures = [
        json_response(limited, status=503),
        json_response({"error": "OPERATION_TIME_LIMIT", "error_description": "Method is blocked"}, status=429),
        json_response(limited),  # the same error under HTTP 200
    ]
    sleeps: list[float] = []
    assert pull(sleep=sleeps.append).records == 120
    assert len(sleeps) == 3


def test_an_expired_token_names_the_variable_to_renew(
    api: Bitrix24Portal, pull: Any, wh: duckdb.DuckDBPyConnection
) -> None:
    expired = {"error": "expired_token", "error_description": "The access token provided has expired."}
    api.failures = [json_response(expired, status=401)]
    with pytest.raises(PullError, match="renew environment variable OTKLIK_BITRIX24_WEBHOOK_URL") as caught:
        pull()
    assert "expired_token" in str(caught.value) and KEY not in str(caught.value)
    assert batches(wh, CHANNEL) == 0


def test_a_wrong_webhook_key_is_refused(api: Bitrix24Portal, pull: Any, httpserver: HTTPServer) -> None:
    wrong = httpserver.url_for("/rest/1/z9Yx8Wv7Ut6Sr5Qp/")
    with pytest.raises(PullError, match="INVALID_CREDENTIALS") as caught:
        pull(webhook=wrong)
    assert "z9Yx8Wv7Ut6Sr5Qp" not in str(caught.value)


def test_an_error_in_a_200_answer_stops_the_pull(api: Bitrix24Portal, pull: Any, wh: duckdb.DuckDBPyConnection) -> None:
    api.failures = [json_response({"error": "ERROR_CORE", "error_description": "internal"})]
    with pytest.raises(PullError, match="ERROR_CORE"):
        pull()
    assert batches(wh, CHANNEL) == 0


def test_a_filter_the_portal_ignores_stops_the_pull(
    api: Bitrix24Portal, pull: Any, wh: duckdb.DuckDBPyConnection
) -> None:
    pull()
    api.add(1)
    api.ignore_filter = True  # the same first 50 again: their last ID does not pass the cursor
    with pytest.raises(PullError, match="is filter"):
        pull()
    assert channel_cursor(wh, CHANNEL) == "377"


def test_the_webhook_key_is_left_nowhere_and_no_piece_of_it_in_messages(
    api: Bitrix24Portal, pull: Any, wh: duckdb.DuckDBPyConnection, archive: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level("DEBUG")
    api.add(1, text=f"ключ {KEY} из письма")  # the key alone, without the URL around it, in a page
    api.failures = [Response(f"gateway error at /rest/1/{KEY[:12]}", status=502)]
    pull()
    api.failures = [json_response({"error": "INVALID_CREDENTIALS", "error_description": f"key {KEY[3:15]}"}, 401)]
    with pytest.raises(PullError) as caught:
        pull()
    assert_nowhere(KEY, wh, archive, our_logs(caplog), str(caught.value))
    for piece in (KEY[:12], KEY[3:15]):  # pieces of 8 or more characters: hidden in what people read
        assert piece not in our_logs(caplog) and piece not in str(caught.value)
