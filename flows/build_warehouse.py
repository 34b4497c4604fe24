"""Rebuild staging → core → marts, validating each layer (raw first) before the next one reads it.

A failed critical expectation stops the build: the layers downstream are not rebuilt (they keep
their last good state), the run is recorded as failed with the expectation's message, the flow
run fails, and the monthly review refuses to publish until a build passes (flows/review.py).
A completed build replaces the readers' copy (warehouse/reader_copy.py) that readers open instead
of the live file.

The build holds the warehouse from its first read to its last write (``hold_warehouse``): an ingest
that starts meanwhile waits, so the batches the build records as its inputs are exactly those every
layer read, and `otklik replay` of it gives the same tables.

``rebuild_downstream`` is a partial build: after people entered something the build reads (a QA
sample and its verdicts), only the models that read it, or read a table that changed because of it,
are rebuilt and checked, on the last build's clock and configuration (``warehouse.build.rebuild_layer``;
warehouse/build_run.py says when a partial build is allowed).
"""

from collections.abc import Collection

from prefect import flow, task

from expectations import prepare
from flows._tasks import build_context, parse_as_of
from flows.settings import pii_key, reports_dir
from transforms.dag import downstream
from warehouse import connect
from warehouse.build import CHECKED_LAYERS, build_and_check_layer, rebuild_and_check_layer
from warehouse.build_run import BuildBase, run_build


@task(name="build-and-check-layer", task_run_name="{layer}")
def build_and_check_task(layer: str, as_of_iso: str, run_id: str) -> dict[str, int]:
    ctx = build_context(parse_as_of(as_of_iso))
    with connect() as con:
        return build_and_check_layer(con, layer, ctx, run_id=run_id, docs_dir=reports_dir() / "data_docs")


@flow(name="build-warehouse")
def build_warehouse(as_of: str | None = None, publish_readers: bool = True) -> dict[str, int]:
    """Build every layer; ``as_of`` (ISO, default now) is the clock open SLAs are judged against.
    ``publish_readers`` False leaves the readers' copy for the caller to publish (the pipeline does,
    after the demo's sample checks, so that the copy is written once)."""
    prepare()  # Great Expectations imported on a thread while the build starts (expectations/preload.py)
    as_of_time = parse_as_of(as_of)
    _, built = run_build(
        CHECKED_LAYERS,
        lambda layer, run_id: build_and_check_task(layer, as_of_time.isoformat(), run_id),
        as_of=as_of_time,
        parameters={"as_of": as_of},
        publish_readers=publish_readers,
    )
    return built


@task(name="rebuild-and-check-layer", task_run_name="{layer} (partial)")
def rebuild_and_check_task(layer: str, run_id: str, changed: list[str]) -> tuple[dict[str, int], list[str]]:
    """One layer of a partial build, on the clock and configuration its run recorded: the row counts it
    rebuilt and the tables changed so far.

    No Data Docs: they would show these tables' checks as the whole layer's (the last full build's stay).
    """
    from warehouse.replay import context_from_configs
    from warehouse.runs import run_config_texts

    with connect() as con:
        as_of = con.execute("select as_of from audit.runs where run_id = ?", [run_id]).fetchone()[0]
        ctx = context_from_configs(run_config_texts(con, run_id), as_of, pii_key())
        built, now_changed = rebuild_and_check_layer(con, layer, ctx, run_id=run_id, changed=changed)
    return built, sorted(now_changed)


def rebuild_downstream(changed: Collection[str], base: BuildBase) -> dict[str, int]:
    """Rebuild and check what reads ``changed`` (and has changed in turn) as one build-warehouse run on
    ``base``'s clock and configuration. The caller holds the warehouse from ``partial_build_base`` to
    here. Returns the row counts rebuilt.
    """
    layers = tuple(layer for layer, models in downstream(changed).items() if models)
    so_far = sorted(changed)

    def step(layer: str, run_id: str) -> dict[str, int]:
        nonlocal so_far
        built, so_far = rebuild_and_check_task(layer, run_id, so_far)
        return built

    _, built = run_build(layers, step, as_of=base.as_of, parameters=base.parameters(changed), configs=base.configs)
    return built
