"""Org structure (directorates, departments, managers, stores), validated at load.

Departments, managers and stores carry optional validity dates (inclusive; ``None`` = open), and a
store's ``manager_history`` says who managed it when, so an old item stays routed to the manager
of its day. ``manager_id`` is the current manager and what sample data and config tables use.
"""

from datetime import date
from functools import cache
from itertools import pairwise
from pathlib import Path
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from transforms.config_errors import parse_yaml

ORG_PATH = Path(__file__).with_name("org.yaml")

# The member every fact falls back to, so that no item drops out of a join.
MISSING_DIRECTORATE_ID = "unassigned"


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class _Dated(_Frozen):
    valid_from: date | None = None
    valid_to: date | None = None

    @model_validator(mode="after")
    def _ordered(self) -> "_Dated":
        if self.valid_from and self.valid_to and self.valid_to < self.valid_from:
            raise ValueError(f"valid_to {self.valid_to} is before valid_from {self.valid_from}")
        return self

    def valid_on(self, day: date) -> bool:
        return (self.valid_from is None or self.valid_from <= day) and (self.valid_to is None or day <= self.valid_to)


class Department(_Dated):
    id: str
    name: str


class Directorate(_Frozen):
    id: str
    name: str
    head: str
    departments: list[Department]


class Manager(_Dated):
    id: str
    name: str
    department_id: str


class ManagerAssignment(_Dated):
    manager_id: str


class Store(_Dated):
    id: str
    name: str
    manager_id: str
    region: str | None = None  # where the store is: a root-cause attribute (core.int_feedback_attributes)
    manager_history: list[ManagerAssignment] = []

    @model_validator(mode="after")
    def _history_consistent(self) -> "Store":
        spans = sorted(self.manager_history, key=lambda a: a.valid_from or date.min)
        for before, after in pairwise(spans):
            if before.valid_to is None or (after.valid_from is not None and after.valid_from <= before.valid_to):
                raise ValueError(f"store {self.id}: manager_history periods overlap")
        if spans and spans[-1].manager_id != self.manager_id:
            raise ValueError(f"store {self.id}: manager_id must be the last manager in manager_history")
        return self

    def manager_on(self, day: date) -> str:
        """The store's manager on ``day`` (the current one when the history does not cover it)."""
        return next((a.manager_id for a in self.manager_history if a.valid_on(day)), self.manager_id)


class Company(_Frozen):
    name: str
    reporting_timezone: str = "Europe/Moscow"
    conversation_window_hours: float = Field(default=48, gt=0, le=24 * 31)

    @field_validator("reporting_timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        ZoneInfo(value)
        return value


class Org(_Frozen):
    company: Company
    directorates: list[Directorate]
    managers: list[Manager]
    stores: list[Store]

    @model_validator(mode="after")
    def _references_resolve(self) -> "Org":
        directorate_ids = [d.id for d in self.directorates]
        if MISSING_DIRECTORATE_ID in directorate_ids:
            raise ValueError(f"{MISSING_DIRECTORATE_ID!r} is reserved for the missing member")
        departments = {dep.id for d in self.directorates for dep in d.departments}
        managers = {m.id for m in self.managers}
        for m in self.managers:
            if m.department_id not in departments:
                raise ValueError(f"manager {m.id}: unknown department {m.department_id!r}")
        for s in self.stores:
            for manager_id in (s.manager_id, *(a.manager_id for a in s.manager_history)):
                if manager_id not in managers:
                    raise ValueError(f"store {s.id}: unknown manager {manager_id!r}")
        department_ids = [dep.id for d in self.directorates for dep in d.departments]
        store_ids = [s.id for s in self.stores]
        for ids, what in (
            (directorate_ids, "directorate"),
            ([m.id for m in self.managers], "manager"),
            (department_ids, "department"),
            (store_ids, "store"),
        ):
            if len(ids) != len(set(ids)):
                raise ValueError(f"duplicate {what} ids")
        return self

    def directorate_of_department(self, department_id: str) -> str:
        for d in self.directorates:
            if any(dep.id == department_id for dep in d.departments):
                return d.id
        raise KeyError(department_id)


def parse_org(text: str) -> Org:
    return Org.model_validate(parse_yaml(text))


@cache
def load_org(path: Path = ORG_PATH) -> Org:
    from transforms.config_errors import config_errors

    text = path.read_text(encoding="utf-8")
    with config_errors(path, text):  # one line per problem, naming the file and the entity id
        return parse_org(text)
