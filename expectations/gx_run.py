"""Run suite modules with GX (imported lazily) and turn GX's results into ExpectationResults.

One ephemeral context per call: a DuckDB datasource on the caller's connection, then per suite module
a query asset and a validation of its suite:

- without Data Docs (``docs_dir`` None), a GX ``Validator`` on the batch, nothing else: the suite, the
  validation definition, the checkpoint and the validation result would only be put into stores for
  the docs to render (on a scoped build of 37 tables that bookkeeping took about a fifth of the
  checks' time, cProfile). A table changed by key is validated in up to two parts, its changed rows
  and the whole table (``expectations.scope``); each part with GX's BASIC result format first, and what
  does not pass again with the full one (``_validate_part``);
- with Data Docs, per table the suite, a validation definition and a checkpoint, as GX's docs expect,
  and one Data Docs build for all of them at the end.

Part of ``expectations.validate``. What it changes of GX is each in a module of its own, with a test that fails
when a GX upgrade moves the ground: the DuckDB hack (gx_duckdb), the templates compiled once (gx_templates),
an expectation's configuration built once per kwargs lookup (gx_configuration).
"""

from __future__ import annotations

import copy
from collections.abc import Collection
from datetime import datetime, timedelta
from pathlib import Path
from types import ModuleType
from typing import Any

import duckdb

from expectations.gx_configuration import configuration_once_per_call
from expectations.gx_duckdb import (
    add_duckdb_datasource,
    add_query_batch,
    add_table_batch,
    close_datasource,
    keep_project_config_unsaved,
    new_context,
)
from expectations.gx_templates import share_template_bytecode
from expectations.scope import ChangedRows, split_suite
from expectations.severity import CRITICAL, SEVERITIES
from expectations.validate import RESULT_FORMAT, SAMPLE_SIZE, ExpectationResult
from transforms.normalize.entities import FUTURE_TOLERANCE_MINUTES

DOCS_SITE = "otklik"
# Suite kwargs that say nothing an engineer needs in a one-line message.
_QUIET_KWARGS = {
    "column",
    "column_list",
    "column_A",
    "column_B",
    "batch_id",
    "result_format",
    "catch_exceptions",
    "include_config",
}


def suite_parameters(as_of: datetime) -> dict[str, datetime]:
    """``$as_of`` is the run's clock; ``$latest_allowed_at`` adds the readers' clock-skew tolerance,
    the same one normalization uses to reject future dates, so the two never disagree."""
    return {"as_of": as_of, "latest_allowed_at": as_of + timedelta(minutes=FUTURE_TOLERANCE_MINUTES)}


def run_suites(
    con: duckdb.DuckDBPyConnection,
    modules: list[ModuleType],
    *,
    as_of: datetime,
    run_id: str | None,
    docs_dir: Path | None,
    rows: ChangedRows | None = None,
) -> tuple[list[ExpectationResult], dict[str, str]]:
    """Validate each module's TABLE with its suite; return results and {suite: docs page path}.

    ``rows``: the changed rows of a scoped build's tables, on which what judges a row runs (no docs then).
    """
    if rows is not None and docs_dir is not None:
        raise ValueError("Data Docs are written by a whole check")
    context = new_context()
    configuration_once_per_call()  # an expectation's configuration built once per kwargs lookup, not per key
    if docs_dir is not None:
        share_template_bytecode()  # each template compiled once per process, not once per page
        context.add_data_docs_site(DOCS_SITE, _site_config(docs_dir))
    else:
        keep_project_config_unsaved(context)
    datasource = add_duckdb_datasource(context, con)
    results: list[ExpectationResult] = []
    pages: dict[str, str] = {}
    documented: list[Any] = []  # GX identifiers of the validation results and suites to render
    columns = table_columns(con, [module.TABLE for module in modules])
    try:
        for module in modules:
            suite = module.build_suite()
            check_tags(suite, module.TABLE)
            if module.TABLE not in columns:
                results.append(_missing_table(module.TABLE))
                continue
            if docs_dir is None:
                results += _validate_directly(
                    datasource, module, suite, as_of=as_of, rows=rows, columns=columns[module.TABLE]
                )
                continue
            table_results, identifiers, pages[module.TABLE] = _validate_table(
                context, datasource, module, suite, as_of=as_of, run_id=run_id
            )
            results += table_results
            documented += identifiers
        if docs_dir is not None and documented:
            # One build for the layer: the validation and suite pages, and the index once (a build per
            # table, as GX's UpdateDataDocsAction does, rebuilt the index for every table).
            context.build_data_docs(site_names=[DOCS_SITE], resource_identifiers=documented)
    finally:
        close_datasource(datasource)
    return results, pages


