"""OTKLIK_MEMORY_LIMIT caps the memory DuckDB uses per connection; past it, DuckDB works out of core."""

from pathlib import Path

import duckdb
import pytest

from warehouse import connect
from warehouse.connection import MEMORY_LIMIT_VARIABLE, memory_limit, memory_limit_bytes


def test_the_limit_reaches_every_connection(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(MEMORY_LIMIT_VARIABLE, "100MB")
    with connect(tmp_path / "w.duckdb") as con:
        assert con.execute("select current_setting('memory_limit')").fetchone()[0] in {"95.3 MiB", "100.0 MB"}
        # a sort and an aggregate far larger than the limit finish, spilling to the temp directory
        total = con.execute(
            "select count(*), count(distinct h) from (select md5(i::varchar) || md5((i + 1)::varchar) as h"
            " from range(1000000) t(i) order by h)"
        ).fetchone()
        assert total == (1_000_000, 1_000_000)


def test_without_it_duckdb_keeps_its_default(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(MEMORY_LIMIT_VARIABLE, raising=False)
    with connect(tmp_path / "w.duckdb") as con:
        assert con.execute("select current_setting('memory_limit')").fetchone()[0] not in {"95.3 MiB", "100.0 MB"}


@pytest.mark.parametrize("value", ["lots", "4", "-1GB", "4 GBs"])
def test_a_size_that_is_not_one_is_refused_clearly(value: str) -> None:
    with pytest.raises(ValueError, match=r"is not a memory size: write e\.g\. 4GB"):
        memory_limit({MEMORY_LIMIT_VARIABLE: value})


def test_sizes_as_people_write_them() -> None:
    assert memory_limit({MEMORY_LIMIT_VARIABLE: " 1.5GiB "}) == "1.5GiB"
    assert memory_limit({}) is None


@pytest.mark.parametrize(
    ("setting", "expected"),
    [("3GB", 3 * 10**9), ("1.5GiB", 1.5 * 2**30), ("512MB", 512 * 10**6), ("100kB", 100 * 10**3), ("4TB", 4 * 10**12)],
)
def test_the_limit_read_back_in_bytes(setting: str, expected: float) -> None:
    """As DuckDB writes it back ("2.7 GiB": one decimal), so within 5 % of what was set."""
    con = duckdb.connect()
    con.execute(f"set memory_limit = '{setting}'")
    assert abs(memory_limit_bytes(con) - expected) <= 0.05 * expected


def test_a_limit_in_an_unknown_unit_is_an_error() -> None:
    class Setting:  # what a DuckDB that wrote its limit some other way would answer
        def execute(self, _sql: str) -> "Setting":
            return self

        def fetchone(self) -> tuple[str]:
            return ("3 gigabytes",)

    with pytest.raises(ValueError, match="not in a unit this reader knows"):
        memory_limit_bytes(Setting())
