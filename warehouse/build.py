"""Materialize models layer by layer: ``create or replace table <layer>.<name> as ...``."""

import re
import time
from collections.abc import Callable, Collection
from pathlib import Path
from typing import TYPE_CHECKING

import duckdb
import polars as pl

from expectations.validate import table_exists
from transforms.dag import (
    BUILD_ORDER,
    LAYER_ORDER,
    STAGED_FROM,
    BuildContext,
    ConfigModel,
    Model,
    PythonModel,
    SqlModel,
    StagedEntity,
    model_inputs,
    references_in,
)
from transforms.incremental import KEY_NAMES, SCOPES
from transforms.model_specs import run_local_columns
from warehouse import compaction, lake, scoped_build
from warehouse.connection import memory_limit_bytes
from warehouse.sql_models import materialize_sql, render_model_sql, set_build_variables
from warehouse.staging import build_staged_entity

if TYPE_CHECKING:
    from expectations.scope import CheckScope, TableChange


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


def comparable_fingerprint(con: duckdb.DuckDBPyConnection, table: str) -> tuple[int, str]:
    """``fingerprint`` of ``<layer>.<name>`` without the columns its spec declares run-local: what two
    warehouses fed the same inputs on the same clock must agree on (transforms/model_specs.py).

    The same row hashes over the remaining columns; a table with none declared gets exactly its
    ``fingerprint``. Raises ValueError when a declared column is not in the table (a stale spec
    would otherwise compare more than it says).
    """
    excluded = run_local_columns(table)
    if not excluded:
        return fingerprint(con, table)
    columns = [row[0] for row in con.execute(f"describe {table}").fetchall()]
    absent = sorted(set(excluded) - set(columns))
    if absent:
        raise ValueError(f"{table} has no column(s) {absent} that its spec declares run_local")
    kept = ", ".join(f'"{c}"' for c in columns if c not in excluded)
    return fingerprint(con, f"(select {kept} from {table})")


# Called with (qualified model name, seconds) after each model is built: benchmarks and profiling.
ModelTimer = Callable[[str, float], None]


def build_layer(
    con: duckdb.DuckDBPyConnection, layer: str, ctx: BuildContext, *, timer: ModelTimer | None = None
) -> dict[str, int]:
    """Build every model of ``layer`` in order; return row counts by qualified table name."""
    set_build_variables(con, as_of=ctx.as_of, reporting_timezone=ctx.reporting_timezone)
    if layer == LAYER_ORDER[1]:
        scoped_build.begin(con, ctx)
        if lake.target_of(con) is None:  # a DuckDB file: this build's checkpoints compact it when due
            compaction.vacuum_when_due(con)
    built: dict[str, int] = {}
    for model in BUILD_ORDER[layer]:
        started = time.perf_counter()
        built.update(build_model(con, layer, model, ctx))
        if timer is not None:
            timer(f"{layer}.{model.name}", time.perf_counter() - started)
    return built


def finish_build(con: duckdb.DuckDBPyConnection) -> None:
    """Every layer is built and checked: the next build may bring this one up to date (warehouse/scoped_build.py)."""
    scoped_build.finish(con)


def build_model(con: duckdb.DuckDBPyConnection, layer: str, model: Model, ctx: BuildContext) -> dict[str, int]:
    """Build one model (the build variables set); return row counts of the tables it wrote.

    A model of ``transforms.incremental.SCOPES`` is rebuilt only for the keys whose inputs changed when
    the build allows it, a SQL model that reads neither the clock nor anything the build changed not at all
    (warehouse/scoped_build.py); every table written is recorded as changed.
    """
    table = f"{layer}.{model.name}"
    if isinstance(model, StagedEntity):
        return build_staged_entity(con, model, ctx)  # records its own changes
    if not isinstance(model, ConfigModel | SqlModel | PythonModel):
        raise TypeError(f"{table}: not a model kind the build knows ({type(model).__name__})")
    scoped = scoped_build.rebuild_scoped(con, layer, model, lambda filters: _compute(con, layer, model, ctx, filters))
    if scoped is not None:
        return {table: scoped}
    if isinstance(model, SqlModel):
        kept = scoped_build.left_as_it_was(con, layer, model, render_model_sql(layer, model.name))
        if kept is not None:
            return {table: kept}
    before = scoped_build.fingerprint_if_small(con, table)
    if isinstance(model, ConfigModel):
        rows = write_frame(con, table, model.frame(ctx))
    elif isinstance(model, SqlModel):
        rows = _sql_model_whole(con, layer, model)
    else:
        rows = _python_model_whole(con, layer, model, ctx)
    scoped_build.record_rebuilt(con, table, before)
    return {table: rows}


