"""policies.yaml is validated at load; policies_frame gives the seed rows fct_case_sla joins on."""

import copy
from collections.abc import Callable
from datetime import date
from typing import Any

import polars as pl
import pytest
import yaml
from pydantic import ValidationError

from transforms.channels import load_channels
from transforms.sla import (
    SLA_POLICY_COLUMNS,
    Policy,
    load_policies,
    load_policies_file,
    parse_policies,
    policies_frame,
)
from transforms.taxonomy import load_feedback_types

VALID: dict[str, Any] = {
    "calendars": [{"id": "24x7", "kind": "24x7", "label": "Круглосуточно"}],
    "policies": [
        {
            "id": "close_within_24h",
            "label": "Закрытие за 24 часа",
            "rules": [
                {
                    "valid_from": date(2024, 1, 1),
                    "start_event": "opened",
                    "stop_event": "closed",
                    "target_minutes": 1440,
                    "calendar": "24x7",
                    "at_risk_share": 0.2,
                }
            ],
        }
    ],
}


def mutated(change: Callable[[dict[str, Any]], None]) -> str:
    config = copy.deepcopy(VALID)
    change(config)
    return yaml.safe_dump(config, allow_unicode=True)


def rule(config: dict[str, Any]) -> dict[str, Any]:
    return config["policies"][0]["rules"][0]


def test_shipped_policies_have_the_agreed_clocks() -> None:
    policies = {p.id: p for p in load_policies()}
    close, contact = policies["close_within_24h"].rules[-1], policies["first_contact_within_1h"].rules[-1]
    assert (close.start_event, close.stop_event, close.target_minutes) == ("opened", "closed", 1440)
    assert (contact.start_event, contact.stop_event, contact.target_minutes) == (
        "opened",
        "first_contact",
        60,
    )
    # the two clocks of the monthly review stay round the clock (the golden figures are 24x7)
    assert {close.calendar, contact.calendar} == {"24x7"}
    assert close.restart_on_reopen and not contact.restart_on_reopen
    assert {r.at_risk_share for p in policies.values() for r in p.rules} == {0.2}
    assert set(policies) >= {"callback_within_1h", "chat_first_reply_5m", "vip_callback_5m", "reaction_by_type"}


def test_shipped_calendars() -> None:
    assert [(c.id, c.kind) for c in load_policies_file().calendars] == [
        ("24x7", "24x7"),
        ("office_msk", "business_hours"),
    ]


def test_shipped_policies_name_real_channels_and_feedback_types() -> None:
    channels = {c.id for c in load_channels()}
    types = {t.feedback_type_id for t in load_feedback_types()}
    for policy in load_policies():
        for r in policy.rules:
            assert set(r.applies_to.channels or ()) <= channels, policy.id
            for target in r.targets:
                assert set(target.feedback_types or ()) <= types, policy.id


def test_targets_first_match_wins() -> None:
    rule = {p.id: p for p in load_policies()}["reaction_by_type"].rules[-1]
    assert rule.target_for("vip", "fraud", "urgent") == 120
    assert rule.target_for("vip", "store_queue", "low") == 480
    assert rule.target_for("normal", "refund_delay", "low") == 480
    assert rule.target_for("normal", "store_queue", "low") == 1920
    assert rule.target_for("normal", "delivery_late", "standard") == rule.target_minutes


def test_shipped_sla_classes_are_the_taxonomys() -> None:
    classes = {t.sla_class for t in load_feedback_types()}
    rule = {p.id: p for p in load_policies()}["reaction_by_type"].rules[-1]
    assert {c for t in rule.targets for c in t.sla_classes or ()} <= classes


def test_valid_config_parses() -> None:
    assert [p.id for p in parse_policies(mutated(lambda c: None)).policies] == ["close_within_24h"]


