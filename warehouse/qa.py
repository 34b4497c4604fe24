"""QA state in the warehouse: the drawn samples (raw.qa_samples) and imported verdicts (raw.qa_verdicts).

A month's sample is drawn once and then frozen: drawing it again returns what reviewers were
given, even if late events have closed more cases since. Verdicts are append-only; a re-import
that changes a case's verdict (or its clarity score) stamps the earlier row ``superseded_at``.
``otklik qa sample`` and ``otklik qa import`` (otklik/qa_cli.py) and the demo's simulated checks
(flows/sample_checks.py) go through the same functions here.
"""

import hashlib
from datetime import UTC, date, datetime
from pathlib import Path

import duckdb
import polars as pl

from transforms.qa.config import SamplingRules
from transforms.qa.sample import SAMPLE_COLUMNS, draw_sample
from transforms.qa.verdicts import VERDICT_COLUMNS, parse_verdicts, read_verdict_file


class NothingToSample(ValueError):
    """No closed case in the month (or the warehouse was not built)."""


def closed_cases(con: duckdb.DuckDBPyConnection, month: date, *, reporting_timezone: str) -> pl.DataFrame:
    """Cases first closed in ``month`` (reporting zone) and not open again now."""
    try:
        return con.execute(
            """
            select case_id, directorate_id, department_id, manager_id
            from core.fct_cases
            where closed_at is not null
                and not is_open
                and date_trunc('month', timezone($tz, closed_at))::date = $month
            order by case_id
            """,
            {"tz": reporting_timezone, "month": month},
        ).pl()
    except duckdb.CatalogException as exc:
        raise NothingToSample("core.fct_cases is missing: run `otklik build` first") from exc


def owner_history(con: duckdb.DuckDBPyConnection, month: date) -> pl.DataFrame:
    """Owners sampled before ``month``, and whether their latest checked month had a failed case."""
    return con.execute(
        """
        with
        current_verdicts as (
            select * from raw.qa_verdicts where superseded_at is null
        ),
        checked_months as (
            select samples.manager_id, samples.sample_month, bool_or(current_verdicts.verdict = 'fail') as failed
            from raw.qa_samples as samples
            inner join current_verdicts
                on current_verdicts.sample_month = samples.sample_month
                and current_verdicts.case_id = samples.case_id
            where samples.sample_month < $month
            group by all
        ),
        latest as (
            select manager_id, arg_max(failed, sample_month) as last_check_failed
            from checked_months
            group by all
        ),
        known as (
            select distinct manager_id from raw.qa_samples where sample_month < $month
        )
        select known.manager_id, coalesce(latest.last_check_failed, false) as last_check_failed
        from known
        left join latest
            on latest.manager_id = known.manager_id
        """,
        {"month": month},
    ).pl()


def drawn_sample(con: duckdb.DuckDBPyConnection, month: date) -> pl.DataFrame:
    return con.execute(
        f"select {', '.join(SAMPLE_COLUMNS)} from raw.qa_samples"
        " where sample_month = ? order by manager_id, sample_key",
        [month],
    ).pl()


def draw_month(
    con: duckdb.DuckDBPyConnection, month: date, *, rules: SamplingRules, reporting_timezone: str
) -> tuple[pl.DataFrame, bool]:
    """The month's sample and whether it was drawn now (False: it had been drawn before)."""
    existing = drawn_sample(con, month)
    if not existing.is_empty():
        return existing, False
    closed = closed_cases(con, month, reporting_timezone=reporting_timezone)
    if closed.is_empty():
        raise NothingToSample(f"no closed case in {month:%Y-%m}: nothing to sample (is the warehouse built?)")
    sample = draw_sample(closed, owner_history(con, month), month=month, rules=rules)
    con.register("_sample", sample)
    try:
        con.execute(f"insert into raw.qa_samples ({', '.join(SAMPLE_COLUMNS)}) select * from _sample")
    finally:
        con.unregister("_sample")
    return sample, True


def sample_for_review(con: duckdb.DuckDBPyConnection, month: date) -> pl.DataFrame:
    """The month's sample with what a reviewer needs to judge each case (masked text only)."""
    return con.execute(
        """
        select
            samples.sample_month,
            samples.case_id,
            samples.sample_reason,
            samples.directorate_id,
            samples.department_id,
            samples.manager_id,
            cases.opened_at,
            cases.closed_at,
            feedback.channel_id,
            feedback.kind,
            feedback.body_text
        from raw.qa_samples as samples
        left join core.fct_cases as cases
            on cases.case_id = samples.case_id
        left join core.fct_feedback as feedback
            on feedback.feedback_id = cases.feedback_id
        where samples.sample_month = ?
        order by samples.manager_id, samples.sample_key
        """,
        [month],
    ).pl()


def all_samples(con: duckdb.DuckDBPyConnection) -> pl.DataFrame:
    return con.sql("select sample_month, case_id from raw.qa_samples").pl()


def sample_case_facts(con: duckdb.DuckDBPyConnection, month: date) -> pl.DataFrame:
    """What core knows of each case of the month's sample that a reviewer weighs: its manager, whether it
    was closed late (a breached clock of a policy that stops at the close) and how often it was reopened."""
    return con.execute(
        """
        with
        closing_policies as (
            select sla_policy_id from staging.stg_config__sla_policies
            where stop_event = 'closed'
        ),
        late as (
            select case_id, bool_or(is_breached) as is_closed_late
            from core.fct_case_sla
            where sla_policy_id in (select sla_policy_id from closing_policies)
            group by all
        )
        select
            samples.case_id,
            samples.manager_id,
            coalesce(late.is_closed_late, false) as is_closed_late,
            coalesce(cases.reopened_count, 0) as reopened_count
        from raw.qa_samples as samples
        left join core.fct_cases as cases
            on cases.case_id = samples.case_id
        left join late
            on late.case_id = samples.case_id
        where samples.sample_month = ?
        order by samples.manager_id, samples.sample_key
        """,
        [month],
    ).pl()


