"""A published review as plain data: frozen tables, the items behind each figure, and provenance.

warehouse/publish.py writes and reads it; the renderers (HTML, XLSX) read only this, never the
live marts, so a published version always renders the same.
"""

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import polars as pl

from transforms.review.periods import Period


@dataclass(frozen=True)
class FrozenTable:
    name: str  # e.g. marts.management_monthly
    frame: pl.DataFrame
    key_columns: tuple[str, ...]


@dataclass(frozen=True)
class Change:
    table: str
    row_key: str
    column: str
    old: Any
    new: Any


@dataclass(frozen=True)
class Restatement:
    """What a new version changed against the previous one, and what caused it."""

    previous_review_id: str
    previous_version: int
    reason: str | None
    changes: tuple[Change, ...]
    added_rows: tuple[tuple[str, str], ...]  # (table, row key)
    removed_rows: tuple[tuple[str, str], ...]
    new_batches: tuple[dict[str, Any], ...]  # batch_id, channel_id, source_file, loaded_at
    dropped_batches: tuple[str, ...]
    config_changes: tuple[str, ...]  # configuration files whose content changed
    code_change: tuple[str | None, str | None] | None  # (old, new) code version when it changed
    previous_build_run_id: str = ""
    build_run_id: str = ""


@dataclass(frozen=True)
class Snapshot:
    review_id: str
    period: Period
    version: int
    published_at: datetime
    build_run_id: str
    input_batches_hash: str
    input_batch_count: int
    config_hashes: dict[str, str | None]
    code_version: str | None
    tables: dict[str, FrozenTable]
    # (figure_id, item_kind, item_id): the drill-through
    figure_items: pl.DataFrame
    # (item_kind, item_id) → the item as frozen
    items: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    restatement: Restatement | None = None

    def table(self, name: str) -> pl.DataFrame | None:
        frozen = self.tables.get(name)
        return None if frozen is None else frozen.frame

    def items_of(self, figure: str) -> list[tuple[str, str]]:
        rows = self.figure_items.filter(pl.col("figure_id") == figure).sort("item_kind", "item_id")
        return list(zip(rows["item_kind"].to_list(), rows["item_id"].to_list(), strict=True))
