"""A pull's secret, echoed back by the API in any spelling, is found nowhere the pipeline writes.

The end-to-end case runs ``otklik ingest`` (the CLI, so the ingest flow under the Prefect test
harness) against a loopback API whose base URL is the secret, as a Bitrix24 inbound webhook is
(``https://<portal>/rest/<user>/<token>/``); the channel names it by its environment variable only.
The API answers a 503 (with the echo below), then a page of records one of which carries the URL
(as some APIs link back to themselves), then a 400 whose body echoes the webhook URL as is,
JSON-escaped (``\\/``), URL-encoded (``quote``, ``quote_plus``) and cut short. The secret, in each
of those spellings (compared lower-cased), and every 8-character piece of its token (so every part
of 8 or more characters) must then be absent from: the CLI's exception and output, the console
(stdout and stderr), every log record (Prefect's run loggers included: what its console handler
prints), every table of the warehouse, every file under the landing folder and the archive, every
table and column of Prefect's database (the harness's SQLite file: flow and task runs with their
parameters, names and state messages, logs, events) and any result file Prefect wrote meanwhile.

Not scanned: the fake API's own access log (werkzeug, switched off): that is the provider's side of
the wire, which by construction receives the URL.
"""

import base64
import json
import logging
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote, quote_plus

import duckdb
import pytest
from pytest_httpserver import HTTPServer
from typer.testing import CliRunner
from werkzeug import Request, Response

import flows.ingest
from flows.extract import ChannelsFailed
from flows.extract.redact import MASK, RedactingFilter, Redactor, redacting_logs, redactor, scrub_exception
from tests.flows.extract.fake_apis import FakeApi, _json, make_channel
from transforms.channels import load_channels

TOKEN = "b7Qx9ZkR2mWv4TnP8sLc3HdY"  # the webhook's key: what makes the URL a secret
CHANNEL_ID = "hook_leak_api"


# --- the redactor -------------------------------------------------------------------------------

WEBHOOK = f"https://portal.bitrix24.ru/rest/1/{TOKEN}/"


@pytest.mark.parametrize(
    "echo",
    [
        WEBHOOK,
        WEBHOOK.rstrip("/"),
        WEBHOOK.replace("/", "\\/"),  # PHP's json_encode
        json.dumps(WEBHOOK)[1:-1],
        quote(WEBHOOK, safe=""),
        quote(WEBHOOK),
        quote_plus(WEBHOOK),
        quote(WEBHOOK, safe="").lower(),  # lower-case hex
        quote(quote(WEBHOOK, safe=""), safe=""),  # inside another URL's query
        f"<a href='{WEBHOOK}'>".replace("&", "&amp;"),  # in HTML
        base64.b64encode(WEBHOOK.encode()).decode(),
        TOKEN,
        TOKEN[:8],  # any 8 characters of it
        TOKEN[5:17],
        f"key={TOKEN[3:15]}&next",  # a piece glued to other text
    ],
    ids=["raw", "no-slash", "json-slash", "json", "quote-safe-none", "quote", "quote-plus", "lower-hex",
         "double", "html", "base64", "token", "head-8", "middle-12", "glued"],
)  # fmt: skip
def test_every_spelling_and_every_part_of_8_or_more_is_hidden(echo: str) -> None:
    redact = redactor(WEBHOOK)
    shown = redact(f"error: {echo} (echoed)")
    assert shown.startswith("error: ") and shown.endswith(" (echoed)") and MASK in shown
    assert not any(TOKEN[i : i + 8] in shown for i in range(len(TOKEN) - 7))


def test_what_is_not_the_secret_stays_readable() -> None:
    redact = redactor(WEBHOOK)
    text = "GET https://portal.bitrix24.ru/rest/1/crm.deal.list.json?start=50 answered HTTP 401"
    assert redact(text) == text  # the portal, the path prefix and a 7-character piece are not secret
    assert redact(f"GET {WEBHOOK}crm.activity.list.json?start=0") == "GET ***/crm.activity.list.json?start=0"
    assert redact(f"{TOKEN[:7]} and {TOKEN[-7:]}") == f"{TOKEN[:7]} and {TOKEN[-7:]}"
    assert redactor(None)("anything") == "anything" and redactor("", None)("") == ""


