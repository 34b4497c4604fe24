"""Rebuild staging → core → marts, validating each layer before the next one reads it.

A failed critical expectation stops the build: the layers downstream are not rebuilt (they
keep their last good state) and the flow run fails with the expectation's message.
"""

from prefect import flow, task

from expectations import validate_layer
from flows._tasks import build_context, parse_as_of
from flows.settings import reports_dir
from transforms.dag import LAYERS
from warehouse import connect
from warehouse.build import build_layer
from warehouse.runs import finish_run, new_run_id, record_fingerprints, start_run


@task(name="build-layer")
def build_layer_task(layer: str, as_of_iso: str, run_id: str) -> dict[str, int]:
    ctx = build_context(parse_as_of(as_of_iso))
    with connect() as con:
        built = build_layer(con, layer, ctx)
        record_fingerprints(con, run_id, list(built))
    return built


@task(name="check-layer")
def check_layer_task(layer: str, as_of_iso: str, run_id: str) -> int:
    """Validate a layer's tables; raises DataQualityError on a failed critical expectation."""
    with connect() as con:
        report = validate_layer(
            con, layer, run_id=run_id, as_of=parse_as_of(as_of_iso), docs_dir=reports_dir() / "data_docs"
        )
    return len(report.results)


@flow(name="build-warehouse")
def build_warehouse(as_of: str | None = None) -> dict[str, int]:
    """Build every layer; ``as_of`` (ISO, default now) is the clock open SLAs are judged against."""
    as_of_iso = parse_as_of(as_of).isoformat()
    run_id = new_run_id()
    with connect() as con:
        start_run(con, run_id, "build-warehouse", {"as_of": as_of}, as_of=parse_as_of(as_of_iso))
    built: dict[str, int] = {}
    try:
        for layer in LAYERS:
            built.update(build_layer_task(layer, as_of_iso, run_id))
            check_layer_task(layer, as_of_iso, run_id)
    except Exception as exc:
        with connect() as con:
            finish_run(con, run_id, "failed", str(exc)[:2000])
        raise
    with connect() as con:
        finish_run(con, run_id, "completed")
    return built
