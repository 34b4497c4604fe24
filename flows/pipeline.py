"""The main job: ingest every channel, build and check the warehouse, write the month's review.

``sample_checks`` (the demo) also draws the head's QA sample of every finished month that has none and
lets a simulated reviewer check it, then rebuilds what reads the checks before the review is written
(flows/sample_checks.py). Production leaves it off: there the head draws and reviewers check.
"""

from prefect import flow

from expectations import prepare
from flows.build_warehouse import build_warehouse
from flows.ingest import ingest_channels
from flows.review import monthly_review
from flows.sample_checks import simulate_sample_checks
from warehouse.connection import connect, hold_warehouse
from warehouse.reader_copy import publish_reader_copy


def _publish_readers() -> None:
    with hold_warehouse("otklik-pipeline readers' copy"), connect() as con:
        publish_reader_copy(con)


@flow(name="otklik-pipeline")
def otklik_pipeline(
    month: str, as_of: str | None = None, landing: str | None = None, sample_checks: bool = False
) -> dict:
    prepare()  # Great Expectations imported on a thread while the channels are ingested (expectations/preload.py)
    ingested = ingest_channels(landing=landing)
    # with sample checks a second (partial) build follows: the readers' copy is written once, after it
    built = build_warehouse(as_of=as_of, publish_readers=not sample_checks)
    result: dict = {"ingest": ingested}
    if sample_checks:
        checks = None
        try:
            checks = simulate_sample_checks(as_of=as_of)
        finally:
            if checks is None or not checks["build"]:  # no build after ours: publish what ours built
                _publish_readers()
        built = {**built, **checks["build"]}  # the tables as the review reads them
        result["sample_checks"] = checks
    result |= {"build": built, "review": monthly_review(month)}
    return result