def months_without_sample(con: duckdb.DuckDBPyConnection, *, before: datetime, reporting_timezone: str) -> list[date]:
    """Months (first days, oldest first) with a closed case and no drawn sample that are over by ``before``
    in the reporting zone (a month's sample is drawn once it has ended)."""
    try:
        rows = con.execute(
            """
            select distinct date_trunc('month', timezone($tz, closed_at))::date as month
            from core.fct_cases
            where closed_at is not null
                and not is_open
                and date_trunc('month', timezone($tz, closed_at))::date + interval 1 month <= timezone($tz, $before)
                and date_trunc('month', timezone($tz, closed_at))::date not in (select sample_month from raw.qa_samples)
            order by month
            """,
            {"tz": reporting_timezone, "before": before},
        ).fetchall()
    except duckdb.CatalogException as exc:
        raise NothingToSample("core.fct_cases is missing: run `otklik build` first") from exc
    return [r[0] for r in rows]


def import_verdict_file(
    con: duckdb.DuckDBPyConnection,
    path: Path,
    *,
    rules: SamplingRules,
    at: datetime,
    frame: pl.DataFrame | None = None,
    checked_at: datetime | None = None,
) -> dict[str, int]:
    """``otklik qa import``: read and check the reviewers' file against every drawn sample, then record it
    (raises VerdictFileError, importing nothing, when any row is wrong). ``frame``: the file as
    ``read_verdict_file`` read it already (the CLI reads it before it opens the warehouse);
    ``checked_at``: as for ``import_verdicts``."""
    frame = read_verdict_file(path) if frame is None else frame
    verdicts = parse_verdicts(frame, all_samples(con), rules=rules, name=path.name)
    import_id = f"{path.name}:{hashlib.sha256(path.read_bytes()).hexdigest()[:16]}"
    return import_verdicts(con, verdicts, import_id=import_id, at=at, checked_at=checked_at)


def import_verdicts(
    con: duckdb.DuckDBPyConnection,
    verdicts: pl.DataFrame,
    *,
    import_id: str,
    at: datetime,
    checked_at: datetime | None = None,
) -> dict[str, int]:
    """Record parsed verdicts in one transaction; return counts of new, changed and unchanged ones.

    ``at`` is the import time (``imported_at``, ``superseded_at``). A new or changed verdict is dated
    ``checked_at`` when the check's time is known apart from the import (the demo's simulated reviewer
    checks on the build's clock, flows/sample_checks.py), else ``at``: a verdict file carries no date.
    A case whose current verdict and clarity score are those of the file is unchanged (a new reviewer
    name or comment alone is not recorded). A changed one supersedes its current row; when only the
    clarity score changed, the new row keeps the check's ``checked_at`` (the case was not checked
    again, so a failed case's rework still counts from the first verdict).
    """
    incoming = verdicts.with_columns(
        [pl.lit(None, dtype).alias(c) for c, dtype in VERDICT_COLUMNS.items() if c not in verdicts.columns]
    ).select([pl.col(c).cast(t) for c, t in VERDICT_COLUMNS.items()])
    con.execute("begin transaction")
    try:
        current = con.execute(
            "select sample_month, case_id, verdict as current_verdict, clarity_score as current_clarity,"
            " checked_at as current_checked_at from raw.qa_verdicts where superseded_at is null"
        ).pl()
        joined = incoming.join(current, on=["sample_month", "case_id"], how="left").with_columns(
            is_new=pl.col("current_verdict").is_null(),
            is_same=(pl.col("current_verdict") == pl.col("verdict"))
            & pl.col("current_clarity").cast(pl.Int8).eq_missing(pl.col("clarity_score")),
        )
        changed = joined.filter(~pl.col("is_new") & ~pl.col("is_same"))
        recorded = joined.filter(pl.col("is_new") | ~pl.col("is_same")).select(
            *VERDICT_COLUMNS,
            checked_at=pl.when(pl.col("current_verdict") == pl.col("verdict"))
            .then(pl.col("current_checked_at"))
            .otherwise(pl.lit(at if checked_at is None else checked_at.astimezone(UTC))),
            import_id=pl.lit(import_id),
            imported_at=pl.lit(at),
        )
        con.register("_changed_verdicts", changed.select("sample_month", "case_id"))
        con.register("_recorded_verdicts", recorded)
        try:
            con.execute(
                "update raw.qa_verdicts as v set superseded_at = ? from _changed_verdicts as c"
                " where v.sample_month = c.sample_month and v.case_id = c.case_id and v.superseded_at is null",
                [at],
            )
            con.execute("insert into raw.qa_verdicts by name select * from _recorded_verdicts")
        finally:
            con.unregister("_changed_verdicts")
            con.unregister("_recorded_verdicts")
        con.execute("commit")
    except Exception:
        con.execute("rollback")
        raise
    new = joined["is_new"].sum()
    return {"new": new, "changed": changed.height, "unchanged": joined.height - new - changed.height}
