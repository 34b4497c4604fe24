"""QA state in the warehouse: the drawn samples (raw.qa_samples) and imported verdicts (raw.qa_verdicts).

A month's sample is drawn once and then frozen: drawing it again returns what reviewers were
given, even if late events have closed more cases since. Verdicts are append-only; a re-import
that changes a case's verdict stamps the earlier row ``superseded_at``.
"""

from datetime import date, datetime

import duckdb
import polars as pl

from transforms.qa.config import SamplingRules
from transforms.qa.sample import SAMPLE_COLUMNS, draw_sample


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


def import_verdicts(
    con: duckdb.DuckDBPyConnection, verdicts: pl.DataFrame, *, import_id: str, at: datetime
) -> dict[str, int]:
    """Record parsed verdicts in one transaction; return counts of new, changed and unchanged ones."""
    counts = {"new": 0, "changed": 0, "unchanged": 0}
    con.execute("begin transaction")
    try:
        for row in verdicts.iter_rows(named=True):
            current = con.execute(
                "select verdict from raw.qa_verdicts where sample_month = ? and case_id = ? and superseded_at is null",
                [row["sample_month"], row["case_id"]],
            ).fetchone()
            if current is not None and current[0] == row["verdict"]:
                counts["unchanged"] += 1
                continue
            if current is not None:
                con.execute(
                    "update raw.qa_verdicts set superseded_at = ?"
                    " where sample_month = ? and case_id = ? and superseded_at is null",
                    [at, row["sample_month"], row["case_id"]],
                )
            con.execute(
                "insert into raw.qa_verdicts (sample_month, case_id, verdict, reviewer, comment, checked_at,"
                " import_id, imported_at) values (?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    row["sample_month"],
                    row["case_id"],
                    row["verdict"],
                    row["reviewer"],
                    row["comment"],
                    at,
                    import_id,
                    at,
                ],
            )
            counts["changed" if current is not None else "new"] += 1
        con.execute("commit")
    except Exception:
        con.execute("rollback")
        raise
    return counts
