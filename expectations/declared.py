"""Checks generated from the model specs (``transforms/sql/<layer>/<name>.yml``).

A model with a spec needs no suite module: ``expectations.validate`` finds its checks here, in two
forms, both recorded in audit.validation_results like every other check:

- a Great Expectations suite for what GX says well per column: the grain (not null, unique), allowed
  values (``in``, ``in_config``), bounds (``between``) and required members (``contains``);
- SQL checks for the row-wise rules that apply to many columns at once (``count``, ``share``,
  ``score``, ``not_negative``, ``not_null``, ``at_most``, ``row_rules``): one query per rule and table,
  whose sample names each bad row by its key and lists the columns it breaks. One query for the 80
  counts of a mart instead of 160 GX expectations keeps the checks of a build in seconds.

Every check is critical unless its spec says ``severity: warning``: a figure that cannot be true must
not reach the review.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from expectations.severity import CRITICAL, WARNING, critical, warning
from transforms.channels import load_channels
from transforms.model_specs import CHECK_OPTIONS, ModelSpec, load_spec, specified_models
from transforms.org import MISSING_DIRECTORATE_ID, load_org
from transforms.taxonomy import load_feedback_types

if TYPE_CHECKING:
    import great_expectations as gx
    import great_expectations.expectations as gxe

    from expectations.validate import SqlCheck

COMPANY_TOTAL_ID = "all"

# The row-wise rules, each one SQL check per table: (check, condition that breaks it on a column, why).
ROW_WISE = {
    "not_null": ("{c} is null", "every row has these: a broken join leaves them empty"),
    "count": ("{c} is null or {c} < 0", "a count cannot be negative or missing: a broken join or sum"),
    "share": ("{c} < 0 or {c} > 1", "a share or rate is a part of its whole, 0-1; null when the whole is empty"),
    "score": (
        "{c} < -100 or {c} > 100",
        "NPS-type scores and their interval = 100 × (promoters − detractors) / answers lie within ±100",
    ),
    "not_negative": ("{c} < 0", "hours, ratios, orders and money are never negative"),
}
AT_MOST_WHY = "a part is never more than its whole (a stage of a funnel, a group of answers, a kind of items)"


def config_values(which: str) -> list[str]:
    """The ids a column may hold: the configuration's, and its missing member."""
    org = load_org()
    if which in ("directorate", "directorate_or_all"):
        ids = [d.id for d in org.directorates] + [MISSING_DIRECTORATE_ID]
        return sorted([*ids, COMPANY_TOTAL_ID] if which == "directorate_or_all" else ids)
    if which == "department":
        return sorted({dep.id for d in org.directorates for dep in d.departments} | {MISSING_DIRECTORATE_ID})
    if which == "manager":
        return sorted({m.id for m in org.managers} | {MISSING_DIRECTORATE_ID})
    if which == "store":
        return sorted({s.id for s in org.stores} | {"unknown"})
    if which == "channel":
        return sorted({c.id for c in load_channels()} | {"unknown"})
    return sorted({t.feedback_type_id for t in load_feedback_types()} | {"unclassified"})


# ---------------------------------------------------------------------------------- the GX suite


def expectations_for(table: str, spec: ModelSpec) -> list[gxe.Expectation]:
    """The per-column expectations of a spec: its grain and its keyed value checks."""
    import great_expectations.expectations as gxe

    unique_why = critical(f"one row per {' × '.join(spec.grain)}; a duplicate doubles the figures")
    # a grain column is not null unless its spec leaves it nullable (a fact's optional attribute)
    found: list[gxe.Expectation] = [
        *(
            gxe.ExpectColumnValuesToNotBeNull(column=c, meta=critical(f"every row has its {c} (the grain)"))
            for c in spec.grain
            if "not_null" in spec.columns[c].checks
        ),
        gxe.ExpectCompoundColumnsToBeUnique(column_list=list(spec.grain), meta=unique_why)
        if len(spec.grain) > 1
        else gxe.ExpectColumnValuesToBeUnique(column=spec.grain[0], meta=unique_why),
    ]
    for column, column_spec in spec.columns.items():
        for check in column_spec.checks:
            if isinstance(check, dict) and "at_most" not in check:
                found += _keyed_expectation(column, check)
    return found


