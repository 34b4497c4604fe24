"""`otklik backfill` on the golden fixture: every month of the range reviewed once, a rerun changes nothing."""

from pathlib import Path

import duckdb

from flows.backfill import backfill

AS_OF = "2026-12-01T00:00:00+00:00"


def _published(path: Path) -> list[tuple]:
    with duckdb.connect(str(path), read_only=True) as con:
        return con.execute(
            "select period, version from audit.published_reviews where review_kind = 'monthly' order by period"
        ).fetchall()


def test_backfill_reviews_each_month_with_data_and_a_rerun_changes_nothing(workspace: Path) -> None:
    landing = str(workspace / "landing")
    first = backfill("2026-09", "2026-11", landing=landing, as_of=AS_OF)
    # October holds 12 items; R14 (01.11 01:00 Moscow) is November's only one; September has none.
    assert first["items"] == {"2026-09": 0, "2026-10": 12, "2026-11": 1}
    assert first["reviews"]["2026-09"] is None
    assert Path(first["reviews"]["2026-10"]).is_file() and Path(first["reviews"]["2026-11"]).is_file()
    assert sum(first["ingest"]["loaded_files"].values()) > 0
    assert _published(workspace / "w.duckdb") == [("2026-10", 1), ("2026-11", 1)]
    html = Path(first["reviews"]["2026-10"]).read_bytes()

    again = backfill("2026-09", "2026-11", landing=landing, as_of=AS_OF, republish=True)
    assert sum(again["ingest"]["loaded_files"].values()) == 0
    assert again["items"] == first["items"]
    # republishing figures that did not move keeps version 1: nothing to restate
    assert _published(workspace / "w.duckdb") == [("2026-10", 1), ("2026-11", 1)]
    assert Path(again["reviews"]["2026-10"]).read_bytes() == html
