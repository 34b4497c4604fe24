"""The ``telegram_bot`` channel as shipped, pulled with getUpdates from a loopback Bot API.

``FakeBot`` answers as https://core.telegram.org/bots/api#getupdates says: the token in the path,
``offset`` acknowledges (updates before it are forgotten), ``limit``, ``allowed_updates`` filters,
``{"ok": true, "result": [...]}``; errors ``{"ok": false, "error_code", "description",
"parameters": {"retry_after"}}`` with the same HTTP status (401, 409 webhook set, 429).
"""

import json
import logging
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from flows.extract import PullError
from tests.flows.extract.providers.checks import TimeoutFirst, assert_secret_nowhere, quarantined
from tests.flows.extract.providers.conftest import cursor_chain, pull_as_shipped, shipped, staged_payloads
from transforms.normalize import normalize_channel
from warehouse.ingest import channel_cursor

CHANNEL = "telegram_bot"
TOKEN = "7351200948:AAHk3fQz9LmWx2RtYp8vNc4JsUe6BdGo1Ki"
FIRST_ID = 864_200_000
WEBHOOK_IS_SET = (
    "Conflict: can't use getUpdates method while webhook is active; use deleteWebhook to delete the webhook first"
)
REAL = Path(__file__).parents[3] / "fixtures" / "real" / "telegram_bot_api"


def real_update(name: str) -> dict[str, Any]:
    return json.loads((REAL / f"nutgram_update_{name}.json").read_text(encoding="utf-8"))


def message_update(update_id: int) -> dict[str, Any]:
    """The real ``message`` update (nutgram's fixture) with its own id, sender, date and text."""
    update = real_update("message")
    n = update_id - FIRST_ID
    update["update_id"] = update_id
    update["message"] |= {"message_id": 100 + n, "date": 1_764_000_000 + 60 * n, "text": f"Заказ {n} опоздал"}
    update["message"]["from"] = update["message"]["from"] | {"id": 456_000 + n % 7}
    return update


def kind(update: dict[str, Any]) -> str:
    return next(key for key in update if key != "update_id")


def error(status: int, description: str, **parameters: Any) -> Response:
    body: dict[str, Any] = {"ok": False, "error_code": status, "description": description}
    if parameters:
        body["parameters"] = parameters
    return Response(json.dumps(body), status=status, content_type="application/json")


class FakeBot:
    def __init__(self, token: str = TOKEN) -> None:
        self.token = token
        self.pending: list[dict[str, Any]] = []
        self.issued = FIRST_ID  # the next update_id
        self.requests: list[dict[str, str]] = []
        self.failures: list[Response] = []
        self.answers_at: dict[int, Response] = {}  # request number → an answer instead of the right one
        self.ignore_offset = False
        self.webhook_set = False

    def add(self, count: int) -> None:
        self.pending += [message_update(self.issued + i) for i in range(count)]
        self.issued += count

    def handle(self, request: Request) -> Response:
        self.requests.append(dict(request.args))
        if len(self.requests) - 1 in self.answers_at:
            return self.answers_at.pop(len(self.requests) - 1)
        if self.failures:
            return self.failures.pop(0)
        if request.path != f"/bot{self.token}/getUpdates":
            return error(401, "Unauthorized")
        if self.webhook_set:
            return error(409, WEBHOOK_IS_SET)
        if "offset" in request.args and not self.ignore_offset:  # acknowledged: Telegram forgets them
            self.pending = [u for u in self.pending if u["update_id"] >= int(request.args["offset"])]
        allowed = json.loads(request.args["allowed_updates"]) if "allowed_updates" in request.args else None
        result = [u for u in self.pending if allowed is None or kind(u) in allowed][: int(request.args["limit"])]
        return Response(json.dumps({"ok": True, "result": result}), content_type="application/json")


@pytest.fixture
def bot(httpserver: HTTPServer) -> FakeBot:
    fake = FakeBot()
    httpserver.expect_request(re.compile(r"^/bot[^/]*/getUpdates$"), method="GET").respond_with_handler(fake.handle)
    return fake


def pull(wh, archive, base_url: str, **kwargs: Any):
    kwargs.setdefault("secret", TOKEN)
    return pull_as_shipped(wh, CHANNEL, archive, base_url, **kwargs)


def landed_ids(wh) -> list[int]:
    return sorted(p["update_id"] for p in staged_payloads(wh, CHANNEL))


