"""`make serve` end to end: a real Prefect server, `prefect deploy --all`, a worker, the webhook
receiver, deployment runs (one alone, then two at once on the same warehouse).

Extraction through the real stack: the daily ingest run pulls the e-mail NPS survey (its shipped
channel entry) from Typeform's Responses API on loopback, and a signed SMS-gateway delivery posted to
the receiver lands in the landing folder and is loaded by the hourly ingest run.

Everything Prefect runs in subprocesses with an environment of their own (temporary PREFECT_HOME,
warehouse, landing, archive, reports), so this test neither needs nor disturbs the test harness
of tests/flows. About a minute on an idle machine; the timeouts allow for a loaded 2-core CI box.
"""

import hashlib
import hmac
import json
import os
import shutil
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from pytest_httpserver import HTTPServer

from otklik.serve import Stack, free_port, group_alive, stack_env
from tests.flows.extract.providers.fake_typeform import TOKEN as TYPEFORM_TOKEN
from tests.flows.extract.providers.fake_typeform import FakeTypeform, nps_response
from warehouse import connect
from warehouse.reader_copy import connect_reader

SMS_SECRET = "sms-gateway-PLANTED-secret-41c7"

GOLDEN = Path(__file__).resolve().parent.parent / "fixtures" / "golden_landing"
RUN_TIMEOUT_SECONDS = 180
SCHEDULE_TIMEOUT_SECONDS = 120
EXPECTED = {
    "ingest-channels/ingest-every-15-minutes",
    "ingest-channels/ingest-hourly",
    "ingest-channels/ingest-daily",
    "build-warehouse/build-warehouse",
    "monthly-review/monthly-review",
    "weekly-review/weekly-review",
    "sla-watch/sla-watch",
}
UNSCHEDULED = {"backfill/backfill"}  # run by hand, with its month range as parameters
TERMINAL = {"COMPLETED", "FAILED", "CRASHED", "CANCELLED"}


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    shutil.copytree(GOLDEN, tmp_path / "landing")
    return tmp_path


@pytest.fixture
def typeform(httpserver: HTTPServer) -> FakeTypeform:
    """The survey tool on loopback: three NPS responses; the licence survey's form has none yet."""
    nps = FakeTypeform([nps_response(n, comment=f"Доставка {n}: курьер опоздал") for n in range(3)])
    licence = FakeTypeform([], form_id="proExp75d")
    httpserver.expect_request(f"/forms/{nps.form_id}/responses").respond_with_handler(nps.handle)
    httpserver.expect_request(f"/forms/{licence.form_id}/responses").respond_with_handler(licence.handle)
    return nps


@pytest.fixture
def stack(workspace: Path, httpserver: HTTPServer, typeform: FakeTypeform) -> Iterator[Stack]:
    port = free_port()
    # Nothing of this process's Prefect or otklik settings leaks into the stack.
    base = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "OTKLIK_"))}
    env = stack_env(
        base,
        api_url=f"http://127.0.0.1:{port}/api",
        prefect_home=workspace / "prefect",
        extra={
            "OTKLIK_WAREHOUSE": str(workspace / "warehouse.duckdb"),
            "OTKLIK_LANDING": str(workspace / "landing"),
            "OTKLIK_ARCHIVE": str(workspace / "archive"),
            "OTKLIK_REPORTS": str(workspace / "reports"),
            "OTKLIK_PII_KEY": "test-key-not-a-secret-0123456789",
            "OTKLIK_TYPEFORM_API_URL": httpserver.url_for("/").rstrip("/"),
            "OTKLIK_SURVEY_API_TOKEN": TYPEFORM_TOKEN,
            "OTKLIK_SMS_GATEWAY_TOKEN": SMS_SECRET,
        },
    )
    started = Stack(env=env, port=port, log_dir=workspace / "logs")
    try:
        yield started
    finally:
        started.stop()  # idempotent: the test stops it too, this covers a failure half-way


def _wait_for_run(stack: Stack, flow_run_id: str, states: set[str] = TERMINAL) -> dict:
    deadline = time.monotonic() + RUN_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        run = stack.api("GET", f"/flow_runs/{flow_run_id}")
        if run["state_type"] in states:
            return run
        assert stack.worker is not None and stack.worker.poll() is None, f"worker exited\n{stack.log_tail('worker')}"
        time.sleep(1)
    pytest.fail(f"flow run not {sorted(states)} after {RUN_TIMEOUT_SECONDS} s\n{stack.log_tail('worker')}")


