"""ivr_post_call_survey pulled as shipped from Mango Office call statistics on loopback (fake_mango_office.py).

Shipped options: windows of 6 hours, 30 minutes of settling, a week back on the first pull, the
score from the call field ``ivr_survey_score``. "Now" is fixed through ``mango_office.clock``.
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
import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from flows.extract import PullError, pull_channel
from flows.extract.providers import mango_office
from otklik.sample.writers import IVR_HEADER
from tests.flows.extract.providers.conftest import cursor_chain, pull_as_shipped, shipped, staged_payloads
from tests.flows.extract.providers.fake_mango_office import API_KEY, API_SALT, SECRET, FakeMango
from transforms.normalize import normalize_channel
from warehouse.ingest import channel_cursor

IVR = "ivr_post_call_survey"
HOUR = 3600
LIMIT = 1_791_504_000  # 2026-10-09 00:00 UTC: now minus the 30 settling minutes
NOW = LIMIT + 30 * 60
FIRST = LIMIT - 168 * HOUR  # the first pull looks a week back
FIELDS = "entry_id,start,from_number,ivr_survey_score"


def call(entry_id: str, start: int, score: str = "", phone: str = "79161234567") -> dict[str, Any]:
    return {
        "entry_id": entry_id,
        "start": start,
        "from_number": phone,
        "ivr_survey_score": score,
        "to_number": "74950000000",
        "records": "[]",
    }


CALLS = [
    call("MToxMDA1:1", FIRST + 2 * HOUR + 27, "5"),  # window 0
    call("MToxMDA1:2", FIRST + 2 * HOUR + 90),  # hung up before the survey: not an answer
    call("MToxMDA1:3", FIRST + 100 * HOUR, "2", phone="78127654321"),  # window 16
    call("MToxMDA1:4", NOW - 600, "4"),  # still settling: the next pull takes it
]


@pytest.fixture
def now(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The puller's clock; tests move it by assigning ``now[0]``."""
    clock = [NOW]
    monkeypatch.setattr(mango_office, "clock", lambda: clock[0])
    return clock


def serve(httpserver: HTTPServer, calls: list[dict[str, Any]], **kwargs: Any) -> FakeMango:
    api = FakeMango(calls, **kwargs)
    httpserver.expect_request(re.compile(r"^/vpbx/.*"), method="POST").respond_with_handler(api.handle)
    return api


def pull(wh: duckdb.DuckDBPyConnection, archive: Path, base_url: str, **kwargs: Any):
    kwargs.setdefault("secret", SECRET)
    return pull_as_shipped(wh, IVR, archive, base_url, **kwargs)


def batches(wh: duckdb.DuckDBPyConnection) -> list[tuple[int, str]]:
    return wh.execute("select record_count, cursor_after from raw.batches order by batch_seq").fetchall()


def everything_left_behind(wh: duckdb.DuckDBPyConnection, archive: Path) -> str:
    tables = wh.execute(
        "select table_schema, table_name from information_schema.tables where table_schema in ('raw', 'quarantine')"
    ).fetchall()
    text = "\n".join(str(wh.execute(f'select * from "{s}"."{t}"').fetchall()) for s, t in tables)
    return text + "\n".join(p.read_bytes().decode("cp1251", "replace") for p in archive.rglob("*") if p.is_file())


# --- windows, signature, polling, the export ------------------------------------------------------


