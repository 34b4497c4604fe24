"""A published review: frozen tables, the items behind each figure, and provenance.

warehouse/publish.py writes and reads it; the renderers (HTML, XLSX) read only this, never the
live marts, so a published version always renders the same. The tables and provenance are plain
data; the drill-through (the items behind the figures) is read from the published version when a
renderer asks for it (warehouse/drill_through.py): at the 3M bench a month has 9.6 M (figure, item)
pairs and 680,000 items, 3.2 GiB as Polars and Python objects, of which a page shows a few thousand.
"""

from collections.abc import Collection, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

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


class DrillThrough(Protocol):
    """The items behind a published version's figures. A figure is ``table|row key|column``
    (transforms/review/tables.py); an item is ``(item_kind, item_id)`` with its frozen data as a dict."""

    def counts(self) -> dict[str, int]:
        """Items per figure, for every figure that has items."""
        ...

    def kind_of(self, figure: str) -> str:
        """The kind of the figure's items (the first in order, should a figure mix kinds)."""
        ...

    def keys_of(self, figure: str) -> list[tuple[str, str]]:
        """The figure's items as (item_kind, item_id), in that order."""
        ...

    def items_of(self, figure: str) -> list[dict[str, Any]]:
        """The frozen data of the figure's items, in the order of ``keys_of``."""
        ...

    def pairs(self, figures: Collection[str] | None = None) -> pl.DataFrame:
        """(figure_id, item_kind, item_id) of ``figures`` (all when None), in that order."""
        ...

    def earliest(self, figures: Collection[str], at_least: int) -> dict[str, tuple[str, list[dict[str, Any]]]]:
        """For each of ``figures`` with items: its item kind and at least its ``at_least`` earliest items
        (by ``received_local`` or ``started_local``), with every item of the same time as the last of
        them, so that the caller's own order decides among those; an item missing from the version
        comes as ``{"missing_id": item_id}``."""
        ...

    def ids(self, item_kind: str) -> list[str]:
        """The ids of every item of ``item_kind``, in order."""
        ...

    def items(self, item_kind: str, ids: Collection[str]) -> dict[str, dict[str, Any]]:
        """The frozen data of the items of ``item_kind`` among ``ids``, by id (absent ids are left out)."""
        ...

    def rows(self, item_kind: str, columns: tuple[str, ...]) -> Iterator[list[Any]]:
        """Every item of ``item_kind`` by item id, as the values of ``columns`` (None where absent)."""
        ...


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
    drill: DrillThrough
    restatement: Restatement | None = None

    def table(self, name: str) -> pl.DataFrame | None:
        frozen = self.tables.get(name)
        return None if frozen is None else frozen.frame
