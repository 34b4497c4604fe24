"""Contract tests over the whole registry: every channel normalizes to its entity's schema.

A tiny payload is built for each channel from its own ``fields`` map (so a new channel is tested
the moment it is added), and a property test throws random records and garbage at every channel
to check that each input row ends in exactly one of rows, history (earlier versions) and rejects.
"""

import json
from collections import Counter
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from transforms.channels.registry import Channel, load_channels
from transforms.normalize import normalize_channel
from transforms.normalize.fields import sources
from transforms.schemas import CUSTOMER_CONTACT_COLUMNS, ENTITY_SCHEMAS, REJECT_COLUMNS, VERSION_COLUMNS

AS_OF = datetime(2026, 11, 1, tzinfo=UTC)
MOMENT = datetime(2026, 10, 5, 14, 3, 27)  # wall-clock time in Moscow (UTC+3)
MOMENT_UTC = datetime(2026, 10, 5, 11, 3, 27, tzinfo=UTC)
CHANNELS = load_channels()

SAMPLE_VALUES: dict[str, Any] = {
    "body_text": "Спасибо за быструю доставку",
    "customer_ref": "CUST-1",
    "store_id": "S-001",
    "order_ref": "ORD-1",
    "segment": "b2c",
    "device": "Firefox 128",
    "contact_requested": "yes",
    "contact_email": "buyer@example.ru",
    "contact_phone": "+7 916 123-45-67",
    "licence_ref": "PRO-2000001",
    "manager_ref": "m.ivanova",
    "case_ref": "CS-2610-000001",
    "source_item_id": "item-1",
    "case_id": "K-1",
    "event_type": "opened",
    "feedback_ref": "web_form:w1",
    "directorate_id": "D-01",
    "department_id": "DEP-1",
    "manager_id": "m.ivanova",
    "priority": "high",
    "report_month": "2026-10",
    "orders_count": "1234",
    "customer_name": "Иван Петров",
    "issue_solved": "Да",
    "self_service_outcome": "Resolved",
    "status": "Churned",
}
SCORES = {"0-10": "9", "1-5": "4", "1-7": "5", "yes_no": "да", "none": "7"}


def timestamp_text(channel: Channel) -> Any:
    if channel.format == "eml":
        return "Mon, 05 Oct 2026 14:03:27 +0300"
    if channel.timestamp_format == "epoch":
        return int(MOMENT_UTC.timestamp())
    if channel.timestamp_format == "epoch_ms":
        return int(MOMENT_UTC.timestamp()) * 1000
    if channel.timestamp_format:
        return MOMENT.strftime(channel.timestamp_format)
    return MOMENT.isoformat() + "+03:00"


def expected_instant(channel: Channel) -> datetime:
    """MOMENT as the channel's format can say it (a format without seconds or a time drops them)."""
    fmt = channel.timestamp_format
    if channel.format == "eml" or fmt in (None, "epoch", "epoch_ms"):
        return MOMENT_UTC
    wall_clock = datetime.strptime(MOMENT.strftime(fmt), fmt)
    return wall_clock.replace(tzinfo=ZoneInfo(channel.timezone)).astimezone(UTC)


def put(record: dict[str, Any], source: str, value: Any) -> None:
    *parents, leaf = source.split(".")
    node = record
    for key in parents:
        node = node.setdefault(key, {})
    node[leaf] = value


def sample_record(channel: Channel) -> dict[str, Any]:
    """One valid record for ``channel``, laid out by its fields map (ids and dates written last)."""
    record: dict[str, Any] = {}
    late = ("contact_email", "contact_phone", "source_item_id", "case_id", "received_at", "event_at")
    for field in sorted(channel.fields, key=lambda name: name in late):
        if field in ("received_at", "event_at", "updated_at", "status_at"):
            value: Any = timestamp_text(channel)
        elif field == "score":
            value = SCORES[channel.score_scale]
        else:
            value = SAMPLE_VALUES[field]
        paths = sources(channel, field)
        parts = str(value).split(" ", len(paths) - 1) if len(paths) > 1 else [value]
        for path, part in zip(paths, parts + [""] * (len(paths) - len(parts)), strict=True):
            put(record, path, part)
    return record


def frame(payload_texts: list[str | None], files: list[str], indexes: list[int]) -> pl.DataFrame:
    return pl.DataFrame(
        {"payload": payload_texts, "_batch_id": "b", "_source_file": files, "_record_index": indexes},
        schema={
            "payload": pl.String,
            "_batch_id": pl.String,
            "_source_file": pl.String,
            "_record_index": pl.Int64,
        },
    )


