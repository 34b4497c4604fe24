"""QA state in DuckDB: the frozen monthly draw, owner history, verdict imports and what core makes of them."""

import hashlib
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import duckdb
import polars as pl
import pytest

from tests.helpers import given, given_org, run_model
from transforms.qa import SamplingRules
from transforms.schemas import CASE_EVENT
from warehouse.qa import (
    NothingToSample,
    draw_month,
    import_verdict_file,
    import_verdicts,
    months_without_sample,
    owner_history,
    sample_for_review,
)
from warehouse.sql_models import materialize_sql

OCT, NOV = date(2026, 10, 1), date(2026, 11, 1)
TZ = "Europe/Moscow"
RULES = SamplingRules(seed="s", rate=0.1, min_cases=2, verdicts={"pass": ("pass",), "fail": ("fail",)})


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def cases(rows: list[tuple[str, str, datetime | None, bool]]) -> pl.DataFrame:
    return pl.DataFrame(
        [
            {
                "case_id": case_id,
                "feedback_id": f"web:{case_id}",
                "directorate_id": "retail",
                "department_id": "stores_moscow",
                "manager_id": manager,
                "opened_at": closed_at,
                "closed_at": closed_at,
                "is_open": is_open,
            }
            for case_id, manager, closed_at, is_open in rows
        ],
        schema_overrides={"closed_at": pl.Datetime("us", "UTC"), "opened_at": pl.Datetime("us", "UTC")},
    )


def october_cases() -> pl.DataFrame:
    rows = [(f"a{i:02d}", "m_a", utc(2026, 10, 10, 12), False) for i in range(30)]
    rows += [
        ("b1", "m_b", utc(2026, 10, 2, 12), False),
        ("b2", "m_b", utc(2026, 9, 30, 21, 30), False),  # 00:30 on 1 October in Moscow: October
        ("b3", "m_b", utc(2026, 10, 31, 21, 30), False),  # 00:30 on 1 November in Moscow: not October
        ("b4", "m_b", utc(2026, 10, 3, 12), True),  # reopened and open again: not closed
        ("b5", "m_b", None, True),
    ]
    return cases(rows)


@pytest.fixture
def built(con: duckdb.DuckDBPyConnection) -> duckdb.DuckDBPyConnection:
    given(con, "core.fct_cases", october_cases())
    given(
        con,
        "core.fct_feedback",
        pl.DataFrame(
            {"feedback_id": ["web:a00"], "channel_id": ["web_form"], "kind": ["complaint"], "body_text": ["=1+1"]}
        ),
    )
    return con


def test_first_month_everyone_is_new_and_checked_in_full(built: duckdb.DuckDBPyConnection) -> None:
    sample, drawn_now = draw_month(built, OCT, rules=RULES, reporting_timezone=TZ)
    assert drawn_now
    assert sorted(sample.filter(pl.col("manager_id") == "m_b")["case_id"]) == ["b1", "b2"]
    assert sample.filter(pl.col("manager_id") == "m_a").height == 30
    assert set(sample["sample_reason"]) == {"new_owner"}


def test_a_drawn_month_is_frozen(built: duckdb.DuckDBPyConnection) -> None:
    first, _ = draw_month(built, OCT, rules=RULES, reporting_timezone=TZ)
    given(built, "core.fct_cases", cases([("late", "m_b", utc(2026, 10, 20), False)]))
    again, drawn_now = draw_month(built, OCT, rules=RULES.model_copy(update={"seed": "other"}), reporting_timezone=TZ)
    assert not drawn_now
    assert again.sort("case_id").equals(first.sort("case_id"))


def test_a_month_without_closed_cases_is_an_error(built: duckdb.DuckDBPyConnection) -> None:
    with pytest.raises(NothingToSample, match="no closed case in 2026-12"):
        draw_month(built, date(2026, 12, 1), rules=RULES, reporting_timezone=TZ)


