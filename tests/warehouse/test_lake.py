"""The DuckLake backend (warehouse/lake.py) on a real PostgreSQL catalog: the same transforms, the same tables.

One build of the golden landing folder on the lake (module fixture, through ``run_build`` as the flow
runs it, with the raw checks; the later layers built without their checks to keep CI time) is compared
table by table with the same build on a DuckDB file; a reader pinned to the build's snapshot does not
see a batch landed later, and `otklik replay` of the lake's run is identical. Plus: the migrations, the
sequences, the locks (another process waits for a build, ingests of different channels do not wait
for each other), the errors (no password in them), and an S3 data path through a real moto_server.
"""

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb
import pytest

from tests.flows.extract.imap_server import free_port
from tests.flows.extract.postgres import PostgresServer, postgres  # noqa: F401  (the session's server)
from tests.golden import AS_OF, GOLDEN
from transforms.channels import load_channels
from warehouse.build import CHECKED_LAYERS, build_and_check_layer, build_layer, fingerprint, finish_build
from warehouse.build_run import run_build
from warehouse.connection import connect, connect_memory, hold_warehouse
from warehouse.ingest import ingest_landing
from warehouse.lake import (
    ORPHAN_AGE,
    LakeTarget,
    LakeUnavailable,
    delete_orphaned_files,
    lake_ddl,
    next_numbers,
    parse_target,
)
from warehouse.migrate import migration_files
from warehouse.reader_copy import connect_reader, reader_copy_info
from warehouse.replay import context_from_configs, replay_run
from warehouse.runs import config_texts, record_fingerprints, run_inputs

KEY = b"golden-test-key-0123456789abcdef"
PASSWORD = "lake-Pa55word-not-in-logs"
ROOT = Path(__file__).resolve().parents[2]
_databases = iter(range(1, 1000))


def lake_setting(server: PostgresServer, database: str) -> str:
    return f"ducklake:postgres:dbname={database} host={server.host} port={server.port} user=lake"


@pytest.fixture(scope="module")
def catalog_user(postgres: PostgresServer) -> PostgresServer:  # noqa: F811
    with postgres.admin() as pg:
        if not pg.execute("select 1 from pg_roles where rolname = 'lake'").fetchone():
            pg.execute(f"create role lake login createdb password '{PASSWORD}'")
    return postgres


def new_lake(server: PostgresServer, data_path: Path | str, **env: str) -> tuple[str, dict[str, str]]:
    """A fresh catalog database; the OTKLIK_WAREHOUSE value and the environment that reach it."""
    database = f"lake_{os.getpid()}_{next(_databases)}"
    with server.admin() as pg:
        pg.execute(f"create database {database} owner lake")
    environ = {"OTKLIK_LAKE_PASSWORD": PASSWORD, "OTKLIK_LAKE_DATA_PATH": str(data_path), **env}
    return lake_setting(server, database), environ


@pytest.fixture
def lake(catalog_user: PostgresServer, tmp_path: Path) -> LakeTarget:
    setting, environ = new_lake(catalog_user, tmp_path / "lake")
    return parse_target(setting, environ)


@dataclass
class BuiltLake:
    setting: str
    environ: dict[str, str]
    landing: Path
    archive: Path
    run_id: str

    @property
    def target(self) -> LakeTarget:
        return parse_target(self.setting, self.environ)


def _layer_step(layer: str, run_id: str) -> dict[str, int]:
    """One layer as the flow's task does it, on a connection of its own; checked (Great Expectations
    reading through a cursor of the lake's connection) on raw only, to keep CI time."""
    with connect() as con:
        ctx = context_from_configs(config_texts(), AS_OF, KEY)
        if layer == "raw":
            return build_and_check_layer(con, layer, ctx, run_id=run_id)
        built = build_layer(con, layer, ctx)
        record_fingerprints(con, run_id, list(built))
        return built


