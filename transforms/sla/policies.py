"""SLA policies from policies.yaml, validated at load, and the seed rows SQL joins on.

A policy is a named clock (``close_within_24h``) with effective-dated rules. Each rule says
which event starts the clock (a case event, or ``feedback_received``: the received_at of the
feedback item the case refers to, so a clock can start in one channel and stop in the CRM),
which event stops it, which events pause and resume it, whether a reopen starts a new cycle,
which cases it applies to (priorities, channels of the case's item, "contact me" answers only),
the target (with overrides per priority and per feedback type, first match wins), the calendar
it is counted in (``calendars.py``) and the share of the target below which an open clock is
"at risk". A case is judged by the rule in force on the day it was opened (reporting timezone).
Unknown keys are rejected, so nobody configures a rule the SQL would ignore.
"""

from collections.abc import Sequence
from datetime import date
from functools import cache
from pathlib import Path

import polars as pl
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from transforms.config_errors import parse_yaml
from transforms.schemas import CASE_EVENT_TYPES
from transforms.sla.calendars import Calendar

POLICIES_PATH = Path(__file__).with_name("policies.yaml")

_SLUG = r"^[a-z0-9][a-z0-9_]*$"

# Not a CRM event: the moment the case's feedback item was received (core.fct_feedback.received_at).
FEEDBACK_RECEIVED = "feedback_received"
START_EVENTS = (*CASE_EVENT_TYPES, FEEDBACK_RECEIVED)

# Rows of staging.stg_config__sla_policies: one per (policy, rule version).
SLA_POLICY_COLUMNS: dict[str, pl.DataType] = {
    "sla_policy_id": pl.String(),
    "label": pl.String(),
    "start_event": pl.String(),
    "stop_event": pl.String(),
    "target_minutes": pl.Int64(),
    "calendar_id": pl.String(),
    "at_risk_share": pl.Float64(),
    "valid_from": pl.Date(),
    "valid_to": pl.Date(),  # exclusive; the next rule's valid_from, null for the rule in force
    "pause_events": pl.List(pl.String()),
    "resume_events": pl.List(pl.String()),
    "restart_on_reopen": pl.Boolean(),
    "applies_to_priorities": pl.List(pl.String()),  # null: every priority
    "applies_to_channels": pl.List(pl.String()),  # null: every channel (of the case's feedback item)
    "contact_request_only": pl.Boolean(),
}

# Rows of staging.stg_config__sla_targets: target overrides per rule version, first match wins.
SLA_TARGET_COLUMNS: dict[str, pl.DataType] = {
    "sla_policy_id": pl.String(),
    "valid_from": pl.Date(),
    "target_order": pl.Int64(),
    "priorities": pl.List(pl.String()),  # null: any priority
    "feedback_type_ids": pl.List(pl.String()),  # null: any feedback type
    "sla_classes": pl.List(pl.String()),  # null: any SLA class (the taxonomy's sla_class of the type)
    "target_minutes": pl.Int64(),
}


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class AppliesTo(_Frozen):
    """Which cases a rule measures; an omitted list means "any"."""

    priorities: list[str] | None = Field(default=None, min_length=1)
    channels: list[str] | None = Field(default=None, min_length=1)
    contact_request_only: bool = False  # only items whose author asked to be contacted


class TargetOverride(_Frozen):
    """A target for the cases matching every given list (first matching override wins)."""

    priorities: list[str] | None = Field(default=None, min_length=1)
    feedback_types: list[str] | None = Field(default=None, min_length=1)
    sla_classes: list[str] | None = Field(default=None, min_length=1)  # feedback_types.csv sla_class
    target_minutes: int = Field(gt=0)

    @model_validator(mode="after")
    def _matches_something(self) -> "TargetOverride":
        if self.priorities is None and self.feedback_types is None and self.sla_classes is None:
            raise ValueError("a target override needs priorities, feedback_types or sla_classes")
        return self


class PolicyRule(_Frozen):
    """One version of a policy, in force from ``valid_from`` until the next version."""

    valid_from: date
    start_event: str
    stop_event: str
    target_minutes: int = Field(gt=0)
    calendar: str
    at_risk_share: float = Field(gt=0, lt=1)
    pause_events: list[str] = Field(default_factory=list)
    resume_events: list[str] = Field(default_factory=list)
    restart_on_reopen: bool = False  # a reopen starts a new cycle of this clock
    applies_to: AppliesTo = Field(default_factory=AppliesTo)
    targets: list[TargetOverride] = Field(default_factory=list)

    @field_validator("start_event")
    @classmethod
    def _known_start(cls, value: str) -> str:
        if value not in START_EVENTS:
            raise ValueError(f"unknown case event {value!r}; expected one of {START_EVENTS}")
        return value

    @field_validator("stop_event")
    @classmethod
    def _known_stop(cls, value: str) -> str:
        if value not in CASE_EVENT_TYPES:
            raise ValueError(f"unknown case event {value!r}; expected one of {CASE_EVENT_TYPES}")
        return value

    @field_validator("pause_events", "resume_events")
    @classmethod
    def _known_events(cls, values: list[str]) -> list[str]:
        unknown = [v for v in values if v not in CASE_EVENT_TYPES]
        if unknown:
            raise ValueError(f"unknown case event {unknown[0]!r}; expected one of {CASE_EVENT_TYPES}")
        return values

    @model_validator(mode="after")
    def _distinct_events(self) -> "PolicyRule":
        if self.start_event == self.stop_event:
            raise ValueError(f"start_event and stop_event are both {self.start_event!r}")
        if bool(self.pause_events) != bool(self.resume_events):
            raise ValueError("pause_events and resume_events go together")
        clash = {self.start_event, self.stop_event, "reopened"} & {*self.pause_events, *self.resume_events}
        if clash or set(self.pause_events) & set(self.resume_events):
            raise ValueError(f"pause/resume events must differ from each other and from start, stop, reopened: {clash}")
        return self

    def target_for(self, priority: str | None, feedback_type_id: str | None, sla_class: str | None = None) -> int:
        """The target of a case: the first matching override, else ``target_minutes``."""
        for override in self.targets:
            if (
                (override.priorities is None or priority in override.priorities)
                and (override.feedback_types is None or feedback_type_id in override.feedback_types)
                and (override.sla_classes is None or sla_class in override.sla_classes)
            ):
                return override.target_minutes
        return self.target_minutes