def test_updates_land_page_by_page_and_each_is_acknowledged_after_it_landed(wh, archive, base_url, bot) -> None:
    bot.add(230)
    first = [u["update_id"] for u in bot.pending]
    summary = pull(wh, archive, base_url)

    offsets = [r.get("offset") for r in bot.requests]
    assert offsets == [None, str(first[99] + 1), str(first[199] + 1)]
    assert all(r["limit"] == "100" and r["timeout"] == "0" for r in bot.requests)
    assert all(json.loads(r["allowed_updates"]) == ["message"] for r in bot.requests)
    assert (summary.pages_landed, summary.records, summary.stopped) == (3, 230, "no more pages")
    ends = [str(first[99]), str(first[199]), str(first[-1])]
    assert cursor_chain(wh, CHANNEL) == [(None, ends[0]), (ends[0], ends[1]), (ends[1], ends[2])]
    assert landed_ids(wh) == first
    # the page before each request was landed when Telegram was told to forget it; the last is not yet
    assert [u["update_id"] for u in bot.pending] == first[200:]
    uris = [r[0] for r in wh.execute("select source_uri from raw.batches order by batch_seq").fetchall()]
    assert all(uri.startswith(f"{base_url}bot***/getUpdates?") for uri in uris)
    files = [r[0] for r in wh.execute("select source_file from raw.batches order by batch_seq").fetchall()]
    assert files[0] == "telegram_bot/pull-offset-start.jsonl"


def test_a_second_pull_acknowledges_the_last_page_and_lands_only_what_is_new(wh, archive, base_url, bot) -> None:
    bot.add(120)
    pull(wh, archive, base_url)
    last = int(channel_cursor(wh, CHANNEL))

    again = pull(wh, archive, base_url)
    assert bot.requests[-1]["offset"] == str(last + 1)
    assert (again.pages_landed, again.records, bot.pending) == (0, 0, [])

    bot.add(3)
    more = pull(wh, archive, base_url)
    assert (more.pages_landed, more.records) == (1, 3)
    assert landed_ids(wh) == [*range(FIRST_ID, last + 4)]  # each once


def test_updates_the_channel_does_not_map_land_and_staging_rejects_them(wh, archive, base_url, httpserver) -> None:
    """Real updates (nutgram's fixtures): a message, a reaction and an edit, with allowed_updates unset
    on the bot's side. All land and the cursor passes them; staging keeps the message only."""
    updates = [real_update("message"), real_update("message_reaction"), real_update("edited_message")]
    for number, update in enumerate(updates):
        update["update_id"] = 70 + number
    answer = json.dumps({"ok": True, "result": updates})
    path = re.compile(r"^/bot[^/]*/getUpdates$")
    httpserver.expect_request(path).respond_with_data(answer, content_type="application/json")
    summary = pull(wh, archive, base_url)
    assert (summary.records, channel_cursor(wh, CHANNEL)) == (3, "72")

    payloads = wh.execute("select payload, _batch_id, _source_file, _record_index from raw.channel_payloads").pl()
    staged = normalize_channel(payloads, shipped(CHANNEL), pii_key=b"k" * 32, as_of=datetime.now(UTC))
    assert staged.rows["body_text"].to_list() == ["Ciao"]
    assert sorted(staged.rejects["reason"].to_list()) == ["missing_field", "missing_field"]


def test_a_wrong_token_is_401_naming_the_secret_and_nothing_moves(wh, archive, base_url, bot, caplog) -> None:
    bot.add(5)
    wrong = "7351200948:AAwrongwrongwrongwrongwrong"
    with pytest.raises(PullError) as caught:
        pull(wh, archive, base_url, secret=wrong)
    message = str(caught.value)
    assert "HTTP 401" in message and "renew environment variable OTKLIK_TELEGRAM_BOT_TOKEN" in message
    assert "wrongwrong" not in message and "/bot***/getUpdates" in message
    assert (len(bot.requests), channel_cursor(wh, CHANNEL)) == (1, None)
    assert wh.execute("select count(*) from raw.batches").fetchone()[0] == 0


def test_409_says_a_webhook_is_set(wh, archive, base_url, bot) -> None:
    bot.webhook_set = True
    with pytest.raises(PullError, match=r"a webhook is set for this bot.*deleteWebhook.*cursor has not moved"):
        pull(wh, archive, base_url)
    assert len(bot.requests) == 1