def test_first_pull_walks_settled_windows_and_lands_each_with_its_end(wh, archive, base_url, httpserver, now) -> None:
    api = serve(httpserver, CALLS)
    sleeps: list[float] = []
    summary = pull(wh, archive, base_url, sleep=sleeps.append)

    asked = api.asked()
    assert len(asked) == 28  # a week in windows of 6 hours, up to now - 30 minutes
    assert asked[0] == {
        "date_from": FIRST,
        "date_to": FIRST + 6 * HOUR - 1,
        "fields": FIELDS,
        "request_id": f"{IVR}-{FIRST}-{FIRST + 6 * HOUR}",
    }
    assert [a["date_from"] for a in asked[1:]] == [a["date_to"] + 1 for a in asked[:-1]]  # no gap, no overlap
    assert asked[-1]["date_to"] == LIMIT - 1
    assert len(api.asked("stats/result")) == 56 and sleeps == [5.0] * 28  # 204, wait, then the report

    form = api.requests[0]["form"]  # the documented signature, checked by the server too
    assert form["vpbx_api_key"] == API_KEY
    assert form["sign"] == mango_office.sign(API_KEY, form["json"], API_SALT)

    # two windows with answers, then the quiet windows passed by the export's header alone
    w0, w16 = str(FIRST + 6 * HOUR), str(FIRST + 102 * HOUR)
    assert cursor_chain(wh, IVR) == [(None, w0), (w0, w16), (w16, str(LIMIT))]
    assert batches(wh) == [(1, w0), (1, w16), (0, str(LIMIT))]
    assert channel_cursor(wh, IVR) == str(LIMIT) and summary.records == 2

    first, second = sorted(staged_payloads(wh, IVR), key=lambda payload: payload["ИД звонка"])
    assert first == {
        "ИД звонка": "MToxMDA1:1",
        "Дата": "02.10.2026",
        "Время": "05:00:27",  # 02:00:27 UTC, Moscow wall clock
        "Номер телефона": "79161234567",
        "Оценка": "5",
        "Комментарий оператора": "",
    }
    assert (second["ИД звонка"], second["Оценка"], second["Дата"], second["Время"]) == (
        "MToxMDA1:3",
        "2",
        "06.10.2026",
        "07:00:00",
    )


def test_the_page_is_the_channels_export_and_stages_as_one(wh, archive, base_url, httpserver, now) -> None:
    serve(httpserver, CALLS[:1])
    pull(wh, archive, base_url)
    path = Path(wh.execute("select archive_path from raw.batches where record_count = 1").fetchone()[0])
    data = path.read_bytes()
    assert data == ";".join(IVR_HEADER).encode("cp1251") + b"\r\nMToxMDA1:1;02.10.2026;05:00:27;79161234567;5;\r\n"

    frame = wh.execute(
        "select payload::varchar as payload, _batch_id, _source_file, _record_index from raw.channel_payloads"
    ).pl()
    rows = normalize_channel(frame, shipped(IVR), pii_key=b"k", as_of=datetime(2026, 12, 1, tzinfo=UTC)).rows
    assert rows["received_at"].to_list() == [datetime.fromtimestamp(FIRST + 2 * HOUR + 27, UTC)]
    assert rows["score_raw"].to_list() == [5.0]


def test_the_next_pull_takes_only_the_new_settled_period(wh, archive, base_url, httpserver, now) -> None:
    api = serve(httpserver, CALLS)
    pull(wh, archive, base_url)
    api.calls.append(call("MToxMDA1:5", NOW + HOUR, "3"))
    api.requests.clear()

    now[0] = NOW + 3 * HOUR
    pull(wh, archive, base_url)
    assert api.asked() == [{"date_from": LIMIT, "date_to": LIMIT + 3 * HOUR - 1, "fields": FIELDS,
                            "request_id": f"{IVR}-{LIMIT}-{LIMIT + 3 * HOUR}"}]  # fmt: skip
    assert cursor_chain(wh, IVR)[-1] == (str(LIMIT), str(LIMIT + 3 * HOUR))
    ids = sorted(p["ИД звонка"] for p in staged_payloads(wh, IVR))
    assert ids == ["MToxMDA1:1", "MToxMDA1:3", "MToxMDA1:4", "MToxMDA1:5"]  # each once

    api.requests.clear()
    pull(wh, archive, base_url)  # nothing has settled since: nothing is asked
    assert api.requests == [] and channel_cursor(wh, IVR) == str(LIMIT + 3 * HOUR)