def _validate_directly(
    datasource: Any,
    module: ModuleType,
    suite: Any,
    *,
    as_of: datetime,
    rows: ChangedRows | None,
    columns: Collection[str],
) -> list[ExpectationResult]:
    """The table's results in suite order: each part of its suite (``_parts``) validated on its batch by a
    GX Validator, with the same result format and parameters as a checkpoint would pass it (``columns``:
    the table's, see ``_validate_part``)."""
    import great_expectations as gx

    expectations = list(suite.expectations)
    outcomes: dict[int, Any] = {}
    for name, query, positions in _parts(module, expectations, rows):
        part = gx.ExpectationSuite(name=module.TABLE, expectations=[copy.copy(expectations[i]) for i in positions])
        for position, expectation in zip(positions, part.expectations, strict=True):
            expectation.id = str(position)  # GX returns results in its own order: put them back in the suite's
        batch = add_query_batch(datasource, name, query)
        outcomes |= _validate_part(batch, part, module, as_of=as_of, columns=columns)
    return [to_result(module.TABLE, outcomes[i]) for i in range(len(expectations))]


def _validate_part(
    batch: Any, part: Any, module: ModuleType, *, as_of: datetime, columns: Collection[str]
) -> dict[int, Any]:
    """GX's result of each expectation of ``part`` on ``batch``, by its id (its position in the suite).

    The result format a failure is recorded with (``_result_format``: a sample by key and the commonest
    bad values) costs GX two more metrics per expectation, each a query and much Python, about a fifth
    of the suites' time, and a passing expectation keeps none of it (``to_result``: no sample). So the
    part runs with GX's BASIC format first, which has everything a passing result records (element and
    unexpected counts, the observed value), and what did not pass (failed, or raised) runs again with
    the full format: its recorded result is the one the full format alone gives. Not so when a key
    column is not in the table: the full format fails every expectation then (GX finds no such column),
    and so it still does.
    """
    from great_expectations.validator.v1_validator import Validator

    full = _result_format(module)
    parameters = suite_parameters(as_of)
    if not set(getattr(module, "KEY_COLUMNS", ())) <= set(columns):
        validation = Validator(batch, result_format=full).validate_expectation_suite(part, parameters)
        return {int(r.expectation_config.id): r for r in validation.results}
    basic = {**RESULT_FORMAT, "result_format": "BASIC"}
    validation = Validator(batch, result_format=basic).validate_expectation_suite(part, parameters)
    outcomes = {int(r.expectation_config.id): r for r in validation.results}
    again = [e for e in part.expectations if not _passed(outcomes[int(e.id)])]
    if again:
        import great_expectations as gx

        failed = gx.ExpectationSuite(name=part.name, expectations=[copy.copy(e) for e in again])
        for original, expectation in zip(again, failed.expectations, strict=True):
            expectation.id = original.id
        validation = Validator(batch, result_format=full).validate_expectation_suite(failed, parameters)
        outcomes |= {int(r.expectation_config.id): r for r in validation.results}
    return outcomes


def _passed(result: Any) -> bool:
    """Whether GX's result of an expectation is a pass that ``to_result`` records as one."""
    return bool(result.success) and not _exception_messages(result.exception_info)


