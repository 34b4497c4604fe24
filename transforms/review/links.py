"""Cells that link a figure to the feedback items behind it (the drill-down page)."""

import hashlib
from typing import Any

import polars as pl
from markupsafe import Markup, escape

from transforms.review.format import format_value
from transforms.review.snapshot import Snapshot
from transforms.review.tables import figure_id, row_key


def anchor(figure: str) -> str:
    return "fig-" + hashlib.sha1(figure.encode()).hexdigest()[:12]


def item_anchor(item_id: str) -> str:
    """The anchor of one quoted item on the drill-down page (its section «Цитаты обзора»)."""
    return "item-" + hashlib.sha1(item_id.encode()).hexdigest()[:12]


class FigureLinks:
    """Formats a row's cell and links it when the snapshot holds items behind that figure."""

    def __init__(self, snapshot: Snapshot, items_page: str) -> None:
        self._snapshot = snapshot
        self._page = items_page
        self._counts = snapshot.drill.counts()

    def figure(self, table: str, row: dict[str, Any], column: str) -> str:
        return figure_id(table, row_key(row, self._snapshot.tables[table].key_columns), column)

    def item_href(self, item_id: str) -> str:
        return f"{self._page}#{item_anchor(item_id)}"

    def href(self, figure: str) -> str | None:
        return f"{self._page}#{anchor(figure)}" if figure in self._counts else None

    def cell(self, table: str, row: dict[str, Any] | None, column: str, text: str | None = None) -> Markup:
        if row is None:
            return Markup("—")
        shown = escape(format_value(column, row.get(column)) if text is None else text)
        href = self.href(self.figure(table, row, column))
        if href is None:
            return Markup(shown)
        count = self._counts[self.figure(table, row, column)]
        return Markup(f'<a class="drill" href="{escape(href)}" title="Элементов: {count}">{shown}</a>')


def rows_where(frame: pl.DataFrame | None, **equal: Any) -> list[dict[str, Any]]:
    if frame is None or frame.is_empty():
        return []
    present = {k: v for k, v in equal.items() if k in frame.columns}
    for column, value in present.items():
        frame = frame.filter(pl.col(column) == value)
    return frame.to_dicts()