def test_an_empty_window_moves_the_cursor_and_is_never_asked_again(wh, archive, base_url, httpserver, now) -> None:
    api = serve(httpserver, [call("MToxMDA1:2", FIRST + HOUR)])  # a line without survey answers
    pull(wh, archive, base_url)
    assert batches(wh) == [(0, str(LIMIT))]  # the header alone carries the cursor past the week
    assert staged_payloads(wh, IVR) == []

    api.requests.clear()
    now[0] = NOW + HOUR
    summary = pull(wh, archive, base_url)
    assert [(a["date_from"], a["date_to"]) for a in api.asked()] == [(LIMIT, LIMIT + HOUR - 1)]
    assert summary.pages_skipped == 1  # the same header bytes: already landed, the cursor still moves
    assert batches(wh) == [(0, str(LIMIT))] and channel_cursor(wh, IVR) == str(LIMIT + HOUR)


def test_a_clock_that_goes_back_never_moves_the_cursor_back(wh, archive, base_url, httpserver, now) -> None:
    api = serve(httpserver, CALLS)
    pull(wh, archive, base_url)
    api.requests.clear()
    now[0] = NOW - 2 * HOUR  # NTP stepped the clock back: the committed cursor is now "in the future"
    summary = pull(wh, archive, base_url)
    assert api.requests == [] and summary.pages_landed == 0 and channel_cursor(wh, IVR) == str(LIMIT)


# --- faults ---------------------------------------------------------------------------------------


def test_a_refused_key_names_the_secret_and_moves_nothing(wh, archive, base_url, httpserver, now) -> None:
    api = serve(httpserver, CALLS)
    with pytest.raises(PullError, match=r"HTTP 401.*renew environment variable OTKLIK_MANGO_OFFICE_API_CREDENTIALS"):
        pull(wh, archive, base_url, secret=f"{API_KEY}:wrong-salt-0000")
    assert len(api.requests) == 1 and batches(wh) == [] and channel_cursor(wh, IVR) is None


def test_a_secret_without_the_salt_is_refused_before_any_request(wh, archive, base_url, httpserver, now) -> None:
    api = serve(httpserver, CALLS)
    with pytest.raises(PullError, match=r"'<vpbx_api_key>:<vpbx_api_salt>' in environment variable OTKLIK_MANGO"):
        pull(wh, archive, base_url, secret=API_KEY)
    assert api.requests == []


def test_an_api_error_code_stops_the_pull(wh, archive, base_url, httpserver, now) -> None:
    api = serve(httpserver, CALLS)
    api.failures = [Response(json.dumps({"result": 3100, "message": "Invalid request parameters"}), 200)]
    with pytest.raises(PullError, match=r"refused: result 3100 \(Invalid request parameters\)"):
        pull(wh, archive, base_url)
    assert batches(wh) == [] and channel_cursor(wh, IVR) is None


@pytest.mark.parametrize(
    ("headers", "waited"), [({"Retry-After": "11"}, 11.0), ({}, None)], ids=["retry-after", "none"]
)
def test_429_waits_then_goes_on(wh, archive, base_url, httpserver, now, headers: dict, waited: float | None) -> None:
    api = serve(httpserver, CALLS)
    api.failures = [Response("Too Many Requests", status=429, headers=headers)]
    sleeps: list[float] = []
    pull(wh, archive, base_url, sleep=sleeps.append)
    assert sleeps[0] == waited if waited else 0 < sleeps[0] <= 2
    assert channel_cursor(wh, IVR) == str(LIMIT) and len(staged_payloads(wh, IVR)) == 2


def test_5xx_then_success(wh, archive, base_url, httpserver, now) -> None:
    api = serve(httpserver, CALLS)
    api.failures = [Response(status=500), Response(status=503)]
    pull(wh, archive, base_url)
    assert channel_cursor(wh, IVR) == str(LIMIT) and len(staged_payloads(wh, IVR)) == 2


