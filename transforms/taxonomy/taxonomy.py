"""The feedback-type taxonomy: each type is routed to the directorate that owns its process.

``feedback_types.csv`` is a table because people edit it like one. ``keywords`` is a regular
expression alternation of word stems; the classifier tries types in file order, so a more
specific type must come before a general one of the same directorate.
"""

import csv
import re
from datetime import date
from functools import cache
from pathlib import Path

from pydantic import BaseModel, ConfigDict, field_validator

from transforms.org import MISSING_DIRECTORATE_ID, Org, load_org

TAXONOMY_PATH = Path(__file__).with_name("feedback_types.csv")

# The member every unclassified item joins, so that "unclassified" is a number one can count.
UNCLASSIFIED_TYPE_ID = "unclassified"


class FeedbackType(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    feedback_type_id: str
    label: str
    directorate_id: str
    department_id: str
    keywords: str
    valid_from: date

    @field_validator("keywords")
    @classmethod
    def _valid_regex(cls, value: str) -> str:
        re.compile(value)
        return value


def parse_feedback_types(text: str, org: Org | None = None) -> tuple[FeedbackType, ...]:
    """Validate taxonomy CSV text against ``org`` (default: org.yaml on disk)."""
    types = tuple(FeedbackType.model_validate(row) for row in csv.DictReader(text.splitlines()))
    ids = [t.feedback_type_id for t in types]
    if len(ids) != len(set(ids)):
        raise ValueError("duplicate feedback_type_id in the taxonomy")
    if UNCLASSIFIED_TYPE_ID in ids:
        raise ValueError(f"{UNCLASSIFIED_TYPE_ID!r} is reserved for the missing member")
    org = org or load_org()
    known = {d.id for d in org.directorates}
    for t in types:
        if t.directorate_id not in known:
            raise ValueError(f"type {t.feedback_type_id}: unknown directorate {t.directorate_id!r}")
        if org.directorate_of_department(t.department_id) != t.directorate_id:
            raise ValueError(f"type {t.feedback_type_id}: department {t.department_id} is not in {t.directorate_id}")
    return types


@cache
def load_feedback_types(path: Path = TAXONOMY_PATH) -> tuple[FeedbackType, ...]:
    return parse_feedback_types(path.read_text(encoding="utf-8"))


__all__ = [
    "MISSING_DIRECTORATE_ID",
    "TAXONOMY_PATH",
    "UNCLASSIFIED_TYPE_ID",
    "FeedbackType",
    "load_feedback_types",
    "parse_feedback_types",
]
