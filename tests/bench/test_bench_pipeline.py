"""A small run of bench/bench_pipeline.py and bench/report.py: the benchmark still works end to end.

The benchmarks themselves stay out of `make test` (BENCHMARKS.md); this checks the harness on 300
items so that a change to the pipeline that breaks it is seen here, not when somebody next measures.
"""

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
STAGES = {"ingest", "normalize", "classify", "checks", "sla", "core", "marts", "audit"}


def test_the_pipeline_benchmark_measures_every_stage_and_the_report_renders_it(tmp_path: Path) -> None:
    results = tmp_path / "results" / "pipeline-smoke.json"
    command = [sys.executable, str(ROOT / "bench" / "bench_pipeline.py"), "--items", "300", "--months", "2"]
    command += [
        "--incremental",
        "40",
        "--label",
        "smoke",
        "--workdir",
        str(tmp_path / "work"),
        "--results",
        str(results),
    ]
    subprocess.run(command, check=True, capture_output=True, text=True)

    measured = json.loads(results.read_text())
    full, incremental, floor = measured["full"], measured["incremental"], measured["floor"]
    assert STAGES | {"review"} <= set(full["stages"]) and set(incremental["stages"]) >= STAGES
    # 300 and 40 asked; the channels written on top of them (generate.ON_TOP_WRITERS) add a few each
    generated, added = measured["generated_items"], incremental["generated_items"]
    assert 300 <= generated < 330 and 40 <= added < 50
    assert (
        full["counts"]["feedback_items"] == generated and incremental["counts"]["feedback_items"] == generated + added
    )
    assert 0 < floor["seconds"] < full["wall_seconds"] and floor["files"] > 0 and floor["jsonl_records"] > 0
    assert full["peak_rss_bytes"] > 50 * 2**20 and full["models"]["core.int_feedback_classified"] > 0
    assert (tmp_path / "work" / "run-smoke" / "reports" / "monthly-review-2026-10.html").is_file()

    out = tmp_path / "BENCHMARKS.md"
    out.write_text("# hand-written\n<!-- results:start -->\nSTALE\n<!-- results:end -->\ntail\n")
    report = [sys.executable, str(ROOT / "bench" / "report.py"), "--results", str(results.parent), "--out", str(out)]
    subprocess.run(report, check=True, capture_output=True)
    text = out.read_text()
    assert text.startswith("# hand-written\n") and text.endswith("tail\n") and "STALE" not in text
    assert "| 300 | 2 |" in text and "| 300 | 40 |" in text