def test_a_report_never_ready_fails_retryably_with_the_cursor_kept(wh, archive, base_url, httpserver, now) -> None:
    serve(httpserver, CALLS, pending=10_000)
    sleeps: list[float] = []
    with pytest.raises(PullError, match="not ready after 60 polls of 5 s") as caught:
        pull(wh, archive, base_url, sleep=sleeps.append)
    assert caught.value.retryable and sleeps == [5.0] * 60 and channel_cursor(wh, IVR) is None


def test_a_timeout_is_retried_then_fails_with_nothing_moved(wh, archive, base_url, httpserver, now) -> None:
    release = threading.Event()

    def slow(request: Request) -> Response:
        release.wait(2)
        return Response("{}", content_type="application/json")

    httpserver.expect_request(re.compile(r"^/vpbx/.*")).respond_with_handler(slow)
    entry = shipped(IVR)  # as shipped, but a short timeout so that the test does not wait 30 s
    options = entry.how_extracted.options | {"timeout_seconds": 0.1, "max_retries": 1}
    channel = entry.model_copy(update={"extraction": entry.how_extracted.model_copy(update={"options": options})})
    with pytest.raises(PullError, match=r"timed out .* on all 2 attempt") as caught:
        pull_channel(
            wh, channel, archive_dir=archive, run_id="t", secret=SECRET, base_url=base_url, sleep=lambda s: None
        )
    assert caught.value.retryable and channel_cursor(wh, IVR) is None
    release.set()  # let the server finish the abandoned requests before the next test uses it
    time.sleep(0.1)


def test_a_report_that_is_not_the_requested_csv_is_quarantined(wh, archive, base_url, httpserver, now) -> None:
    api = FakeMango(CALLS, pending=0)
    results = [0]

    def handle(request: Request) -> Response:
        if request.path == "/vpbx/stats/result":
            results[0] += 1
            if results[0] == 2:  # window 0 lands; the report of window 1 is an HTML page
                return Response("<html><body>Сервис недоступен</body></html>", content_type="text/html")
        return api.handle(request)

    httpserver.expect_request(re.compile(r"^/vpbx/.*")).respond_with_handler(handle)
    with pytest.raises(PullError, match=r"is not a page \(line 1 has 1 cells where 4 fields"):
        pull(wh, archive, base_url)
    (reason,) = wh.execute("select reason from quarantine.files").fetchone()
    assert reason == "unexpected_file"  # kept as it came (.txt), not read as the channel's CSV
    assert channel_cursor(wh, IVR) == str(FIRST + 6 * HOUR)  # window 0 stays landed, window 1 is asked again

    pull(wh, archive, base_url)
    assert channel_cursor(wh, IVR) == str(LIMIT) and len(staged_payloads(wh, IVR)) == 2


def test_the_key_and_salt_never_leave(wh, archive, base_url, httpserver, now, caplog) -> None:
    caplog.set_level(logging.DEBUG)
    api = serve(httpserver, CALLS)
    api.failures = [Response(json.dumps({"result": 3102, "message": f"key {API_KEY} sign for salt {API_SALT}"}), 403)]
    with pytest.raises(PullError) as caught:
        pull(wh, archive, base_url)
    assert "renew environment variable OTKLIK_MANGO_OFFICE_API_CREDENTIALS" in str(caught.value)

    api.calls.append(call("MToxMDA1:9", FIRST + 3 * HOUR, "4", phone=f"echo {API_KEY}"))  # echoed into a page
    pull(wh, archive, base_url)
    assert any(p["Номер телефона"] == "echo ***" for p in staged_payloads(wh, IVR))
    for where in (str(caught.value), caplog.text, everything_left_behind(wh, archive)):
        assert API_KEY not in where and API_SALT not in where and "PLANTED" not in where
