import duckdb
import pytest

from warehouse.migrate import apply_migrations, migration_files


def test_migrations_create_every_layer_schema(con: duckdb.DuckDBPyConnection) -> None:
    schemas = {r[0] for r in con.execute("select schema_name from information_schema.schemata").fetchall()}
    assert {"raw", "staging", "core", "marts", "audit", "quarantine"} <= schemas


def test_second_application_is_a_no_op(con: duckdb.DuckDBPyConnection) -> None:
    assert apply_migrations(con) == []
    versions = [r[0] for r in con.execute("select version from main.schema_migrations order by 1").fetchall()]
    assert versions == [v for v, _ in migration_files()]


def test_a_failing_migration_is_rolled_back_and_not_recorded(tmp_path) -> None:
    (tmp_path / "0001_ok.sql").write_text("create schema raw; create table raw.t (x int);")
    (tmp_path / "0002_broken.sql").write_text("create table raw.u (x int); select * from no_such_table;")
    con = duckdb.connect()
    with pytest.raises(duckdb.CatalogException):
        apply_migrations(con, tmp_path)
    assert [r[0] for r in con.execute("select version from main.schema_migrations").fetchall()] == [1]
    tables = {r[0] for r in con.execute("select table_name from information_schema.tables").fetchall()}
    assert "u" not in tables


def test_migration_numbers_must_not_skip(tmp_path) -> None:
    (tmp_path / "0001_a.sql").write_text("select 1")
    (tmp_path / "0003_c.sql").write_text("select 1")
    with pytest.raises(ValueError, match="without gaps"):
        migration_files(tmp_path)


def test_a_file_warehouse_is_migrated_on_open(tmp_path, monkeypatch) -> None:
    from warehouse import connect

    monkeypatch.setenv("OTKLIK_WAREHOUSE", str(tmp_path / "w.duckdb"))
    with connect() as c:
        assert c.execute("select count(*) from raw.channel_payloads").fetchone() == (0,)
    with connect(read_only=True) as c:
        assert c.execute("select count(*) from main.schema_migrations").fetchone()[0] == len(migration_files())