INVALID = [
    pytest.param(lambda c: c["policies"][0].update(owner="x"), "Extra inputs", id="unknown-policy-key"),
    pytest.param(lambda c: rule(c).update(pause_after=["waiting_customer"]), "Extra inputs", id="unknown-rule-key"),
    pytest.param(lambda c: c["calendars"][0].update(kind="office"), "24x7", id="unknown-calendar-kind"),
    pytest.param(
        lambda c: c["calendars"][0].update(kind="business_hours"), "needs weekly_hours", id="business-without-hours"
    ),
    pytest.param(
        lambda c: c["calendars"][0].update(kind="business_hours", weekly_hours={"mon": ["18:00-09:00"]}),
        "forward span",
        id="backward-period",
    ),
    pytest.param(
        lambda c: c["calendars"][0].update(kind="business_hours", weekly_hours={"mon": ["09:00-13:00", "12:00-18:00"]}),
        "overlap",
        id="overlapping-periods",
    ),
    pytest.param(
        lambda c: c["calendars"][0].update(
            kind="business_hours", weekly_hours={"mon": ["09:00-18:00"]}, timezone="Mars/Base"
        ),
        "unknown timezone",
        id="unknown-timezone",
    ),
    pytest.param(
        lambda c: c["calendars"][0].update(
            kind="business_hours", weekly_hours={"mon": ["09:00-18:00"]}, holiday_country="XX"
        ),
        "knows no country",
        id="unknown-holiday-country",
    ),
    pytest.param(lambda c: rule(c).update(pause_events=["waiting_customer"]), "go together", id="pause-without-resume"),
    pytest.param(
        lambda c: rule(c).update(pause_events=["closed"], resume_events=["resumed"]), "must differ", id="pause-is-stop"
    ),
    pytest.param(
        lambda c: rule(c).update(targets=[{"target_minutes": 5}]),
        "priorities, feedback_types or sla_classes",
        id="empty-target",
    ),
    pytest.param(lambda c: rule(c).update(stop_event="solved"), "unknown case event", id="unknown-event"),
    pytest.param(lambda c: rule(c).update(stop_event="opened"), "both 'opened'", id="start-equals-stop"),
    pytest.param(lambda c: rule(c).update(target_minutes=0), "greater than 0", id="zero-target"),
    pytest.param(lambda c: rule(c).update(at_risk_share=1.0), "less than 1", id="at-risk-share-whole-target"),
    pytest.param(lambda c: rule(c).update(calendar="office"), "unknown calendar", id="unknown-calendar"),
    pytest.param(lambda c: c["policies"][0].update(id="Close 24h"), "pattern", id="id-not-a-slug"),
    pytest.param(lambda c: c["policies"][0].update(rules=[]), "at least 1", id="no-rules"),
    pytest.param(lambda c: c["policies"].append(copy.deepcopy(c["policies"][0])), "duplicate policy", id="dup-policy"),
    pytest.param(
        lambda c: c["policies"][0]["rules"].append({**rule(c), "valid_from": date(2023, 1, 1)}),
        "ascending",
        id="rules-out-of-order",
    ),
    pytest.param(
        lambda c: c["policies"][0]["rules"].append({**rule(c), "target_minutes": 720}),
        "distinct valid_from",
        id="two-rules-same-day",
    ),
]


@pytest.mark.parametrize(("change", "message"), INVALID)
def test_invalid_config_fails_at_load(change: Callable[[dict[str, Any]], None], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        parse_policies(mutated(change))


def two_version_policy() -> Policy:
    def add_version(c: dict[str, Any]) -> None:
        c["policies"][0]["rules"].append({**rule(c), "valid_from": date(2026, 10, 15), "target_minutes": 720})

    return parse_policies(mutated(add_version)).policies[0]


def test_rule_on_picks_the_rule_in_force_that_day() -> None:
    policy = two_version_policy()
    assert policy.rule_on(date(2023, 12, 31)) is None
    assert policy.rule_on(date(2026, 10, 14)).target_minutes == 1440
    assert policy.rule_on(date(2026, 10, 15)).target_minutes == 720


def test_policies_frame_derives_valid_to_from_the_next_version() -> None:
    frame = policies_frame([two_version_policy()])
    assert frame.select("sla_policy_id", "target_minutes", "valid_from", "valid_to").to_dicts() == [
        {
            "sla_policy_id": "close_within_24h",
            "target_minutes": 1440,
            "valid_from": date(2024, 1, 1),
            "valid_to": date(2026, 10, 15),
        },
        {
            "sla_policy_id": "close_within_24h",
            "target_minutes": 720,
            "valid_from": date(2026, 10, 15),
            "valid_to": None,
        },
    ]


def test_policies_frame_has_the_seed_table_schema() -> None:
    frame = policies_frame(load_policies())
    assert dict(frame.schema) == SLA_POLICY_COLUMNS
    assert frame.height == sum(len(p.rules) for p in load_policies())


def test_policies_frame_of_no_policies_keeps_its_columns() -> None:
    assert policies_frame([]).schema == pl.Schema(SLA_POLICY_COLUMNS)
