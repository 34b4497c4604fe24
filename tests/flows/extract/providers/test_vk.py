"""The ``vk_wall_comments`` channel as shipped, pulled from a loopback VK API.

``FakeVk`` answers as the VK documentation says (https://dev.vk.com/ru/api/api-requests,
https://dev.vk.com/ru/method/wall.get, https://dev.vk.com/ru/method/wall.getComments,
https://dev.vk.com/ru/method/utils.getServerTime, https://dev.vk.com/ru/reference/errors):
``POST /method/<name>`` with ``access_token`` and ``v`` in the form body; ``{"response": ...}``, or
with HTTP 200 ``{"error": {"error_code", "error_msg", "request_params"}}`` (5 authorization failed,
6 too many requests per second, 8 invalid request, 29 rate limit reached). Comments follow the VK API
schema's ``wall_wall_comment`` (tests/fixtures/real/vk/vk-api-schema_wall_getComments.json): id,
from_id, date, text, post_id, owner_id, parents_stack, thread {count, items}.
"""

import json
import logging
from typing import Any

import httpx
import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from flows.extract import PullError
from tests.flows.extract.providers.checks import TimeoutFirst, assert_secret_nowhere, quarantined
from tests.flows.extract.providers.conftest import cursor_chain, pull_as_shipped, staged_payloads
from warehouse.ingest import channel_cursor

CHANNEL = "vk_wall_comments"
TOKEN = "vk1.a.Qm9uZFNlcnZpY2VUb2tlbi0xMjM0NTY3ODkwYWJjZGVm"
GROUP = 218_347_521
NOW = 1_796_000_000  # VK's clock in the fake


def vk_ok(response: Any) -> Response:
    return Response(json.dumps({"response": response}, ensure_ascii=False), content_type="application/json")


def vk_error(code: int, message: str, form: dict[str, str] | None = None) -> Response:
    params = [{"key": key, "value": value} for key, value in (form or {}).items() if key != "access_token"]
    body = {"error": {"error_code": code, "error_msg": message, "request_params": params}}
    return Response(json.dumps(body), content_type="application/json")  # HTTP 200, as VK does


class FakeVk:
    def __init__(self) -> None:
        self.comments: dict[int, list[dict[str, Any]]] = {}  # post id → its comments and replies
        self.next_id = 61_000
        self.now = NOW
        self.requests: list[tuple[str, dict[str, str], dict[str, str]]] = []  # method, form, query
        self.failures: list[Response] = []
        self.ignore_offset = False

    def post(self, post_id: int) -> None:
        self.comments.setdefault(post_id, [])

    def comment(self, post_id: int, *, reply_to: int | None = None, **fields: Any) -> int:
        self.next_id += 3
        comment = {
            "id": self.next_id,
            "from_id": 10_000_000 + self.next_id % 977,
            "date": self.now - 10_000 + self.next_id % 5000,
            "text": f"Комментарий {self.next_id}: доставка опоздала",
            "post_id": post_id,
            "owner_id": -GROUP,
            "parents_stack": [reply_to] if reply_to else [],
            "likes": {"count": 0, "user_likes": 0, "can_like": 1},
        } | fields
        self.comments.setdefault(post_id, []).append(comment)
        return self.next_id

    def people_ids(self) -> list[int]:
        everything = (c for comments in self.comments.values() for c in comments)
        return sorted(c["id"] for c in everything if c["from_id"] > 0 and not c.get("deleted") and c["date"] < self.now)

    def handle(self, request: Request) -> Response:
        method, form = request.path.rsplit("/", 1)[-1], dict(request.form)
        self.requests.append((method, form, dict(request.args)))
        if self.failures:
            return self.failures.pop(0)
        if form.get("access_token") != TOKEN:
            return vk_error(5, "User authorization failed: invalid access_token (4).", form)
        if form.get("v") != "5.199":
            return vk_error(8, "Invalid request: v (version) is required or invalid", form)
        if method == "utils.getServerTime":
            return vk_ok(self.now)
        if int(form["owner_id"]) != -GROUP:
            return vk_error(15, "Access denied", form)
        return self._wall_get(form) if method == "wall.get" else self._get_comments(form)

    def _wall_get(self, form: dict[str, str]) -> Response:
        posts = sorted(self.comments, reverse=True)[: int(form.get("count", 20))]  # the newest first
        items = [
            {"id": pid, "owner_id": -GROUP, "from_id": -GROUP, "date": NOW - 86_400 + pid, "text": f"Пост {pid}",
             "comments": {"count": len(self.comments[pid]), "can_post": 1}}
            for pid in posts
        ]  # fmt: skip
        return vk_ok({"count": len(self.comments), "items": items})

    def _get_comments(self, form: dict[str, str]) -> Response:
        everything = sorted(self.comments.get(int(form["post_id"]), []), key=lambda c: c["id"])
        parent = int(form["comment_id"]) if "comment_id" in form else None
        level = [c for c in everything if (c["parents_stack"] or [None])[-1] == parent]
        offset = 0 if self.ignore_offset else int(form.get("offset", 0))
        page = level[offset : offset + int(form.get("count", 10))]
        if parent is None:
            inline = int(form.get("thread_items_count", 0))
            replies = {c["id"]: [r for r in everything if r["parents_stack"] == [c["id"]]] for c in page}
            page = [c | {"thread": {"count": len(replies[c["id"]]), "items": replies[c["id"]][:inline]}} for c in page]
        return vk_ok({"count": len(everything), "current_level_count": len(level), "items": page, "can_post": True})


