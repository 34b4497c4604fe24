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


def test_published_figure_items_keep_their_rows_without_the_key(tmp_path) -> None:
    """Migration 0015 rebuilds audit.published_figure_items without its primary key: a warehouse that
    published before it keeps every drill-through row, and the table takes rows the key would refuse
    (a publication writes each once itself: warehouse/publish.py)."""
    import shutil

    before = tmp_path / "before"
    before.mkdir()
    for version, path in migration_files():
        if version < 15:
            shutil.copy(path, before / path.name)
    con = duckdb.connect()
    apply_migrations(con, before)
    rows = [("monthly:2026-10:all:v1", f"marts.x|{n}|items_count", "feedback", f"web_form:{n}") for n in range(5)]
    con.executemany("insert into audit.published_figure_items values (?, ?, ?, ?)", rows)
    with pytest.raises(duckdb.ConstraintException):
        con.execute("insert into audit.published_figure_items values (?, ?, ?, ?)", list(rows[0]))

    assert apply_migrations(con) == ["0015_published_figure_items_without_key.sql"]
    assert sorted(con.execute("select * from audit.published_figure_items").fetchall()) == rows
    con.execute("insert into audit.published_figure_items values (?, ?, ?, ?)", list(rows[0]))
    assert con.execute("select count(*) from audit.published_figure_items").fetchone()[0] == 6
    columns = con.execute(
        "select column_name, data_type, is_nullable from information_schema.columns"
        " where table_schema = 'audit' and table_name = 'published_figure_items' order by ordinal_position"
    ).fetchall()
    assert columns == [(name, "VARCHAR", "NO") for name in ("review_id", "figure_id", "item_kind", "item_id")]