class Policy(_Frozen):
    id: str = Field(pattern=_SLUG)
    label: str
    rules: list[PolicyRule] = Field(min_length=1)

    @field_validator("rules")
    @classmethod
    def _chronological(cls, rules: list[PolicyRule]) -> list[PolicyRule]:
        starts = [r.valid_from for r in rules]
        if starts != sorted(set(starts)):
            raise ValueError(f"rules must have distinct valid_from dates in ascending order: {starts}")
        return rules

    def rule_on(self, day: date) -> PolicyRule | None:
        """The rule in force on ``day``, or None before the first rule."""
        in_force = [r for r in self.rules if r.valid_from <= day]
        return in_force[-1] if in_force else None


class PoliciesFile(_Frozen):
    """The whole of policies.yaml: calendars, and the policies that refer to them."""

    calendars: list[Calendar] = Field(min_length=1)
    policies: list[Policy]

    @model_validator(mode="after")
    def _references_resolve(self) -> "PoliciesFile":
        for ids, what in (
            ([c.id for c in self.calendars], "calendar"),
            ([p.id for p in self.policies], "policy"),
        ):
            if len(ids) != len(set(ids)):
                raise ValueError(f"duplicate {what} ids: {sorted(ids)}")
        calendars = {c.id for c in self.calendars}
        for policy in self.policies:
            for rule in policy.rules:
                if rule.calendar not in calendars:
                    raise ValueError(f"policy {policy.id}: unknown calendar {rule.calendar!r}")
        return self


def parse_policies(text: str) -> PoliciesFile:
    return PoliciesFile.model_validate(parse_yaml(text))


@cache
def load_policies_file(path: Path = POLICIES_PATH) -> PoliciesFile:
    from transforms.config_errors import config_errors

    text = path.read_text(encoding="utf-8")
    with config_errors(path, text):  # one line per problem, naming the file and the policy/calendar id
        return parse_policies(text)


def load_calendars(path: Path = POLICIES_PATH) -> tuple[Calendar, ...]:
    """Every SLA calendar of policies.yaml, validated."""
    return tuple(load_policies_file(path).calendars)


def load_policies(path: Path = POLICIES_PATH) -> tuple[Policy, ...]:
    """Every SLA policy of policies.yaml, validated (calendars resolved, rules chronological)."""
    return tuple(load_policies_file(path).policies)


def policies_frame(policies: Sequence[Policy]) -> pl.DataFrame:
    """The rows of ``staging.stg_config__sla_policies``: one per policy and rule version."""
    rows = []
    for policy in policies:
        ends: list[date | None] = [r.valid_from for r in policy.rules[1:]]
        for rule, valid_to in zip(policy.rules, [*ends, None], strict=True):
            rows.append(
                {
                    "sla_policy_id": policy.id,
                    "label": policy.label,
                    "start_event": rule.start_event,
                    "stop_event": rule.stop_event,
                    "target_minutes": rule.target_minutes,
                    "calendar_id": rule.calendar,
                    "at_risk_share": rule.at_risk_share,
                    "valid_from": rule.valid_from,
                    "valid_to": valid_to,
                    "pause_events": rule.pause_events,
                    "resume_events": rule.resume_events,
                    "restart_on_reopen": rule.restart_on_reopen,
                    "applies_to_priorities": rule.applies_to.priorities,
                    "applies_to_channels": rule.applies_to.channels,
                    "contact_request_only": rule.applies_to.contact_request_only,
                }
            )
    return pl.DataFrame(rows, schema=SLA_POLICY_COLUMNS)


def targets_frame(policies: Sequence[Policy]) -> pl.DataFrame:
    """The rows of ``staging.stg_config__sla_targets``: one per rule version and target override."""
    rows = [
        {
            "sla_policy_id": policy.id,
            "valid_from": rule.valid_from,
            "target_order": order,
            "priorities": override.priorities,
            "feedback_type_ids": override.feedback_types,
            "sla_classes": override.sla_classes,
            "target_minutes": override.target_minutes,
        }
        for policy in policies
        for rule in policy.rules
        for order, override in enumerate(rule.targets, start=1)
    ]
    return pl.DataFrame(rows, schema=SLA_TARGET_COLUMNS)
