"""The feedback-type taxonomy: ~140 types, each routed to the department that owns its process.

``feedback_types.csv`` is a table because people edit it like one. Columns:

- ``feedback_type_id``: the code (``[a-z][a-z0-9_]*``); ``unclassified`` is reserved;
- ``name_ru`` / ``name_en``; ``default_kind``: what an item of this type usually is;
- ``directorate_id`` / ``department_id``: the owner (must exist in org.yaml, department inside
  the directorate); ``sla_class``: urgent / standard / low (the SLA policies map classes to targets);
- ``valid_from`` / ``valid_to``: inclusive dates, ``valid_to`` empty = still in force;
- ``hints_ru`` / ``hints_en``: ``|``-separated words or phrases. They are lemmatized at load with
  the classifier's own normalizer, so «не привезли» and «не привезти» are the same hint, and
  negation is kept («не работает» ≠ «работает»). A hint ending in ``*`` is a prefix of a word
  (``deliver*`` matches delivery, delivered) and is not lemmatized.

When hints of several types match, the classifier scores each type by its matched hints (a
phrase counts more than a word); on a tie the type earlier in the file wins, so a specific type
comes before a general one.
"""

import csv
import hashlib
from datetime import date
from functools import cache
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from transforms.org import MISSING_DIRECTORATE_ID, Org, load_org

TAXONOMY_PATH = Path(__file__).with_name("feedback_types.csv")

# The member every unclassified item joins, so that "unclassified" is a number one can count.
UNCLASSIFIED_TYPE_ID = "unclassified"

SLA_CLASSES = ("urgent", "standard", "low")
TYPE_KINDS = ("complaint", "wish", "thanks", "question", "other")


def _hints(value: str | tuple[str, ...] | None) -> tuple[str, ...]:
    if value is None:
        return ()
    parts = value.split("|") if isinstance(value, str) else value
    return tuple(p.strip() for p in parts if p.strip())


class FeedbackType(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    feedback_type_id: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    name_ru: str = Field(min_length=1)
    name_en: str = Field(min_length=1)
    default_kind: Literal["complaint", "wish", "thanks", "question", "other"]
    directorate_id: str
    department_id: str
    sla_class: Literal["urgent", "standard", "low"]
    valid_from: date
    valid_to: date | None = None
    hints_ru: tuple[str, ...] = ()
    hints_en: tuple[str, ...] = ()

    @field_validator("valid_to", mode="before")
    @classmethod
    def _empty_is_open(cls, value: object) -> object:
        return None if value == "" else value

    @field_validator("hints_ru", "hints_en", mode="before")
    @classmethod
    def _split_hints(cls, value: str | tuple[str, ...] | None) -> tuple[str, ...]:
        return _hints(value)

    @model_validator(mode="after")
    def _consistent(self) -> "FeedbackType":
        if self.valid_to is not None and self.valid_to < self.valid_from:
            raise ValueError(f"valid_to {self.valid_to} is before valid_from {self.valid_from}")
        if not self.hints_ru and not self.hints_en:
            raise ValueError("a type needs at least one matching hint (hints_ru or hints_en)")
        return self

    @property
    def label(self) -> str:
        """The Russian name (the column marts and reviews show)."""
        return self.name_ru

    @property
    def hints(self) -> tuple[str, ...]:
        return self.hints_ru + self.hints_en

    def valid_on(self, day: date) -> bool:
        return self.valid_from <= day and (self.valid_to is None or day <= self.valid_to)


def parse_feedback_types(text: str, org: Org | None = None) -> tuple[FeedbackType, ...]:
    """Validate taxonomy CSV text against ``org`` (default: org.yaml on disk).

    Raises ValueError naming the CSV line of the first bad row.
    """
    types: list[FeedbackType] = []
    for line_no, row in enumerate(csv.DictReader(text.splitlines()), start=2):
        try:
            types.append(FeedbackType.model_validate(row))
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first["loc"]) or "row"
            raise ValueError(f"taxonomy line {line_no}: {where}: {first['msg']}") from None
    ids = [t.feedback_type_id for t in types]
    if not ids:
        raise ValueError("the taxonomy has no types")
    duplicates = sorted({i for i in ids if ids.count(i) > 1})
    if duplicates:
        raise ValueError(f"duplicate feedback_type_id in the taxonomy: {', '.join(duplicates)}")
    if UNCLASSIFIED_TYPE_ID in ids:
        raise ValueError(f"{UNCLASSIFIED_TYPE_ID!r} is reserved for the missing member")
    org = org or load_org()
    known = {d.id for d in org.directorates}
    for t in types:
        if t.directorate_id not in known:
            raise ValueError(f"type {t.feedback_type_id}: unknown directorate {t.directorate_id!r}")
        try:
            owner = org.directorate_of_department(t.department_id)
        except KeyError:
            raise ValueError(f"type {t.feedback_type_id}: unknown department {t.department_id!r}") from None
        if owner != t.directorate_id:
            raise ValueError(f"type {t.feedback_type_id}: department {t.department_id} is not in {t.directorate_id}")
    return tuple(types)


def taxonomy_version(types: tuple[FeedbackType, ...]) -> str:
    """Content hash of the types in force (what a prediction's ``taxonomy_version`` names)."""
    digest = hashlib.sha256()
    for t in types:
        digest.update(t.model_dump_json().encode())
    return "tax-" + digest.hexdigest()[:12]


@cache
def load_feedback_types(path: Path = TAXONOMY_PATH) -> tuple[FeedbackType, ...]:
    return parse_feedback_types(path.read_text(encoding="utf-8"))


__all__ = [
    "MISSING_DIRECTORATE_ID",
    "SLA_CLASSES",
    "TAXONOMY_PATH",
    "TYPE_KINDS",
    "UNCLASSIFIED_TYPE_ID",
    "FeedbackType",
    "load_feedback_types",
    "parse_feedback_types",
    "taxonomy_version",
]
