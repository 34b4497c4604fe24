"""What a reader needs of a SQL model, declared once beside its SQL: ``transforms/sql/<layer>/<name>.yml``.

A spec gives the model's description, its grain (the columns that make a row unique), which rows
exist, and every output column in order with its meaning and its checks. From it, and from nothing
else: the Great Expectations suite of the table (``expectations/declared.py``), the reference pages
of the marts (``docs/marts.md``, written by ``otklik docs``) and the check that the SQL's columns
are exactly the declared ones (``tests/transforms/test_model_specs.py``).

Column checks, each a word or a one-key mapping:

| check | holds |
| --- | --- |
| ``not_null`` | every row has a value |
| ``count`` | a count: not null and never negative |
| ``share`` | a share or rate: 0–1 (null when its whole is empty) |
| ``score`` | an NPS-type score or its interval bound: −100…100 |
| ``not_negative`` | hours, ratios, money: never below 0 |
| ``{in: [a, b]}`` | one of the values (nulls allowed unless ``not_null`` is also listed) |
| ``{in_config: what}`` | an id of the configuration or its missing member (below) |
| ``{at_most: column}`` | never more than another column of the row (a funnel stage, a part of a whole) |
| ``{between: [low, high]}`` | within the bounds (either may be null: open) |
| ``{contains: [a]}`` | the values include these (a dimension's missing member) |

``in_config`` takes ``directorate`` (org.yaml or ``unassigned``), ``directorate_or_all`` (and the company
row ``all``), ``department``, ``manager``, ``store`` (or ``unknown``), ``channel`` (or ``unknown``) or
``feedback_type`` (or ``unclassified``).

A keyed check may add ``why`` (the sentence shown when it fails) and ``severity: warning`` (recorded,
never stops the build; the default is critical). ``row_rules`` are conditions every row must meet,
written as SQL over the table's columns, each with its ``why``.

A column may be declared ``run_local: <why>``: it holds (or falls back to) the wall-clock time of an
action of this warehouse itself, such as when it loaded a batch, so two warehouses fed the same
inputs on the same clock differ there and nowhere else. ``warehouse.build.comparable_fingerprint``
leaves such columns out when two warehouses are compared (bench/demo_ducklake.py). A grain column
cannot be run-local.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from transforms.config_errors import parse_yaml

SQL_DIR = Path(__file__).resolve().parent / "sql"
SIMPLE_CHECKS = ("not_null", "count", "share", "score", "not_negative")
KEYED_CHECKS = ("in", "in_config", "at_most", "between", "contains")
CHECK_OPTIONS = ("why", "severity")
CONFIG_SETS = ("directorate", "directorate_or_all", "department", "manager", "store", "channel", "feedback_type")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ColumnSpec(_Strict):
    description: str = Field(min_length=3)
    checks: tuple[str | dict[str, Any], ...] = ()
    # why the column holds a time of this warehouse's own actions (module docstring); None: it does not
    run_local: str | None = Field(default=None, min_length=10)

    @field_validator("checks")
    @classmethod
    def _known_checks(cls, checks: tuple[str | dict[str, Any], ...]) -> tuple[str | dict[str, Any], ...]:
        for check in checks:
            if isinstance(check, str):
                if check not in SIMPLE_CHECKS:
                    raise ValueError(f"unknown check {check!r}; known: {', '.join(SIMPLE_CHECKS + KEYED_CHECKS)}")
                continue
            keys = [k for k in check if k not in CHECK_OPTIONS]
            if len(keys) != 1 or keys[0] not in KEYED_CHECKS:
                raise ValueError(f"a keyed check is one of {KEYED_CHECKS} with its argument, got {check!r}")
            if "in_config" in check and check["in_config"] not in CONFIG_SETS:
                raise ValueError(f"in_config takes one of {CONFIG_SETS}, got {check['in_config']!r}")
            if check.get("severity", "critical") not in ("critical", "warning"):
                raise ValueError(f"severity is critical or warning, got {check['severity']!r}")
        return checks


class RowRule(_Strict):
    holds: str = Field(min_length=3)  # a SQL condition over the table's columns
    why: str = Field(min_length=3)


class ModelSpec(_Strict):
    description: str = Field(min_length=10)
    grain: tuple[str, ...] = Field(min_length=1)
    rows: str = Field(min_length=10)  # which rows exist (the grid), in a sentence or two
    columns: dict[str, ColumnSpec]
    row_rules: tuple[RowRule, ...] = ()
    # the columns shown beside every sample of bad values (default: the grain)
    sample_columns: tuple[str, ...] = ()
    # assert_*.sql files of expectations/<layer>/ that check this table against others
    reconciliations: tuple[str, ...] = ()

    @model_validator(mode="after")
    def _grain_is_declared(self) -> ModelSpec:
        missing = [c for c in self.grain if c not in self.columns]
        if missing:
            raise ValueError(f"grain columns not among the columns: {missing}")
        # a row keyed by a warehouse's own clock would make the whole table differ between warehouses
        local_grain = [c for c in self.grain if self.columns[c].run_local is not None]
        if local_grain:
            raise ValueError(f"grain columns cannot be run_local: {local_grain}")
        for name, column in self.columns.items():
            for check in column.checks:
                if isinstance(check, dict) and "at_most" in check and check["at_most"] not in self.columns:
                    raise ValueError(f"{name}: at_most names an unknown column {check['at_most']!r}")
        return self


class ModelSpecError(ValueError):
    """A spec file that does not load: the message names the file and what is wrong."""


def spec_path(layer: str, name: str) -> Path:
    return SQL_DIR / layer / f"{name}.yml"


@cache
def load_spec(layer: str, name: str) -> ModelSpec:
    path = spec_path(layer, name)
    try:
        data = parse_yaml(path.read_text(encoding="utf-8"))
        return ModelSpec.model_validate(data)
    except (OSError, yaml.YAMLError, ValueError) as exc:
        raise ModelSpecError(f"{path.relative_to(SQL_DIR.parent.parent)}: {exc}") from exc


def specified_models(layer: str) -> list[str]:
    """The models of a layer that have a spec, in name order."""
    return sorted(p.stem for p in (SQL_DIR / layer).glob("*.yml"))


def run_local_columns(table: str) -> dict[str, str]:
    """The run-local columns of ``<layer>.<name>`` declared in its spec, each with its why, in column
    order; empty when the table has no spec (nothing declared: every column is compared)."""
    layer, _, name = table.partition(".")
    if not spec_path(layer, name).is_file():
        return {}
    columns = load_spec(layer, name).columns
    return {column: spec.run_local for column, spec in columns.items() if spec.run_local is not None}
