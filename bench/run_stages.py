"""Run the pipeline in one process, stage by stage, and write how long each stage took as JSON.

    .venv/bin/python bench/run_stages.py --warehouse W.duckdb --landing L [L ...] --archive A \
        --reports R --as-of 2026-11-01T00:00:00+00:00 [--month 2026-10] --json out.json \
        [--statements out.tsv]

The same functions the flows call (warehouse.ingest, warehouse.build, expectations, warehouse.publish,
transforms.review), in the same order, without Prefect's task machinery (its start-up and per-task
cost is measured by ``otklik demo``, not here). bench/bench_pipeline.py runs this script under
``/usr/bin/time -v`` for the wall time and peak RSS of the whole run.

Stages: ingest (landing → raw), normalize (staging: raw payloads → typed rows, config tables),
classify (core.int_feedback_predictions and core.int_feedback_classified), sla (the SLA clock
models), core (every other core model), marts, checks (Great Expectations suites and SQL checks of
every layer, with Data Docs), audit (run ledger, table fingerprints, the readers' copy), review
(freeze the month's figures, write the HTML, the drill-down page and the XLSX).
"""

import argparse
import json
import resource
import time
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path

CLASSIFY_MODELS = {"core.int_feedback_predictions", "core.int_feedback_classified"}
SLA_MODELS = {
    "core.int_sla_calendar_intervals",
    "core.int_sla_clocks",
    "core.int_sla_clock_marks",
    "core.fct_case_sla",
    "core.fct_sla_events",
}


def stage_of(table: str) -> str:
    """The benchmark stage a built model's time is counted in."""
    layer = table.split(".", 1)[0]
    if layer == "staging":
        return "normalize"
    if table in CLASSIFY_MODELS:
        return "classify"
    if table in SLA_MODELS:
        return "sla"
    return layer  # core, marts


def peak_rss_mib() -> int:
    """This process's peak resident set so far (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024


class Stopwatch:
    """Seconds per stage and per model, and the peak RSS when each stage first raised it."""

    def __init__(self) -> None:
        self.stages: dict[str, float] = defaultdict(float)
        self.parts: dict[str, float] = defaultdict(float)  # "stage.part" -> seconds, where a stage is split
        self.models: dict[str, float] = {}
        self.peak_raised_by: dict[str, int] = {}  # stage -> peak RSS (MiB) after it, where it grew
        self._peak = peak_rss_mib()

    def _note_peak(self, stage: str) -> None:
        peak = peak_rss_mib()
        if peak > self._peak:
            self.peak_raised_by[stage] = max(peak, self.peak_raised_by.get(stage, 0))
            self._peak = peak

    def model(self, table: str, seconds: float) -> None:
        self.models[table] = round(seconds, 3)
        self.stages[stage_of(table)] += seconds
        self._note_peak(stage_of(table))

    @contextmanager
    def timed(self, stage: str, part: str | None = None) -> Iterator[None]:
        started = time.perf_counter()
        try:
            yield
        finally:
            seconds = time.perf_counter() - started
            self.stages[stage] += seconds
            if part:
                self.parts[f"{stage}.{part}"] += seconds
            self._note_peak(stage)


def run(args: argparse.Namespace) -> dict:
    from expectations import prepare, validate_layer
    from flows._tasks import build_context
    from transforms.channels import load_channels
    from transforms.org import load_org
    from transforms.review.config import load_review_settings
    from transforms.review.periods import month_period
    from transforms.review.publishing import write_review_files
    from transforms.review.sources import monthly_tables
    from warehouse import connect
    from warehouse.build import CHECKED_LAYERS, build_layer, finish_build, tables_to_check
    from warehouse.ingest import ingest_landing
    from warehouse.publish import publish_review
    from warehouse.reader_copy import publish_reader_copy
    from warehouse.runs import (
        assert_publishable,
        finish_run,
        new_run_id,
        record_fingerprints,
        record_inputs,
        start_run,
    )

    prepare()  # Great Expectations imported on a thread while ingest runs (expectations/preload.py)
    watch = Stopwatch()
    as_of = datetime.fromisoformat(args.as_of)
    channels = load_channels()
    counts: dict[str, int] = {}
    started = time.perf_counter()
    with connect(args.warehouse) as con:
        with watch.timed("ingest"):
            run_id = new_run_id()
            start_run(con, run_id, "ingest-channels", {"landing": [str(p) for p in args.landing]})
            for landing in args.landing:
                ingest_landing(con, landing, channels, archive_dir=args.archive, run_id=run_id)
            finish_run(con, run_id, "completed")
        counts["raw_payloads"] = con.execute("select count(*) from raw.channel_payloads").fetchone()[0]
        if not args.no_build:
            ctx = build_context(as_of)
            with watch.timed("audit", "start_run"):
                build_id = new_run_id()
                start_run(con, build_id, "build-warehouse", {"as_of": args.as_of}, as_of=as_of)
            with watch.timed("audit", "record_inputs"):
                record_inputs(con, build_id)
            for layer in CHECKED_LAYERS:
                built = {} if layer == "raw" else build_layer(con, layer, ctx, timer=watch.model)
                with watch.timed("audit", "fingerprints"):
                    record_fingerprints(con, build_id, list(built))
                with watch.timed("checks", layer):
                    tables = tables_to_check(con, layer, built)  # the flow's choice (warehouse/build.py)
                    docs = args.reports / "data_docs" if tables is None else None
                    validate_layer(con, layer, run_id=build_id, as_of=as_of, docs_dir=docs, tables=tables)
            with watch.timed("audit", "finish"):
                finish_build(con)
                finish_run(con, build_id, "completed")
            with watch.timed("audit", "reader_copy"):
                publish_reader_copy(con, args.warehouse)
            counts["feedback_items"] = con.execute("select count(*) from core.fct_feedback").fetchone()[0]
            counts["case_sla_rows"] = con.execute("select count(*) from core.fct_case_sla").fetchone()[0]
        if args.month and not args.no_build:
            org, settings = load_org(), load_review_settings()
            period = month_period(args.month)
            with watch.timed("review"):
                tables = monthly_tables(con, period, settings)
                snapshot = publish_review(
                    con,
                    period,
                    tables,
                    build_run_id=assert_publishable(con),
                    reporting_timezone=org.company.reporting_timezone,
                    reason=None,
                )
                write_review_files(snapshot, args.reports, company_name=org.company.name, settings=settings)
    return {
        "seconds": round(time.perf_counter() - started, 3),
        "stages": {k: round(v, 3) for k, v in watch.stages.items()},
        "parts": {k: round(v, 3) for k, v in watch.parts.items()},
        "models": watch.models,
        "peak_rss_mib_raised_by": watch.peak_raised_by,
        "counts": counts,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--warehouse", type=Path, required=True)
    parser.add_argument("--landing", type=Path, nargs="+", required=True, help="landing folders, ingested in order")
    parser.add_argument("--archive", type=Path, required=True)
    parser.add_argument("--reports", type=Path, required=True)
    parser.add_argument("--as-of", required=True, help="ISO time with zone; the build's clock")
    parser.add_argument("--month", help="publish and write the review of this month (YYYY-MM)")
    parser.add_argument("--no-build", action="store_true", help="ingest only")
    parser.add_argument("--json", type=Path, required=True, help="write the timings here")
    parser.add_argument(
        "--statements", type=Path, help="also log every SQL statement, timed, with its caller (bench/statements.py)"
    )
    args = parser.parse_args()
    if args.statements is None:
        result = run(args)
    else:
        from statements import record_statements  # bench/statements.py, beside this script

        with record_statements(args.statements):
            result = run(args)
    args.json.write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
