"""The ``twogis_reviews`` channel as shipped, pulled from a loopback 2GIS reviews API.

2GIS does not document ``public-api.reviews.2gis.com`` for third parties; ``FakeGis`` answers as
flows/extract/providers/twogis.py assumes (and says why): ``GET /2.0/branches/{id}/reviews?key=&limit=
&sort_by=date_created&locale=``, newest first, at most 50 per page, ``{"meta": {"code": 200,
"next_link": <full URL with offset_date>, ...}, "reviews": [...]}``; errors with 2GIS's ``meta.code``
and ``meta.error {type, message}`` (https://docs.2gis.com/ru/api/search/places/overview), HTTP 403 for
an invalid key, 429 for a rate limit. Reviews have the fields the channel maps (the sample exports'
shape): id, rating, text, date_created (the branch's UTC offset, microseconds), date_edited, user.
"""

import json
import logging
from datetime import UTC, datetime, timedelta, timezone
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from flows.extract import PullError
from tests.flows.extract.providers.checks import TimeoutFirst, assert_secret_nowhere, cursor_of, quarantined
from tests.flows.extract.providers.conftest import cursor_chain, pull_as_shipped, staged_payloads
from warehouse.ingest import channel_cursor

CHANNEL = "twogis_reviews"
KEY = "6e7e1929-4ea9-4a5d-8c05-d601860389bd"
MOSCOW_STORE, EKB_STORE = "70000032000000007", "70000009000000003"
OFFSETS = {MOSCOW_STORE: timezone(timedelta(hours=3)), EKB_STORE: timezone(timedelta(hours=5))}
START = datetime(2026, 9, 1, 6, 0, tzinfo=UTC)


def gis_answer(meta: dict[str, Any], reviews: list[dict[str, Any]], status: int = 200) -> Response:
    body = json.dumps({"meta": meta, "reviews": reviews}, ensure_ascii=False)
    return Response(body, status=status, content_type="application/json")


class FakeGis:
    def __init__(self) -> None:
        self.reviews: dict[str, list[dict[str, Any]]] = {}
        self.requests: list[tuple[str, dict[str, str], str]] = []  # branch, query, Host
        self.failures: list[Response] = []
        self.made = 0
        self.link_host: str | None = None  # next_link on another host
        self.hidden_after_first: set[str] = set()  # branches whose second page is empty (hidden reviews)
        self.repeat_link = False

    def add(self, branch: str, count: int) -> list[str]:
        added = []
        for _ in range(count):
            self.made += 1
            created = (START + timedelta(hours=5 * self.made, microseconds=137 * self.made)).astimezone(OFFSETS[branch])
            review = {
                "id": str(120_000_000 + 1009 * self.made),
                "region_id": 32,
                "text": f"Отзыв {self.made}: на кассе очередь",
                "rating": 1 + self.made % 5,
                "provider": "2gis",
                "is_hidden": False,
                "date_created": created.isoformat(),
                "date_edited": None,
                "object": {"id": branch, "type": "branch"},
                "user": {"id": f"{self.made * 104_729:012x}", "name": "Анна", "reviews_count": 3},
                "likes_count": 0,
                "comments_count": 0,
                "official_answer": None,
            }
            self.reviews.setdefault(branch, []).append(review)
            added.append(review["id"])
        return added

    def handle(self, request: Request) -> Response:
        branch = request.path.split("/")[3]
        self.requests.append((branch, dict(request.args), request.host))
        if self.failures:
            return self.failures.pop(0)
        if request.args.get("key") != KEY:
            return gis_answer({"code": 403, "error": {"type": "authorizationError", "message": "Invalid key"}}, [], 403)
        limit = int(request.args["limit"])
        if limit > 50:
            return gis_answer({"code": 400, "error": {"type": "paramsValidationError", "message": "limit"}}, [], 400)
        listed = self.reviews.get(branch, [])
        newest_first = sorted(listed, key=lambda r: datetime.fromisoformat(r["date_created"]), reverse=True)
        if "offset_date" in request.args:
            before = datetime.fromisoformat(request.args["offset_date"])
            newest_first = [r for r in newest_first if datetime.fromisoformat(r["date_created"]) < before]
        meta: dict[str, Any] = {"code": 200, "branch_rating": 4.1, "branch_reviews_count": len(listed)}
        host = self.link_host or request.host_url.rstrip("/")
        base = f"{host}/2.0/branches/{branch}/reviews?limit={limit}&sort_by=date_created&locale=ru_RU&key={KEY}"
        if request.args.get("hidden"):  # a page of hidden reviews: nothing shown, the walk goes on
            meta["next_link"] = f"{base}&offset_date={quote(request.args['offset_date'], safe=':')}"
            return gis_answer(meta, [])
        page = newest_first[:limit]
        if len(newest_first) > limit:
            meta["next_link"] = f"{base}&offset_date={quote(page[-1]['date_created'], safe=':')}"
            if branch in self.hidden_after_first and "offset_date" not in request.args:
                meta["next_link"] += "&hidden=1"
            if self.repeat_link and "offset_date" in request.args:
                meta["next_link"] = request.url
        return gis_answer(meta, page)