def _parts(module: ModuleType, expectations: list[Any], rows: ChangedRows | None) -> list[tuple[str, str, list[int]]]:
    """(asset name, query, positions in the suite) of each batch the suite runs on: the whole table, or
    for a table changed by key its changed rows and, when some expectation needs it, the whole table."""
    table = module.TABLE
    schema, name = table.split(".")
    whole = f'select * from "{schema}"."{name}"'
    keys = rows.keys_of(table, getattr(module, "KEY_COLUMNS", ())) if rows is not None else []
    if not keys:
        return [(table, whole, list(range(len(expectations))))] if expectations else []
    split = split_suite([(e.expectation_type, e.configuration.kwargs) for e in expectations], keys)
    parts = []
    if split.key is not None:
        parts.append((f"{table} (changed rows)", f"select * from {rows.relation(table, split.key)}", [*split.on_slice]))
    if split.on_whole:
        parts.append((table, whole, [*split.on_whole]))
    return parts


def table_columns(con: duckdb.DuckDBPyConnection, tables: Collection[str]) -> dict[str, list[str]]:
    """The columns of each of ``tables`` (``schema.table``) that exists, by one query (one a table cost ~6 ms).

    duckdb_columns(), not information_schema: see ``expectations.validate.table_exists``."""
    if not tables:
        return {}
    query = (
        "select schema_name || '.' || table_name, list(column_name order by column_index) from duckdb_columns()"
        " where schema_name || '.' || table_name in (select unnest(?::varchar[])) group by all"
    )
    return dict(con.execute(query, [sorted(set(tables))]).fetchall())


def _result_format(module: ModuleType) -> dict[str, Any]:
    # The table's key columns in the result format, so that a sample shows which rows are bad, not
    # only which values.
    keys = list(getattr(module, "KEY_COLUMNS", ()))
    return {**RESULT_FORMAT, "unexpected_index_column_names": keys} if keys else RESULT_FORMAT


def _validate_table(
    context: Any,
    datasource: Any,
    module: ModuleType,
    suite: Any,
    *,
    as_of: datetime,
    run_id: str | None,
) -> tuple[list[ExpectationResult], list[Any], str]:
    """The table's results, the GX identifiers of its validation result and suite, and its docs page."""
    import great_expectations as gx
    from great_expectations.data_context.types.resource_identifiers import ExpectationSuiteIdentifier

    suite = context.suites.add(suite)
    batch = add_table_batch(datasource, module.TABLE)
    definition = context.validation_definitions.add(gx.ValidationDefinition(name=module.TABLE, data=batch, suite=suite))
    # One checkpoint per table: the result format names the table's key columns (_result_format).
    checkpoint = context.checkpoints.add(
        gx.Checkpoint(name=module.TABLE, validation_definitions=[definition], result_format=_result_format(module))
    )
    outcome = checkpoint.run(
        expectation_parameters=suite_parameters(as_of), run_id=gx.RunIdentifier(run_name=run_id or "adhoc")
    )
    [(identifier, validation)] = outcome.run_results.items()
    order = {e.id: i for i, e in enumerate(suite.expectations)}
    ordered = sorted(validation.results, key=lambda r: order.get(r.expectation_config.id, len(order)))
    page = "validations/" + "/".join(identifier.to_tuple()) + ".html"
    documented = [identifier, ExpectationSuiteIdentifier(name=suite.name)]
    return [to_result(module.TABLE, r) for r in ordered], documented, page


def _site_config(docs_dir: Path) -> dict[str, Any]:
    return {
        "class_name": "SiteBuilder",
        "store_backend": {"class_name": "TupleFilesystemStoreBackend", "base_directory": str(docs_dir)},
        "site_index_builder": {"class_name": "DefaultSiteIndexBuilder"},
    }


