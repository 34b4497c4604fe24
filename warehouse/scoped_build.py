"""A build that costs what changed: the changes of every table, and the models rebuilt only for their keys.

Every build records what it changed in ``staging.stg__build_changes`` (``table_name``, ``key_name``,
``key_value``; a null key_name: the table changed as a whole):

- a staged entity brought up to date from new batches (warehouse/staging.py) records the key values
  (``transforms.incremental.KEY_NAMES``) of the rows it deleted and inserted;
- a model declared in ``transforms.incremental.SCOPES`` is rebuilt only for the keys in its scope
  (``rebuild_scoped``: compute the model's rows for them, read from inputs filtered to them, and replace
  those keys' rows; only the keys whose rows differ when they are at most half of the scope) and records
  the keys of the rows that differ (old and new); of a table of ``transforms.incremental.VIEWS``, also
  the keys of the rows that differ in a column the view keeps, as the changes of its view;
- any other table is rebuilt whole; it is recorded as changed as a whole unless its fingerprint is
  what it was (checked for tables of up to ``COMPARED_ROWS`` rows; a larger one counts as changed); a SQL
  model that does not read the clock and none of whose inputs this build changed is not rebuilt at all
  (``left_as_it_was``);
- a raw table a model reads (QA samples and verdicts, manual labels, the batch ledger) is changed as a
  whole when its fingerprint differs from the last build's.

``staging.stg__build_state`` holds the digest of the build's configuration (the context but its
clock) and of the models' code (warehouse/model_code.py), its clock, and whether it finished. A build
starts by looking at it: after a finished build on the same configuration and code and an earlier or equal
clock, scoped rebuilds are allowed; otherwise (the first build, a build that failed half-way, another
configuration, new code, a clock that went back) every model is built whole, as from nothing.

Before any model is rebuilt, the cases whose SLA clocks the clock alone moves are recorded in two groups:
``CLOCK_CASES``, whose marks lie later than the last build's clock (an event the clock now reaches), computed
again by the clock models; and ``ADVANCE_CASES``, with a cycle still open and no such mark. A clock model with
``KeyScope.advance`` brings the second group to the new clock from its own rows of the last build (the open
cycle's end and what runs to it) instead of computing them from their events (at 1M items, 19,274 cases at a
+1,000 build).
"""

import hashlib
import re
from collections.abc import Callable, Iterable

import duckdb
import polars as pl

from expectations.validate import table_exists
from transforms.dag import BUILD_ORDER, BuildContext, Model, SqlModel, model_inputs
from transforms.incremental import KEY_NAMES, SCOPES, VIEWS, KeyScope, View, view_of
from transforms.metrics import metric_macros
from warehouse import model_code
from warehouse.sql_text import quote_name

CHANGES = "staging.stg__build_changes"
# (table_name, row_count, hash_sum): what the build's scoped rebuilds added to and removed from a table's
# fingerprint (warehouse.build.fingerprint is a sum of row hashes, so it follows by difference)
FINGERPRINT_DELTAS = "staging.stg__build_fingerprint_deltas"
STATE = "staging.stg__build_state"
# (table_name, row_count): the rows each scoped rebuild appended to its table, all of them the rows of the keys it
# changed; the readers' copy reads those keys' live rows from the table's last stored rows instead of searching
# its key column (warehouse/reader_copy_update.py)
APPENDED = "staging.stg__build_appended_rows"
CLOCK_CASES = "@clock"  # the pseudo-table whose changes are the cases the clock moves past a mark
ADVANCE_CASES = "@advance"  # the pseudo-table whose changes are the other cases with an open SLA cycle
COMPARED_ROWS = 200_000
_READ_RAW = ("raw.batches", "raw.qa_samples", "raw.qa_verdicts", "raw.manual_labels")
_READS_CLOCK = re.compile(r"getvariable\s*\(\s*'as_of'\s*\)", re.IGNORECASE)


def context_digest(ctx: BuildContext) -> str:
    """Everything the build depends on besides the data and the clock: the configuration and the models' code."""
    from transforms.classify.engine import DEFAULT_MODEL_PATH

    parts = {k: v for k, v in ctx.__dict__.items() if k != "as_of"}
    digest = hashlib.sha256(repr(sorted(parts.items(), key=lambda kv: kv[0])).encode())
    if ctx.classifier_model is None:  # the build reads the committed model
        digest.update(DEFAULT_MODEL_PATH.read_bytes())
    digest.update(model_code.model_code_digest().encode())  # new code builds every model whole once
    return digest.hexdigest()


