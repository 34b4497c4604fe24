"""The published drill-through read on demand (warehouse/drill_through.py) against the same rows read whole.

A version is written straight into audit.published_figure_items and audit.published_items here, with
times that tie, items without a time, SLA clocks timed by their start, and pairs whose item is
missing: the reader must give what the renderers got when they read the version whole.
"""

import json
from typing import Any

import duckdb
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from transforms.review.items import _item_order, first_items
from warehouse.drill_through import PublishedDrillThrough

REVIEW = "monthly:2026-10:all:v1"
OTHER = "monthly:2026-10:all:v2"

TIMES = st.sampled_from([None, "", "2026-10-01 09:00", "2026-10-01 09:00", "2026-10-02 10:30", "2026-10-31 23:59"])


@st.composite
def versions(draw: Any) -> tuple[dict[tuple[str, str], dict[str, Any]], list[tuple[str, str, str]]]:
    """(items by key, (figure, kind, id) pairs): some pairs lead to items the version does not hold."""
    items: dict[tuple[str, str], dict[str, Any]] = {}
    for n in range(draw(st.integers(0, 25))):
        kind = draw(st.sampled_from(["feedback", "sla_clock"]))
        item_id = f"{kind[:2]}:{draw(st.integers(0, 40))}:{n}"
        at = draw(TIMES)
        data: dict[str, Any] = {"body_text": draw(st.sampled_from(["а", "б", "<b>в</b>", "=1+1"])), "n": n}
        data["received_local" if kind == "feedback" else "started_local"] = at
        if kind == "sla_clock" and draw(st.booleans()):
            data["received_local"] = draw(TIMES)  # a clock's own time wins when it has one
        items[(kind, item_id)] = data
    keys = sorted(items)
    pairs = set()
    for figure in range(draw(st.integers(0, 6))):
        chosen = draw(st.lists(st.sampled_from(keys), max_size=12, unique=True)) if keys else []
        missing = [("feedback", f"gone:{figure}:{k}") for k in range(draw(st.integers(0, 2)))]
        pairs |= {(f"marts.t|2026-10-01|d{figure}|complaints_count", k, i) for k, i in chosen + missing}
    return items, sorted(pairs)


def _write(con: duckdb.DuckDBPyConnection, review_id: str, items: dict, pairs: list) -> None:
    rows = [[review_id, kind, item_id, json.dumps(data, ensure_ascii=False)] for (kind, item_id), data in items.items()]
    if rows:
        con.executemany("insert into audit.published_items values (?, ?, ?, ?)", rows)
    if pairs:
        con.executemany(
            "insert into audit.published_figure_items values (?, ?, ?, ?)",
            [[review_id, figure, kind, item_id] for figure, kind, item_id in pairs],
        )


def _clear(con: duckdb.DuckDBPyConnection) -> None:
    con.execute("delete from audit.published_figure_items")
    con.execute("delete from audit.published_items")


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(version=versions(), other=versions(), shown=st.integers(1, 4))
def test_read_on_demand_equals_the_version_read_whole(
    con: duckdb.DuckDBPyConnection, version: tuple, other: tuple, shown: int
) -> None:
    _clear(con)
    items, pairs = version
    _write(con, REVIEW, items, pairs)
    _write(con, OTHER, *other)  # another version's rows are never read
    drill = PublishedDrillThrough(con, REVIEW)

    by_figure: dict[str, list[tuple[str, str]]] = {}
    for figure, kind, item_id in pairs:
        by_figure.setdefault(figure, []).append((kind, item_id))
    assert drill.counts() == {f: len(keys) for f, keys in by_figure.items()}
    assert drill.pairs().rows() == pairs
    some = sorted(by_figure)[::2]
    assert drill.pairs(some).rows() == [p for p in pairs if p[0] in some]
    for figure, keys in by_figure.items():
        assert drill.keys_of(figure) == keys
        assert drill.kind_of(figure) == keys[0][0]
        assert drill.items_of(figure) == [items[k] for k in keys if k in items]

    # the drill-down page: the figure's first items in the page's order, as from every item of the figure
    earliest = drill.earliest(list(by_figure), shown)
    assert set(earliest) == set(by_figure)
    for figure, keys in by_figure.items():
        whole = [items.get(k) or {"missing_id": k[1]} for k in keys]
        kind, candidates = earliest[figure]
        assert kind == keys[0][0]
        assert first_items(candidates, shown) == sorted(whole, key=_item_order)[:shown]

    for kind in ("feedback", "sla_clock"):
        ids = sorted(i for k, i in items if k == kind)
        assert drill.ids(kind) == ids
        assert drill.items(kind, [*ids[::2], "absent"]) == {i: items[(kind, i)] for i in ids[::2]}
        columns = ("n", "received_local", "absent")
        assert list(drill.rows(kind, columns)) == [[items[(kind, i)].get(c) for c in columns] for i in ids]


def test_a_clock_with_an_empty_time_of_its_own_goes_by_its_start(con: duckdb.DuckDBPyConnection) -> None:
    # the page's order: received_local, else started_local (an empty text counts as none), else ""
    _clear(con)
    items = {
        ("sla_clock", "C1|close_within_24h"): {"received_local": "", "started_local": "2026-10-02 10:00"},
        ("feedback", "F1"): {"received_local": "2026-10-01 09:00"},
        ("feedback", "F2"): {"received_local": "2026-10-03 09:00"},
    }
    figure = "marts.t|2026-10-01|all|items_count"
    _write(con, REVIEW, items, [(figure, kind, item_id) for kind, item_id in items])
    kind, candidates = PublishedDrillThrough(con, REVIEW).earliest([figure], 1)[figure]
    assert (kind, first_items(candidates, 1)) == ("feedback", [items[("feedback", "F1")]])
    kind, candidates = PublishedDrillThrough(con, REVIEW).earliest([figure], 2)[figure]
    assert first_items(candidates, 2) == [items[("feedback", "F1")], items[("sla_clock", "C1|close_within_24h")]]


def test_item_rows_come_in_pages_without_a_gap_or_a_repeat(
    con: duckdb.DuckDBPyConnection, monkeypatch: pytest.MonkeyPatch
) -> None:
    import warehouse.drill_through as drill_through

    monkeypatch.setattr(drill_through, "ROWS_PAGE", 3)
    for count in (0, 3, 7):
        _clear(con)
        items = {("feedback", f"f{n:02d}"): {"n": n} for n in range(count)}
        _write(con, REVIEW, items, [])
        assert [r[0] for r in PublishedDrillThrough(con, REVIEW).rows("feedback", ("n",))] == list(range(count))


def test_reading_after_the_connection_closed_says_what_to_do(con: duckdb.DuckDBPyConnection) -> None:
    drill = PublishedDrillThrough(con, REVIEW)
    con.close()
    with pytest.raises(RuntimeError, match="render it while the connection it was loaded with is open"):
        drill.counts()