@pytest.mark.parametrize(
    ("answer", "waits"),
    [
        (lambda: error(429, "Too Many Requests: retry after 7", retry_after=7), [7.0]),  # Telegram's own form
        (lambda: Response("busy", status=429, headers={"Retry-After": "3"}), [3.0]),  # a proxy's header
        (lambda: Response("busy", status=429), None),  # neither: exponential backoff
    ],
    ids=["body-retry_after", "header", "none"],
)
def test_429_waits_as_told(wh, archive, base_url, bot, answer, waits) -> None:
    bot.add(3)
    bot.failures = [answer()]
    sleeps: list[float] = []
    summary = pull(wh, archive, base_url, sleep=sleeps.append)
    assert summary.records == 3 and len(bot.requests) == 2
    if waits is None:
        assert len(sleeps) == 1 and 0 < sleeps[0] <= 60
    else:
        assert sleeps == waits


def test_5xx_then_success(wh, archive, base_url, bot) -> None:
    bot.add(3)
    bot.failures = [Response("bad gateway", status=502), error(500, "Internal Server Error")]
    sleeps: list[float] = []
    assert pull(wh, archive, base_url, sleep=sleeps.append).records == 3
    assert len(sleeps) == 2


def test_a_timeout_is_retried_and_a_lasting_one_fails_retryable(wh, archive, base_url, bot) -> None:
    bot.add(3)
    with httpx.Client(transport=TimeoutFirst(1)) as client:
        assert pull(wh, archive, base_url, client=client).records == 3
    with httpx.Client(transport=TimeoutFirst(99)) as client, pytest.raises(PullError, match="timed out") as caught:
        pull(wh, archive, base_url, client=client)
    assert caught.value.retryable and TOKEN not in str(caught.value)


def test_an_answer_that_is_not_json_is_quarantined_and_the_cursor_stays(wh, archive, base_url, bot) -> None:
    bot.add(101)
    bot.answers_at[1] = Response("<html>502 Bad Gateway</html>", content_type="text/html")
    with pytest.raises(PullError, match=r"is not a page .*not JSON"):
        pull(wh, archive, base_url)
    assert channel_cursor(wh, CHANNEL) == str(FIRST_ID + 99)  # the page before it stays landed
    assert quarantined(wh, CHANNEL) in (["wrong_format"], ["broken_json"])  # the whole file, or its one line
    assert bot.requests[1]["offset"] == str(FIRST_ID + 100)

    pull(wh, archive, base_url)  # Telegram is back: the rest lands
    assert landed_ids(wh) == list(range(FIRST_ID, FIRST_ID + 101))


def test_an_api_that_ignores_offset_stops_at_the_repeated_updates(wh, archive, base_url, bot) -> None:
    bot.add(150)
    bot.ignore_offset = True
    with pytest.raises(PullError, match=r"below the offset .* does not advance"):
        pull(wh, archive, base_url)
    assert (len(bot.requests), channel_cursor(wh, CHANNEL)) == (2, str(FIRST_ID + 99))
    assert len(landed_ids(wh)) == 100


def test_an_empty_answer_ends_the_pull_and_keeps_the_cursor(wh, archive, base_url, bot) -> None:
    """getUpdates cannot answer an empty page in the middle: empty means nothing is waiting."""
    summary = pull(wh, archive, base_url)
    assert (summary.pages_fetched, summary.last_cursor, len(bot.requests)) == (0, None, 1)


def test_the_token_is_nowhere(wh, archive, base_url, bot, caplog) -> None:
    caplog.set_level(logging.DEBUG)
    bot.add(3)
    bot.pending[1]["message"]["text"] = f"my bot token is {TOKEN}"  # a page lands with whole forms masked
    bot.failures = [Response("upstream down", status=503)]
    pull(wh, archive, base_url)
    bot.failures = [error(400, f"Bad Request: wrong token bot{TOKEN}, or part of it {TOKEN[11:30]}")]
    with pytest.raises(PullError) as caught:
        pull(wh, archive, base_url)
    logs = "\n".join(r.getMessage() for r in caplog.records if r.name != "werkzeug")  # not the server's own log
    assert "/bot***/getUpdates" in logs  # httpx logged every URL, redacted
    assert_secret_nowhere(TOKEN, wh, archive, logs, str(caught.value), repr(caught.value.args))
    assert "my bot token is ***" in json.dumps(staged_payloads(wh, CHANNEL), ensure_ascii=False)


def test_the_shipped_entry_validates() -> None:
    from flows.extract.providers import options_of, puller_for

    channel = shipped(CHANNEL)
    assert puller_for(channel).__name__ == "flows.extract.providers.telegram"
    assert options_of(channel).allowed_updates == ("message",)