@pytest.fixture
def gis(httpserver: HTTPServer, monkeypatch: pytest.MonkeyPatch) -> FakeGis:
    monkeypatch.setenv("OTKLIK_TWOGIS_BRANCHES", f"{MOSCOW_STORE}, {EKB_STORE}")
    fake = FakeGis()
    for branch in (MOSCOW_STORE, EKB_STORE):
        httpserver.expect_request(f"/2.0/branches/{branch}/reviews", method="GET").respond_with_handler(fake.handle)
    return fake


def pull(wh, archive, base_url: str, **kwargs: Any):
    kwargs.setdefault("secret", KEY)
    return pull_as_shipped(wh, CHANNEL, archive, base_url, **kwargs)


def landed_ids(wh) -> list[str]:
    return sorted(p["id"] for p in staged_payloads(wh, CHANNEL))


def newest(gis: FakeGis, branch: str) -> str:
    return max(gis.reviews[branch], key=lambda r: datetime.fromisoformat(r["date_created"]))["date_created"]


def test_each_branch_is_walked_by_next_link_and_lands_oldest_first(wh, archive, base_url, gis) -> None:
    moscow, ekb = gis.add(MOSCOW_STORE, 120), gis.add(EKB_STORE, 30)
    summary = pull(wh, archive, base_url)

    assert (summary.pages_landed, summary.records) == (4, 150)
    assert landed_ids(wh) == sorted(moscow + ekb)
    asked = [(branch, query.get("offset_date")) for branch, query, _ in gis.requests]
    by_date = sorted(gis.reviews[MOSCOW_STORE], key=lambda r: datetime.fromisoformat(r["date_created"]))[::-1]
    assert asked == [
        (MOSCOW_STORE, None),
        (MOSCOW_STORE, by_date[49]["date_created"]),  # next_link's offset_date, decoded as sent
        (MOSCOW_STORE, by_date[99]["date_created"]),
        (EKB_STORE, None),
    ]
    for _, query, _ in gis.requests:
        assert (query["key"], query["limit"], query["sort_by"], query["locale"]) == (KEY, "50", "date_created", "ru_RU")
    chain = [json.loads(after) for _, after in cursor_chain(wh, CHANNEL)]
    oldest_first = by_date[::-1]
    assert chain[:3] == [{MOSCOW_STORE: oldest_first[i]["date_created"]} for i in (49, 99, 119)]
    assert chain[3] == {MOSCOW_STORE: newest(gis, MOSCOW_STORE), EKB_STORE: newest(gis, EKB_STORE)}
    first_page = staged_payloads(wh, CHANNEL)  # the channel's reader read the landed pages at `reviews`
    assert {p["object"]["type"] for p in first_page} == {"branch"}


def test_a_second_pull_stops_at_the_cursor_and_lands_only_new_reviews(wh, archive, base_url, gis) -> None:
    gis.add(MOSCOW_STORE, 120)
    gis.add(EKB_STORE, 30)
    pull(wh, archive, base_url)
    gis.requests.clear()
    again = pull(wh, archive, base_url)
    assert (again.pages_landed, len(gis.requests)) == (0, 2)  # one page per branch: it reaches the cursor

    new = gis.add(MOSCOW_STORE, 3)
    more = pull(wh, archive, base_url)
    assert (more.pages_landed, more.records) == (1, 3)
    assert set(new) <= set(landed_ids(wh))
    assert len(landed_ids(wh)) == len(set(landed_ids(wh))) == 153  # each once
    assert cursor_of(wh, CHANNEL)[MOSCOW_STORE] == newest(gis, MOSCOW_STORE)


def test_a_next_link_to_another_host_is_not_followed(wh, archive, base_url, gis, httpserver) -> None:
    gis.add(MOSCOW_STORE, 60)
    gis.link_host = f"http://127.0.0.1:{httpserver.port}"  # the same server under another name
    with pytest.raises(PullError, match=r"next_link points to http://127.0.0.1:\d+, not to http://localhost") as caught:
        pull(wh, archive, base_url)
    assert KEY not in str(caught.value)
    assert [host for _, _, host in gis.requests] == [f"localhost:{httpserver.port}"]
    assert channel_cursor(wh, CHANNEL) is None