def _keyed_expectation(column: str, check: dict[str, Any]) -> list[gxe.Expectation]:
    import great_expectations.expectations as gxe

    key = next(k for k in check if k not in CHECK_OPTIONS)
    argument = check[key]

    def meta(default_why: str) -> dict[str, str]:
        why = check.get("why", default_why)
        return warning(why) if check.get("severity") == WARNING else critical(why)

    if key == "in":
        why = f"{column} is one of {list(argument)}"
        return [gxe.ExpectColumnValuesToBeInSet(column=column, value_set=list(argument), meta=meta(why))]
    if key == "in_config":
        why = f"{column} must be an id of the configuration ({argument}) or its missing member"
        return [gxe.ExpectColumnValuesToBeInSet(column=column, value_set=config_values(argument), meta=meta(why))]
    if key == "contains":
        why = f"facts map unknown keys to {list(argument)}; without it they drop out of joins"
        return [gxe.ExpectColumnDistinctValuesToContainSet(column=column, value_set=list(argument), meta=meta(why))]
    low, high = argument
    why = f"{column} lies within {low}…{high}"
    return [gxe.ExpectColumnValuesToBeBetween(column=column, min_value=low, max_value=high, meta=meta(why))]


@dataclass(frozen=True)
class DeclaredSuite:
    """A suite in the shape ``expectations.validate`` runs: TABLE, KEY_COLUMNS, build_suite()."""

    TABLE: str
    KEY_COLUMNS: tuple[str, ...]
    spec: ModelSpec

    @property
    def __name__(self) -> str:  # named like a suite module in messages
        return f"{self.TABLE} (declared in its .yml)"

    def build_suite(self) -> gx.ExpectationSuite:
        import great_expectations as gx

        return gx.ExpectationSuite(name=self.TABLE, expectations=expectations_for(self.TABLE, self.spec))


def _sample_columns(spec: ModelSpec) -> tuple[str, ...]:
    return spec.sample_columns or spec.grain


def declared_suites(layer: str) -> list[DeclaredSuite]:
    """A GX suite for every model of ``layer`` that has a spec, in name order."""
    suites = []
    for name in specified_models(layer):
        spec = load_spec(layer, name)
        suites.append(DeclaredSuite(f"{layer}.{name}", _sample_columns(spec), spec))
    return suites


# --------------------------------------------------------------------------------- the SQL checks


def _quote(column: str) -> str:
    return '"' + column.replace('"', '""') + '"'


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _broken_rows_sql(table: str, spec: ModelSpec, conditions: dict[str, str]) -> str:
    """The rows where any condition holds, by their key, with the columns each one breaks."""
    keys = ", ".join(_quote(c) for c in _sample_columns(spec))
    named = ", ".join(f"case when {condition} then {_literal(name)} end" for name, condition in conditions.items())
    broken = " or ".join(f"({condition})" for condition in conditions.values())
    return f"select {keys}, concat_ws(', ', {named}) as broken_columns from {table} where {broken}"


def declared_checks(layer: str) -> list[SqlCheck]:
    """The row-wise SQL checks of every model of ``layer`` that has a spec, in name order.

    Each judges a row of its table on its own (``per_row``): a scoped build runs it on the changed rows
    (expectations.scope)."""
    from expectations.validate import SqlCheck

    checks: list[SqlCheck] = []
    for name in specified_models(layer):
        table, spec = f"{layer}.{name}", load_spec(layer, name)
        for rule, (template, why) in ROW_WISE.items():
            columns = [
                c
                for c, column_spec in spec.columns.items()
                if rule in column_spec.checks and not (rule == "not_null" and c in spec.grain)
            ]
            if columns:
                conditions = {c: template.format(c=_quote(c)) for c in columns}
                sql = _broken_rows_sql(table, spec, conditions)
                described = f"{why} ({', '.join(columns)})"
                checks.append(SqlCheck(f"spec_{rule}", table, CRITICAL, described, sql, per_row=True))
        parts = {
            column: check["at_most"]
            for column, column_spec in spec.columns.items()
            for check in column_spec.checks
            if isinstance(check, dict) and "at_most" in check
        }
        if parts:
            conditions = {f"{p} > {w}": f"{_quote(p)} > {_quote(w)}" for p, w in parts.items()}
            sql = _broken_rows_sql(table, spec, conditions)
            checks.append(SqlCheck("spec_at_most", table, CRITICAL, AT_MOST_WHY, sql, per_row=True))
        for number, rule in enumerate(spec.row_rules, start=1):
            sql = _broken_rows_sql(table, spec, {rule.holds: f"not ({rule.holds})"})
            checks.append(SqlCheck(f"spec_row_rule_{number}", table, CRITICAL, rule.why, sql, per_row=True))
    return checks