@pytest.fixture
def vk(httpserver: HTTPServer, monkeypatch: pytest.MonkeyPatch) -> FakeVk:
    monkeypatch.setenv("OTKLIK_VK_GROUP_ID", str(GROUP))
    fake = FakeVk()
    for method in ("utils.getServerTime", "wall.get", "wall.getComments"):
        httpserver.expect_request(f"/method/{method}", method="POST").respond_with_handler(fake.handle)
    return fake


def pull(wh, archive, base_url: str, **kwargs: Any):
    kwargs.setdefault("secret", TOKEN)
    return pull_as_shipped(wh, CHANNEL, archive, base_url, **kwargs)


def landed_ids(wh) -> list[int]:
    return sorted(p["object"]["id"] for p in staged_payloads(wh, CHANNEL))


def a_busy_wall(vk: FakeVk) -> None:
    """Post 9101: 150 comments (two pages); 9102: a thread of 12 replies (two more than VK shows
    inline), the community's answer and a deleted comment; 9103: no comments (not asked)."""
    for _ in range(150):
        vk.comment(9101)
    parent = vk.comment(9102)
    for _ in range(12):
        vk.comment(9102, reply_to=parent)
    vk.comment(9102, from_id=-GROUP, text="Спасибо, разберёмся!")
    vk.comment(9102, deleted=True, text="")
    vk.post(9103)


def test_the_wall_is_walked_and_new_comments_land_in_ascending_ids(wh, archive, base_url, vk) -> None:
    a_busy_wall(vk)
    people = vk.people_ids()
    summary = pull(wh, archive, base_url)

    assert (summary.pages_landed, summary.records) == (2, 163)  # 150 + 1 + 12
    assert landed_ids(wh) == people
    assert cursor_chain(wh, CHANNEL) == [(None, str(people[99])), (str(people[99]), str(people[-1]))]
    methods = [(name, form.get("post_id"), form.get("offset"), form.get("comment_id")) for name, form, _ in vk.requests]
    assert methods == [
        ("utils.getServerTime", None, None, None),
        ("wall.get", None, None, None),
        ("wall.getComments", "9102", "0", None),
        ("wall.getComments", "9102", "0", str(people[150])),  # the long thread, on its own
        ("wall.getComments", "9101", "0", None),
        ("wall.getComments", "9101", "100", None),
    ]
    for _, form, query in vk.requests:  # the token and version in the body, never in the URL
        assert (form["access_token"], form["v"], query) == (TOKEN, "5.199", {})
    _, comments_form, _ = vk.requests[2]
    assert comments_form | {"access_token": "-"} == {
        "owner_id": str(-GROUP), "post_id": "9102", "sort": "asc", "count": "100", "preview_length": "0",
        "thread_items_count": "10", "offset": "0", "v": "5.199", "access_token": "-",
    }  # fmt: skip
    event = staged_payloads(wh, CHANNEL)[0]
    assert (event["type"], event["group_id"], event["v"]) == ("wall_reply_new", GROUP, "5.199")
    assert (event["object"]["owner_id"], event["object"]["post_owner_id"]) == (-GROUP, -GROUP)


def test_a_second_pull_lands_only_comments_above_the_cursor(wh, archive, base_url, vk) -> None:
    a_busy_wall(vk)
    pull(wh, archive, base_url)
    again = pull(wh, archive, base_url)
    assert (again.pages_landed, again.records) == (0, 0)

    thread_parent = vk.people_ids()[150]
    new = [vk.comment(9101), vk.comment(9102, reply_to=thread_parent), vk.comment(9104)]  # one in an old thread
    more = pull(wh, archive, base_url)
    assert (more.pages_landed, more.records) == (1, 3)
    assert landed_ids(wh) == vk.people_ids() and channel_cursor(wh, CHANNEL) == str(new[-1])


def test_a_comment_written_during_the_walk_waits_for_the_next_pull(wh, archive, base_url, vk) -> None:
    vk.comment(9101)
    late = vk.comment(9101, date=NOW)  # the second the walk started: maybe after its post was walked
    pull(wh, archive, base_url)
    assert late not in landed_ids(wh) and channel_cursor(wh, CHANNEL) == str(late - 3)
    vk.now += 60
    pull(wh, archive, base_url)
    assert landed_ids(wh) == [late - 3, late]