def verdicts(rows: list[tuple[date, str, str]]) -> pl.DataFrame:
    return pl.DataFrame(
        [{"sample_month": m, "case_id": c, "verdict": v, "reviewer": "head", "comment": None} for m, c, v in rows],
        schema={
            "sample_month": pl.Date,
            "case_id": pl.String,
            "verdict": pl.String,
            "reviewer": pl.String,
            "comment": pl.String,
        },
    )


def test_next_month_failed_owner_in_full_passing_owner_at_the_rate(built: duckdb.DuckDBPyConnection) -> None:
    draw_month(built, OCT, rules=RULES, reporting_timezone=TZ)
    import_verdicts(
        built,
        verdicts([(OCT, "a00", "pass"), (OCT, "b1", "pass"), (OCT, "b2", "fail")]),
        import_id="f1",
        at=utc(2026, 11, 3),
    )
    assert dict(owner_history(built, NOV).iter_rows()) == {"m_a": False, "m_b": True}
    november = [(f"n{i:02d}", "m_a", utc(2026, 11, 10), False) for i in range(30)]
    november += [(f"nb{i}", "m_b", utc(2026, 11, 10), False) for i in range(4)]
    november += [("nc1", "m_c", utc(2026, 11, 10), False)]
    given(built, "core.fct_cases", cases(november))
    sample, _ = draw_month(built, NOV, rules=RULES, reporting_timezone=TZ)
    counts = dict(sample.group_by("manager_id").len().iter_rows())
    reasons = dict(sample.select("manager_id", "sample_reason").unique().iter_rows())
    assert counts == {"m_a": 3, "m_b": 4, "m_c": 1}  # 10% of 30 = 3 (≥ 2); all 4; the new owner's 1
    assert reasons == {"m_a": "rate", "m_b": "failed_last_check", "m_c": "new_owner"}


def test_reimport_changes_only_what_changed_and_keeps_the_history(built: duckdb.DuckDBPyConnection) -> None:
    draw_month(built, OCT, rules=RULES, reporting_timezone=TZ)
    first = import_verdicts(
        built, verdicts([(OCT, "b1", "pass"), (OCT, "b2", "fail")]), import_id="f1", at=utc(2026, 11, 3)
    )
    second = import_verdicts(
        built, verdicts([(OCT, "b1", "pass"), (OCT, "b2", "pass")]), import_id="f2", at=utc(2026, 11, 4)
    )
    assert first == {"new": 2, "changed": 0, "unchanged": 0}
    assert second == {"new": 0, "changed": 1, "unchanged": 1}
    rows = built.sql(
        "select case_id, verdict, superseded_at is not null from raw.qa_verdicts order by case_id, imported_at"
    ).fetchall()
    assert rows == [("b1", "pass", False), ("b2", "fail", True), ("b2", "pass", False)]


def test_the_review_export_carries_the_case_and_its_text(built: duckdb.DuckDBPyConnection) -> None:
    draw_month(built, OCT, rules=RULES, reporting_timezone=TZ)
    review = sample_for_review(built, OCT).filter(pl.col("case_id") == "a00")
    assert review.select("channel_id", "kind", "body_text").row(0) == ("web_form", "complaint", "=1+1")


# ---------------------------------------------------------------- core.fct_qa_checks and the mart


def case_events(*rows: tuple[str, str, datetime]) -> pl.DataFrame:
    defaults = {name: None for name in CASE_EVENT.columns} | {"_batch_id": "b1", "_source_file": "crm.csv"}
    records = [
        defaults | {"_record_index": i, "case_id": c, "event_type": e, "event_at": at, "directorate_id": "retail"}
        for i, (c, e, at) in enumerate(rows)
    ]
    return pl.DataFrame(records, schema=CASE_EVENT.columns)