def test_a_basic_secret_and_a_short_one() -> None:
    redact = redactor("robot:pa55word-x", "k3y")
    header = "Basic " + base64.b64encode(b"robot:pa55word-x").decode()
    assert redact(f"sent {header}") == f"sent Basic {MASK}"
    assert redact("user robot:pa55 said pa55word-x") == "user *** said ***"  # 10 and 10 characters of it
    assert redact("user robot said pa55wor") == "user robot said pa55wor"  # 5 and 7: not distinctive
    assert redact("the k3y, k3y%20x") == "the ***, ***%20x"  # short: only whole, but in every spelling


def test_parts_are_found_in_linear_time() -> None:
    secret = "s" * 2_000 + TOKEN  # a long secret: 2,017 eight-character windows
    started = time.perf_counter()
    redact = Redactor([secret])
    text = ("lorem ipsum " * 100_000) + TOKEN[2:14]
    shown = redact(text)
    assert time.perf_counter() - started < 5
    assert shown.endswith(MASK) and TOKEN[2:14] not in shown


def test_pages_land_without_the_secret_and_stay_json() -> None:
    redact = redactor(WEBHOOK)
    page = json.dumps({"result": [{"ID": "1", "LINK": WEBHOOK.replace("/", "\\/") + "x"}], "next": 50}).encode()
    landed = redact.redact_bytes(page)
    assert TOKEN.encode() not in landed and json.loads(landed)["next"] == 50
    assert redact.redact_bytes(b'{"result": []}') == b'{"result": []}'


def test_logs_and_exceptions_are_redacted_in_place(caplog: pytest.LogCaptureFixture) -> None:
    redact = redactor(WEBHOOK)
    caplog.set_level(logging.INFO)
    log = logging.getLogger("tests.secrets")
    with redacting_logs(redact, logging.LoggerAdapter(log, {})):
        log.info("calling %s", WEBHOOK)
        logging.getLogger("httpx").info('HTTP Request: GET %s "HTTP/1.1 200 OK"', WEBHOOK + "x.json")
    log.info("after: %s", "not redacted any more")
    # only this test's records: a Prefect client thread of an earlier test may log an httpx request meanwhile
    mine = [r for r in caplog.records if r.pathname == __file__]
    assert [r.getMessage() for r in mine] == [
        "calling ***/",
        'HTTP Request: GET ***/x.json "HTTP/1.1 200 OK"',
        "after: not redacted any more",
    ]
    assert not any(isinstance(f, RedactingFilter) for f in logging.getLogger("httpx").filters)

    try:
        try:
            raise KeyError(quote(WEBHOOK, safe=""))
        except KeyError as inner:
            raise RuntimeError(f"failed at {WEBHOOK.replace('/', chr(92) + '/')}") from inner
    except RuntimeError as error:
        scrub_exception(error, redact)
        assert TOKEN not in str(error) and TOKEN not in str(error.__cause__)
        assert str(error) == "failed at ***\\/"  # the trailing "/" of a base URL stays: paths follow it
        assert str(error.__cause__) == "'***%2F'"


# --- end to end: the CLI, the flow, the warehouse, the files, Prefect's database ---------------------


def _forms(secret: str) -> list[str]:
    """The spellings of the secret and every 8-character piece of its token: the scan's needles."""
    whole = {secret, secret.rstrip("/"), secret.replace("/", "\\/"), quote(secret, safe=""), quote(secret)}
    whole |= {quote_plus(secret), base64.b64encode(secret.encode()).decode()}
    pieces = {TOKEN[i : i + 8] for i in range(len(TOKEN) - 7)}
    return sorted({form.lower() for form in whole | pieces})


def _leaks(text: str, needles: list[str]) -> list[str]:
    lowered = text.lower()
    return [needle for needle in needles if needle in lowered]


