"""warehouse/frames.py: frames appended by column name, and not held until the transaction ends."""

import gc
from datetime import UTC, datetime

import duckdb
import polars as pl
import pyarrow as pa
import pytest

from warehouse.frames import insert_frame


@pytest.fixture
def con(tmp_path):
    con = duckdb.connect(str(tmp_path / "w.duckdb"))
    con.execute("create table t (id bigint, text varchar, seen_at timestamptz)")
    yield con
    con.close()


def _frame(rows: int, start: int = 0) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "seen_at": [datetime(2026, 1, 1, tzinfo=UTC)] * rows,
            "text": [f"item {i}" for i in range(start, start + rows)],
            "id": list(range(start, start + rows)),
        }
    )


def test_columns_are_matched_by_name_not_by_position(con):
    insert_frame(con, "t", _frame(2))  # the frame's order is the reverse of the table's
    assert con.execute("select id, text, seen_at from t order by id").fetchall() == [
        (0, "item 0", datetime(2026, 1, 1, tzinfo=UTC)),
        (1, "item 1", datetime(2026, 1, 1, tzinfo=UTC)),
    ]


def test_an_empty_frame_writes_nothing(con):
    insert_frame(con, "t", _frame(0))
    assert con.execute("select count(*) from t").fetchone() == (0,)


@pytest.mark.parametrize("change", ["lacks", "extra"])
def test_columns_that_do_not_match_are_an_error_not_silent_nulls(con, change):
    frame = _frame(1).drop("text") if change == "lacks" else _frame(1).with_columns(extra=pl.lit(1))
    with pytest.raises(ValueError, match="t: the frame lacks columns"):
        insert_frame(con, "t", frame)
    assert con.execute("select count(*) from t").fetchone() == (0,)


def test_a_frame_is_not_held_until_the_transaction_ends(con):
    """A registered frame would be: its dropped view keeps it until commit (duckdb/duckdb-python#469).
    The frame's columns are pyarrow's memory (Polars takes integer columns from Arrow without a copy), so
    pyarrow's allocator says whether anything still holds them."""
    con.execute("create table n (id bigint, amount bigint)")
    con.execute("begin transaction")
    before = pa.total_allocated_bytes()
    columns = pa.table({"id": pa.array(range(100_000), pa.int64()), "amount": pa.array(range(100_000), pa.int64())})
    frame = pl.from_arrow(columns)
    del columns
    assert pa.total_allocated_bytes() - before >= 1_600_000
    insert_frame(con, "n", frame)
    del frame
    gc.collect()
    assert pa.total_allocated_bytes() - before == 0
    con.execute("commit")
    assert con.execute("select count(*), sum(amount) from n").fetchone() == (100_000, 4_999_950_000)


def test_partitions_larger_than_a_row_group_into_a_table_created_in_the_transaction(con):
    """What a build from nothing does (warehouse/staging.py): a table made in the transaction, then
    partitions of more than a row group (122,880 rows) appended; every row is there after commit."""
    con.execute("begin transaction")
    con.execute("create or replace table t (id bigint, text varchar, seen_at timestamptz)")
    for part in range(3):
        insert_frame(con, "t", _frame(130_000, start=part * 130_000))
    con.execute("commit")
    assert con.execute("select count(*), count(distinct id) from t").fetchone() == (390_000, 390_000)