def _fingerprint(con: duckdb.DuckDBPyConnection, table: str) -> str:
    from warehouse.build import fingerprint

    count, digest = fingerprint(con, table)
    return f"{count}:{digest}"


def begin(con: duckdb.DuckDBPyConnection, ctx: BuildContext) -> bool:
    """Start a build's record of changes; return whether scoped rebuilds are allowed (module docstring)."""
    digest = context_digest(ctx)
    state = None
    if table_exists(con, STATE):
        state = con.execute(f"select digest, as_of, finished, raw_fingerprints from {STATE}").fetchone()
    scoped = state is not None and state[0] == digest and state[2] and state[1] <= ctx.as_of
    con.execute(f"create or replace table {CHANGES} (table_name varchar, key_name varchar, key_value varchar)")
    con.execute(
        f"create or replace table {FINGERPRINT_DELTAS} (table_name varchar, row_count bigint, hash_sum hugeint)"
    )
    con.execute(f"create or replace table {APPENDED} (table_name varchar, row_count bigint)")
    raw_now = {t: _fingerprint(con, t) for t in _READ_RAW if table_exists(con, t)}
    if scoped:
        before = dict(state[3] or {})
        changed = [t for t, f in raw_now.items() if before.get(t) != f]
        if "raw.batches" in changed:  # new batches: their payloads too (the staging checks reconcile with them)
            changed.append("raw.channel_payloads")
        record_whole(con, changed)
        if table_exists(con, "core.int_sla_clock_marks"):
            con.execute(
                f"insert into {CHANGES} select distinct ?, 'case_id', case_id from core.int_sla_clock_marks"
                " where mark_at > ?",
                [CLOCK_CASES, state[1]],
            )
            con.execute(
                f"insert into {CHANGES} select distinct ?, 'case_id', case_id from core.int_sla_clock_marks"
                f" where mark = 'as_of' and case_id not in (select key_value from {CHANGES} where table_name = ?)",
                [ADVANCE_CASES, CLOCK_CASES],
            )
    con.execute(
        f"create or replace table {STATE} (digest varchar, as_of timestamptz, finished boolean,"
        " scoped boolean, raw_fingerprints map(varchar, varchar))"
    )
    con.execute(f"insert into {STATE} values (?, ?, false, ?, ?)", [digest, ctx.as_of, scoped, raw_now])
    return scoped


def finish(con: duckdb.DuckDBPyConnection) -> None:
    """The build's last layer is built and checked: the next build may add to it."""
    if table_exists(con, STATE):
        con.execute(f"update {STATE} set finished = true")


def scoped_allowed(con: duckdb.DuckDBPyConnection) -> bool:
    if not table_exists(con, STATE) or not table_exists(con, CHANGES):
        return False
    row = con.execute(f"select scoped and not finished from {STATE}").fetchone()
    return bool(row and row[0])


def record_whole(con: duckdb.DuckDBPyConnection, tables: Iterable[str]) -> None:
    if table_exists(con, CHANGES):
        for table in tables:
            con.execute(f"insert into {CHANGES} values (?, null, null)", [table])


def record_keys(con: duckdb.DuckDBPyConnection, table: str, rows_sql: str) -> None:
    """Record the key values (``KEY_NAMES``) of the rows ``rows_sql`` selects as changes of ``table``."""
    if not table_exists(con, CHANGES):
        return
    columns = {r[0] for r in con.execute(f"describe {rows_sql}").fetchall()}
    keys = [k for k in KEY_NAMES if k in columns]
    if not keys:
        return
    # the rows once (they may be a difference of two sets), then each key's values from them
    con.execute(f"create or replace temp table _changed_rows as select {', '.join(keys)} from ({rows_sql})")
    for key in keys:
        con.execute(
            f"insert into {CHANGES} select distinct ?, ?, {key}::varchar from _changed_rows where {key} is not null",
            [table, key],
        )
    con.execute("drop table _changed_rows")


def changed_tables(con: duckdb.DuckDBPyConnection) -> set[str]:
    """The tables (and pseudo-tables) this build recorded changes of."""
    return {r[0] for r in con.execute(f"select distinct table_name from {CHANGES}").fetchall()}


