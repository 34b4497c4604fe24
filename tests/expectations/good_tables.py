"""Good tables for the expectations tests: every suite passes on them, one mutation breaks one check."""

from datetime import UTC, date, datetime, timedelta

import duckdb
import polars as pl

from expectations.core.fct_feedback import KINDS, feedback_channel_ids
from tests.helpers import given, given_org
from transforms import config_tables
from transforms.channels import load_channels
from transforms.org import MISSING_DIRECTORATE_ID
from transforms.taxonomy import UNCLASSIFIED_TYPE_ID, load_feedback_types
from warehouse.sql_models import materialize_sql, set_build_variables

AS_OF = datetime(2026, 11, 1, tzinfo=UTC)
FIRST_RECEIVED_AT = datetime(2026, 9, 1, 8, tzinfo=UTC)
N_FEEDBACK = 60  # 10 unclassified among texts (every sixth item): a share of 17%, under the 20% limit
REPEAT_EVERY = 10  # every tenth item repeats the one before it on another channel (a conversation)


def dim_feedback_types_frame() -> pl.DataFrame:
    """core.dim_feedback_types as the build makes it: the taxonomy plus the 'unclassified' member."""
    types = load_feedback_types()
    return pl.DataFrame(
        {
            "feedback_type_id": [t.feedback_type_id for t in types] + [UNCLASSIFIED_TYPE_ID],
            "directorate_id": [t.directorate_id for t in types] + [MISSING_DIRECTORATE_ID],
        }
    )


def fct_feedback_frame(n: int = N_FEEDBACK) -> pl.DataFrame:
    channels = feedback_channel_ids()
    # Types cycle through the taxonomy and 'unclassified'; each item is owned by its type's directorate.
    owners = dim_feedback_types_frame().rows()
    classified = [k for k in KINDS if k != "unclassified"]
    received = [FIRST_RECEIVED_AT + timedelta(hours=20 * i) for i in range(n)]
    scores = [float(i % 11) if i % 3 == 0 else None for i in range(n)]
    groups = [None if s is None else "promoter" if s >= 9 else "passive" if s >= 7 else "detractor" for s in scores]
    repeats = [i % REPEAT_EVERY == 9 for i in range(n)]
    nps = [g is not None and not r for g, r in zip(groups, repeats, strict=True)]
    frame = pl.DataFrame(
        {
            "feedback_id": [f"fb-{i:04d}" for i in range(n)],
            "channel_id": [channels[i % len(channels)] for i in range(n)],
            "audience": ["customer"] * n,
            "received_at": received,
            "received_month": [date(t.year, t.month, 1) for t in received],
            "kind": ["unclassified" if i % 6 == 5 else classified[i % len(classified)] for i in range(n)],
            "feedback_type_id": [owners[i % len(owners)][0] for i in range(n)],
            "directorate_id": [owners[i % len(owners)][1] for i in range(n)],
            "department_id": [MISSING_DIRECTORATE_ID] * n,
            "manager_id": [MISSING_DIRECTORATE_ID] * n,
            "store_id": [None] * n,
            "case_id": [None] * n,
            "has_text": [True] * n,
            "score_raw": scores,
            "score_scale": ["0-10" if s is not None else "none" for s in scores],
            "score_10": scores,
            "question_type": ["nps" if s is not None else "none" for s in scores],
            "nps_group": groups,
            "is_issue_solved": [None] * n,
            "self_service_outcome": [None] * n,
            "has_contact_request": [i % 4 == 0 for i in range(n)],
            "customer_key": [f"c{i % 9}" for i in range(n)],
            "conversation_id": [f"fb-{i - 1 if i % REPEAT_EVERY == 9 else i:04d}" for i in range(n)],
            "is_conversation_repeat": repeats,
            "segment": ["b2c"] * n,
            "device": ["web"] * n,
            # the metric flags as the rules of docs/metrics.md give them for these rows
            "is_counted_item": [not r for r in repeats],
            "is_nps_answer": nps,
            "is_nps_promoter": [a and g == "promoter" for a, g in zip(nps, groups, strict=True)],
            "is_nps_passive": [a and g == "passive" for a, g in zip(nps, groups, strict=True)],
            "is_nps_detractor": [a and g == "detractor" for a, g in zip(nps, groups, strict=True)],
            "is_csi_high": [a and s >= 8 for a, s in zip(nps, scores, strict=True)],
            "is_csi_low": [a and s <= 3 for a, s in zip(nps, scores, strict=True)],
        },
        schema_overrides={
            "received_at": pl.Datetime("us", "UTC"),
            "store_id": pl.String,
            "case_id": pl.String,
            "is_issue_solved": pl.Boolean,
            "self_service_outcome": pl.String,
        },
    )
    no = pl.lit(False)
    return frame.with_columns(
        is_csat_answer=no,
        is_csat_satisfied=no,
        is_effort_answer=no,
        is_low_effort=no,
        is_rating_answer=no,
        is_tnps_answer=no,
        is_tnps_promoter=no,
        is_tnps_passive=no,
        is_tnps_detractor=no,
        is_ces_answer=no,
        is_ces_solved=no,
        is_enps_answer=no,
        is_enps_promoter=no,
        is_enps_passive=no,
        is_enps_detractor=no,
        is_self_service_session=no,
        is_self_service_resolved=no,
    )