def test_error_5_names_the_secret_and_nothing_moves(wh, archive, base_url, vk) -> None:
    vk.comment(9101)
    with pytest.raises(PullError) as caught:
        pull(wh, archive, base_url, secret="vk1.a.expired-token-0000000000")
    assert "VK error 5 'User authorization failed" in str(caught.value)
    assert "renew environment variable OTKLIK_VK_ACCESS_TOKEN, the cursor has not moved" in str(caught.value)
    assert not caught.value.retryable and len(vk.requests) == 1
    assert (channel_cursor(wh, CHANNEL), wh.execute("select count(*) from raw.batches").fetchone()[0]) == (None, 0)


@pytest.mark.parametrize(
    ("failure", "waits"),
    [
        (lambda: vk_error(6, "Too many requests per second"), [1.0]),  # VK's own rate limit, HTTP 200
        (lambda: Response("slow down", status=429, headers={"Retry-After": "2"}), [2.0]),
        (lambda: Response("slow down", status=429), None),  # no Retry-After: backoff
        (lambda: Response("bad gateway", status=502), None),
        (lambda: vk_error(10, "Internal server error"), None),
    ],
    ids=["error-6", "429-retry-after", "429-bare", "502", "error-10"],
)
def test_rate_limits_and_outages_are_retried(wh, archive, base_url, vk, failure, waits) -> None:
    vk.comment(9101)
    vk.failures = [failure()]
    sleeps: list[float] = []
    assert pull(wh, archive, base_url, sleep=sleeps.append).records == 1
    if waits is None:
        assert len(sleeps) == 1 and 0 < sleeps[0] <= 60
    else:
        assert sleeps == waits


def test_error_29_the_daily_quota_stops_the_pull_retryable(wh, archive, base_url, vk) -> None:
    vk.comment(9101)
    vk.failures = [vk_ok(NOW), vk_error(29, "Rate limit reached")]
    with pytest.raises(PullError, match="daily quota is spent") as caught:
        pull(wh, archive, base_url)
    assert caught.value.retryable and channel_cursor(wh, CHANNEL) is None


def test_a_timeout_is_retried(wh, archive, base_url, vk) -> None:
    vk.comment(9101)
    with httpx.Client(transport=TimeoutFirst(1)) as client:
        assert pull(wh, archive, base_url, client=client).records == 1


def test_an_answer_that_is_not_json_is_quarantined_and_the_cursor_stays(wh, archive, base_url, vk) -> None:
    vk.comment(9101)
    pull(wh, archive, base_url)
    cursor = channel_cursor(wh, CHANNEL)
    vk.comment(9101)
    vk.failures = [vk_ok(NOW), Response("<html><body>502 Bad Gateway</body></html>", content_type="text/html")]
    with pytest.raises(PullError, match="is not a page"):
        pull(wh, archive, base_url)
    assert channel_cursor(wh, CHANNEL) == cursor
    assert quarantined(wh, CHANNEL) in (["wrong_format"], ["broken_json"])
    pull(wh, archive, base_url)
    assert landed_ids(wh) == vk.people_ids()


def test_an_api_that_ignores_offset_stops_instead_of_looping(wh, archive, base_url, vk) -> None:
    for _ in range(120):
        vk.comment(9101)
    vk.ignore_offset = True
    with pytest.raises(PullError, match="does not advance"):
        pull(wh, archive, base_url)
    assert len(vk.requests) == 4 and channel_cursor(wh, CHANNEL) is None


def test_a_post_whose_comments_are_gone_is_an_empty_page_and_the_walk_goes_on(wh, archive, base_url, vk) -> None:
    vk.comment(9101)
    vk.comment(9102, deleted=True, text="")  # wall.get still counts it; getComments hides it below
    vk.comments[9102][0]["parents_stack"] = [1]  # not at the top level: the first page is empty
    vk.comment(9103)
    summary = pull(wh, archive, base_url)
    assert summary.records == 2 and landed_ids(wh) == [vk.comments[9101][0]["id"], vk.comments[9103][0]["id"]]


def test_the_group_id_is_required(wh, archive, base_url, vk, monkeypatch) -> None:
    monkeypatch.delenv("OTKLIK_VK_GROUP_ID")
    with pytest.raises(PullError, match=r"group_id or the environment variable OTKLIK_VK_GROUP_ID"):
        pull(wh, archive, base_url)
    assert vk.requests == []


def test_the_token_is_nowhere(wh, archive, base_url, vk, caplog) -> None:
    caplog.set_level(logging.DEBUG)
    vk.comment(9101, text=f"а вот ваш токен: {TOKEN}")
    vk.failures = [vk_error(6, "Too many requests per second")]
    pull(wh, archive, base_url)
    vk.failures = [vk_error(100, f"One of the parameters specified was missing or invalid: access_token={TOKEN}")]
    with pytest.raises(PullError) as caught:
        pull(wh, archive, base_url)
    logs = "\n".join(r.getMessage() for r in caplog.records if r.name != "werkzeug")  # not the server's own log
    assert "/method/utils.getServerTime" in logs
    assert_secret_nowhere(TOKEN, wh, archive, logs, str(caught.value), repr(caught.value.args))
    assert staged_payloads(wh, CHANNEL)[0]["object"]["text"] == "а вот ваш токен: ***"
