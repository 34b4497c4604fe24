"""Org structure (directorates, departments, managers, stores), validated at load."""

from functools import cache
from pathlib import Path
from zoneinfo import ZoneInfo

import yaml
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

ORG_PATH = Path(__file__).with_name("org.yaml")

# The member every fact falls back to, so that no item drops out of a join.
MISSING_DIRECTORATE_ID = "unassigned"


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Department(_Frozen):
    id: str
    name: str


class Directorate(_Frozen):
    id: str
    name: str
    head: str
    departments: list[Department]


class Manager(_Frozen):
    id: str
    name: str
    department_id: str


class Store(_Frozen):
    id: str
    name: str
    manager_id: str


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
            if s.manager_id not in managers:
                raise ValueError(f"store {s.id}: unknown manager {s.manager_id!r}")
        for ids, what in ((directorate_ids, "directorate"), (list(managers), "manager")):
            if len(ids) != len(set(ids)):
                raise ValueError(f"duplicate {what} ids")
        return self

    def directorate_of_department(self, department_id: str) -> str:
        for d in self.directorates:
            if any(dep.id == department_id for dep in d.departments):
                return d.id
        raise KeyError(department_id)


def parse_org(text: str) -> Org:
    return Org.model_validate(yaml.safe_load(text))


@cache
def load_org(path: Path = ORG_PATH) -> Org:
    return parse_org(path.read_text(encoding="utf-8"))