@pytest.fixture
def checked(built: duckdb.DuckDBPyConnection) -> duckdb.DuckDBPyConnection:
    """October: m_b's b1 passed, b2 failed on 3 Nov and was closed again on 5 Nov; m_a's a00 failed
    (not closed again), a01 passed, the other 28 of m_a's cases are not checked yet."""
    draw_month(built, OCT, rules=RULES, reporting_timezone=TZ)
    rows = [(OCT, "b1", "pass"), (OCT, "b2", "fail"), (OCT, "a00", "fail"), (OCT, "a01", "pass")]
    import_verdicts(built, verdicts(rows), import_id="f1", at=utc(2026, 11, 3))
    events = case_events(
        ("b2", "opened", utc(2026, 9, 30, 10)),
        ("b2", "closed", utc(2026, 9, 30, 21, 30)),
        ("b2", "closed", utc(2026, 11, 5)),
        ("a00", "opened", utc(2026, 10, 10, 9)),
        ("a00", "closed", utc(2026, 10, 10, 12)),
        ("a01", "opened", utc(2026, 10, 10, 9)),
        ("a01", "closed", utc(2026, 10, 10, 12)),
    )
    given(built, "staging.stg_crm__case_events", events)
    return built


def test_fct_qa_checks_flags_the_reopened_loop(checked: duckdb.DuckDBPyConnection) -> None:
    qa = {r["case_id"]: r for r in run_model(checked, "core", "fct_qa_checks").to_dicts()}
    assert len(qa) == 32
    assert (qa["b2"]["is_failed"], qa["b2"]["is_rework_open"], qa["b2"]["reclosed_at"]) == (
        True,
        False,
        utc(2026, 11, 5),
    )
    assert (qa["a00"]["is_failed"], qa["a00"]["is_rework_open"]) == (True, True)
    assert (qa["a02"]["is_checked"], qa["a02"]["verdict"]) == (False, None)


def test_qa_results_monthly(checked: duckdb.DuckDBPyConnection) -> None:
    given(checked, "core.fct_qa_checks", run_model(checked, "core", "fct_qa_checks"))
    mart = {
        (r["directorate_id"], r["manager_id"]): r for r in run_model(checked, "marts", "qa_results_monthly").to_dicts()
    }
    columns = ("sampled_count", "checked_count", "passed_count", "failed_count", "rework_open_count", "pass_rate")
    got = {key: tuple(row[c] for c in columns) for key, row in mart.items()}
    assert got == {
        ("retail", "m_a"): (30, 2, 1, 1, 1, 0.5),  # 28 unchecked are not failures
        ("retail", "m_b"): (2, 2, 1, 1, 0, 0.5),
        ("retail", "all"): (32, 4, 2, 2, 1, 0.5),
        ("all", "all"): (32, 4, 2, 2, 1, 0.5),
    }
    assert {r["report_month"] for r in mart.values()} == {OCT}


def test_a_failed_check_puts_the_case_under_additional_control(checked: duckdb.DuckDBPyConnection) -> None:
    given_org(checked)
    given(checked, "core.dim_directorates", pl.DataFrame({"directorate_id": ["retail", "unassigned"]}))
    materialize_sql(checked, "core", "fct_cases")

    def control() -> dict:
        return dict(
            run_model(checked, "core", "fct_case_controls").select("case_id", "is_under_additional_control").iter_rows()
        )

    assert control() == {"a00": True, "a01": False, "b2": True}
    import_verdicts(checked, verdicts([(OCT, "a00", "pass")]), import_id="f2", at=utc(2026, 11, 6))
    control = control()
    assert control["a00"] is False  # the head corrected the verdict: the current one counts


# ---------------------------------------------------------------- the CLI: otklik qa sample / import


