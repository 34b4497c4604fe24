"""Restatements: the figures two versions of a review disagree on, and the inputs that explain it."""

import math
from typing import Any

import polars as pl

from transforms.review.snapshot import Change, FrozenTable
from transforms.review.tables import row_key

# Doubles summed in parallel may differ in the last bits between two builds of the same inputs;
# that is not a restatement.
RELATIVE_TOLERANCE = 1e-9


def _compared_columns(frame: pl.DataFrame, key_columns: tuple[str, ...]) -> list[str]:
    return [c for c, t in frame.schema.items() if (t.is_numeric() or t == pl.Boolean) and c not in key_columns]


def _same(old: Any, new: Any) -> bool:
    if old is None or new is None:
        return old is new
    if isinstance(old, float) or isinstance(new, float):
        return math.isclose(float(old), float(new), rel_tol=RELATIVE_TOLERANCE, abs_tol=RELATIVE_TOLERANCE)
    return old == new


def _by_key(table: FrozenTable) -> dict[str, dict[str, Any]]:
    return {row_key(r, table.key_columns): r for r in table.frame.to_dicts()}


def diff_tables(
    old: dict[str, FrozenTable], new: dict[str, FrozenTable]
) -> tuple[list[Change], list[tuple[str, str]], list[tuple[str, str]]]:
    """Changed figures, added rows and removed rows, table by table and row by row (grain order)."""
    changes: list[Change] = []
    added: list[tuple[str, str]] = []
    removed: list[tuple[str, str]] = []
    for name in [*new, *(n for n in old if n not in new)]:
        before = _by_key(old[name]) if name in old else {}
        after = _by_key(new[name]) if name in new else {}
        added += [(name, k) for k in after if k not in before]
        removed += [(name, k) for k in before if k not in after]
        if name not in old or name not in new:
            continue
        columns = [c for c in _compared_columns(new[name].frame, new[name].key_columns) if c in old[name].frame.columns]
        for key in (k for k in after if k in before):
            changes += [
                Change(name, key, c, before[key][c], after[key][c])
                for c in columns
                if not _same(before[key][c], after[key][c])
            ]
    return changes, added, removed


def changed_configs(old: dict[str, str | None], new: dict[str, str | None]) -> list[str]:
    return sorted(name for name in set(old) | set(new) if old.get(name) != new.get(name))