def _python_model(
    con: duckdb.DuckDBPyConnection, layer: str, model: PythonModel, ctx: BuildContext, filters: dict[str, str]
) -> pl.LazyFrame:
    table = f"{layer}.{model.name}"
    inputs = {name: scoped_build.filtered_frame(con, name, filters.get(name)) for name in model.inputs}
    if model.reads_previous:
        inputs[table] = (
            scoped_build.filtered_frame(con, table, filters.get(table)) if table_exists(con, table) else None
        )
    return model.fn(inputs, ctx)


# A Python model built whole reads its inputs in partitions of about this many keys: its Polars frames then
# hold one partition, not the history (at a million items the three of them raised the build's peak from
# 0.9 to 4.5 GiB, bench/run_stages.py with OTKLIK_MEMORY_LIMIT=3GB).
PART_KEYS = 200_000


def _python_model_whole(con: duckdb.DuckDBPyConnection, layer: str, model: PythonModel, ctx: BuildContext) -> int:
    """Build a Python model whole; return its row count.

    In one piece when it is small or not declared in ``SCOPES``; else by partitions of ``PART_KEYS`` keys
    (``_partitions``), each computed exactly as a scoped rebuild of those keys is (its inputs read through
    the scope's filters), which tests/warehouse/test_scoped_build.py proves equal to a build from nothing.
    The partitions' rows are gathered in DuckDB (which spills past its memory limit), then written as the
    table: a model that reads its previous rows reads them while the partitions are computed."""
    table = f"{layer}.{model.name}"
    scope = SCOPES.get(table)
    parts = _partitions(con, layer, model, PART_KEYS) if scope is not None else 0
    if parts <= 1:
        return write_frame(con, table, _python_model(con, layer, model, ctx, {}).collect())
    filters = dict(scope.filters)
    if model.reads_previous:  # its previous rows of the partition, as a scoped rebuild reads them
        filters[table] = f"{scope.key} in (select k from _scope)"
    try:
        for part in range(parts):
            con.execute(f"create or replace temp table _scope as select distinct k from _all_keys where part = {part}")
            con.register("_computed", _python_model(con, layer, model, ctx, filters).collect())
            rows = f"select * from _computed where {scope.key} in (select k from _scope)"
            if part == 0:
                con.execute(f"create or replace temp table _parts as {rows}")
            else:
                con.execute(f"insert into _parts by name {rows}")
            con.unregister("_computed")
        con.execute(f"create or replace table {table} as select * from _parts")
        return con.execute("select count(*) from _parts").fetchone()[0]
    finally:
        con.execute("drop table if exists _parts; drop table if exists _all_keys; drop table if exists _scope")