def test_cli_sample_then_import_then_errors(
    tmp_path, monkeypatch: pytest.MonkeyPatch
) -> None:  # one flow through the sub-app, as an operator runs it
    from typer.testing import CliRunner

    from otklik.qa_cli import qa_app
    from warehouse import connect

    monkeypatch.setenv("OTKLIK_WAREHOUSE", str(tmp_path / "w.duckdb"))
    with connect() as con:
        given(con, "core.fct_cases", october_cases())
        feedback = {"feedback_id": ["web:b1"], "channel_id": ["web_form"], "kind": ["complaint"]}
        given(con, "core.fct_feedback", pl.DataFrame(feedback | {"body_text": ["=cmd|'/c calc'!A1"]}))
    runner = CliRunner()

    def text(result) -> str:  # rich wraps at the runner's narrow terminal
        return " ".join(result.output.split())

    out = tmp_path / "sample.xlsx"
    result = runner.invoke(qa_app, ["sample", "--month", "2026-10", "--out", str(out)])
    assert result.exit_code == 0, result.output
    workbook = pl.read_excel(out, infer_schema_length=0)
    assert workbook.height == 32 and "drawn now" in text(result)
    assert workbook.filter(pl.col("case_id") == "b1")["body_text"].to_list() == ["=cmd|'/c calc'!A1"]
    again = runner.invoke(qa_app, ["sample", "--month", "2026-10", "--out", str(out)])
    assert "drawn before, re-exported" in text(again)

    filled = workbook.with_columns(
        verdict=pl.when(pl.col("case_id") == "b1").then(pl.lit("fail")).otherwise(pl.lit("pass"))
    )
    filled.write_excel(tmp_path / "back.xlsx")
    result = runner.invoke(qa_app, ["import", str(tmp_path / "back.xlsx")])
    assert result.exit_code == 0, result.output
    assert "32 new, 0 changed, 0 unchanged" in text(result)

    (tmp_path / "bad.csv").write_text("case_id,verdict\nb1,pass\nzz,fail\n", encoding="utf-8")
    result = runner.invoke(qa_app, ["import", str(tmp_path / "bad.csv")])
    assert result.exit_code == 1
    assert text(result).startswith("error: bad.csv: row 3: unknown case zz")
    assert text(runner.invoke(qa_app, ["sample", "--month", "October"])).startswith("error: month must look like")
    with connect(read_only=True) as con:  # the refused file changed nothing
        assert con.sql("select count(*) from raw.qa_verdicts where verdict = 'fail'").fetchone() == (1,)


# ---------------------------------------------------------------- clarity grades and verdict files


def graded(rows: list[tuple[date, str, str, int | None]]) -> pl.DataFrame:
    frame = verdicts([(m, c, v) for m, c, v, _ in rows])
    return frame.with_columns(clarity_score=pl.Series([g for *_, g in rows], dtype=pl.Int8))


def test_a_changed_clarity_grade_is_a_change_that_keeps_the_check_time(built: duckdb.DuckDBPyConnection) -> None:
    draw_month(built, OCT, rules=RULES, reporting_timezone=TZ)
    first = import_verdicts(
        built, graded([(OCT, "b1", "pass", 4), (OCT, "b2", "fail", None)]), import_id="f1", at=utc(2026, 11, 3)
    )
    again = import_verdicts(
        built, graded([(OCT, "b1", "pass", 4), (OCT, "b2", "fail", 2)]), import_id="f2", at=utc(2026, 11, 9)
    )
    assert (first, again) == ({"new": 2, "changed": 0, "unchanged": 0}, {"new": 0, "changed": 1, "unchanged": 1})
    rows = built.sql(
        "select case_id, clarity_score, checked_at, import_id, superseded_at is not null from raw.qa_verdicts"
        " order by case_id, imported_at"
    ).fetchall()
    assert rows == [
        ("b1", 4, utc(2026, 11, 3), "f1", False),
        ("b2", None, utc(2026, 11, 3), "f1", True),
        ("b2", 2, utc(2026, 11, 3), "f2", False),  # graded later, checked (and sent to rework) on 3 Nov
    ]
    given(built, "staging.stg_crm__case_events", case_events())
    qa = {r["case_id"]: r["clarity_score"] for r in run_model(built, "core", "fct_qa_checks").to_dicts()}
    assert (qa["b1"], qa["b2"], qa["a00"]) == (4, 2, None)


