"""OTKLIK_MEMORY_LIMIT caps the memory DuckDB uses per connection; past it, DuckDB works out of core."""

from pathlib import Path

import pytest

from warehouse import connect
from warehouse.connection import MEMORY_LIMIT_VARIABLE, memory_limit


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
