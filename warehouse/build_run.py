"""One build as a run: the warehouse held from the first read of its inputs to its ledger entry.

``run_build`` opens the run in audit.runs, records the batches it reads, builds and checks every
layer through ``layer_step`` (the flow passes its Prefect task; a script or a test the plain
function) and closes the run, all while holding the warehouse (``hold_warehouse``): an ingest that
starts meanwhile waits instead of landing a batch between two layers, which the build would read in
one layer and not in another, nor record as its input. A completed build publishes the readers' copy and,
on a DuckLake, deletes the data files a killed writer left (``warehouse.lake.delete_orphaned_files``).

A partial build (``partial_build_base``, then ``flows.build_warehouse.rebuild_downstream``) rebuilds
only the models that read what people entered since the last build (a QA sample and its verdicts),
or a table that changed because of it, on that build's clock and configuration. It is a
build-warehouse run like any other: it records its input batches (the last build's, or it is
refused) and its configuration, fingerprints the tables it rebuilt, and `otklik replay` of it
rebuilds everything from its inputs and compares those tables.
"""

import logging
from collections.abc import Callable, Collection
from dataclasses import dataclass
from datetime import datetime

import duckdb

from warehouse import lake
from warehouse.build import CHECKED_LAYERS, finish_build
from warehouse.connection import connect, hold_warehouse
from warehouse.faults import pause_point
from warehouse.reader_copy import publish_reader_copy
from warehouse.runs import (
    HUMAN_INPUTS,
    batches_not_read_by,
    code_version,
    finish_run,
    new_run_id,
    record_inputs,
    run_config_texts,
    start_run,
)

log = logging.getLogger(__name__)

# (layer, run_id) → row counts by table: build and check one layer on a connection of its own
LayerStep = Callable[[str, str], dict[str, int]]


def run_build(
    layers: tuple[str, ...],
    layer_step: LayerStep,
    *,
    as_of: datetime,
    parameters: dict,
    run_id: str | None = None,
    configs: dict[str, str | None] | None = None,
    publish_readers: bool = True,
) -> tuple[str, dict[str, int]]:
    """Build ``layers`` in order as one run; return its id and the row counts it built.

    ``publish_readers`` False leaves the readers' copy as it was: for a caller that builds again right
    after (the demo's sample checks) and publishes once at its end.

    ``configs`` ({file: text}) is the configuration the run records (default: the files on disk); a
    partial build records its base build's. A failed layer (a critical check, a bug) closes the run as
    failed with its message and re-raises.
    """
    run_id = run_id or new_run_id()
    built: dict[str, int] = {}
    with hold_warehouse(f"build-warehouse run {run_id}"):
        with connect() as con:
            start_run(con, run_id, "build-warehouse", parameters, as_of=as_of, configs=configs)
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
            if tuple(layers) == CHECKED_LAYERS:  # a whole build: the next may add to it
                finish_build(con)
            finish_run(con, run_id, "completed")
            # Readers (the review, BI tools, notebooks) read this copy and never wait for a writer.
            if publish_readers:
                publish_reader_copy(con)
            removed = lake.delete_orphaned_files(con)  # a killed writer's files, on a lake (warehouse/lake.py)
            if removed:
                log.warning("deleted %d lake data file(s) that no snapshot references: %s", len(removed), removed)
    return run_id, built


class PartialBuildRefused(RuntimeError):
    """A partial build cannot stand on the last build; the message says why (a full build then)."""


@dataclass(frozen=True)
class BuildBase:
    """The last completed build, whose tables a partial build keeps and whose clock and configuration it uses."""

    run_id: str
    as_of: datetime
    started_at: datetime
    configs: dict[str, str | None]

    def parameters(self, changed: Collection[str]) -> dict:
        return {"as_of": self.as_of.isoformat(), "partial": {"base_run": self.run_id, "changed": sorted(changed)}}


def partial_build_base(con: duckdb.DuckDBPyConnection, changed: Collection[str]) -> BuildBase:
    """The build a partial build after ``changed`` (what people entered: ``HUMAN_INPUTS``) may complete.

    Call it before changing ``changed``, and hold the warehouse from then to the end of the partial
    build. Refused (``PartialBuildRefused``) when the last build did not complete, ran other code, or
    anything but ``changed`` may have moved since it started: a batch it did not read, or another
    table of ``HUMAN_INPUTS`` entered or superseded since.
    """
    unknown = sorted(set(changed) - set(HUMAN_INPUTS))
    if unknown:
        raise ValueError(f"a partial build follows what people entered ({', '.join(HUMAN_INPUTS)}), not {unknown}")
    row = con.execute(
        "select run_id, state, as_of, started_at, code_version, config_hashes from audit.runs"
        " where flow = 'build-warehouse' order by started_at desc limit 1"
    ).fetchone()
    if row is None:
        raise PartialBuildRefused("the warehouse was never built")
    run_id, state, as_of, started_at, version, hashes = row
    if state != "completed":
        raise PartialBuildRefused(f"the last build {run_id} ended '{state}'")
    if as_of is None or not hashes:
        raise PartialBuildRefused(f"the last build {run_id} recorded no clock or configuration")
    if version != code_version():
        raise PartialBuildRefused(f"the code changed since the last build {run_id} ({version} → {code_version()})")
    unread = batches_not_read_by(con, run_id)
    if unread:
        raise PartialBuildRefused(f"{unread} batch(es) landed since the last build {run_id}")
    for table, entered_at in HUMAN_INPUTS.items():
        if table in changed:
            continue
        moved = f"{entered_at} > $at" + (" or superseded_at > $at" if table == "raw.qa_verdicts" else "")
        count = con.execute(f"select count(*) from {table} where {moved}", {"at": started_at}).fetchone()[0]
        if count:
            raise PartialBuildRefused(f"{count} row(s) of {table} entered since the last build {run_id}")
    return BuildBase(run_id, as_of, started_at, run_config_texts(con, run_id))