def _scope_sql(con: duckdb.DuckDBPyConnection, table: str, layer: str, model: Model, scope: KeyScope) -> str | None:
    """The union of selects of the keys to rebuild, or None when the model must be built whole."""
    changed = changed_tables(con)
    selects = []
    for name in sorted(model_inputs(layer, model) & changed):
        whole = con.execute(f"select count(*) from {CHANGES} where table_name = ? and key_name is null", [name])
        if whole.fetchone()[0]:
            return None
        # a model that reads none of the columns the input's view ignores maps the changes of its view
        source = view_of(name) if name in scope.views else name
        changes = f"(select key_name, key_value from {CHANGES} where table_name = '{source}') as _changed"
        if name in scope.views and (name not in VIEWS or name not in scope.bridges):
            raise ValueError(f"{table}: {name} has no view (transforms.incremental.VIEWS) or no bridge through it")
        if name in scope.bridges:
            selects.append(scope.bridges[name].replace("_changed", changes))
        else:
            has_key = con.execute(
                f"select count(*) from {CHANGES} where table_name = ? and key_name = ?", [name, scope.key]
            ).fetchone()[0]
            if not has_key:
                return None
            selects.append(f"select key_value from {changes} where key_name = '{scope.key}'")
    if scope.clock:
        selects.append(f"select key_value from {CHANGES} where table_name = '{CLOCK_CASES}'")
    return " union ".join(f"select * from ({s})" for s in selects) if selects else "select null::varchar where false"


def left_as_it_was(con: duckdb.DuckDBPyConnection, layer: str, model: Model, sql: str) -> int | None:
    """The row count of ``model``'s table when the build may leave it as the last build left it; None when it
    must be built.

    A SQL model (``sql``: its text as the build runs it) is a function of what it reads, the configuration,
    its code and, where it or a metric macro reads it, the clock. A scoped build has the last build's
    configuration and code; so when neither reads the clock and this build changed none of the model's
    inputs, rebuilding it would give the rows its table holds. That needs every input's changes to be
    recorded: a table the build writes, or a raw table of ``_READ_RAW`` (``begin``); a model that reads
    anything else (another raw table, restricted) is built. Models of ``SCOPES`` are rebuilt by key instead
    (``rebuild_scoped``), Python and configuration models whole (they receive the clock with the build's
    context)."""
    table = f"{layer}.{model.name}"
    if not isinstance(model, SqlModel) or table in SCOPES:
        return None
    if any(_READS_CLOCK.search(text) for text in (sql, *metric_macros())):
        return None
    inputs = model_inputs(layer, model)
    recorded = {f"{name}.{m.name}" for name, models in BUILD_ORDER.items() for m in models} | set(_READ_RAW)
    if not inputs <= recorded or not scoped_allowed(con) or not table_exists(con, table):
        return None
    changed = con.execute(
        f"select count(*) from {CHANGES} where list_contains(?::varchar[], table_name)", [sorted(inputs)]
    ).fetchone()[0]
    if changed:
        return None
    return con.execute(f"select count(*) from {table}").fetchone()[0]


