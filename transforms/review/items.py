"""The drill-down page: for every published figure, the feedback items (or SLA clocks) behind it."""

import heapq
from typing import Any

from transforms.review.format import format_value, label
from transforms.review.links import anchor, item_anchor
from transforms.review.render import environment, provenance
from transforms.review.snapshot import Snapshot
from transforms.review.tables import FIGURE_SEPARATOR, row_key

KIND_TITLES = {"feedback": "Обращения клиентов", "sla_clock": "Сроки SLA по обращениям CRM"}


def _rows_by_key(snapshot: Snapshot) -> dict[str, dict[str, dict[str, Any]]]:
    """Each frozen table's rows by their figure row key (built once per page, not once per figure)."""
    return {
        name: {row_key(row, frozen.key_columns): row for row in frozen.frame.to_dicts()}
        for name, frozen in snapshot.tables.items()
    }


def _figure_value(rows: dict[str, dict[str, dict[str, Any]]], table: str, key: str, column: str) -> Any:
    row = rows.get(table, {}).get(key)
    return None if row is None else row.get(column)


def _when(item: dict[str, Any]) -> str:
    return item.get("received_local") or item.get("started_local") or ""


def _item_order(item: dict[str, Any]) -> tuple[str, str]:
    """Oldest first; items of the same minute by their text (the page is the same at every render)."""
    return _when(item), str(item)


def first_items(items: list[dict[str, Any]], count: int) -> list[dict[str, Any]]:
    """``sorted(items, key=_item_order)[:count]``, without writing out the text of every item of a big
    figure: only the items no later than the ``count``-th earliest time can be among the first ``count``
    (a month's complaints at a million items: 80,000 items behind one figure, 50 shown)."""
    if len(items) <= count:
        return sorted(items, key=_item_order)
    times = [_when(item) for item in items]
    last = heapq.nsmallest(count, times)[-1]
    return sorted((item for item, when in zip(items, times, strict=True) if when <= last), key=_item_order)[:count]


def figure_sections(snapshot: Snapshot, per_figure: int, anchors: set[str] | None = None) -> list[dict[str, Any]]:
    """One section per figure with items (only those whose anchor is in ``anchors``, when given), in the
    order of the snapshot's tables, then rows, then columns."""
    counts = shown_counts(snapshot, anchors)
    if not counts:
        return []
    rows = _rows_by_key(snapshot)
    order = {name: i for i, name in enumerate(snapshot.tables)}
    sections = []
    for figure, (kind, candidates) in snapshot.drill.earliest(counts, per_figure).items():
        table, rest = figure.split(FIGURE_SEPARATOR, 1)
        key, column = rest.rsplit(FIGURE_SEPARATOR, 1)
        sections.append(
            {
                "sort": (order.get(table, len(order)), key, column),
                "anchor": anchor(figure),
                "table": table,
                "row": " · ".join(p for p in key.split(FIGURE_SEPARATOR) if p),
                "figure": label(column),
                "value": format_value(column, _figure_value(rows, table, key, column)),
                "kind": kind,
                "kind_title": KIND_TITLES.get(kind, kind),
                "count": counts[figure],
                "rows": first_items(candidates, per_figure),
            }
        )
    return sorted(sections, key=lambda s: s["sort"])


def shown_counts(snapshot: Snapshot, anchors: set[str] | None) -> dict[str, int]:
    """Items per figure, of the figures whose anchor is in ``anchors`` (all when None)."""
    counts = snapshot.drill.counts()
    if anchors is None:
        return counts
    return {figure: n for figure, n in counts.items() if anchor(figure) in anchors}


def render_items_page(
    snapshot: Snapshot,
    *,
    title: str,
    company_name: str,
    review_page: str,
    per_figure: int,
    anchors: set[str] | None = None,
    quoted: set[str] | None = None,
) -> str:
    """The drill-down page; ``quoted``: anchors of the items the review page quotes (links.item_anchor),
    listed first, each with its anchor, so that a quote leads to its item."""
    quotes = []
    if quoted:
        ids = [item_id for item_id in snapshot.drill.ids("feedback") if item_anchor(item_id) in quoted]
        for item_id, item in snapshot.drill.items("feedback", ids).items():
            quotes.append({**item, "anchor": item_anchor(item_id)})
    return (
        environment()
        .get_template("items.html.j2")
        .render(
            title=title,
            company_name=company_name,
            snapshot=snapshot,
            restatement=None,
            review_page=review_page,
            sections=figure_sections(snapshot, per_figure, anchors),
            quotes=quotes,
            per_figure=per_figure,
            sources=provenance(snapshot),
        )
    )
