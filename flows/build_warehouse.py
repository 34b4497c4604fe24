"""Rebuild staging → core → marts, validating each layer (raw first) before the next one reads it.

A failed critical expectation stops the build: the layers downstream are not rebuilt (they keep
their last good state), the run is recorded as failed with the expectation's message, the flow
run fails, and the monthly review refuses to publish until a build passes (flows/review.py).
A completed build replaces the readers' copy (warehouse/reader_copy.py) that readers open instead
of the live file.

The build holds the warehouse from its first read to its last write (``hold_warehouse``): an ingest
that starts meanwhile waits, so the batches the build records as its inputs are exactly those every
layer read, and `otklik replay` of it gives the same tables.
"""

from prefect import flow, task

from flows._tasks import build_context, parse_as_of
from flows.settings import reports_dir
from warehouse import connect
from warehouse.build import CHECKED_LAYERS, build_and_check_layer
from warehouse.build_run import run_build


@task(name="build-and-check-layer", task_run_name="{layer}")
def build_and_check_task(layer: str, as_of_iso: str, run_id: str) -> dict[str, int]:
    ctx = build_context(parse_as_of(as_of_iso))
    with connect() as con:
        return build_and_check_layer(con, layer, ctx, run_id=run_id, docs_dir=reports_dir() / "data_docs")


@flow(name="build-warehouse")
def build_warehouse(as_of: str | None = None) -> dict[str, int]:
    """Build every layer; ``as_of`` (ISO, default now) is the clock open SLAs are judged against."""
    as_of_time = parse_as_of(as_of)
    _, built = run_build(
        CHECKED_LAYERS,
        lambda layer, run_id: build_and_check_task(layer, as_of_time.isoformat(), run_id),
        as_of=as_of_time,
        parameters={"as_of": as_of},
    )
    return built