@pytest.fixture(scope="module")
def built(catalog_user: PostgresServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[BuiltLake]:
    root = tmp_path_factory.mktemp("lake")
    landing, archive = root / "landing", root / "archive"
    shutil.copytree(GOLDEN, landing)
    setting, environ = new_lake(catalog_user, root / "data")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("OTKLIK_WAREHOUSE", setting)
        for name, value in environ.items():
            patch.setenv(name, value)
        with connect() as con:
            ingest_landing(con, landing, load_channels(), archive_dir=archive, run_id="ingest-1")
        run_id, _ = run_build(CHECKED_LAYERS, _layer_step, as_of=AS_OF, parameters={"as_of": AS_OF.isoformat()})
        yield BuiltLake(setting, environ, landing, archive, run_id)


def test_the_lake_is_migrated_without_keys_and_with_catalog_sequences(lake: LakeTarget) -> None:
    with connect(lake) as con:
        versions = [r[0] for r in con.execute("select version from main.schema_migrations order by 1").fetchall()]
        assert versions == [v for v, _ in migration_files()]
        assert con.execute("select type from duckdb_databases() where database_name = current_database()").fetchone()[
            0
        ] == ("ducklake")
        first = next_numbers(con, "raw.batch_seq_numbers", 3)
    with connect(lake) as again:  # nothing left to apply; the sequence goes on where it was
        assert again.execute("select count(*) from main.schema_migrations").fetchone()[0] == len(migration_files())
        later = next_numbers(again, "raw.manual_label_seq", 2) + next_numbers(again, "raw.batch_seq_numbers", 2)
    assert first == [1, 2, 3] and later == [1, 2, 4, 5]


def test_lake_ddl_strips_what_ducklake_lacks_and_keeps_the_rest() -> None:
    sql = (
        "create sequence raw.s start 1;\n"
        "create table a (\n    id bigint not null default nextval('raw.s') primary key,\n"
        "    k varchar not null,   -- a key\n    v json,\n    unique (k, v)\n);\n"
        "create table b (x varchar, y varchar, primary key (x, y));"
    )
    assert lake_ddl(sql) == (
        "\ncreate table a (\n    id bigint not null,\n    k varchar not null,   -- a key\n    v json\n);\n"
        "create table b (x varchar, y varchar);"
    )
    for _, path in migration_files():  # every migration leaves nothing DuckLake refuses
        text = lake_ddl(path.read_text(encoding="utf-8")).lower()
        assert "primary key" not in text and "sequence" not in text and "nextval" not in text


def test_the_same_tables_as_on_a_duckdb_file(built: BuiltLake, tmp_path: Path) -> None:
    """Every staging, core and marts table of the lake has the fingerprint of the file's (not the builds'
    own bookkeeping, ``staging.stg__*``: which build wrote what, and how)."""
    with connect(built.target, read_only=True) as con:
        tables = [
            f"{schema}.{name}"
            for schema, name in con.execute(
                "select schema_name, table_name from duckdb_tables() where database_name = current_database()"
                " and schema_name in ('staging', 'core', 'marts') and not starts_with(table_name, 'stg__')"
                " order by all"
            ).fetchall()
        ]
        on_lake = {table: fingerprint(con, table) for table in tables}
        loaded = con.execute("select batch_id, loaded_at from raw.batches").fetchall()
    landing = tmp_path / "landing"
    shutil.copytree(GOLDEN, landing)
    file = connect_memory()
    ingest_landing(file, landing, load_channels(), archive_dir=tmp_path / "archive", run_id="ingest-1")
    for batch_id, loaded_at in loaded:  # freshness reads when a batch landed: the lake's times
        file.execute("update raw.batches set loaded_at = ? where batch_id = ?", [loaded_at, batch_id])
        file.execute("update raw.channel_payloads set _loaded_at = ? where _batch_id = ?", [loaded_at, batch_id])
    ctx = context_from_configs(config_texts(), AS_OF, KEY)
    for layer in CHECKED_LAYERS[1:]:
        build_layer(file, layer, ctx)
    on_file = {table: fingerprint(file, table) for table in tables}
    assert len(tables) > 40 and any(t.startswith("marts.") for t in tables)
    assert {t: fp for t, fp in on_lake.items() if on_file[t] != fp} == {}
    assert on_lake == on_file


def test_a_reader_is_pinned_to_the_last_build_and_replay_reads_the_runs_snapshot(built: BuiltLake) -> None:
    with connect(built.target) as con:
        before = con.execute("select count(*) from raw.batches").fetchone()[0]
        ivr = built.landing / "ivr_post_call_survey"
        later = (ivr / "ivr_2026-10-05.csv").read_bytes().replace(b"CALL-", b"CALL-9")
        (ivr / "ivr_2026-10-09.csv").write_bytes(later)
        summary = ingest_landing(con, built.landing, load_channels(), archive_dir=built.archive, run_id="ingest-2")
        assert summary.loaded_files == {"ivr_post_call_survey": 1}
        assert con.execute("select count(*) from raw.batches").fetchone()[0] == before + 1
        snapshots = con.execute(
            "select input_snapshot, output_snapshot from audit.runs where run_id = ?", [built.run_id]
        ).fetchone()
    assert None not in snapshots and snapshots[0] < snapshots[1]
    with connect_reader(built.target) as reader:
        assert reader.execute("select count(*) from raw.batches").fetchone()[0] == before
        assert reader_copy_info(reader, Path("lake")).build_run_id == built.run_id
        with pytest.raises(duckdb.Error, match="read-only"):
            reader.execute("insert into raw.batches (batch_id) values ('x')")
    with connect(built.target, read_only=True) as con:
        result = replay_run(con, built.run_id, pii_key=KEY, archive_dir=built.archive, checks=False)
        assert result.identical, "\n".join(result.report_lines())
        assert result.batches == len(run_inputs(con, built.run_id)) == before  # not the later batch
        assert result.tables > 40


def _in_another_process(code: str, environ: dict[str, str], timeout: float = 60) -> subprocess.CompletedProcess:
    env = {**os.environ, **environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, env=env, timeout=timeout
    )


def test_another_process_waits_for_a_build_and_ingests_of_other_channels_do_not(
    catalog_user: PostgresServer, tmp_path: Path
) -> None:
    setting, environ = new_lake(catalog_user, tmp_path / "lake")
    target = parse_target(setting, environ)
    with connect(target):
        pass  # migrated
    probe = (
        "import sys\nfrom warehouse.connection import connect\nfrom warehouse.locking import WarehouseBusy\n"
        "channels = sys.argv[1:] or None\n"
        "try:\n    with connect(channels=channels): print('opened')\n"
        "except WarehouseBusy as exc:\n    print('busy:', exc)\n"
    )
    env = {**environ, "OTKLIK_WAREHOUSE": setting, "OTKLIK_WAREHOUSE_LOCK_TIMEOUT": "0.5"}
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("OTKLIK_WAREHOUSE", setting)
        for name, value in environ.items():
            patch.setenv(name, value)
        with hold_warehouse("build-warehouse run R1"):
            waited = _in_another_process(probe + "\n", env)
        assert waited.stdout.startswith("busy:") and "build-warehouse run R1" in waited.stdout, waited
        assert "waiting for the warehouse: it is held by otklik build-warehouse run R1" in waited.stderr
        with connect(channels=["nps_email_survey"]):  # an ingest of one group holds its channel ...
            code = probe.replace("channels = sys.argv[1:] or None", "channels = ['crm_case_events']")
            other = _in_another_process(code, env)
            same = _in_another_process(
                probe.replace("channels = sys.argv[1:] or None", "channels = ['nps_email_survey']"), env
            )
            build = _in_another_process(probe, env)
    assert other.stdout.strip() == "opened", other  # ... another group's ingest goes on meanwhile
    assert same.stdout.startswith("busy:") and "channel nps_email_survey" in same.stdout, same
    assert build.stdout.startswith("busy:"), build  # and a build (any ordinary writer) waits for both


def test_a_build_deletes_the_files_a_killed_writer_left_once_a_day_old(
    catalog_user: PostgresServer, tmp_path: Path
) -> None:
    setting, environ = new_lake(catalog_user, tmp_path / "lake")
    target = parse_target(setting, environ)
    with connect(target) as con:  # a committed table large enough to be a Parquet file, not inlined
        con.execute("create table main.scratch as select range as n from range(200000)")
    data_files = lambda: {p for p in (tmp_path / "lake").rglob("*") if p.is_file()}  # noqa: E731
    committed = data_files()
    assert committed
    writer = subprocess.Popen(  # a writer killed with -9 between writing its data and its commit
        [sys.executable, "-c", _KILLED_WRITER],
        env={**os.environ, **environ, "OTKLIK_WAREHOUSE": setting, "PYTHONPATH": str(ROOT)},
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert writer.stdout.readline().strip() == "written"
    finally:
        writer.kill()
        writer.wait()
    left = data_files() - committed
    assert left, "the writer wrote no data file before its commit"
    with connect(target) as con:  # younger than a day: it could be a write in progress, it stays
        assert delete_orphaned_files(con) == []
    a_day_ago = time.time() - ORPHAN_AGE.total_seconds() - 60
    for path in left:
        os.utime(path, (a_day_ago, a_day_ago))
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("OTKLIK_WAREHOUSE", setting)
        for name, value in environ.items():
            patch.setenv(name, value)
        run_build((), lambda layer, run_id: {}, as_of=AS_OF, parameters={})
    after = data_files()  # the killed writer's files gone, the committed ones kept (the build wrote its own)
    assert not after & left and committed <= after
    with connect(target) as con:
        assert con.execute("select count(*), sum(n) from main.scratch").fetchone() == (200000, 199999 * 200000 // 2)


_KILLED_WRITER = """
import time
from warehouse.connection import connect
with connect() as con:
    con.execute("begin")
    con.execute("insert into main.scratch select range from range(2000000)")
    print("written", flush=True)
    time.sleep(120)
"""


def test_errors_are_clear_and_never_show_the_password(catalog_user: PostgresServer, tmp_path: Path) -> None:
    port = free_port()
    target = parse_target(
        f"ducklake:postgres:dbname=nowhere host=127.0.0.1 port={port} user=lake password={PASSWORD}",
        {"OTKLIK_LAKE_DATA_PATH": str(tmp_path)},
    )
    assert PASSWORD not in str(target) and PASSWORD not in repr(target)
    with pytest.raises(LakeUnavailable) as unreachable, connect(target):
        pass
    assert "PostgreSQL is unreachable" in str(unreachable.value) and PASSWORD not in str(unreachable.value)
    wrong = parse_target(
        lake_setting(catalog_user, "postgres"),
        {"OTKLIK_LAKE_PASSWORD": "wrong-" + PASSWORD, "OTKLIK_LAKE_DATA_PATH": str(tmp_path)},
    )
    with pytest.raises(LakeUnavailable, match="password authentication failed") as refused, connect(wrong):
        pass
    assert PASSWORD not in str(refused.value)
    with pytest.raises(ValueError, match="ducklake:postgres:"):
        parse_target("ducklake:sqlite:meta.sqlite", {})


def test_a_missing_extension_wheel_is_a_clear_error(lake: LakeTarget, monkeypatch: pytest.MonkeyPatch) -> None:
    from warehouse import lake as lake_module

    monkeypatch.setitem(lake_module.EXTENSIONS, "ducklake", "duckdb_extension_not_installed")
    with pytest.raises(LakeUnavailable, match=r"'ducklake' .* is not installed .*make setup"):
        lake_module.open_lake(lake)


@pytest.fixture
def moto_server() -> Iterator[str]:
    """A real S3 API (moto's server) on loopback; its endpoint."""
    port = free_port()
    binary = Path(sys.executable).with_name("moto_server")
    process = subprocess.Popen(
        [str(binary), "-H", "127.0.0.1", "-p", str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                if time.monotonic() > deadline or process.poll() is not None:
                    raise RuntimeError("moto_server did not start") from None
                time.sleep(0.05)
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_data_files_on_an_s3_store(catalog_user: PostgresServer, moto_server: str) -> None:
    urllib.request.urlopen(urllib.request.Request(f"{moto_server}/otklik-lake", method="PUT")).close()
    s3 = {"OTKLIK_S3_ENDPOINT": moto_server, "OTKLIK_S3_KEY_ID": "test-key", "OTKLIK_S3_SECRET": "test-secret"}
    setting, environ = new_lake(catalog_user, "s3://otklik-lake/warehouse/", **s3)
    target = parse_target(setting, environ)
    with connect(target) as con:
        con.execute(
            "insert into raw.channel_payloads (channel_id, payload, _batch_id, _source_file, _record_index)"
            " select 'c', json_object('i', i), 'c:1', 'f', i from range(500) as r(i)"
        )
        listed = con.execute(
            "select data_file from ducklake_list_files('otklik_lake', 'channel_payloads', schema => 'raw')"
        ).fetchall()
        files = [r[0] for r in listed]
        # a file no snapshot names (as a killed writer leaves) is found and deleted on the store too
        stray = f"{moto_server}/otklik-lake/warehouse/raw/channel_payloads/ducklake-stray.parquet"
        urllib.request.urlopen(urllib.request.Request(stray, data=b"PAR1", method="PUT")).close()
        deleted = delete_orphaned_files(con, older_than=datetime.now(UTC) + timedelta(minutes=1))
    assert deleted == ["s3://otklik-lake/warehouse/raw/channel_payloads/ducklake-stray.parquet"]
    assert files and all(f.startswith("s3://otklik-lake/warehouse/") for f in files)
    with connect(target, read_only=True) as again:
        assert again.execute("select count(*), sum(_record_index) from raw.channel_payloads").fetchone() == (
            500,
            sum(range(500)),
        )


def test_the_projects_own_postgres_starts_and_serves_a_lake(tmp_path: Path) -> None:
    """``otklik postgres start`` (otklik/local_postgres.py): a cluster of its own, a catalog user with a
    password kept in a 0600 file, the OTKLIK_WAREHOUSE value printed; ``stop`` stops it."""
    from otklik.local_postgres import LocalPostgres

    root = Path(tempfile.mkdtemp(prefix="otklik-local-pg-"))  # not under pytest's 0700 folders: postgres enters it
    root.chmod(0o755)
    server = LocalPostgres(root / "cluster", free_port(), durable=False)
    try:
        server.start()
        server.start()  # again: already running, nothing to create
        assert server.running() and oct(server.password_file.stat().st_mode & 0o777) == "0o600"
        setting = server.warehouse_setting()
        environ = {"OTKLIK_LAKE_PASSWORD": server.password(), "OTKLIK_LAKE_DATA_PATH": str(tmp_path / "data")}
        with connect(parse_target(setting, environ)) as con:
            assert con.execute("select count(*) from main.schema_migrations").fetchone()[0] == len(migration_files())
    finally:
        server.stop()
        shutil.rmtree(root, ignore_errors=True)
    assert not server.running()


def test_a_later_build_advances_the_open_clocks_as_on_a_duckdb_file(
    catalog_user: PostgresServer, tmp_path: Path
) -> None:
    """A scoped build an hour on brings the open SLA cycles to its clock from their rows of the last build
    (warehouse/scoped_build.py, ADVANCE_CASES): on the lake, through its row ids, the SLA tables equal those
    of a DuckDB file built from nothing at that clock."""
    landing = tmp_path / "landing"
    shutil.copytree(GOLDEN, landing)
    setting, environ = new_lake(catalog_user, tmp_path / "data")
    target = parse_target(setting, environ)
    later = AS_OF + timedelta(hours=1)
    sla = ("core.int_sla_clock_marks", "core.fct_case_sla", "core.fct_sla_events", "marts.sla_compliance_monthly")
    with connect(target) as con:
        ingest_landing(con, landing, load_channels(), archive_dir=tmp_path / "archive", run_id="ingest-1")
        for as_of in (AS_OF, later):
            ctx = context_from_configs(config_texts(), as_of, KEY)
            for layer in CHECKED_LAYERS[1:]:
                build_layer(con, layer, ctx)
            finish_build(con)
        assert con.execute("select scoped from staging.stg__build_state").fetchone() == (True,)
        advanced = con.execute("select count(*) from staging.stg__build_changes where table_name = '@advance'")
        assert advanced.fetchone()[0] > 0
        on_lake = {table: fingerprint(con, table) for table in sla}
        loaded = con.execute("select batch_id, loaded_at from raw.batches").fetchall()
    file = connect_memory()
    shutil.copytree(GOLDEN, tmp_path / "landing-file")
    ingest_landing(file, tmp_path / "landing-file", load_channels(), archive_dir=tmp_path / "archive-file")
    for batch_id, loaded_at in loaded:
        file.execute("update raw.batches set loaded_at = ? where batch_id = ?", [loaded_at, batch_id])
        file.execute("update raw.channel_payloads set _loaded_at = ? where _batch_id = ?", [loaded_at, batch_id])
    ctx = context_from_configs(config_texts(), later, KEY)
    for layer in CHECKED_LAYERS[1:]:
        build_layer(file, layer, ctx)
    assert {table: fingerprint(file, table) for table in sla} == on_lake
