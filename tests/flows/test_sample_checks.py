"""The demo's sample checks in the main job: drawn, checked, rebuilt in part, replayable, and done once."""

from datetime import datetime
from pathlib import Path

import duckdb

from flows.pipeline import otklik_pipeline
from warehouse import connect
from warehouse.replay import replay_run

AS_OF = "2026-11-01T00:00:00+00:00"
KEY = b"test-key-not-a-secret-0123456789"


def _state(path: Path) -> dict:
    with duckdb.connect(str(path), read_only=True) as con:
        one = lambda sql: con.execute(sql).fetchall()  # noqa: E731
        return {
            "samples": one("select * from raw.qa_samples order by case_id"),
            "verdicts": one("select * from raw.qa_verdicts order by case_id, imported_at"),
            "builds": one(
                "select run_id, state, parameters->>'$.partial.base_run' from audit.runs"
                " where flow = 'build-warehouse' order by started_at"
            ),
            # each table as the latest build that built it left it
            "tables": dict(
                one(
                    "select table_name, arg_max(row_count || ':' || content_hash, built_at)"
                    " from audit.table_fingerprints group by all"
                )
            ),
            "qa_company": one(
                "select sampled_count, checked_count, failed_count, rework_open_count, clarity_scored_count,"
                " clarity_score_avg from marts.qa_results_monthly where directorate_id = 'all'"
            ),
        }


def test_sample_checks_fill_the_qa_mart_before_the_review_and_a_rerun_changes_nothing(workspace: Path) -> None:
    landing = str(workspace / "landing")
    first = otklik_pipeline(month="2026-10", as_of=AS_OF, landing=landing, sample_checks=True)
    checks = first["sample_checks"]
    assert checks["months"] == ["2026-10"] and checks["partial"] is True
    assert checks["verdicts"]["2026-10"]["new"] > 0
    assert (workspace / "reports" / "qa-verdicts-2026-10-simulated.csv").is_file()
    assert first["build"]["marts.qa_results_monthly"] > 0

    state = _state(workspace / "w.duckdb")
    (sampled, checked, failed, rework_open, scored, clarity), *_ = state["qa_company"]
    assert sampled == checked == len(state["samples"]) == len(state["verdicts"]) > 0
    assert rework_open <= failed and scored == checked and 1 <= clarity <= 5
    (full, _, _), (partial, partial_state, base) = state["builds"]
    assert (partial_state, base) == ("completed", full)
    with duckdb.connect(str(workspace / "w.duckdb"), read_only=True) as con:
        rebuilt = {
            r[0]
            for r in con.execute(
                "select table_name from audit.table_fingerprints where run_id = ?", [partial]
            ).fetchall()
        }
        checked_at = {r[0] for r in con.execute("select distinct checked_at from raw.qa_verdicts").fetchall()}
        review = con.execute(
            "select r.build_run_id, t.row_count from audit.published_reviews as r join audit.published_tables as t"
            " on t.review_id = r.review_id and t.table_name = 'marts.qa_results_monthly' where r.period = '2026-10'"
        ).fetchall()
    assert rebuilt == {"core.fct_case_controls", "core.fct_qa_checks", "marts.qa_results_monthly"}
    assert checked_at == {datetime.fromisoformat(AS_OF)}  # checked on the demo's clock, not when imported
    assert not any(t.startswith("staging.") for t in rebuilt)
    assert review and all(run == partial and rows > 0 for run, rows in review)  # the review froze the checks

    with connect(read_only=True) as con:  # the partial run replays from its recorded inputs
        replayed = replay_run(con, partial, pii_key=KEY, checks=False)
    assert replayed.identical, "\n".join(replayed.report_lines())
    assert replayed.tables == len(rebuilt)

    second = otklik_pipeline(month="2026-10", as_of=AS_OF, landing=landing, sample_checks=True)
    assert second["sample_checks"] == {"months": [], "verdicts": {}, "build": {}, "partial": None}
    again = _state(workspace / "w.duckdb")
    assert (again["samples"], again["verdicts"], again["qa_company"]) == (
        state["samples"],
        state["verdicts"],
        state["qa_company"],
    )
    assert len(again["builds"]) == 3 and again["builds"][2][2] is None  # one full build, no partial one
    assert again["tables"] == state["tables"], "the full rebuild on the same inputs changed a table"
