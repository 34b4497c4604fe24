"""Draw the month's QA sample: stratified by owner (manager), deterministic, pure.

The draw order is sha256("<seed>|<YYYY-MM>|<case_id>"): the same cases, month and seed always give
the same sample, on any machine and any Python (no ``random()``, no DuckDB ``hash()`` that may
change between versions), and nobody can predict which cases are drawn without the seed.
"""

import hashlib
import math
from datetime import date

import polars as pl

from transforms.qa.config import SamplingRules

SAMPLE_COLUMNS: dict[str, pl.DataType] = {
    "sample_month": pl.Date(),
    "case_id": pl.String(),
    "directorate_id": pl.String(),
    "department_id": pl.String(),
    "manager_id": pl.String(),
    "sample_reason": pl.String(),  # new_owner | failed_last_check | rate
    "sample_key": pl.String(),
}


def sample_key(seed: str, month: date, case_id: str) -> str:
    return hashlib.sha256(f"{seed}|{month:%Y-%m}|{case_id}".encode()).hexdigest()


def sample_size(closed: int, rules: SamplingRules, *, full: bool) -> int:
    """All when ``full``; else ``rate`` of the closed cases rounded up, at least ``min_cases``, at most all."""
    if full:
        return closed
    return min(closed, max(rules.min_cases, math.ceil(rules.rate * closed)))


def draw_sample(closed: pl.DataFrame, history: pl.DataFrame, *, month: date, rules: SamplingRules) -> pl.DataFrame:
    """The sample of ``month`` from its closed cases.

    Args:
        closed: the cases closed in the month: case_id, directorate_id, department_id, manager_id.
        history: one row per owner checked before (manager_id, last_check_failed): owners absent
            from it are new; ``last_check_failed`` says whether their latest checked month had a fail.
        month: the first day of the month.
        rules: rate, minimum and seed.
    """
    keyed = closed.with_columns(
        sample_key=pl.col("case_id").map_elements(lambda c: sample_key(rules.seed, month, c), return_dtype=pl.String)
    ).join(history.select("manager_id", "last_check_failed"), on="manager_id", how="left")
    owners = (
        keyed.group_by("manager_id")
        .agg(
            closed_count=pl.len(),
            known=pl.col("last_check_failed").is_not_null().any(),
            failed=pl.col("last_check_failed").any(),
        )
        .with_columns(
            sample_reason=pl.when(~pl.col("known"))
            .then(pl.lit("new_owner"))
            .when(pl.col("failed"))
            .then(pl.lit("failed_last_check"))
            .otherwise(pl.lit("rate"))
        )
    )
    sizes = owners.with_columns(
        sample_size=pl.struct("closed_count", "sample_reason").map_elements(
            lambda o: sample_size(o["closed_count"], rules, full=o["sample_reason"] != "rate"), return_dtype=pl.Int64
        )
    ).select("manager_id", "sample_reason", "sample_size")
    return (
        keyed.join(sizes, on="manager_id")
        .with_columns(rank=pl.col("sample_key").rank("ordinal").over("manager_id"))
        .filter(pl.col("rank") <= pl.col("sample_size"))
        .with_columns(sample_month=pl.lit(month, pl.Date))
        .select([pl.col(name).cast(dtype) for name, dtype in SAMPLE_COLUMNS.items()])
        .sort("manager_id", "sample_key")
    )