def test_an_invalid_key_is_403_naming_the_secret(wh, archive, base_url, gis) -> None:
    gis.add(MOSCOW_STORE, 3)
    with pytest.raises(PullError) as caught:
        pull(wh, archive, base_url, secret="00000000-0000-0000-0000-000000000000")
    message = str(caught.value)
    assert "HTTP 403" in message and "renew environment variable OTKLIK_TWOGIS_API_KEY" in message
    assert "authorizationError" in message and channel_cursor(wh, CHANNEL) is None and landed_ids(wh) == []


@pytest.mark.parametrize(
    ("failure", "waits"),
    [
        (lambda: Response("slow", status=429, headers={"Retry-After": "5"}), [5.0]),
        (lambda: Response("slow", status=429), None),
        (lambda: gis_answer({"code": 429, "error": {"type": "tooManyRequests", "message": "limit"}}, []), None),
        (lambda: Response("bad gateway", status=502), None),
    ],
    ids=["429-retry-after", "429-bare", "meta-code-429", "502"],
)
def test_rate_limits_and_outages_are_retried(wh, archive, base_url, gis, failure, waits) -> None:
    gis.add(MOSCOW_STORE, 3)
    gis.failures = [failure()]
    sleeps: list[float] = []
    assert pull(wh, archive, base_url, sleep=sleeps.append).records == 3
    if waits is None:
        assert len(sleeps) == 1 and 0 < sleeps[0] <= 60
    else:
        assert sleeps == waits


def test_a_timeout_is_retried(wh, archive, base_url, gis) -> None:
    gis.add(EKB_STORE, 3)
    with httpx.Client(transport=TimeoutFirst(1)) as client:
        assert pull(wh, archive, base_url, client=client).records == 3


def test_an_answer_that_is_not_json_is_quarantined_and_the_cursor_stays(wh, archive, base_url, gis) -> None:
    gis.add(MOSCOW_STORE, 3)
    gis.failures = [Response("<html>Service Temporarily Unavailable</html>", content_type="text/html")]
    with pytest.raises(PullError, match="is not a page"):
        pull(wh, archive, base_url)
    assert quarantined(wh, CHANNEL) in (["broken_json"], ["wrong_format"])
    assert channel_cursor(wh, CHANNEL) is None
    pull(wh, archive, base_url)
    assert len(landed_ids(wh)) == 3


def test_a_next_link_that_comes_back_stops_the_pull(wh, archive, base_url, gis) -> None:
    gis.add(MOSCOW_STORE, 160)
    gis.repeat_link = True
    with pytest.raises(PullError, match="came back") as caught:
        pull(wh, archive, base_url)
    assert KEY not in str(caught.value) and len(gis.requests) == 3 and landed_ids(wh) == []


def test_an_empty_page_in_the_middle_is_passed(wh, archive, base_url, gis) -> None:
    ids = gis.add(MOSCOW_STORE, 70)
    gis.hidden_after_first = {MOSCOW_STORE}
    summary = pull(wh, archive, base_url)
    assert (summary.records, len(gis.requests)) == (70, 4)  # newest 50, hidden (empty), last 20; EKB
    assert landed_ids(wh) == sorted(ids)


def test_branches_are_required(wh, archive, base_url, gis, monkeypatch) -> None:
    monkeypatch.setenv("OTKLIK_TWOGIS_BRANCHES", " ")
    with pytest.raises(PullError, match=r"no 2GIS branches .*OTKLIK_TWOGIS_BRANCHES"):
        pull(wh, archive, base_url)
    assert gis.requests == []


def test_the_key_is_nowhere(wh, archive, base_url, gis, caplog) -> None:
    caplog.set_level(logging.DEBUG)
    gis.add(MOSCOW_STORE, 60)  # next_link carries the key back, as a link may
    gis.reviews[MOSCOW_STORE][0]["text"] = f"ключ {KEY}"
    pull(wh, archive, base_url)
    gis.add(MOSCOW_STORE, 1)
    echo = {"code": 400, "error": {"type": "paramsValidationError", "message": f"bad key={KEY}"}}
    gis.failures = [gis_answer(echo, [])]
    with pytest.raises(PullError) as caught:
        pull(wh, archive, base_url)
    logs = "\n".join(r.getMessage() for r in caplog.records if r.name != "werkzeug")
    assert "/2.0/branches/" in logs
    assert_secret_nowhere(KEY, wh, archive, logs, str(caught.value), repr(caught.value.args))
