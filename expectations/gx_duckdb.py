"""Great Expectations 1.24 on DuckDB, through the caller's open connection: the one place for the hack.

Two things are needed, and both live here so that a GX upgrade breaks one module and one test
(``tests/expectations/test_gx_duckdb.py``), not the suites:

1. **The persisted-connection patch** (``docs/development.md``). GX's ``execute_query`` closes the
   SQLAlchemy connection before it fetches the rows; closing rolls the DuckDB connection back and
   DuckDB then drops the pending result, so every metric fails with ``MetricResolutionError: list
   index out of range`` and the validation merely reports ``success=False``. GX keeps one connection
   open for the dialects listed in ``_PERSISTED_CONNECTION_DIALECTS`` (SQLite, SQL Server, ...);
   adding DuckDB to that tuple fixes it. (Turning off the pool's reset-on-return does *not*: the
   rollback comes from closing the connection's transaction.) The patch is idempotent and touches
   nothing but that tuple.
2. **Reading through the caller's connection.** ``validate_layer`` gets an open connection to an
   in-memory database (tests) or to a file this process holds read-write (flows); a second
   ``duckdb.connect(path)`` would fail on the lock or see a different in-memory database. The SQL
   datasource passes its ``kwargs`` to ``sqlalchemy.create_engine``, so a ``creator`` hands
   SQLAlchemy a *cursor* of that connection: a second connection to the same database instance,
   which sees everything the caller has committed. Disposing the engine closes only the cursor.

Also known on this path: regex and LIKE expectations are not supported for the
duckdb dialect; use ``UnexpectedRowsExpectation`` or an ``assert_*.sql`` check instead.
Great Expectations is imported inside the functions: importing it costs ~4.5 s.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

import duckdb

if TYPE_CHECKING:
    from great_expectations.core.batch_definition import BatchDefinition
    from great_expectations.data_context import AbstractDataContext
    from great_expectations.datasource.fluent import SQLDatasource

DIALECT = "duckdb"


class _DuckDBDialectName(str):
    """Stands in for a ``GXSqlDialect`` member: GX compares members as strings and reads ``.value``."""

    value = DIALECT


def patch_gx_for_duckdb() -> None:
    """Make GX keep one SQLAlchemy connection open for DuckDB, as it does for SQLite."""
    import great_expectations.execution_engine.sqlalchemy_execution_engine as sqlalchemy_engine

    dialects = sqlalchemy_engine._PERSISTED_CONNECTION_DIALECTS
    if DIALECT not in dialects:
        sqlalchemy_engine._PERSISTED_CONNECTION_DIALECTS = (*dialects, _DuckDBDialectName(DIALECT))


def is_patched() -> bool:
    import great_expectations.execution_engine.sqlalchemy_execution_engine as sqlalchemy_engine

    return DIALECT in sqlalchemy_engine._PERSISTED_CONNECTION_DIALECTS


def new_context() -> AbstractDataContext:
    """An ephemeral GX context: stores in memory, no files, no progress bars on stderr."""
    import great_expectations as gx
    from great_expectations.data_context.types.base import ProgressBarsConfig

    patch_gx_for_duckdb()
    # GX announces the temporary docs directory of every ephemeral context at INFO: noise in flow logs.
    logging.getLogger("great_expectations.data_context.types.base").setLevel(logging.WARNING)
    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = ProgressBarsConfig(globally=False)
    # The ephemeral default site points at a temp directory; validate.py adds its own when asked.
    for site_name in list(context.list_data_docs_sites()):
        context.delete_data_docs_site(site_name)
    return context


def keep_project_config_unsaved(context: AbstractDataContext) -> None:
    """Stop an ephemeral context from serialising its project configuration on every change.

    GX writes the whole configuration as YAML into the context's store (``_save_project_config``)
    whenever a datasource, an asset or a batch definition is added, the more as assets accumulate: a
    scoped build adds some forty, ~0.3 s of its checks. An ephemeral context keeps its configuration as
    objects and nothing we run reads that copy back. Only for a context that validates directly: one
    that builds Data Docs keeps all of GX's bookkeeping.
    """
    from great_expectations.data_context import EphemeralDataContext

    if not isinstance(context, EphemeralDataContext):
        raise TypeError("only an ephemeral context keeps its configuration in memory alone")
    context._save_project_config = lambda: None  # type: ignore[method-assign]


def add_duckdb_datasource(
    context: AbstractDataContext, con: duckdb.DuckDBPyConnection, name: str = "warehouse"
) -> SQLDatasource:
    """A GX SQL datasource whose queries run on a cursor of ``con`` (same database instance)."""
    from duckdb_engine import ConnectionWrapper

    patch_gx_for_duckdb()

    def creator() -> Any:
        cursor = con.cursor()
        # Settings are per connection: keep the caller's zone, in which GX's samples print timestamps.
        zone, catalog = con.execute("select current_setting('TimeZone'), current_database()").fetchone()
        cursor.execute(f"set TimeZone = '{zone.replace(chr(39), '')}'")
        # and its default catalog: a DuckLake warehouse is attached and USEd (warehouse/lake.py)
        cursor.execute(f'use "{catalog.replace(chr(34), chr(34) * 2)}"')
        return ConnectionWrapper(cursor)

    # The URL only selects the dialect; with the patch GX pairs it with a StaticPool, so the
    # creator runs once per datasource engine.
    return context.data_sources.add_sql(name=name, connection_string="duckdb:///:memory:", kwargs={"creator": creator})


def add_table_batch(datasource: SQLDatasource, table: str) -> BatchDefinition:
    """A whole-table batch of ``schema.table``.

    A query asset, not a table asset: GX 1.24 deprecates a table asset's ``schema_name`` (the schema
    is to come from the connection URL, which a DuckDB URL cannot carry). DuckDB plans
    ``select * from t`` as a subquery at no cost.
    """
    schema, name = table.split(".")
    return add_query_batch(datasource, table, f'select * from "{schema}"."{name}"')


def add_query_batch(datasource: SQLDatasource, name: str, query: str) -> BatchDefinition:
    """A batch of the rows ``query`` selects, as asset ``name`` (unique within the datasource)."""
    asset = datasource.add_query_asset(name=name, query=query)
    return asset.add_batch_definition_whole_table("whole_table")


def close_datasource(datasource: SQLDatasource) -> None:
    """Close the cursor GX held open (the patch keeps it for the engine's lifetime), not ``con``."""
    engine = datasource.get_execution_engine()
    persisted = getattr(engine, "_connection", None)
    if persisted is not None:
        persisted.close()
    engine.engine.dispose()