def _deliver_sms_reply(stack: Stack) -> httpx.Response:
    """The SMS gateway's callback, signed as flows/extract/webhooks/hmac_sha256.py checks it."""
    now = int(time.time())
    reply = {"id": "sms-77001", "phone": "79001234567", "mes": "2 курьер опоздал", "to": "INSTRUMENT",
             "sent": str(now - 60), "time": str(now - 30), "survey": "delivery_csat", "score": "2",
             "comment": "курьер опоздал"}  # fmt: skip
    body = json.dumps(reply, ensure_ascii=False).encode()
    signature = hmac.new(SMS_SECRET.encode(), f"{now}.".encode() + body, hashlib.sha256).hexdigest()
    headers = {"X-Otklik-Timestamp": str(now), "X-Otklik-Signature": f"sha256={signature}"}
    return httpx.post(f"{stack.receiver_url}/hooks/sms_survey_replies", content=body, headers=headers, timeout=30)


def _create_run(stack: Stack, deployment_name: str, parameters: dict) -> dict:
    deployment = stack.api("GET", f"/deployments/name/{deployment_name}")
    return stack.api("POST", f"/deployments/{deployment['id']}/create_flow_run", {"parameters": parameters})


def _wait_out_schedules(stack: Stack, deployment_names: list[str], margin_seconds: int = 120) -> None:
    """Let every run of these deployments that their schedules start within ``margin_seconds`` (or started)
    end first. Each has a concurrency limit of 1: a scheduled run that starts while the test holds the warehouse
    waits for it, and the test's own run of that deployment waits for the slot (at xx:05 the hourly ingest, at
    xx:20 the build)."""
    before = datetime.now(UTC) + timedelta(seconds=margin_seconds)
    for name in deployment_names:
        deployment = stack.api("GET", f"/deployments/name/{name}")
        due = stack.api(
            "POST",
            "/flow_runs/filter",
            {
                "flow_runs": {
                    "deployment_id": {"any_": [deployment["id"]]},
                    "state": {"type": {"any_": ["SCHEDULED", "PENDING", "RUNNING"]}},
                    "expected_start_time": {"before_": before.isoformat()},
                }
            },
        )
        for run in due:
            _wait_for_run(stack, run["id"])


