"""Materialize models layer by layer: ``create or replace table <layer>.<name> as ...``."""

import time
from collections.abc import Callable, Collection
from pathlib import Path

import duckdb
import polars as pl

from expectations.validate import table_exists
from transforms.dag import (
    BUILD_ORDER,
    STAGED_FROM,
    BuildContext,
    ConfigModel,
    Model,
    PythonModel,
    SqlModel,
    StagedEntity,
    model_inputs,
)
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
        started = time.perf_counter()
        built.update(build_model(con, layer, model, ctx))
        if timer is not None:
            timer(f"{layer}.{model.name}", time.perf_counter() - started)
    return built


def build_model(con: duckdb.DuckDBPyConnection, layer: str, model: Model, ctx: BuildContext) -> dict[str, int]:
    """Build one model (the build variables set); return row counts of the tables it wrote."""
    table = f"{layer}.{model.name}"
    if isinstance(model, ConfigModel):
        return {table: write_frame(con, table, model.frame(ctx))}
    if isinstance(model, StagedEntity):
        return build_staged_entity(con, model, ctx)
    if isinstance(model, SqlModel):
        return {table: materialize_sql(con, layer, model.name)}
    if not isinstance(model, PythonModel):
        raise TypeError(f"{table}: not a model kind the build knows ({type(model).__name__})")
    inputs = {name: con.sql(f"select * from {name}").pl().lazy() for name in model.inputs}
    if model.reads_previous:
        inputs[table] = con.sql(f"select * from {table}").pl().lazy() if table_exists(con, table) else None
    return {table: write_frame(con, table, model.fn(inputs, ctx).collect())}


def rebuild_layer(
    con: duckdb.DuckDBPyConnection, layer: str, ctx: BuildContext, *, changed: Collection[str]
) -> tuple[dict[str, int], set[str]]:
    """A partial build of ``layer`` after the tables ``changed`` (``layer.table``) changed, the rest being
    as the last build left them: rebuild, in order, each model that reads a changed table.

    A rebuilt table whose content is what it was (``fingerprint``) does not count as changed, so what
    reads only such tables is not rebuilt: every model is a pure function of what it reads, on the same
    clock and configuration. Returns the row counts rebuilt and ``changed`` with the tables of this
    layer whose content changed. Raises ValueError for a change the staged entities read (new batches:
    a full build).
    """
    changed = set(changed)
    if changed & STAGED_FROM:
        raise ValueError(f"{', '.join(sorted(changed & STAGED_FROM))} changed: that needs a full build")
    set_build_variables(con, as_of=ctx.as_of, reporting_timezone=ctx.reporting_timezone)
    built: dict[str, int] = {}
    for model in BUILD_ORDER[layer]:
        table = f"{layer}.{model.name}"
        if not model_inputs(layer, model) & changed:
            continue
        before = fingerprint(con, table) if table_exists(con, table) else None
        built.update(build_model(con, layer, model, ctx))
        if fingerprint(con, table) != before:
            changed.add(table)
    return built, changed


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


def rebuild_and_check_layer(
    con: duckdb.DuckDBPyConnection, layer: str, ctx: BuildContext, *, run_id: str | None, changed: Collection[str]
) -> tuple[dict[str, int], set[str]]:
    """``rebuild_layer``, then fingerprint and validate the tables rebuilt (the others are as the last
    build checked them). Raises ``expectations.DataQualityError`` as ``build_and_check_layer`` does."""
    from expectations import validate_layer
    from warehouse.runs import record_fingerprints

    built, changed_now = rebuild_layer(con, layer, ctx, changed=changed)
    if run_id is not None:
        record_fingerprints(con, run_id, list(built))
    if built:
        validate_layer(con, layer, run_id=run_id, as_of=ctx.as_of, tables=set(built))
    return built, changed_now


def build_all(
    con: duckdb.DuckDBPyConnection, ctx: BuildContext, *, run_id: str | None, docs_dir: Path | None = None
) -> dict[str, int]:
    """Every layer in order, each checked before the next reads it (the flow does the same per task)."""
    built: dict[str, int] = {}
    for layer in CHECKED_LAYERS:
        built.update(build_and_check_layer(con, layer, ctx, run_id=run_id, docs_dir=docs_dir))
    return built