class EchoingApi(FakeApi):
    """Wildberries-shaped: a 503 first, then a page, then a 400 whose body echoes the webhook URL."""

    def __init__(self, secret: str) -> None:
        super().__init__("wildberries", [])
        self.add(2)
        self.records[1]["productDetails"]["link"] = secret + "item/2"  # a page that links back to the API
        self.secret = secret

    def handle(self, request: Request) -> Response:
        self.requests.append({"args": dict(request.args)})
        echo = {
            "error": "QUERY_LIMIT_EXCEEDED",
            "url": self.secret,
            "url_json": self.secret.replace("/", "\\/"),
            "url_quoted": quote(self.secret, safe=""),
            "url_plus": quote_plus(self.secret),
            "hint": f"check key={TOKEN[:12]}",
        }
        if len(self.requests) == 1:
            return Response(json.dumps(echo), status=503, headers={"Retry-After": "0"})
        if request.args.get("skip") == "0":
            return _json({"data": {"feedbacks": self.records}})
        return Response(json.dumps(echo).replace("\\\\/", "\\/"), status=400, content_type="application/json")


def _prefect_db() -> Path:
    from prefect.settings import PREFECT_SERVER_DATABASE_CONNECTION_URL

    url = PREFECT_SERVER_DATABASE_CONNECTION_URL.value()
    assert url.startswith("sqlite"), url  # the harness's own SQLite file
    return Path(url.split(":///", 1)[1])


def _prefect_rows() -> Iterator[tuple[str, str, str]]:
    """(table, column, text) of every value in Prefect's database."""
    with sqlite3.connect(f"file:{_prefect_db()}?mode=ro", uri=True) as db:
        tables = [r[0] for r in db.execute("select name from sqlite_master where type = 'table'")]
        for table in tables:
            columns = [r[1] for r in db.execute(f'pragma table_info("{table}")')]
            for column in columns:
                for (value,) in db.execute(f'select "{column}" from "{table}" where "{column}" is not null'):
                    text = value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)
                    yield table, column, text


def _wait_for_prefect(deadline_seconds: float = 90) -> None:
    """Until the failed pull's task run state, its log records and its state event are in the
    database (Prefect sends logs and events in the background, the server stores events in batches)."""
    from prefect.events.worker import EventsWorker
    from prefect.logging.handlers import APILogWorker

    APILogWorker.drain_all(timeout=10)
    EventsWorker.drain_all(timeout=10)
    deadline = time.monotonic() + deadline_seconds
    while True:
        with sqlite3.connect(f"file:{_prefect_db()}?mode=ro", uri=True) as db:
            failed = db.execute(
                "select count(*) from task_run_state s join task_run t on t.id = s.task_run_id"
                " where t.name = ? and s.type = 'FAILED'",
                [f"pull {CHANNEL_ID}"],
            ).fetchone()[0]
            logged = db.execute(
                "select count(*) from log l join task_run t on t.id = l.task_run_id"
                " where t.name = ? and l.message like '%Finished in state Failed%'",
                [f"pull {CHANNEL_ID}"],
            ).fetchone()[0]
            evented = db.execute(
                "select count(*) from events where event = 'prefect.task-run.Failed' and resource like ?",
                [f"%pull {CHANNEL_ID}%"],
            ).fetchone()[0]
        if failed and logged and evented:
            return
        assert time.monotonic() < deadline, "Prefect never recorded the failed pull"
        time.sleep(0.5)


def _warehouse_rows(path: Path) -> Iterator[tuple[str, str]]:
    with duckdb.connect(str(path), read_only=True) as con:
        tables = con.execute("select schema_name, table_name from duckdb_tables() order by all").fetchall()
        for schema, table in tables:
            for row in con.execute(f'select * from "{schema}"."{table}"').fetchall():
                yield f"{schema}.{table}", json.dumps(row, default=str, ensure_ascii=False)