@pytest.mark.parametrize("channel", CHANNELS, ids=lambda c: c.id)
def test_channel_sample_normalizes_to_its_entity_schema(channel: Channel) -> None:
    record = sample_record(channel)
    result = normalize_channel(
        frame([json.dumps(record, ensure_ascii=False)], ["f"], [0]), channel, pii_key=b"k", as_of=AS_OF
    )
    assert result.rejects.to_dicts() == []
    assert result.rows.schema == pl.Schema(ENTITY_SCHEMAS[channel.entity].columns)
    assert list(result.rows.columns) == list(ENTITY_SCHEMAS[channel.entity].columns)
    assert result.rejects.schema == pl.Schema(REJECT_COLUMNS)
    assert result.rows.height == 1
    row = result.rows.row(0, named=True)
    if channel.entity == "feedback":
        assert row["channel_id"] == channel.id
        assert row["feedback_id"] == f"{channel.id}:item-1"
        assert row["received_at"] == expected_instant(channel)
        assert row["question_type"] == channel.question_type
        assert row["score_scale"] == channel.score_scale
        identifies_customer = {"customer_ref", "contact_email", "contact_phone"} & set(channel.fields)
        assert (row["customer_key"] is not None) == bool(identifies_customer)
        assert row["language"] == ("ru" if "body_text" in channel.fields else None)
        assert row["is_edited"] is False
        assert row["is_issue_solved"] is (True if "issue_solved" in channel.fields else None)
        assert row["self_service_outcome"] == ("resolved" if "self_service_outcome" in channel.fields else None)
        if channel.audience == "employee":
            assert row["customer_key"] is None and result.contacts.height == 0
        contacts = {"contact_email", "contact_phone", "customer_name"} & set(channel.fields)
        assert result.contacts.height == (1 if contacts else 0)
        assert result.contacts.schema == pl.Schema(CUSTOMER_CONTACT_COLUMNS)
    elif channel.entity == "case_event":
        assert (row["case_id"], row["event_type"]) == ("K-1", "opened")
    elif channel.entity == "customer_status":
        assert (row["status"], row["status_at"]) == ("churned", expected_instant(channel))
        assert row["customer_key"] is not None and row["customer_key"] != "CUST-1"
    else:
        assert (row["orders_count"], str(row["report_month"])) == (1234, "2026-10-01")


INTERESTING_TEXT = ["", " ", "2026-10-05T14:03:27+03:00", "05.10.2026", "14:03:27", "1684984664", "да", "4,5"]
INTERESTING_TEXT += ["11", "opened", "closed", "2026-10", "<b>x</b>", "+7 916 123-45-67", "a@b.ru", "item-1"]
JSON_LEAF = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**12), max_value=10**12),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=12),
    st.sampled_from(INTERESTING_TEXT),
)
JSON_VALUE = st.recursive(
    JSON_LEAF, lambda inner: st.dictionaries(st.text(max_size=5), inner, max_size=3), max_leaves=5
)


def record_strategy(channel: Channel) -> st.SearchStrategy[str | None]:
    keys = sorted({source.split(".")[0] for field in channel.fields for source in sources(channel, field)})
    mapped = st.fixed_dictionaries({}, optional={key: JSON_VALUE for key in keys})
    valid = st.just(sample_record(channel))
    garbage = st.one_of(st.none(), st.text(max_size=20), st.just("[1,2]"), st.just("{bad"), st.just('"s"'))
    as_json = st.one_of(mapped, valid).map(lambda record: json.dumps(record, ensure_ascii=False))
    return st.one_of(as_json, as_json, garbage)


@pytest.mark.parametrize("channel", CHANNELS, ids=lambda c: c.id)
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_every_row_ends_in_rows_or_rejects_exactly_once(channel: Channel, data: st.DataObject) -> None:
    texts = data.draw(st.lists(record_strategy(channel), max_size=12))
    files = data.draw(st.lists(st.sampled_from(["a", "b"]), min_size=len(texts), max_size=len(texts)))
    indexes = data.draw(st.lists(st.integers(0, 3), min_size=len(texts), max_size=len(texts)))
    payloads = frame(texts, files, indexes)
    result = normalize_channel(payloads, channel, pii_key=b"k", as_of=AS_OF)

    origin = ["_batch_id", "_source_file", "_record_index"]
    seen = Counter(result.rows.select(origin).rows()) + Counter(result.rejects.select(origin).rows())
    seen += Counter(result.history.select(origin).rows())
    assert seen == Counter(payloads.select(origin).rows())
    assert result.rows.schema == pl.Schema(ENTITY_SCHEMAS[channel.entity].columns)
    assert result.history.schema == pl.Schema({**ENTITY_SCHEMAS[channel.entity].columns, **VERSION_COLUMNS})
    if channel.entity == "feedback":
        # contacts belong to current rows only; every earlier version has its current row, edited
        current = set(result.rows["feedback_id"])
        assert set(result.contacts["feedback_id"]) <= current
        assert set(result.history["feedback_id"]) == set(result.rows.filter("is_edited")["feedback_id"])
    else:
        assert result.history.height == result.contacts.height == 0
    assert result.rejects.schema == pl.Schema(REJECT_COLUMNS)
    assert result.rejects["reason"].null_count() == 0
    assert result.rejects["detail"].null_count() == 0
    key = {
        "feedback": ["feedback_id"],
        "case_event": ["case_id", "event_type", "event_at"],
        "customer_status": ["customer_key", "status_at", "status"],
    }.get(channel.entity, ["report_month", "directorate_id"])
    assert not result.rows.select(key).is_duplicated().any()
