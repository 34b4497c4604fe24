"""The demo's sample checks: the head's monthly QA sample, checked by a simulated reviewer.

After a build, every month of closed cases that is over (by the build's clock) and has no drawn
sample yet gets one, oldest month first, as ``otklik qa sample`` draws it (``warehouse.qa.draw_month``;
a month's owner history needs the months before it checked). The simulated reviewer
(otklik/sample/qa_reviewer.py) fills in the verdicts, which are written as a verdict file beside the
reports (``qa-verdicts-<month>-simulated.csv``) and imported as ``otklik qa import`` imports a file
(``warehouse.qa.import_verdict_file``), except that the verdicts are dated the clock the months were
drawn by (``checked_at``), not the import's wall-clock time: the reviewer is simulated on the demo's
timeline, and two demos on the same inputs and clock then agree on every QA figure and time. No
sample workbook is written (about 0.4 s a month); ``otklik qa sample --month M`` re-exports a drawn month.

Then only what reads the samples and verdicts is rebuilt and checked (``rebuild_downstream``:
core.fct_cases, core.fct_qa_checks and the tables that change with them, never staging), in one
build-warehouse run on the last build's clock and configuration, all while the warehouse is held:
the sample, the verdicts and that run cannot interleave with an ingest or another build, and
`otklik replay` of the run rebuilds it from its recorded inputs. When a partial build is not possible
(warehouse/build_run.py says why), the whole warehouse is rebuilt instead.

A month that has a sample is never touched again, so a second run on the same inputs draws nothing,
imports nothing and builds nothing.
"""

from datetime import UTC, datetime

from prefect import flow, get_run_logger

from flows._tasks import parse_as_of
from flows.build_warehouse import build_warehouse, rebuild_downstream
from flows.settings import reports_dir
from otklik.sample.qa_reviewer import VERDICT_FILE_COLUMNS, review_sample, reviewers_from_org
from transforms.org import load_org
from transforms.qa import load_sampling_rules
from warehouse import connect
from warehouse.build_run import PartialBuildRefused, partial_build_base
from warehouse.connection import hold_warehouse
from warehouse.qa import draw_month, import_verdict_file, months_without_sample, sample_case_facts

QA_INPUTS = ("raw.qa_samples", "raw.qa_verdicts")


@flow(name="sample-checks")
def simulate_sample_checks(as_of: str | None = None) -> dict:
    """Draw and (simulated) check every finished month without a sample; bring the QA tables up to date.

    ``as_of`` is the clock a month must be over by when no build can serve as the base (normally the
    last build's clock is used). Returns the months drawn, the verdict counts of each import and the
    row counts of the tables rebuilt.
    """
    log = get_run_logger()
    rules, org = load_sampling_rules(), load_org()
    timezone = org.company.reporting_timezone
    reviewers = reviewers_from_org(org)
    imported: dict[str, dict[str, int]] = {}
    with hold_warehouse("sample-checks"):
        with connect() as con:
            try:
                base, refused = partial_build_base(con, QA_INPUTS), None
            except PartialBuildRefused as error:
                base, refused = None, str(error)
            clock = base.as_of if base is not None else parse_as_of(as_of)
            for month in months_without_sample(con, before=clock, reporting_timezone=timezone):
                draw_month(con, month, rules=rules, reporting_timezone=timezone)
                verdicts = review_sample(sample_case_facts(con, month), reviewers=reviewers)
                path = reports_dir() / f"qa-verdicts-{month:%Y-%m}-simulated.csv"
                path.parent.mkdir(parents=True, exist_ok=True)
                verdicts.select(VERDICT_FILE_COLUMNS).write_csv(path)
                imported[f"{month:%Y-%m}"] = import_verdict_file(
                    con, path, rules=rules, at=datetime.now(UTC), checked_at=clock
                )
        if not imported:
            return {"months": [], "verdicts": {}, "build": {}, "partial": None}
        log.info("sample checks of %d month(s) imported: %s", len(imported), ", ".join(imported))
        if base is not None:
            built = rebuild_downstream(QA_INPUTS, base)
        else:
            log.warning("the whole warehouse is rebuilt: %s", refused)
            built = build_warehouse(as_of=clock.isoformat())
    return {"months": list(imported), "verdicts": imported, "build": built, "partial": base is not None}