def test_serve_deploys_schedules_and_runs_a_deployment(stack: Stack, workspace: Path, typeform: FakeTypeform) -> None:
    t0 = time.monotonic()
    stack.start(worker_env={"PREFECT_WORKER_QUERY_SECONDS": "2"})
    t_started = time.monotonic()

    deployments = {d["name"]: d for d in stack.wait_for_schedules(timeout=SCHEDULE_TIMEOUT_SECONDS)}
    assert deployments.keys() >= EXPECTED | UNSCHEDULED
    for name in UNSCHEDULED:
        assert not deployments[name]["schedules"], name
    for name in EXPECTED:
        assert deployments[name]["schedules"], name
        assert deployments[name]["next_runs"], f"{name}: no scheduled run created"
    review = deployments["monthly-review/monthly-review"]["schedules"][0]
    assert (review["cron"], review["timezone"]) == ("0 6 1 * *", "Europe/Moscow")
    daily = deployments["ingest-channels/ingest-daily"]["schedules"][0]
    assert (daily["cron"], daily["timezone"]) == ("30 2 * * *", "UTC")

    deployment = stack.api("GET", "/deployments/name/ingest-channels/ingest-daily")
    flow_run = stack.api("POST", f"/deployments/{deployment['id']}/create_flow_run", {})
    finished = _wait_for_run(stack, flow_run["id"])
    t_run = time.monotonic()
    assert finished["state_type"] == "COMPLETED", (
        f"{finished['state_type']}: {finished['state']['message']}\n{stack.log_tail('worker')}"
    )

    # The run used the temporary warehouse and the deployment's parameter (the daily group only).
    with connect(workspace / "warehouse.duckdb", read_only=True) as con:
        payloads = con.execute("select count(*) from raw.channel_payloads").fetchone()[0]
        channels = {row[0] for row in con.execute("select distinct channel_id from raw.batches").fetchall()}
        pulled = con.execute(
            "select json_extract_string(p.payload, '$.response_id') from raw.channel_payloads p join raw.batches b"
            " on b.batch_id = p._batch_id where b.channel_id = 'nps_email_survey' and b.source_uri like 'http%'"
        ).fetchall()
    assert payloads > 0
    assert "nps_email_survey" in channels
    assert "ivr_post_call_survey" not in channels  # hourly: not in this run
    # The worker pulled the survey tool as shipped: its three responses, with the token in a header only.
    assert sorted(r[0] for r in pulled) == sorted(r["response_id"] for r in typeform.responses)
    assert typeform.requests and all(r["path"] == "/forms/nps4ftrBuy/responses" for r in typeform.requests)

    # A signed webhook delivery lands in the landing folder; the hourly run below loads it.
    delivered = _deliver_sms_reply(stack)
    assert delivered.status_code == 200, delivered.text
    assert (workspace / "landing" / delivered.headers["X-Otklik-Landed"]).is_file()

    # Two flows at once: a build and an ingest start together on one warehouse. DuckDB admits one
    # read-write process; the second queues on the warehouse lock instead of failing with
    # "Could not set lock on file", and both complete. So that "at once" does not depend on how fast
    # an ingest is (a fast one used to end before the build's process started), this process holds
    # the warehouse, as a long build would, until both runs are running; then it lets go. A scheduled run
    # of either deployment that started meanwhile would take its one slot and wait for the warehouse too.
    _wait_out_schedules(stack, ["build-warehouse/build-warehouse", "ingest-channels/ingest-hourly"])
    with connect(workspace / "warehouse.duckdb"):
        both = [
            _create_run(stack, "build-warehouse/build-warehouse", {"as_of": "2026-11-01T00:00:00+00:00"}),
            _create_run(stack, "ingest-channels/ingest-hourly", {}),
        ]
        for run in both:
            _wait_for_run(stack, run["id"], {"RUNNING"} | TERMINAL)
    finished_both = [_wait_for_run(stack, run["id"]) for run in both]
    t_both = time.monotonic()
    for run in finished_both:
        assert run["state_type"] == "COMPLETED", (
            f"{run['name']} {run['state_type']}: {run['state']['message']}\n{stack.log_tail('worker')}"
        )
    # They really ran at once: each started before the other ended.
    starts = [datetime.fromisoformat(run["start_time"]) for run in finished_both]
    ends = [datetime.fromisoformat(run["end_time"]) for run in finished_both]
    assert max(starts) < min(ends), f"the runs did not overlap: {starts} {ends}"
    worker_log = stack.log_tail("worker").lower()
    assert "could not set lock" not in worker_log
    assert "warehousebusy" not in worker_log
    with connect(workspace / "warehouse.duckdb", read_only=True) as con:
        states = con.execute("select flow, state from audit.runs order by started_at").fetchall()
    # Our build and our two ingests completed in the ledger too. The deployments' schedules keep
    # running meanwhile (a 15-minute ingest, an hourly build): a test that crosses one of their times
    # finds their runs beside ours, so the ledger is checked for ours and for no failure.
    assert states.count(("build-warehouse", "completed")) >= 1
    assert states.count(("ingest-channels", "completed")) >= 2
    ours = ("build-warehouse", "ingest-channels")
    assert not [row for row in states if row[0] in ours and row[1] != "completed"], states
    with connect(workspace / "warehouse.duckdb", read_only=True) as con:
        sms = con.execute(
            "select json_extract_string(payload, '$.mes') from raw.channel_payloads"
            " where channel_id = 'sms_survey_replies' and json_extract_string(payload, '$.id') = 'sms-77001'"
        ).fetchall()
    assert sms == [("2 курьер опоздал",)]
    for log in ("worker", "receiver", "server"):
        text = (workspace / "logs" / f"{log}.log").read_text(errors="replace")
        assert SMS_SECRET not in text and TYPEFORM_TOKEN not in text, f"a secret in {log}.log"
    # The completed build left the readers' copy, which opens without waiting for any writer.
    with connect_reader(workspace / "warehouse.duckdb") as reader:
        assert reader.execute("select count(*) from core.fct_feedback").fetchone()[0] > 0

    processes = [p for p in (stack.worker, stack.receiver, stack.server) if p is not None]
    stack.stop()
    t_stopped = time.monotonic()
    for proc in processes:
        assert proc.returncode is not None
        assert not group_alive(proc.pid), f"processes left in group {proc.pid}"
    with pytest.raises(httpx.TransportError):
        httpx.get(f"{stack.api_url}/health", timeout=5)
    print(
        f"\nstart {t_started - t0:.1f} s, schedules+run {t_run - t_started:.1f} s,"
        f" two at once {t_both - t_run:.1f} s, stop {t_stopped - t_both:.1f} s"
    )
