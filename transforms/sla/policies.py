"""SLA policies from policies.yaml, validated at load, and the seed rows SQL joins on.

A policy is a named clock (``close_within_24h``) with effective-dated rules. Each rule says
which case event starts the clock, which event stops it, the target, the calendar the target
is counted in and the share of the target below which an open case is "at risk". A case is
judged by the rule in force on the day it was opened (in the reporting timezone).

Extension points, each an additive change to these models and to ``fct_case_sla.sql``:
- business-hours calendars: a new ``kind`` on ``Calendar`` (timezone, weekly hours, holidays),
  with the arithmetic in ``transforms/sla/clock.py``;
- pause statuses: a ``pause_events`` list on ``PolicyRule``;
- per-type / per-priority targets: a list of target overrides on ``PolicyRule``, matched on
  the case's priority or feedback type before falling back to ``target_minutes``.
Until then unknown keys are rejected, so nobody configures a rule the SQL would ignore.
"""

from collections.abc import Sequence
from datetime import date
from functools import cache
from pathlib import Path
from typing import Literal

import polars as pl
import yaml
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from transforms.schemas import CASE_EVENT_TYPES

POLICIES_PATH = Path(__file__).with_name("policies.yaml")

_SLUG = r"^[a-z0-9][a-z0-9_]*$"

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
}


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Calendar(_Frozen):
    """The clock a target is counted in. Only round-the-clock calendars exist so far."""

    id: str = Field(pattern=_SLUG)
    kind: Literal["24x7"]
    label: str


class PolicyRule(_Frozen):
    """One version of a policy, in force from ``valid_from`` until the next version."""

    valid_from: date
    start_event: str
    stop_event: str
    target_minutes: int = Field(gt=0)
    calendar: str
    at_risk_share: float = Field(gt=0, lt=1)

    @field_validator("start_event", "stop_event")
    @classmethod
    def _known_event(cls, value: str) -> str:
        if value not in CASE_EVENT_TYPES:
            raise ValueError(f"unknown case event {value!r}; expected one of {CASE_EVENT_TYPES}")
        return value

    @model_validator(mode="after")
    def _distinct_events(self) -> "PolicyRule":
        if self.start_event == self.stop_event:
            raise ValueError(f"start_event and stop_event are both {self.start_event!r}")
        return self


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
    return PoliciesFile.model_validate(yaml.safe_load(text))


@cache
def load_policies_file(path: Path = POLICIES_PATH) -> PoliciesFile:
    return parse_policies(path.read_text(encoding="utf-8"))


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
                }
            )
    return pl.DataFrame(rows, schema=SLA_POLICY_COLUMNS)
