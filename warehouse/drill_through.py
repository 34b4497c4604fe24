"""A published version's drill-through, read from audit.published_figure_items and audit.published_items
when a renderer asks for it (transforms/review/snapshot.py, DrillThrough).

Loading it whole cost the monthly review its memory: at the 3M bench a month has 9.6 M (figure, item)
pairs and 680,000 items, 3.2 GiB as a Polars frame and Python dicts, while the page links 2,467
figures, the drill-down page shows 50 items of each, and only the workbook's item sheets read every
item (streamed here, by item id). The rows read are frozen, so reading them late reads the same.

The reader lives as long as the connection it was given: render inside it.
"""

import json
from collections.abc import Collection, Iterator
from typing import Any

import duckdb
import polars as pl

# the workbook's item sheets are read in pages of this many items, each by a query of its own
# (nothing else can use the connection's result between two pages of one query)
ROWS_PAGE = 100_000

# an item's time on the drill-down page (transforms/review/items.py, _when)
_ITEM_TIME = "coalesce(nullif(row_data ->> 'received_local', ''), nullif(row_data ->> 'started_local', ''), '')"


class PublishedDrillThrough:
    """The drill-through of the published version ``review_id``, read through ``con``."""

    def __init__(self, con: duckdb.DuckDBPyConnection, review_id: str) -> None:
        self._con = con
        self._review = review_id
        self._figures: dict[str, tuple[int, str]] | None = None

    def _execute(self, sql: str, parameters: list[Any] | dict[str, Any]) -> duckdb.DuckDBPyConnection:
        try:
            return self._con.execute(sql, parameters)
        except duckdb.ConnectionException as error:
            raise RuntimeError(
                f"the drill-through of {self._review} is read from the warehouse when the review is rendered:"
                f" render it while the connection it was loaded with is open ({error})"
            ) from error

    def _figure_counts(self) -> dict[str, tuple[int, str]]:
        if self._figures is None:
            rows = self._execute(
                "select figure_id, count(*), min(item_kind) from audit.published_figure_items where review_id = ?"
                " group by figure_id",
                [self._review],
            ).fetchall()
            self._figures = {figure: (count, kind) for figure, count, kind in rows}
        return self._figures

    def counts(self) -> dict[str, int]:
        return {figure: count for figure, (count, _) in self._figure_counts().items()}

    def kind_of(self, figure: str) -> str:
        return self._figure_counts()[figure][1]

    def keys_of(self, figure: str) -> list[tuple[str, str]]:
        return [
            (kind, item_id)
            for kind, item_id in self._execute(
                "select item_kind, item_id from audit.published_figure_items where review_id = ? and figure_id = ?"
                " order by item_kind, item_id",
                [self._review, figure],
            ).fetchall()
        ]

    def items_of(self, figure: str) -> list[dict[str, Any]]:
        rows = self._execute(
            "select i.row_data from audit.published_figure_items p join audit.published_items i"
            " on i.review_id = p.review_id and i.item_kind = p.item_kind and i.item_id = p.item_id"
            " where p.review_id = ? and p.figure_id = ? order by p.item_kind, p.item_id",
            [self._review, figure],
        ).fetchall()
        return [json.loads(data) for (data,) in rows]

    def pairs(self, figures: Collection[str] | None = None) -> pl.DataFrame:
        where = "" if figures is None else " and figure_id in (select unnest(?))"
        parameters: list[Any] = [self._review] if figures is None else [self._review, sorted(figures)]
        return self._execute(
            "select figure_id, item_kind, item_id from audit.published_figure_items"
            f" where review_id = ?{where} order by figure_id, item_kind, item_id",
            parameters,
        ).pl()

    def earliest(self, figures: Collection[str], at_least: int) -> dict[str, tuple[str, list[dict[str, Any]]]]:
        if not figures:
            return {}
        rows = self._execute(
            f"""
            with times as (
                select item_kind, item_id, {_ITEM_TIME} as item_time
                from audit.published_items where review_id = $review
            ),
            pairs as (
                select p.figure_id, p.item_kind, p.item_id, coalesce(t.item_time, '') as item_time,
                    row_number() over figure as position,
                    min(p.item_kind) over (partition by p.figure_id) as figure_kind
                from audit.published_figure_items p left join times t using (item_kind, item_id)
                where p.review_id = $review and p.figure_id in (select unnest($figures))
                window figure as (partition by p.figure_id order by coalesce(t.item_time, ''))
            ),
            kept as (
                select figure_id, item_kind, item_id, figure_kind
                from pairs
                qualify item_time <= max(item_time) filter (where position <= $at_least) over (partition by figure_id)
            )
            select k.figure_id, k.figure_kind, k.item_id, i.row_data
            from kept k left join audit.published_items i
                on i.review_id = $review and i.item_kind = k.item_kind and i.item_id = k.item_id
            order by k.figure_id, k.item_kind, k.item_id
            """,
            {"review": self._review, "figures": sorted(figures), "at_least": at_least},
        ).fetchall()
        found: dict[str, tuple[str, list[dict[str, Any]]]] = {}
        for figure, kind, item_id, data in rows:
            item = {"missing_id": item_id} if data is None else json.loads(data)
            found.setdefault(figure, (kind, []))[1].append(item)
        return found

    def ids(self, item_kind: str) -> list[str]:
        return [
            item_id
            for (item_id,) in self._execute(
                "select item_id from audit.published_items where review_id = ? and item_kind = ? order by item_id",
                [self._review, item_kind],
            ).fetchall()
        ]

    def items(self, item_kind: str, ids: Collection[str]) -> dict[str, dict[str, Any]]:
        if not ids:
            return {}
        rows = self._execute(
            "select item_id, row_data from audit.published_items"
            " where review_id = ? and item_kind = ? and item_id in (select unnest(?)) order by item_id",
            [self._review, item_kind, sorted(ids)],
        ).fetchall()
        return {item_id: json.loads(data) for item_id, data in rows}

    def rows(self, item_kind: str, columns: tuple[str, ...]) -> Iterator[list[Any]]:
        after: str | None = None
        while True:
            page = self._execute(
                "select item_id, row_data from audit.published_items where review_id = ? and item_kind = ?"
                " and (? is null or item_id > ?) order by item_id limit ?",
                [self._review, item_kind, after, after, ROWS_PAGE],
            ).fetchall()
            for _, data in page:
                item = json.loads(data)
                yield [item.get(c) for c in columns]
            if len(page) < ROWS_PAGE:
                return
            after = page[-1][0]
