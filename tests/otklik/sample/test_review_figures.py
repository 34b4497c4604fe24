"""The sample month shows what the monthly review acts on: VIP callbacks, cases under review, returned
(reopened) cases, chat first replies, and the user agents root-cause analysis slices by.

First on the generated files themselves, then through the real pipeline (ingest, then every layer
built, without the checks) on the same small landing folder, as the review reads the figures.
"""

import csv
import json
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb
import pytest

from otklik.sample import generate_landing
from otklik.sample.cases import CHAT_REPLY_MEDIAN_MINUTES
from tests.golden import golden_context
from transforms.channels import Channel, load_channels
from transforms.sla import load_policies
from warehouse import connect_memory
from warehouse.build import BUILD_ORDER, build_layer
from warehouse.ingest import ingest_landing

ITEMS = 3000
MONTH = "2026-10"
FIVE_MINUTES = timedelta(minutes=5)


@pytest.fixture(scope="module")
def landing(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("review_figures") / "landing"
    generate_landing(path, month=MONTH, items=ITEMS, seed=11, truth=True)
    return path


def _channel(channel_id: str) -> Channel:
    return next(c for c in load_channels() if c.id == channel_id)


def _get(record: dict[str, Any], path: str) -> Any:
    value: Any = record
    for key in path.split("."):
        if not isinstance(value, dict) or key not in value:
            return None
        value = value[key]
    return value


def _jsonl(root: Path, channel_id: str) -> list[dict[str, Any]]:
    records = []
    for path in sorted((root / channel_id).iterdir()):
        for line in path.read_text(encoding="utf-8").splitlines():
            try:
                records.append(json.loads(line))
            except json.JSONDecodeError:  # a planted broken line
                continue
    return records


def _crm_ref(feedback_id: str) -> str:
    """The CRM writes an e-mail's Message-ID without angle brackets (cases.feedback_ref)."""
    channel_id, _, source_id = feedback_id.partition(":")
    return f"{channel_id}:{source_id.strip('<>')}" if channel_id == "email_inbox" else feedback_id


@pytest.fixture(scope="module")
def cases(landing: Path) -> dict[str, dict[str, Any]]:
    """case_id -> {feedback_id, priority, events: [(event, at)]} from the CRM export."""
    found: dict[str, dict[str, Any]] = {}
    for path in sorted((landing / "crm_case_events").iterdir()):
        for row in csv.DictReader(path.open(encoding="utf-8", newline="")):
            case = found.setdefault(row["case_id"], {"feedback_id": row["feedback_id"], "events": []})
            case["priority"] = row["priority"]
            case["events"].append((row["event"], datetime.fromisoformat(row["event_at"])))
    for case in found.values():
        case["events"].sort(key=lambda pair: pair[1])
    return found


def _first(case: dict[str, Any], event: str) -> datetime | None:
    return next((at for name, at in case["events"] if name == event), None)


@pytest.fixture(scope="module")
def truth(landing: Path) -> dict[str, dict[str, str]]:
    rows = csv.DictReader((landing / ".truth" / "items.csv").open(encoding="utf-8", newline=""))
    return {_crm_ref(row["feedback_id"]): row for row in rows}


def test_vip_customers_cases_carry_priority_vip_and_are_mostly_called_back_within_5_minutes(cases, truth) -> None:
    vip = [case for case in cases.values() if case["priority"] == "vip"]
    # the customer base's vip segment (people.SEGMENTS, about 6% of the customers) and only it
    assert all(truth[case["feedback_id"]]["segment"] == "vip" for case in vip)
    assert all(case["priority"] == "vip" for case in cases.values() if truth[case["feedback_id"]]["segment"] == "vip")
    assert 0.02 <= len(vip) / len(cases) <= 0.10
    waits = [_first(case, "first_contact") - _first(case, "opened") for case in vip if _first(case, "first_contact")]
    on_time = sum(wait <= FIVE_MINUTES for wait in waits) / len(waits)
    assert len(waits) >= 50 and 0.70 <= on_time <= 0.97, on_time
    assert min(waits) >= timedelta(minutes=1)
    assert max(waits) > timedelta(minutes=10)  # the late tail: the VIP line was busy


def test_some_cases_go_under_review_between_first_contact_and_resolution(cases, truth) -> None:
    reviewed = [case for case in cases.values() if _first(case, "under_review")]
    assert 0.05 <= len(reviewed) / len(cases) <= 0.25
    for case in reviewed:
        assert _first(case, "first_contact") < _first(case, "under_review")
        resolved = _first(case, "resolved")
        assert resolved is None or _first(case, "under_review") < resolved
    assert Counter(truth[case["feedback_id"]]["kind"] for case in reviewed)["complaint"] > 0


def test_a_few_closed_cases_are_reopened_and_closed_again(cases) -> None:
    reopened = [case for case in cases.values() if _first(case, "reopened")]
    assert 0.01 <= len(reopened) / len(cases) <= 0.06
    for case in reopened:
        names = [name for name, _ in case["events"]]
        assert names[names.index("reopened") - 1] == "closed"


def test_chat_cases_open_at_once_and_their_first_contact_is_the_operators_reply(landing, cases) -> None:
    policy = next(p for p in load_policies() if p.id == "chat_first_reply_5m")
    assert set(CHAT_REPLY_MEDIAN_MINUTES) == {c for rule in policy.rules for c in rule.applies_to.channels or ()}
    by_ref = {case["feedback_id"]: case for case in cases.values()}
    replies: Counter[str] = Counter()
    waits: list[timedelta] = []
    for channel_id in CHAT_REPLY_MEDIAN_MINUTES:
        channel = _channel(channel_id)
        divisor = 1000 if channel.timestamp_format == "epoch_ms" else 1
        for record in _jsonl(landing, channel_id):
            case = by_ref.get(f"{channel_id}:{_get(record, channel.fields['source_item_id'])}")
            if case is None:
                continue
            received = datetime.fromtimestamp(int(_get(record, channel.fields["received_at"])) / divisor, UTC)
            opened, first_contact = _first(case, "opened"), _first(case, "first_contact")
            assert received <= opened <= received + timedelta(seconds=31)  # the integration opens it at once
            if first_contact is not None:
                assert first_contact >= opened + timedelta(minutes=1)  # the reply follows the message
                waits.append(first_contact - received)
                replies[channel_id] += 1
    assert set(replies) == set(CHAT_REPLY_MEDIAN_MINUTES) and len(waits) >= 200
    on_time = sum(wait <= FIVE_MINUTES for wait in waits) / len(waits)
    assert 0.82 <= on_time <= 0.96, on_time
    assert max(waits) > timedelta(minutes=15)  # a tail, longest at night


def test_chat_and_in_app_records_carry_a_user_agent(landing) -> None:
    """The two channels that map `device` to a user agent (channels.yaml). The web form's export has
    no user-agent column and maps no device, so it carries none."""
    for channel_id, path in (("website_chat", "visitor.user_agent"), ("inapp_popup_rating", "user_agent")):
        assert _channel(channel_id).fields["device"] == path
        agents = Counter(_get(record, path) for record in _jsonl(landing, channel_id))
        assert None not in agents and "" not in agents and len(agents) >= 3
        assert all(agent.startswith(("Mozilla/5.0", "InstrumentMarket/")) for agent in agents)
    app = [r["user_agent"] for r in _jsonl(landing, "inapp_popup_rating") if r["page"] == "app"]
    assert app and all(agent.startswith("InstrumentMarket/") for agent in app)  # the app's version
    assert "device" not in _channel("web_form").fields


@pytest.fixture(scope="module")
def warehouse(landing: Path, tmp_path_factory: pytest.TempPathFactory) -> duckdb.DuckDBPyConnection:
    con = connect_memory()
    ingest_landing(con, landing, load_channels(), archive_dir=tmp_path_factory.mktemp("archive"), run_id="sample")
    ctx = golden_context()
    for layer in BUILD_ORDER:
        build_layer(con, layer, ctx)
    return con


def _compliance(con: duckdb.DuckDBPyConnection, policy_id: str) -> tuple[int, float]:
    measured, rate = con.execute(
        "select measured_count, compliance_rate from marts.sla_compliance_monthly"
        " where is_company_total and report_month = date '2026-10-01' and sla_policy_id = ?",
        [policy_id],
    ).fetchone()
    return measured, rate


def test_the_built_warehouse_shows_vip_and_chat_compliance_under_review_and_returned_cases(warehouse) -> None:
    vip_clocks, vip_rate = _compliance(warehouse, "vip_callback_5m")
    assert vip_clocks > 30 and 0.60 <= vip_rate <= 0.99, (vip_clocks, vip_rate)
    chat_clocks, chat_rate = _compliance(warehouse, "chat_first_reply_5m")
    assert chat_clocks > 100 and 0.80 <= chat_rate <= 0.97, (chat_clocks, chat_rate)
    one = lambda sql: warehouse.execute(sql).fetchone()[0]  # noqa: E731
    # under review pauses no clock; the staged CRM events are where every under-review figure starts
    assert one("select count(distinct case_id) from staging.stg_crm__case_events where event_type = 'under_review'")
    cases, returned = warehouse.execute(
        "select count(*), count(*) filter (where is_reopened and is_under_additional_control)"
        " from core.fct_case_controls"
    ).fetchone()
    assert 0.01 <= returned / cases <= 0.06
    assert one("select count(*) from core.fct_case_sla where clock_violation is not null") == 0
    devices = warehouse.execute(
        "select channel_id, count(*), count(device) from core.fct_feedback"
        " where channel_id in ('website_chat', 'inapp_popup_rating') group by all"
    ).fetchall()
    assert len(devices) == 2 and all(n == with_device > 0 for _, n, with_device in devices)
