"""Configuration as tables: the same definitions the Python code uses, for SQL to join.

Each function turns a validated config object into a Polars frame; ``warehouse/seed.py``
writes them as ``staging.stg_config__<name>`` on every build, and ``core/dim_*.sql`` add the
missing members.
"""

import polars as pl

from transforms.channels import Channel
from transforms.org import Org
from transforms.taxonomy import FeedbackType


def channels_frame(channels: tuple[Channel, ...]) -> pl.DataFrame:
    return pl.DataFrame(
        [
            {
                "channel_id": c.id,
                "display_name": c.display_name,
                "entity": c.entity,
                "audience": c.audience,  # customer / employee: employees' answers are no customer feedback
                "format": c.format,
                "schedule_group": c.schedule_group,
                "timezone": c.timezone,
                "score_scale": c.score_scale,
                "question_type": c.question_type,
                "expected_cadence_hours": c.expected_cadence_hours,
                "is_enabled": c.enabled,
            }
            for c in channels
        ]
    )


def directorates_frame(org: Org) -> pl.DataFrame:
    return pl.DataFrame(
        [{"directorate_id": d.id, "directorate_name": d.name, "head_name": d.head} for d in org.directorates]
    )


# org.yaml's validity: inclusive dates, null = open
VALIDITY = {"valid_from": pl.Date, "valid_to": pl.Date}


def departments_frame(org: Org) -> pl.DataFrame:
    return pl.DataFrame(
        [
            {
                "department_id": dep.id,
                "department_name": dep.name,
                "directorate_id": d.id,
                "valid_from": dep.valid_from,
                "valid_to": dep.valid_to,
            }
            for d in org.directorates
            for dep in d.departments
        ],
        schema_overrides=VALIDITY,
    )


def managers_frame(org: Org) -> pl.DataFrame:
    return pl.DataFrame(
        [
            {
                "manager_id": m.id,
                "manager_name": m.name,
                "department_id": m.department_id,
                "valid_from": m.valid_from,
                "valid_to": m.valid_to,
            }
            for m in org.managers
        ],
        schema_overrides=VALIDITY,
    )


def stores_frame(org: Org) -> pl.DataFrame:
    return pl.DataFrame(
        [
            {
                "store_id": s.id,
                "store_name": s.name,
                "manager_id": s.manager_id,
                "region": s.region,
                "valid_from": s.valid_from,
                "valid_to": s.valid_to,
            }
            for s in org.stores
        ],
        schema_overrides={**VALIDITY, "region": pl.String()},
    )


def feedback_types_frame(types: tuple[FeedbackType, ...]) -> pl.DataFrame:
    return pl.DataFrame(
        [
            {
                "feedback_type_id": t.feedback_type_id,
                "label": t.label,
                "directorate_id": t.directorate_id,
                "department_id": t.department_id,
                "valid_from": t.valid_from,
                "sla_class": t.sla_class,  # the SLA policies' per-class targets (transforms/sla/policies.yaml)
                "name_en": t.name_en,
                "default_kind": t.default_kind,
                "valid_to": t.valid_to,  # null: still in force
            }
            for t in types
        ],
        schema_overrides={"valid_to": pl.Date},
    )
