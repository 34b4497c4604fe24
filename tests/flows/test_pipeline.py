"""Smoke test: the main job as Prefect flows on the golden fixture, twice."""

from pathlib import Path

import duckdb

from flows.pipeline import otklik_pipeline

COUNTED = [
    "raw.batches",
    "raw.channel_payloads",
    "quarantine.files",
    "quarantine.staging_rejects",
    "core.fct_feedback",
    "core.fct_cases",
    "marts.management_monthly",
]


def _counts(path: Path) -> dict[str, int]:
    with duckdb.connect(str(path), read_only=True) as con:
        return {t: con.execute(f"select count(*) from {t}").fetchone()[0] for t in COUNTED}


def test_pipeline_runs_end_to_end_and_a_rerun_changes_no_count(workspace: Path) -> None:
    landing = str(workspace / "landing")
    as_of = "2026-11-01T00:00:00+00:00"
    first = otklik_pipeline(month="2026-10", as_of=as_of, landing=landing)
    assert Path(first["review"]).is_file()
    assert "Ежемесячный обзор" in Path(first["review"]).read_text(encoding="utf-8")
    counts = _counts(workspace / "w.duckdb")
    assert counts["core.fct_feedback"] > 0

    second = otklik_pipeline(month="2026-10", as_of=as_of, landing=landing)
    assert sum(second["ingest"]["loaded_files"].values()) == 0
    assert _counts(workspace / "w.duckdb") == counts
    with duckdb.connect(str(workspace / "w.duckdb"), read_only=True) as con:
        states = con.execute("select flow, state from audit.runs order by started_at").fetchall()
        fingerprints = con.execute(
            "select table_name, count(distinct content_hash) from audit.table_fingerprints"
            " where table_name like 'marts.%' group by all"
        ).fetchall()
    assert {s for _, s in states} == {"completed"}
    assert all(distinct == 1 for _, distinct in fingerprints), "a rebuild on the same inputs changed a mart"
