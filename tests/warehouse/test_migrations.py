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


def _migrated_before(version: int, tmp_path) -> duckdb.DuckDBPyConnection:
    """An in-memory warehouse migrated up to, not including, ``version``."""
    import shutil

    before = tmp_path / "before"
    before.mkdir()
    for number, path in migration_files():
        if number < version:
            shutil.copy(path, before / path.name)
    con = duckdb.connect()
    apply_migrations(con, before)
    return con


def _columns(con: duckdb.DuckDBPyConnection, schema: str, table: str) -> list[tuple]:
    return con.execute(
        "select column_name, data_type, is_nullable, column_default from information_schema.columns"
        " where table_schema = ? and table_name = ? order by ordinal_position",
        [schema, table],
    ).fetchall()


def test_the_batch_ledger_keeps_its_rows_and_columns_without_the_key(tmp_path) -> None:
    """Migration 0016 rebuilds raw.batches without its primary key: every row and column stays as it was,
    in load order; the ingest refuses a batch landed twice instead (tests/warehouse/test_ingest.py)."""
    con = _migrated_before(16, tmp_path)
    columns = _columns(con, "raw", "batches")
    for seq, n in ((3, 1), (1, 2), (2, 3)):
        con.execute(
            "insert into raw.batches (batch_id, channel_id, source_file, content_sha256, size_bytes, record_count,"
            " rejected_count, status, run_id, source_uri, archive_path, batch_seq)"
            " values (?, 'web_form', ?, ?, ?, ?, 0, 'loaded', 'r1', ?, ?, ?)",
            [f"web_form:{n:020x}", f"f{n}.json", f"{n:064x}", 10 * n, n, f"file:///l/f{n}.json", f"/a/{n}", seq],
        )
    rows = con.execute("select * from raw.batches order by batch_seq").fetchall()
    with pytest.raises(duckdb.ConstraintException):
        con.execute("insert into raw.batches select * from raw.batches limit 1")

    assert apply_migrations(con) == ["0016_batch_ledger_without_key.sql"]
    assert con.execute("select * from raw.batches").fetchall() == rows  # stored in load order
    assert _columns(con, "raw", "batches") == columns
    assert con.execute(
        "select count(*) from duckdb_constraints() where schema_name = 'raw' and table_name = 'batches'"
        " and constraint_type in ('PRIMARY KEY', 'UNIQUE')"
    ).fetchone() == (0,)
    comment = con.execute(
        "select comment from duckdb_tables() where schema_name = 'raw' and table_name = 'batches'"
    ).fetchone()[0]
    assert "loaded at most once" in comment and "migration 0016" in comment
    con.execute(
        "insert into raw.batches (batch_id, channel_id, source_file, content_sha256, size_bytes,"
        " record_count, rejected_count, status) values ('x:1', 'web_form', 'x', 'x', 1, 0, 0, 'loaded')"
    )
    stamped = con.execute("select loaded_at is not null from raw.batches where batch_id = 'x:1'").fetchone()
    assert stamped == (True,)  # the default of loaded_at is kept


def test_published_figure_items_keep_their_rows_without_the_key(tmp_path) -> None:
    """Migration 0015 rebuilds audit.published_figure_items without its primary key: a warehouse that
    published before it keeps every drill-through row, and the table takes rows the key would refuse
    (a publication writes each once itself: warehouse/publish.py)."""
    con = _migrated_before(15, tmp_path)
    rows = [("monthly:2026-10:all:v1", f"marts.x|{n}|items_count", "feedback", f"web_form:{n}") for n in range(5)]
    con.executemany("insert into audit.published_figure_items values (?, ?, ?, ?)", rows)
    with pytest.raises(duckdb.ConstraintException):
        con.execute("insert into audit.published_figure_items values (?, ?, ?, ?)", list(rows[0]))

    assert apply_migrations(con)[0] == "0015_published_figure_items_without_key.sql"
    assert sorted(con.execute("select * from audit.published_figure_items").fetchall()) == rows
    con.execute("insert into audit.published_figure_items values (?, ?, ?, ?)", list(rows[0]))
    assert con.execute("select count(*) from audit.published_figure_items").fetchone()[0] == 6
    columns = _columns(con, "audit", "published_figure_items")
    assert columns == [(name, "VARCHAR", "NO", None) for name in ("review_id", "figure_id", "item_kind", "item_id")]
