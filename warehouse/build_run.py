"""One build as a run: the warehouse held from the first read of its inputs to its ledger entry.

``run_build`` opens the run in audit.runs, records the batches it reads, builds and checks every
layer through ``layer_step`` (the flow passes its Prefect task; a script or a test the plain
function) and closes the run, all while holding the warehouse (``hold_warehouse``): an ingest that
starts meanwhile waits instead of landing a batch between two layers, which the build would read in
one layer and not in another, nor record as its input. A completed build publishes the readers' copy.
"""

from collections.abc import Callable
from datetime import datetime

from warehouse.connection import connect, hold_warehouse
from warehouse.faults import pause_point
from warehouse.reader_copy import publish_reader_copy
from warehouse.runs import finish_run, new_run_id, record_inputs, start_run

# (layer, run_id) → row counts by table: build and check one layer on a connection of its own
LayerStep = Callable[[str, str], dict[str, int]]


def run_build(
    layers: tuple[str, ...], layer_step: LayerStep, *, as_of: datetime, parameters: dict, run_id: str | None = None
) -> tuple[str, dict[str, int]]:
    """Build ``layers`` in order as one run; return its id and the row counts it built.

    A failed layer (a critical check, a bug) closes the run as failed with its message and re-raises.
    """
    run_id = run_id or new_run_id()
    built: dict[str, int] = {}
    with hold_warehouse(f"build-warehouse run {run_id}"):
        with connect() as con:
            start_run(con, run_id, "build-warehouse", parameters, as_of=as_of)
            record_inputs(con, run_id)  # the exact batches this build reads, for `otklik replay`
        try:
            for layer in layers:
                built.update(layer_step(layer, run_id))
                pause_point(f"after_layer:{layer}")
        except Exception as exc:
            with connect() as con:
                finish_run(con, run_id, "failed", str(exc)[:4000])
            raise
        with connect() as con:
            finish_run(con, run_id, "completed")
            # Readers (the review, BI tools, notebooks) read this copy and never wait for a writer.
            publish_reader_copy(con)
    return run_id, built