def check_tags(suite: Any, table: str) -> None:
    """Every expectation must say how bad its failure is, and why; a suite without is a bug."""
    for expectation in suite.expectations:
        meta = expectation.meta or {}
        if meta.get("severity") not in SEVERITIES or not meta.get("why"):
            raise ValueError(
                f"{table}: {expectation.expectation_type} on {getattr(expectation, 'column', None)} needs "
                f"meta=critical('why') or warning('why') from expectations.severity"
            )


def to_result(suite_name: str, result: Any) -> ExpectationResult:
    config = result.expectation_config
    kwargs = dict(config.kwargs)
    meta = config.meta or {}
    pair = [kwargs[k] for k in ("column_A", "column_B") if kwargs.get(k)]
    column = kwargs.get("column") or ", ".join(kwargs.get("column_list") or pair) or None
    summary = result.result or {}
    errors = _exception_messages(result.exception_info)
    unexpected = summary.get("unexpected_count")
    elements = summary.get("element_count")
    if errors:
        observed = f"error: {errors[0]}"
    elif unexpected is not None and elements is not None:
        share = 100 * unexpected / elements if elements else 0.0
        percent = "<0.01" if 0 < share < 0.01 else f"{share:.2f}"
        observed = f"{unexpected} of {elements} rows unexpected ({percent}%)"
    else:
        observed = str(summary.get("observed_value"))
    return ExpectationResult(
        suite=suite_name,
        expectation=config.type,
        column=column,
        severity=meta.get("severity", CRITICAL),
        success=bool(result.success) and not errors,
        why=meta.get("why", ""),
        observed_value=observed,
        unexpected_count=unexpected,
        element_count=elements,
        sample=[] if result.success else _sample(summary),
        detail=describe_kwargs(kwargs),
    )


def _sample(summary: dict[str, Any]) -> list[Any]:
    """A few bad rows by key (when the suite names KEY_COLUMNS), else a few distinct bad values."""
    rows = summary.get("partial_unexpected_index_list")
    if rows:
        values = rows
    else:
        counts = summary.get("partial_unexpected_counts")
        values = [c["value"] for c in counts] if counts else summary.get("partial_unexpected_list") or []
    distinct: list[Any] = []
    for value in values:
        if value is not None and value not in distinct:
            distinct.append(value)
    return distinct[:SAMPLE_SIZE]


def describe_kwargs(kwargs: dict[str, Any]) -> str:
    parts = []
    for key, value in kwargs.items():
        if key in _QUIET_KWARGS or value is None:
            continue
        if isinstance(value, dict) and "$PARAMETER" in value:
            value = "$" + str(value["$PARAMETER"])
        elif key == "row_condition":
            value = _describe_condition(value)
        elif isinstance(value, list | tuple | set) and len(value) > 8:
            value = f"[{len(value)} allowed values]"
        parts.append(f"{key}={value}")
    return ", ".join(parts)


def _describe_condition(condition: Any) -> str:
    """``has_text == True`` rather than GX's serialised dict; anything else as GX prints it."""
    if isinstance(condition, dict) and {"column", "operator", "parameter"} <= set(condition):
        column = condition["column"].get("name") if isinstance(condition["column"], dict) else condition["column"]
        return f"{column} {condition['operator']} {condition['parameter']!r}"
    return str(condition)


def _exception_messages(info: Any) -> list[str]:
    """GX nests exception info either flat or per metric; collect the messages of raised ones."""
    if not isinstance(info, dict):
        return []
    if "raised_exception" in info:
        message = info.get("exception_message")
        return [str(message).strip().splitlines()[-1][:300]] if info.get("raised_exception") and message else []
    return [m for value in info.values() for m in _exception_messages(value)]


def _missing_table(table: str) -> ExpectationResult:
    return ExpectationResult(
        suite=table,
        expectation="expect_table_to_exist",
        column=None,
        severity=CRITICAL,
        success=False,
        why="a table with a suite must be built before its layer is validated",
        observed_value="table not found",
    )