def rebuild_scoped(
    con: duckdb.DuckDBPyConnection,
    layer: str,
    model: Model,
    compute: Callable[[dict[str, str]], str],
) -> int | None:
    """Rebuild ``model`` for the keys in its scope; return its row count, or None when it must be built whole.

    ``compute(filters)`` makes the model's rows for the scope readable as a select (a SQL text, or the
    name of a registered frame), given the predicate per input that keeps what the scope needs.
    """
    table = f"{layer}.{model.name}"
    scope = SCOPES.get(table)
    if scope is None or not scoped_allowed(con) or not table_exists(con, table):
        return None
    union = _scope_sql(con, table, layer, model, scope)
    if union is None:
        return None
    key_type = {r[0]: r[1] for r in con.execute(f"describe {table}").fetchall()}[scope.key]
    con.execute(
        f"create or replace temp table _scope as select distinct k::{key_type} as k from ({union}) as s(k)"
        " where k is not null"
    )
    # the cases the clock alone moved, that nothing else brings into scope: advanced, not computed
    advanced = "select null where false"
    if scope.advance is not None:
        con.execute(
            f"create or replace temp table _advance as select distinct key_value::{key_type} as k from {CHANGES}"
            f" where table_name = '{ADVANCE_CASES}' and key_value::{key_type} not in (select k from _scope)"
        )
        advanced = "select k from _advance"
    in_scope = f"{scope.key} in (select k from _scope union all {advanced})"
    con.execute("begin transaction")
    try:
        # the rows in scope by row id: only the key column is scanned for them, and only they are read whole
        # (DuckDB fetches rows by id); a filter on the key would read every column of every row
        con.execute(
            f"create or replace temp table _old_ids as select rowid as row_id, {scope.key} as k from {table}"
            f" where {in_scope}"
        )
        con.execute(
            f"create or replace temp table _old as select * from {table} where rowid in (select row_id from _old_ids)"
        )
        if scope.advance is not None and scope.advance_not is not None:  # those the advance does not cover
            con.execute(
                f"insert into _scope select distinct k from _advance where k in ({scope.advance_not});"
                " delete from _advance where k in (select k from _scope)"
            )
        fresh = compute(scope.filters)
        con.execute(
            f"create or replace temp table _new as select * from ({fresh}) where {scope.key} in (select k from _scope)"
        )
        if scope.advance is not None:
            con.execute(f"insert into _new by name {scope.advance}")
        differing, scoped = _differing_keys(con, scope.key)
        if differing * 2 > scoped:  # most keys changed: all the scope's rows are replaced, in _new's order
            con.execute(f"delete from {table} where rowid in (select row_id from _old_ids)")
            appended = con.execute(f"insert into {table} by name select * from _new").fetchone()[0]
        else:  # only the keys whose rows differ (an open SLA clock's events while the clock only moved on)
            con.execute(f"delete from {table} where rowid in (select row_id from _old_ids where k in {_DIFFERING})")
            appended = con.execute(
                f"insert into {table} by name select * from _new where {scope.key} in {_DIFFERING}"
            ).fetchone()[0]
        if table_exists(con, APPENDED):
            con.execute(f"insert into {APPENDED} values (?, ?)", [table, appended])
        con.execute("commit")
    except Exception:
        con.execute("rollback")
        raise
    record_fingerprint_delta(con, table, removed="_old", added="_new")
    record_keys(con, table, "select * from _differ")
    if table in VIEWS:
        record_keys(con, view_of(table), _differing_rows(con, view=VIEWS[table]))
    for temp in ("_old", "_new", "_scope", "_advance", "_old_ids", "_differ", "_differ_keys"):
        con.execute(f"drop table if exists {temp}")
    return con.execute(f"select count(*) from {table}").fetchone()[0]


_DIFFERING = "(select k from _differ_keys)"


def _differing_keys(con: duckdb.DuckDBPyConnection, key: str) -> tuple[int, int]:
    """Of the rows of ``_old`` and ``_new`` (the same columns), the key columns (``KEY_NAMES`` and ``key``)
    of each distinct row that the two hold a different number of times, into ``_differ``; the distinct
    values of ``key`` among them into ``_differ_keys(k)``. Returns how many keys differ, and how many keys
    ``_old`` and ``_new`` hold.

    The rows of (``_old`` except all ``_new``) union all (``_new`` except all ``_old``), up to repeats: one
    grouping of both by every column instead of a numbering of each by every column (what except all
    does), four to seven times faster at tens of thousands of rows. Rows are compared by column name.
    """
    con.execute(f"create or replace temp table _differ as {_differing_rows(con, key=key)}")
    con.execute(f"create or replace temp table _differ_keys as select distinct {quote_name(key)} as k from _differ")
    return con.execute(
        "select (select count(*) from _differ_keys),"
        f" (select count(distinct k) from (select k from _old_ids union all select {quote_name(key)} from _new))"
    ).fetchone()


def _differing_rows(con: duckdb.DuckDBPyConnection, *, key: str | None = None, view: View | None = None) -> str:
    """A select of the key columns (``KEY_NAMES`` and ``key``) of each distinct row of ``_old`` and ``_new``
    that the two hold a different number of times (``_differing_keys``); with ``view``, of the rows it keeps,
    the columns it ignores left out (but in the rows where it compares them, ``View.settled``)."""
    ignored = view.ignored if view else ()
    settled = view.settled if view else {}
    where = f" where {view.rows}" if view and view.rows else ""
    described = [r[0] for r in con.execute("describe _old").fetchall()]
    columns = [c for c in described if c not in ignored or c in settled]
    keys = list(dict.fromkeys(k for k in (*KEY_NAMES, *([key] if key else [])) if k in columns))
    side = "_otklik_side"
    while side in described:
        side += "_"
    kept = ", ".join(
        f"case when {settled[c]} then {quote_name(c)} end as {quote_name(c)}" if c in ignored else quote_name(c)
        for c in columns
    )
    return (
        f"select {', '.join(quote_name(k) for k in keys)}"
        f" from (select {kept}, 1 as {side} from _old{where}"
        f" union all by name select {kept}, -1 as {side} from _new{where})"
        f" group by {', '.join(quote_name(c) for c in columns)} having sum({side}) <> 0"
    )