def test_a_verdict_dated_apart_from_its_import_keeps_both_times(built: duckdb.DuckDBPyConnection) -> None:
    # the demo's simulated reviewer checks on the build's clock, which may come in any zone
    draw_month(built, OCT, rules=RULES, reporting_timezone=TZ)
    checked = datetime(2026, 11, 1, 3, tzinfo=ZoneInfo(TZ))
    import_verdicts(built, verdicts([(OCT, "b2", "fail")]), import_id="f1", at=utc(2026, 12, 5), checked_at=checked)
    import_verdicts(built, verdicts([(OCT, "b1", "pass")]), import_id="f2", at=utc(2026, 12, 6))
    rows = built.sql("select case_id, checked_at, imported_at from raw.qa_verdicts order by case_id").fetchall()
    assert rows == [("b1", utc(2026, 12, 6), utc(2026, 12, 6)), ("b2", utc(2026, 11, 1), utc(2026, 12, 5))]
    given(built, "staging.stg_crm__case_events", case_events(("b2", "closed", utc(2026, 11, 20))))
    qa = {r["case_id"]: r for r in run_model(built, "core", "fct_qa_checks").to_dicts()}
    assert (qa["b2"]["reclosed_at"], qa["b2"]["is_rework_open"]) == (utc(2026, 11, 20), False)  # closed after 1 Nov


def test_a_verdict_file_is_imported_once_and_named_by_its_bytes(built: duckdb.DuckDBPyConnection, tmp_path) -> None:
    from transforms.qa import VerdictFileError

    draw_month(built, OCT, rules=RULES, reporting_timezone=TZ)
    path = tmp_path / "october.csv"
    path.write_text("case_id,verdict,clarity_score\nb1,pass,5\nb2,fail,2\n", encoding="utf-8")
    assert import_verdict_file(built, path, rules=RULES, at=utc(2026, 11, 3)) == {
        "new": 2,
        "changed": 0,
        "unchanged": 0,
    }
    assert import_verdict_file(built, path, rules=RULES, at=utc(2026, 11, 4)) == {
        "new": 0,
        "changed": 0,
        "unchanged": 2,
    }
    assert {r[0] for r in built.sql("select import_id from raw.qa_verdicts").fetchall()} == {
        f"october.csv:{hashlib.sha256(path.read_bytes()).hexdigest()[:16]}"
    }
    path.write_text("case_id,verdict,clarity_score\nb1,pass,7\n", encoding="utf-8")
    with pytest.raises(VerdictFileError, match=r"october\.csv: row 2: bad clarity_score '7'"):
        import_verdict_file(built, path, rules=RULES, at=utc(2026, 11, 5))
    assert built.sql("select count(*) from raw.qa_verdicts").fetchone() == (2,)


def test_the_months_left_to_sample_are_over_and_not_drawn_yet(built: duckdb.DuckDBPyConnection) -> None:
    # October's cases close in October and, b3, at 00:30 on 1 November in Moscow. October is over at
    # 00:00 on 1 November in Moscow (21:00 UTC on 31 October); November at 21:00 UTC on 30 November.
    assert months_without_sample(built, before=utc(2026, 10, 31, 20), reporting_timezone=TZ) == []
    assert months_without_sample(built, before=utc(2026, 10, 31, 21), reporting_timezone=TZ) == [OCT]
    draw_month(built, OCT, rules=RULES, reporting_timezone=TZ)
    assert months_without_sample(built, before=utc(2026, 11, 30, 20), reporting_timezone=TZ) == []
    assert months_without_sample(built, before=utc(2026, 12, 2), reporting_timezone=TZ) == [NOV]