# The core models the management mart reads besides core.fct_feedback and core.fct_cases, built by
# their own SQL from the configuration.
MART_INPUTS = (
    "dim_channels",
    "dim_feedback_types",
    "dim_sla_policies",
    "dim_channel_costs",
    "fct_feedback_monthly",
    "fct_cases_monthly",
    "fct_sla_monthly",
)


def given_management_monthly(con: duckdb.DuckDBPyConnection) -> None:
    """marts.management_monthly built by its SQL from core.fct_feedback and core.fct_cases as given."""
    from transforms.costs import channel_costs_frame, load_channel_costs
    from transforms.sla import load_policies, policies_frame, targets_frame

    given_org(con)
    given(con, "staging.stg_config__channels", config_tables.channels_frame(load_channels()))
    given(con, "staging.stg_config__feedback_types", config_tables.feedback_types_frame(load_feedback_types()))
    given(con, "staging.stg_config__sla_policies", policies_frame(load_policies()))
    given(con, "staging.stg_config__sla_targets", targets_frame(load_policies()))
    given(con, "staging.stg_config__channel_costs", channel_costs_frame(load_channel_costs()))
    given(con, "core.fct_case_sla", pl.DataFrame(schema=CASE_SLA_COLUMNS))
    given(con, "core.fct_orders_monthly", pl.DataFrame(schema=ORDER_COLUMNS))
    set_build_variables(con, as_of=AS_OF, reporting_timezone="Europe/Moscow")
    for name in MART_INPUTS:
        materialize_sql(con, "core", name)
    materialize_sql(con, "marts", "management_monthly")


CASE_SLA_COLUMNS = {
    "case_id": pl.String(),
    "sla_policy_id": pl.String(),
    "cycle_number": pl.Int64(),
    "directorate_id": pl.String(),
    "department_id": pl.String(),
    "manager_id": pl.String(),
    "sla_state": pl.String(),
    "is_breached": pl.Boolean(),
    "elapsed_minutes": pl.Float64(),
    "report_month": pl.Date(),
}
ORDER_COLUMNS = {"report_month": pl.Date(), "directorate_id": pl.String(), "orders_count": pl.Int64()}


FCT_CASES_COLUMNS = {
    "case_id": pl.String(),
    "directorate_id": pl.String(),
    "department_id": pl.String(),
    "manager_id": pl.String(),
    "opened_at": pl.Datetime("us", "UTC"),
    "first_contact_at": pl.Datetime("us", "UTC"),
    "closed_at": pl.Datetime("us", "UTC"),
    "under_review_at": pl.Datetime("us", "UTC"),
    "reopened_count": pl.Int64(),
    "opened_month": pl.Date(),
}


def fct_cases_frame(rows: list[dict] | None = None) -> pl.DataFrame:
    """core.fct_cases (no case unless given), in the columns the marts and their reconciliation read."""
    return pl.DataFrame(rows or [], schema=FCT_CASES_COLUMNS)
