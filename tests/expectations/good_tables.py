"""Good tables for the expectations tests: every suite passes on them, one mutation breaks one check."""

from datetime import UTC, date, datetime, timedelta

import polars as pl

from expectations.core.fct_feedback import KINDS, feedback_channel_ids
from expectations.marts.management_monthly import (
    COMPANY_TOTAL_ID,
    COUNT_COLUMNS,
    NOT_NEGATIVE_COLUMNS,
    RATE_COLUMNS,
    SCORE_COLUMNS,
    SHARE_COLUMNS,
)
from transforms.org import MISSING_DIRECTORATE_ID, load_org
from transforms.taxonomy import UNCLASSIFIED_TYPE_ID, load_feedback_types

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
    return pl.DataFrame(
        {
            "feedback_id": [f"fb-{i:04d}" for i in range(n)],
            "channel_id": [channels[i % len(channels)] for i in range(n)],
            "received_at": received,
            "received_month": [date(t.year, t.month, 1) for t in received],
            "kind": ["unclassified" if i % 6 == 5 else classified[i % len(classified)] for i in range(n)],
            "feedback_type_id": [owners[i % len(owners)][0] for i in range(n)],
            "directorate_id": [owners[i % len(owners)][1] for i in range(n)],
            "store_id": [None] * n,
            "has_text": [True] * n,
            "score_raw": scores,
            "score_scale": ["0-10" if s is not None else "none" for s in scores],
            "score_10": scores,
            "question_type": ["nps" if s is not None else "none" for s in scores],
            "nps_group": groups,
            "has_contact_request": [i % 4 == 0 for i in range(n)],
            "customer_key": [f"c{i % 9}" for i in range(n)],
            "conversation_id": [f"fb-{i - 1 if i % REPEAT_EVERY == 9 else i:04d}" for i in range(n)],
            "is_conversation_repeat": [i % REPEAT_EVERY == 9 for i in range(n)],
            "segment": ["b2c"] * n,
            "device": ["web"] * n,
        },
        schema_overrides={"received_at": pl.Datetime("us", "UTC"), "store_id": pl.String},
    )


def management_monthly_frame(core: pl.DataFrame) -> pl.DataFrame:
    """The mart for ``core``: every directorate every month, plus the company row, figures in range."""
    directorates = load_org().directorates
    names = {d.id: d.name for d in directorates} | {MISSING_DIRECTORATE_ID: "Не назначено"}
    items = core.group_by("received_month", "directorate_id").agg(
        items_count=(~pl.col("is_conversation_repeat")).sum(),
        conversation_repeats_count=pl.col("is_conversation_repeat").sum(),
    )
    months = core.select(pl.col("received_month").unique().sort()).to_series().to_list()
    grid = pl.DataFrame(
        {
            "report_month": [m for m in months for _ in names],
            "directorate_id": [d for _ in months for d in names],
            "directorate_name": [names[d] for _ in months for d in names],
        }
    )
    by_directorate = grid.join(
        items.rename({"received_month": "report_month"}), on=["report_month", "directorate_id"], how="left"
    ).with_columns(pl.col("items_count", "conversation_repeats_count").fill_null(0).cast(pl.Int64))
    company = (
        by_directorate.group_by("report_month")
        .agg(pl.col("items_count", "conversation_repeats_count").sum())
        .with_columns(directorate_id=pl.lit(COMPANY_TOTAL_ID), directorate_name=pl.lit("Вся компания"))
    )
    frame = pl.concat([by_directorate, company.select(by_directorate.columns)]).sort("report_month")
    # no cases: the mart's case counts reconcile with the empty core.fct_cases of fct_cases_frame()
    case_counts = ("cases_count", "cases_closed_count", "cases_reopened_count")
    other_counts = {
        c: pl.lit(0 if c in case_counts else 1, pl.Int64)
        for c in COUNT_COLUMNS
        if c not in ("items_count", "conversation_repeats_count")
    }
    rates = {c: pl.lit(0.9) for c in RATE_COLUMNS}
    return frame.with_columns(
        **other_counts,
        **rates,
        nps=pl.lit(12.5),
        nps_ci_low=pl.lit(-20.0),
        nps_ci_high=pl.lit(45.0),
        complaints_per_1000_orders=pl.lit(3.2),
        **{c: pl.lit(0.5) for c in SHARE_COLUMNS},
        **{c: pl.lit(10.0) for c in SCORE_COLUMNS if c != "nps"},
        **{c: pl.lit(1.5) for c in NOT_NEGATIVE_COLUMNS},
    )


def fct_cases_frame() -> pl.DataFrame:
    """core.fct_cases with no case, in the columns the marts' case reconciliation reads."""
    return pl.DataFrame(
        schema={
            "case_id": pl.String(),
            "directorate_id": pl.String(),
            "opened_month": pl.Date(),
            "closed_at": pl.Datetime("us", "UTC"),
            "reopened_count": pl.Int64(),
            "is_under_additional_control": pl.Boolean(),
        }
    )
