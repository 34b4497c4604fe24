"""What a scoped build checks of a table: the rows it changed, and the whole table only where a check needs it.

A scoped build (warehouse/scoped_build.py) records, per table, whether it changed the table as a whole or
only the rows of some key values (``staging.stg__build_changes``). ``warehouse.build.tables_to_check``
turns that record into a ``CheckScope``: each table to check with its ``TableChange``, and every table the
build changed so far. ``validate_layer`` then runs, of a table changed **by key**:

- on its **changed rows** (the rows whose key is one of the recorded values, or null), what judges a row
  on its own: the GX expectations of ``ROW_TYPES`` (not null, in set, between, pair comparisons, ...) with
  ``mostly`` at 1 and no parameter but a clock upper bound, and the SQL checks marked ``per_row`` that read
  no other table that changed;
- also on the changed rows, uniqueness (``UNIQUE_TYPES``) over columns that include the key of the slice;
- on the **whole table**, everything else: row counts, distinct values, a share (``mostly`` < 1), a
  uniqueness without the key, a type this module does not know, a SQL check that is neither ``per_row``
  nor ``per_key``.

A SQL check marked ``per_key: <column>`` (each bad row is about one value of the column, judged on that
value's rows in every table it reads: a reconciliation per case) reads, in every table, only the values
any of them changed (``on_keys``). Of a table changed **as a whole**, everything runs on the whole table.
Of a table the build did not change (it is checked because one of its SQL checks reads a changed table),
only the SQL checks that read a changed table (or a table whose changes are not recorded).

Why that is sound, by induction over builds. A scoped build follows a finished build, whose checks
passed on every row it left (warehouse/scoped_build.py allows no scoped build after a failed one). A row
outside the changed rows is a row of that state, unchanged: every writer that changes a table by key
records, for each key column the table has (``transforms.incremental.KEY_NAMES``), the value of every row
it deleted or inserted (``scoped_build.record_keys``), and a row whose key is null is in the slice anyway.
So a per-row verdict on such a row is what it was, as long as what the verdict reads did not move: the
row, the configuration (another configuration is a build from nothing), other tables (then the check
runs whole) and the clock, which a scoped build never moves back, so that an upper bound at ``$as_of``
holds the more.
Uniqueness over columns C that include the key K: two rows equal on C are equal on K. They are not both
old rows (the old state was unique), so one is new; its K was recorded, so both are in the slice, where
the duplicate shows. Over columns without K the other row of a pair may lie outside the slice: whole.
A *warning* that failed on an old row was recorded by the build that made the row; it is not repeated.
What is not covered: a change of the checks themselves (new code) is no change of the data; a whole
build checks every row again. ``tests/expectations/test_scope.py`` and
``tests/warehouse/test_scoped_checks.py`` hold these claims to a run.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import duckdb

# What an expectation needs to be judged: the changed rows, the changed rows if its columns hold the
# slice's key (uniqueness), or the whole table.
ROWS = "rows"
UNIQUE = "unique"
WHOLE = "whole"

# GX expectations whose verdict on a row reads that row alone (column, column-pair and multicolumn map
# expectations with a per-row condition). Uniqueness is a map expectation too, but its condition counts
# the other rows: it is in UNIQUE_TYPES. Anything not listed is judged on the whole table.
ROW_TYPES = frozenset(
    {
        "expect_column_values_to_not_be_null",
        "expect_column_values_to_be_null",
        "expect_column_values_to_be_in_set",
        "expect_column_values_to_not_be_in_set",
        "expect_column_values_to_be_between",
        "expect_column_value_lengths_to_be_between",
        "expect_column_value_lengths_to_equal",
        "expect_column_values_to_match_regex",
        "expect_column_values_to_not_match_regex",
        "expect_column_values_to_match_regex_list",
        "expect_column_values_to_not_match_regex_list",
        "expect_column_values_to_match_like_pattern",
        "expect_column_values_to_not_match_like_pattern",
        "expect_column_values_to_match_like_pattern_list",
        "expect_column_values_to_not_match_like_pattern_list",
        "expect_column_values_to_match_strftime_format",
        "expect_column_values_to_be_dateutil_parseable",
        "expect_column_values_to_be_json_parseable",
        "expect_column_values_to_match_json_schema",
        "expect_column_pair_values_a_to_be_greater_than_b",
        "expect_column_pair_values_to_be_equal",
        "expect_column_pair_values_to_be_in_set",
        "expect_multicolumn_sum_to_equal",
        "expect_multicolumn_values_to_be_equal",
        "expect_select_column_values_to_be_unique_within_record",
    }
)
# Uniqueness, by the argument that names its columns.
UNIQUE_TYPES = {
    "expect_column_values_to_be_unique": "column",
    "expect_compound_columns_to_be_unique": "column_list",
}
# Suite parameters that only grow from one scoped build to the next (expectations.gx_run.suite_parameters):
# a row below such an upper bound stays below it.
CLOCK_PARAMETERS = frozenset({"as_of", "latest_allowed_at"})
# The layers whose every change a build records (warehouse/scoped_build.py): a check that reads a table of
# another schema (quarantine, restricted, raw) cannot know whether it changed.
RECORDED_SCHEMAS = ("staging", "core", "marts")
_READS = re.compile(r"\b(?:from|join)\s+([a-z_][a-z_0-9]*)\.([a-z_][a-z_0-9]*)\b", re.IGNORECASE)
_COMMENT = re.compile(r"--[^\n]*")


@dataclass(frozen=True)
class TableChange:
    """How a build changed one table: as a whole (``keys`` empty), by key (``keys``: each key column whose
    changed values were recorded → a select of those values, as varchar), or not at all (``changed`` False)."""

    changed: bool = True
    keys: Mapping[str, str] = field(default_factory=dict)

    @property
    def by_key(self) -> bool:
        return self.changed and bool(self.keys)


CHANGED_WHOLE = TableChange()
UNCHANGED = TableChange(changed=False)


class CheckScope(Mapping[str, TableChange]):
    """What a scoped build checks of a layer: each table (``schema.table``) with how the build changed it.

    ``changes`` holds every table (and pseudo-table) the build changed so far, in any layer, with how:
    what a SQL check that reads other tables needs to know. A collection of table names, a scope goes
    where ``validate_layer`` takes ``tables``.
    """

    def __init__(self, tables: Collection[str], changes: Mapping[str, TableChange]) -> None:
        self._tables = frozenset(tables)
        self.changes = dict(changes)
        self.changed = frozenset(changes)

    def __getitem__(self, table: str) -> TableChange:
        if table not in self._tables:
            raise KeyError(table)
        return self.changes.get(table, UNCHANGED)

    def __iter__(self) -> Iterator[str]:
        return iter(sorted(self._tables))

    def __len__(self) -> int:
        return len(self._tables)

    def __repr__(self) -> str:
        return f"CheckScope({sorted(self._tables)!r}, changes={self.changes!r})"


# ------------------------------------------------------------------------------ GX expectations


def needs(expectation_type: str, kwargs: Mapping[str, Any]) -> str:
    """What an expectation needs to be judged after a change by key: ROWS, UNIQUE or WHOLE."""
    mostly = kwargs.get("mostly")
    if mostly is not None and mostly < 1:
        return WHOLE  # a share of the table's rows, not a verdict per row
    for name, value in kwargs.items():
        parameter = value.get("$PARAMETER") if isinstance(value, dict) else None
        if parameter is not None and (name != "max_value" or parameter not in CLOCK_PARAMETERS):
            return WHOLE  # a bound that may move against rows that passed it
    if expectation_type in UNIQUE_TYPES:
        return UNIQUE
    return ROWS if expectation_type in ROW_TYPES else WHOLE


def unique_columns(expectation_type: str, kwargs: Mapping[str, Any]) -> tuple[str, ...]:
    """The columns a uniqueness expectation holds unique (empty for any other type)."""
    argument = UNIQUE_TYPES.get(expectation_type)
    if argument is None:
        return ()
    value = kwargs.get(argument)
    return (value,) if isinstance(value, str) else tuple(value or ())


@dataclass(frozen=True)
class SuiteSplit:
    """Which expectations of a suite (by position) run on the changed rows, sliced by ``key``, and which
    on the whole table."""

    key: str | None
    on_slice: tuple[int, ...]
    on_whole: tuple[int, ...]


def split_suite(expectations: Sequence[tuple[str, Mapping[str, Any]]], keys: Sequence[str]) -> SuiteSplit:
    """Split ``expectations`` (type and kwargs each, in suite order) for a table changed by key, given the
    key columns it can be sliced by (``keys``, in order of preference; none: everything whole).

    The slice's key is the one most uniqueness expectations include, so that as few as possible read the
    whole table; then the first of ``keys``.
    """
    kinds = [(needs(kind, kwargs), unique_columns(kind, kwargs)) for kind, kwargs in expectations]
    if not keys:
        return SuiteSplit(None, (), tuple(range(len(kinds))))
    key = max(keys, key=lambda k: (sum(1 for need, cols in kinds if need == UNIQUE and k in cols), -keys.index(k)))
    on_slice = tuple(i for i, (need, cols) in enumerate(kinds) if need == ROWS or (need == UNIQUE and key in cols))
    if not on_slice:
        return SuiteSplit(None, (), tuple(range(len(kinds))))
    return SuiteSplit(key, on_slice, tuple(i for i in range(len(kinds)) if i not in on_slice))


# ------------------------------------------------------------------------------ SQL checks


def tables_read(sql: str) -> set[str]:
    """Every ``schema.table`` a select reads (``from``/``join``), of any schema, comments left out."""
    return {f"{s.lower()}.{t.lower()}" for s, t in _READS.findall(_COMMENT.sub("", sql))}


def check_reads_a_change(sql: str, table: str, scope: CheckScope) -> bool:
    """Whether a SQL check of ``table`` may see something the build changed: it reads a changed table, or
    one whose changes a build does not record."""
    read = tables_read(sql) | {table}
    return bool(read & scope.changed) or any(t.split(".")[0] not in RECORDED_SCHEMAS for t in read)


def others_unchanged(sql: str, table: str, scope: CheckScope) -> bool:
    """Whether every table but ``table`` that a check reads is one the build recorded and left alone."""
    others = tables_read(sql) - {table}
    return not (others & scope.changed) and all(t.split(".")[0] in RECORDED_SCHEMAS for t in others)


def on_rows(sql: str, table: str, relation: str) -> str:
    """``sql`` with every ``from``/``join`` of ``table`` reading ``relation`` instead, under the same alias
    (``as x``, or the table's name). Raises ValueError when it does not read ``table``."""
    schema, name = table.split(".")
    pattern = re.compile(
        rf"\b(from|join)\s+{re.escape(schema)}\.{re.escape(name)}\b(?:\s+as\s+([a-z_][a-z_0-9]*))?", re.IGNORECASE
    )
    text, count = pattern.subn(lambda m: f"{m.group(1)} {relation} as {m.group(2) or name}", sql)
    if not count:
        raise ValueError(f"a per-row check of {table} must read it with from/join {table}")
    return text


def on_keys(sql: str, key: str, scope: CheckScope, con: duckdb.DuckDBPyConnection) -> str | None:
    """``sql``, a check whose every bad row is about one value of ``key`` and judged on the rows of that
    value alone (``-- per_key:``), with every table it reads restricted to the values of ``key`` the build
    changed in any of them (and to null); None when that is not sound: a table it reads lacks the key,
    changed as a whole or without that key recorded, or is one whose changes are not recorded.

    A value no table it reads changed has the rows it had when the last build checked them; a value
    some table changed was recorded there, and every table then keeps all of that value's rows.
    """
    read = sorted(tables_read(sql))
    if any(t.split(".")[0] not in RECORDED_SCHEMAS for t in read):
        return None
    changed = [scope.changes[t] for t in read if t in scope.changes]
    if not changed or any(key not in change.keys for change in changed):
        return None
    columns = "select schema_name || '.' || table_name from duckdb_columns() where column_name = ?"
    having = {r[0] for r in con.execute(columns, [key]).fetchall()}
    if not set(read) <= having:
        return None
    values = " union ".join(f"({change.keys[key]})" for change in changed)
    quoted = '"' + key.replace('"', '""') + '"'
    for table in read:
        sql = on_rows(sql, table, f"(select * from {table} where {quoted}::varchar in ({values}) or {quoted} is null)")
    return sql


# ------------------------------------------------------------------------------ the changed rows


class ChangedRows:
    """Copies of the rows a build changed, made on demand into an in-memory database attached to ``con``
    for the checks, so that GX (through its cursor of ``con``: the same database instance) and the SQL
    checks read a few rows, not the history. ``close()`` detaches it.

    One copy per table and key, made by a scan of the table's key column and a read of the rows it found
    by their row ids; every check of the slice then reads the copy (GX runs some forty queries for a
    suite of fifteen expectations).
    """

    def __init__(self, con: duckdb.DuckDBPyConnection, scope: CheckScope) -> None:
        self.con = con
        self._scope = scope
        self._database: str | None = None
        self._copies: dict[tuple[str, str], str] = {}
        self._columns: dict[str, set[str]] = {}

    def keys_of(self, table: str, preferred: Sequence[str] = ()) -> list[str]:
        """The key columns ``table`` can be sliced by, ``preferred`` first; none unless changed by key."""
        change = self._scope.get(table)
        if change is None or not change.by_key:
            return []
        columns = self._columns_of(table)
        offered = [k for k in change.keys if k in columns]
        return [k for k in preferred if k in offered] + [k for k in offered if k not in preferred]

    def relation(self, table: str, key: str) -> str:
        """The copy of ``table``'s changed rows by ``key`` (made on first use), as a qualified name."""
        if (table, key) in self._copies:
            return self._copies[(table, key)]
        if self._database is None:
            self._database = f"_otklik_checks_{uuid.uuid4().hex[:12]}"
            self.con.execute(f"attach ':memory:' as {self._database}")
        copy = f"{self._database}.main.rows_{len(self._copies)}"
        values = self._scope[table].keys[key]
        quoted = '"' + key.replace('"', '""') + '"'
        changed = f"{quoted}::varchar in ({values}) or {quoted} is null"
        if self._has_row_ids(table):
            # The ids of the changed rows first, from the key column alone, then those rows: DuckDB limits
            # the second scan to the row groups between the least and the greatest id, and a build appends
            # what it changes, so it reads a few row groups instead of every column of the history (the
            # changed rows of core.fct_feedback at 1M: 0.04-0.08 s, not 0.27 s). The same rows, in the
            # table's order.
            rows = f"rowid in (select rowid from {table} where {changed}) order by rowid"
        else:
            rows = changed
        self.con.execute(f"create table {copy} as select * from {table} where {rows}")
        self._copies[(table, key)] = copy
        return copy

    def any_relation(self, table: str, preferred: Sequence[str] = ()) -> str | None:
        """A copy of ``table``'s changed rows by any key (one already made, else by the first key)."""
        made = [copy for (t, _), copy in self._copies.items() if t == table]
        if made:
            return made[0]
        keys = self.keys_of(table, preferred)
        return self.relation(table, keys[0]) if keys else None

    def _columns_of(self, table: str) -> set[str]:
        if table not in self._columns:
            schema, name = table.split(".")
            query = "select column_name from duckdb_columns() where schema_name = ? and table_name = ?"
            self._columns[table] = {r[0] for r in self.con.execute(query, [schema, name]).fetchall()}
        return self._columns[table]

    def _has_row_ids(self, table: str) -> bool:
        """Whether ``rowid`` names each row of ``table`` once: a table (a view has no row ids) without a
        column of that name."""
        schema, name = table.split(".")
        query = "select count(*) from duckdb_views() where schema_name = ? and view_name = ?"
        is_view = self.con.execute(query, [schema, name]).fetchone()[0] > 0
        return not is_view and "rowid" not in {c.lower() for c in self._columns_of(table)}

    def close(self) -> None:
        if self._database is not None:
            self.con.execute(f"detach {self._database}")
            self._database = None
            self._copies.clear()