@pytest.mark.flows
def test_the_webhook_secret_is_nowhere_after_a_failed_pull(
    workspace: Path,
    httpserver: HTTPServer,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    capfd: pytest.CaptureFixture[str],
) -> None:
    from prefect.settings import PREFECT_LOCAL_STORAGE_PATH

    from otklik.cli import app

    started = time.time()
    secret = httpserver.url_for(f"/rest/1/{TOKEN}/")
    channel = make_channel(
        "wildberries",
        {"id": CHANNEL_ID, "credentials_env": "OTKLIK_TEST_LEAK_HOOK"},  # the secret by its name only
        base_url_env="OTKLIK_TEST_LEAK_HOOK",
        max_retries=2,
    )
    channels = (*load_channels(), channel)
    monkeypatch.setattr(flows.ingest, "load_channels", lambda: channels)
    monkeypatch.setattr(flows.ingest, "get_channel", {c.id: c for c in channels}.__getitem__)
    monkeypatch.setenv("OTKLIK_TEST_LEAK_HOOK", secret)
    monkeypatch.setattr(logging.getLogger("werkzeug"), "disabled", True)  # the API's own access log
    api = EchoingApi(secret)
    httpserver.expect_request(f"/rest/1/{TOKEN}/api/v1/feedbacks").respond_with_handler(api.handle)
    caplog.set_level(logging.DEBUG)

    result = CliRunner().invoke(app, ["ingest", "--landing", str(workspace / "landing")])

    # it did what the test means: retried the 503, landed a page, failed on the echoing 400
    assert isinstance(result.exception, ChannelsFailed), result.output
    message = str(result.exception)
    assert f"{CHANNEL_ID}: GET ***/api/v1/feedbacks?" in message and "HTTP 400" in message
    assert [r["args"].get("skip") for r in api.requests] == ["0", "0", "2"]
    assert any("echoed the credentials" in r.getMessage() for r in caplog.records)  # the page landed without it
    needles = _forms(secret)
    assert _leaks(json.dumps(api.requests[-1]) + secret, needles)  # the needles do find the secret

    found: dict[str, list[str]] = {}

    def check(where: str, text: str) -> None:
        if hits := _leaks(text, needles):
            found.setdefault(where, []).extend(hits)

    check("exception", message)
    check("exception repr", repr(result.exception))
    check("CLI output", result.output)
    console = capfd.readouterr()
    check("console", console.out + console.err)
    # every log record, Prefect's included: the lines its console handler prints, with their tracebacks
    assert any(r.name == "prefect.task_runs" and "Finished in state Failed" in r.getMessage() for r in caplog.records)
    for record in caplog.records:
        traceback = logging.Formatter().formatException(record.exc_info) if record.exc_info else ""
        check(f"log {record.name}", record.getMessage() + (record.exc_text or "") + traceback)
    # every table of the warehouse (the page landed: its ledger row, payloads, archive path)
    landed = 0
    for table, row in _warehouse_rows(workspace / "w.duckdb"):
        landed += table == "raw.channel_payloads" and CHANNEL_ID in row
        check(f"warehouse {table}", row)
    assert landed == 2
    # every file landed or archived
    files = [p for folder in ("landing", "archive") for p in (workspace / folder).rglob("*") if p.is_file()]
    assert any("archive" in str(p) for p in files)
    for path in files:
        check(f"file {path.relative_to(workspace)}", path.read_bytes().decode("latin-1"))
    # Prefect's database: flow/task runs (parameters, names, state messages), logs, events, everything
    _wait_for_prefect()
    scanned = set()
    for table, column, text in _prefect_rows():
        scanned.add(table)
        check(f"prefect {table}.{column}", text)
    assert {"flow_run", "task_run", "task_run_state", "flow_run_state", "log", "events"} <= scanned
    storage = Path(PREFECT_LOCAL_STORAGE_PATH.value())
    results = (
        [p for p in storage.rglob("*") if p.is_file() and p.stat().st_mtime >= started] if storage.exists() else []
    )
    for path in results:
        check(f"prefect result {path.name}", path.read_bytes().decode("latin-1"))

    assert found == {}