def _sql_model_whole(con: duckdb.DuckDBPyConnection, layer: str, model: SqlModel) -> int:
    """Build a SQL model whole; return its row count.

    In one piece, unless its scope declares ``bytes_per_key`` and its keys are more than DuckDB's memory
    limit holds at that many bytes a key: then by partitions of that many keys, each the model's SQL read
    through the scope's filters (as a scoped rebuild of those keys, proven equal to a build from nothing),
    each written straight into the table (a SQL model does not read its own table). A whole build that
    fails midway leaves the build unfinished, and the next build is whole again (warehouse/scoped_build.py).
    """
    table = f"{layer}.{model.name}"
    scope = SCOPES.get(table)
    if scope is None or scope.bytes_per_key is None:
        return materialize_sql(con, layer, model.name)
    parts = _partitions(con, layer, model, max(1, memory_limit_bytes(con) // scope.bytes_per_key))
    if parts <= 1:
        return materialize_sql(con, layer, model.name)
    piece = filtered_sql(render_model_sql(layer, model.name).rstrip().rstrip(";"), dict(scope.filters))
    try:
        for part in range(parts):
            con.execute(f"create or replace temp table _scope as select distinct k from _all_keys where part = {part}")
            rows = f"select * from ({piece}) where {scope.key} in (select k from _scope)"
            con.execute(f"create or replace table {table} as {rows}" if part == 0 else f"insert into {table} {rows}")
        return con.execute(f"select count(*) from {table}").fetchone()[0]
    finally:
        con.execute("drop table if exists _all_keys; drop table if exists _scope")


def _partitions(con: duckdb.DuckDBPyConnection, layer: str, model: Model, keys_per_part: int) -> int:
    """How many partitions of about ``keys_per_part`` keys the model of ``SCOPES`` is built in, whole; when
    more than one, ``_all_keys(k, part)`` holds each key's partition: by the hash of the key, or of its group
    where the scope declares groups (a group read once). 0 when a key is null (it has no partition)."""
    scope = SCOPES[f"{layer}.{model.name}"]
    inputs = sorted(model_inputs(layer, model))
    if isinstance(model, SqlModel):  # the inputs its filters read by the key itself: every row of the model is
        by_key = f"{scope.key} in (select k from _scope)"  # about one of their keys (an item's case_id may be null)
        inputs = [name for name in inputs if scope.filters.get(name) == by_key]
    keys = _keys_of_inputs(con, inputs, scope.key)
    if keys is None:
        return 0
    count, nulls = con.execute(
        f"select count(distinct k), count(*) filter (where k is null) from ({keys}) as s(k)"
    ).fetchone()
    parts = -(-count // keys_per_part) if not nulls else 0  # a null key has no partition: one piece
    if parts <= 1:
        return parts
    grouped = f"left join ({scope.groups}) as g(key, grp) on g.key = s.k" if scope.groups else ""
    group = "coalesce(min(g.grp)::varchar, s.k::varchar)" if scope.groups else "s.k"
    con.execute(
        f"create or replace temp table _all_keys as select s.k, hash({group}) % {parts} as part"
        f" from ({keys}) as s(k) {grouped} group by s.k"
    )
    return parts


def _keys_of_inputs(con: duckdb.DuckDBPyConnection, inputs: list[str], key: str) -> str | None:
    """A select of the ``key`` values of every one of ``inputs`` that has that column (None when none has)."""
    selects = []
    for name in inputs:
        if not table_exists(con, name):
            continue
        columns = {r[0] for r in con.execute(f"describe {name}").fetchall()}
        if key in columns:
            selects.append(f"select {key} from {name}")
    return " union all ".join(selects) if selects else None


def _compute(
    con: duckdb.DuckDBPyConnection, layer: str, model: Model, ctx: BuildContext, filters: dict[str, str]
) -> str:
    """A select of the model's rows, its inputs read through ``filters`` (a scoped rebuild)."""
    if isinstance(model, SqlModel):
        return filtered_sql(render_model_sql(layer, model.name).rstrip().rstrip(";"), filters, fenced=True)
    if isinstance(model, PythonModel):
        own = f"{layer}.{model.name}"
        if model.reads_previous:  # its previous rows of the scope
            filters = {**filters, own: f"{SCOPES[own].key} in (select k from _scope)"}
        con.register("_computed", _python_model(con, layer, model, ctx, filters).collect())
        return "select * from _computed"
    raise TypeError(f"{layer}.{model.name}: a {type(model).__name__} is not rebuilt by key")


_INPUT = re.compile(
    r"\b(from|join)\s+((?:raw|staging|core|marts|restricted)\.([a-z_0-9]+))\b(\s+as\s+\w+)?", re.IGNORECASE
)


def filtered_sql(sql: str, filters: dict[str, str], *, fenced: bool = False) -> str:
    """``sql`` with each ``from``/``join`` of a table in ``filters`` reading only the rows its predicate keeps.

    The rows are picked by row id (``scoped_build.by_row_id``). ``fenced`` (a scoped rebuild's few keys) closes
    that subquery to the optimizer with ``offset 0``: a filter of the model's own on the same table
    (``cycle_number = 1``) pushed into it turned the pick by row id into a scan of the whole table joined to
    the ids (marts.sla_compliance_monthly's month of the 1M bench: 0.158 s with the filter pushed in, 0.020 s
    without). A partition of a whole build is left open: there the pushed filter keeps fewer rows in memory.
    """

    def swap(match: re.Match) -> str:
        word, table, name, alias = match.group(1), match.group(2), match.group(3), match.group(4)
        predicate = filters.get(table.lower())
        if not predicate:
            return match.group(0)
        picked = f"select * from {table}{scoped_build.by_row_id(table, predicate)}{' offset 0' if fenced else ''}"
        return f"{word} ({picked}){alias or f' as {name}'}"

    return _INPUT.sub(swap, sql)


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
    tables = tables_to_check(con, layer, built)
    if tables is None:
        validate_layer(con, layer, run_id=run_id, as_of=ctx.as_of, docs_dir=docs_dir)
    else:  # the Data Docs stay those of the last whole check of the layer, as after a partial build
        validate_layer(con, layer, run_id=run_id, as_of=ctx.as_of, tables=tables)
    return built


def tables_to_check(con: duckdb.DuckDBPyConnection, layer: str, built: Collection[str]) -> "CheckScope | None":
    """What a build checks of ``layer``: None for every table, unless the build is scoped
    (warehouse/scoped_build.py); then a ``CheckScope`` of the tables it changed and those whose SQL checks
    read a changed one, each with how the build changed it (as a whole, by key, not at all).

    A table no build changed keeps its verdicts: its checks read nothing that changed, and the checks
    that read the clock hold the more as the clock moves on (nothing received after as_of; no SLA event
    later than as_of), and a scoped build never moves the clock back. By the same argument a table
    changed by key is checked on its changed rows where a check judges rows one by one, and whole where
    it does not (expectations/scope.py).
    """
    from expectations.scope import CheckScope
    from expectations.validate import sql_checks

    if layer == "raw" or not scoped_build.scoped_allowed(con):
        return None
    changes = _recorded_changes(con)
    picked = {table for table in built if table in changes}
    picked |= {check.table for check in sql_checks(layer) if (references_in(check.sql) | {check.table}) & set(changes)}
    return CheckScope(picked, changes)


def _recorded_changes(con: duckdb.DuckDBPyConnection) -> "dict[str, TableChange]":
    """Every table this build changed so far (scoped_build.CHANGES), with how: as a whole (a change recorded
    without a key) or by key (a select of the recorded values per key column, in KEY_NAMES order)."""
    from expectations.scope import CHANGED_WHOLE, TableChange

    rows = con.execute(
        f"select table_name, count(*) filter (where key_name is null),"
        f" list(distinct key_name) filter (where key_name is not null) from {scoped_build.CHANGES} group by table_name"
    ).fetchall()
    changes = {}
    for table, whole, names in rows:
        ordered = [k for k in KEY_NAMES if k in (names or [])] + sorted(set(names or []) - set(KEY_NAMES))
        changes[table] = CHANGED_WHOLE if whole else TableChange(keys={k: _recorded_values(table, k) for k in ordered})
    return changes


def _recorded_values(table: str, key: str) -> str:
    """A select of the values of ``key`` this build recorded as changed in ``table`` (varchar)."""

    def literal(text: str) -> str:
        return "'" + text.replace("'", "''") + "'"

    where = f"table_name = {literal(table)} and key_name = {literal(key)}"
    return f"select key_value from {scoped_build.CHANGES} where {where}"


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
    finish_build(con)
    return built