def record_fingerprint_delta(con: duckdb.DuckDBPyConnection, table: str, *, removed: str, added: str) -> None:
    """Record how the rows of ``added`` replacing those of ``removed`` (selects or tables) move ``table``'s
    fingerprint."""
    if not table_exists(con, FINGERPRINT_DELTAS):
        return
    con.execute(
        f"insert into {FINGERPRINT_DELTAS} select ?,"
        f" (select count(*) from {added}) - (select count(*) from {removed}),"
        f" (select coalesce(sum(hash(t)::hugeint), 0) from {added} as t)"
        f" - (select coalesce(sum(hash(t)::hugeint), 0) from {removed} as t)",
        [table],
    )


def fingerprints_by_difference(con: duckdb.DuckDBPyConnection, tables: Iterable[str]) -> dict[str, tuple[int, str]]:
    """The fingerprint of each of ``tables`` that can be had from the last one recorded and this build's
    changes, without reading the table: when the build is scoped and the table was either untouched or changed
    only by scoped rebuilds. A table left out must be fingerprinted from its rows.

    One query each of the change log, the recorded fingerprints and the differences for all ``tables``, not
    three a table: ``audit.table_fingerprints`` gains a row per table at every build, and the change log holds
    every open SLA cycle's case."""
    names = list(tables)
    if not names or not scoped_allowed(con) or not table_exists(con, FINGERPRINT_DELTAS):
        return {}
    among = "table_name in (select unnest(?::varchar[]))"
    changed = con.execute(
        f"select table_name, bool_or(key_name is null), bool_or(key_name is not null) from {CHANGES}"
        f" where {among} group by table_name",
        [names],
    ).fetchall()
    whole = {table for table, is_whole, _ in changed if is_whole}
    keyed = {table for table, _, is_keyed in changed if is_keyed}
    last = {
        table: (recorded["rows"], recorded["hash"])
        for table, recorded in con.execute(
            "select table_name, arg_max({'rows': row_count, 'hash': content_hash}, built_at)"
            f" from audit.table_fingerprints where {among} group by table_name",
            [names],
        ).fetchall()
    }
    deltas = {
        table: (int(rows), int(hash_sum))
        for table, rows, hash_sum in con.execute(
            f"select table_name, sum(row_count), sum(hash_sum) from {FINGERPRINT_DELTAS} where {among}"
            " group by table_name",
            [names],
        ).fetchall()
    }
    found = {}
    for table in names:
        if table in whole or table not in last or (table in keyed and table not in deltas):
            continue  # changed as a whole; never recorded; changed by a writer that recorded no difference
        rows, hash_sum = deltas.get(table, (0, 0))
        found[table] = last[table][0] + rows, f"{(int(last[table][1], 16) + hash_sum) % 2**64:016x}"
    return found


def record_rebuilt(con: duckdb.DuckDBPyConnection, table: str, before: str | None) -> None:
    """After ``table`` was rebuilt whole: changed as a whole unless its (small) content is what it was."""
    if before is not None and _fingerprint(con, table) == before:
        return
    record_whole(con, [table])


def fingerprint_if_small(con: duckdb.DuckDBPyConnection, table: str) -> str | None:
    if not table_exists(con, CHANGES) or not table_exists(con, table):
        return None
    if con.execute(f"select count(*) from {table}").fetchone()[0] > COMPARED_ROWS:
        return None
    return _fingerprint(con, table)


def filtered_frame(con: duckdb.DuckDBPyConnection, table: str, predicate: str | None) -> pl.LazyFrame:
    return con.sql(f"select * from {table}{by_row_id(table, predicate)}").pl().lazy()


def by_row_id(table: str, predicate: str | None) -> str:
    """`` where`` the rows of ``table`` that ``predicate`` keeps, picked by row id (empty without a predicate).

    The predicate is evaluated on a scan of the columns it names; only the rows it keeps are then read
    whole (DuckDB fetches them by id). A predicate on the key in the outer select would read every column
    of every row, texts included, to keep the few hundred a scoped rebuild needs (ten times slower at a
    million rows when they lie together, as new items do; no slower when they are scattered)."""
    return f" where rowid in (select rowid from {table} where {predicate})" if predicate else ""


__all__ = [
    "ADVANCE_CASES",
    "CHANGES",
    "CLOCK_CASES",
    "STATE",
    "begin",
    "by_row_id",
    "filtered_frame",
    "fingerprint_if_small",
    "finish",
    "rebuild_scoped",
    "record_keys",
    "record_rebuilt",
    "record_whole",
]
