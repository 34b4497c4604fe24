"""Materialize models layer by layer: ``create or replace table <layer>.<name> as ...``."""

import time
from collections.abc import Callable
from pathlib import Path

import duckdb
import polars as pl

from expectations.validate import table_exists
from transforms.dag import BUILD_ORDER, BuildContext, ConfigModel, PythonModel, SqlModel, StagedEntity
from warehouse.sql_models import materialize_sql, set_build_variables
from warehouse.staging import build_staged_entity


def write_frame(con: duckdb.DuckDBPyConnection, table: str, frame: pl.DataFrame) -> int:
    """Replace ``table`` with exactly ``frame`` (an empty frame keeps its columns and types)."""
    con.register("_frame", frame)
    try:
        con.execute(f"create or replace table {table} as select * from _frame")
    finally:
        con.unregister("_frame")
    return frame.height


def fingerprint(con: duckdb.DuckDBPyConnection, table: str) -> tuple[int, str]:
    """Row count and an order-independent content hash of every row (sum of row hashes mod 2^64)."""
    count, digest = con.execute(
        f"select count(*), coalesce(sum(hash(t)::hugeint) % 18446744073709551616, 0)::varchar from {table} as t"
    ).fetchone()
    return count, f"{int(digest):016x}"


# Called with (qualified model name, seconds) after each model is built: benchmarks and profiling.
ModelTimer = Callable[[str, float], None]


def build_layer(
    con: duckdb.DuckDBPyConnection, layer: str, ctx: BuildContext, *, timer: ModelTimer | None = None
) -> dict[str, int]:
    """Build every model of ``layer`` in order; return row counts by qualified table name."""
    set_build_variables(con, as_of=ctx.as_of, reporting_timezone=ctx.reporting_timezone)
    built: dict[str, int] = {}
    for model in BUILD_ORDER[layer]:
        table = f"{layer}.{model.name}"
        started = time.perf_counter()
        if isinstance(model, ConfigModel):
            built[table] = write_frame(con, table, model.frame(ctx))
        elif isinstance(model, StagedEntity):
            built.update(build_staged_entity(con, model, ctx))
        elif isinstance(model, SqlModel):
            built[table] = materialize_sql(con, layer, model.name)
        elif isinstance(model, PythonModel):
            inputs = {name: con.sql(f"select * from {name}").pl().lazy() for name in model.inputs}
            if model.reads_previous:
                inputs[table] = con.sql(f"select * from {table}").pl().lazy() if table_exists(con, table) else None
            built[table] = write_frame(con, table, model.fn(inputs, ctx).collect())
        if timer is not None:
            timer(table, time.perf_counter() - started)
    return built


# The order in which layers are built and checked. Raw is never built here (ingest writes it), only
# checked, so that a bad batch stops the build before staging reads it.
CHECKED_LAYERS = ("raw", *BUILD_ORDER)


def build_and_check_layer(
    con: duckdb.DuckDBPyConnection,
    layer: str,
    ctx: BuildContext,
    *,
    run_id: str | None,
    docs_dir: Path | None = None,
) -> dict[str, int]:
    """Build ``layer`` (unless it is raw), fingerprint what was built, then validate the layer.

    Raises ``expectations.DataQualityError`` when a critical expectation fails, after the results
    are recorded in audit.validation_results: the caller then stops, and the layers downstream keep
    their last good state (they are neither rebuilt nor published).
    """
    from expectations import validate_layer
    from warehouse.runs import record_fingerprints

    built = {} if layer == "raw" else build_layer(con, layer, ctx)
    if run_id is not None:
        record_fingerprints(con, run_id, list(built))
    validate_layer(con, layer, run_id=run_id, as_of=ctx.as_of, docs_dir=docs_dir)
    return built


def build_all(
    con: duckdb.DuckDBPyConnection, ctx: BuildContext, *, run_id: str | None, docs_dir: Path | None = None
) -> dict[str, int]:
    """Every layer in order, each checked before the next reads it (the flow does the same per task)."""
    built: dict[str, int] = {}
    for layer in CHECKED_LAYERS:
        built.update(build_and_check_layer(con, layer, ctx, run_id=run_id, docs_dir=docs_dir))
    return built
