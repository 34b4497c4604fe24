"""Four ingest workers write one DuckLake at the same time, two die by kill -9, and nothing is lost or doubled.

The scenario (one module fixture; the tests below check what it left):

1. A real PostgreSQL (tests/flows/extract/postgres.py, a server of this module's own so that four
   writers' catalog connections fit) and a fresh lake: its own catalog database, its data under tmp.
2. A generated month (``generate_landing``, 600 items, ~380 files in 34 channel folders), its channel
   folders dealt into 4 groups of about the same number of files.
3. Four OS processes (tests/integration/lake_ingest_worker.py, what the ``land-files`` task of
   flows/ingest.py does, with ``OTKLIK_WAREHOUSE`` naming the lake) each land one group, committing
   every ``GROUP_FILES`` files, so that each commits some 25 times. Each waits at a pause point once it
   holds its locks (warehouse/faults.py), and all four are let go together.
4. Two of them die by SIGKILL while they land: worker 0 at the crash point ``before_commit`` of its
   ``CRASH_PASS``-th commit (``OTKLIK_CRASH_AT``: its batches' rows are inserted and not committed),
   worker 1 by ``os.kill(pid, SIGKILL)`` from this test once it has committed some batches (wherever
   it then is: reading, inserting, committing). The state they left is taken at once.
5. Their groups are landed again by two new processes, at the same time, to completion.

The end state is compared with a reference: the same landing ingested by one process into a DuckDB
file. raw.batches holds every landed file once (no batch id twice, no load-order number twice),
raw.channel_payloads holds exactly the reference's records, quarantine.records and quarantine.files
the reference's rows, and the archive the reference's files, each once.

The workers of this scenario land without opening a run in audit.runs (``record_run`` off): the run
bookkeeping of four workers at once is the last test's own, cheaper scenario (four processes that
open and close their runs together), because on the lake ``start_run`` stores every configuration
text (the classifier's model is 5.6 MB) and takes seconds to tens of seconds there.
"""

import hashlib
import itertools
import json
import os
import signal
import subprocess
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from otklik.sample.generate import generate_landing
from tests.flows.extract.postgres import PostgresServer, PostgresUnavailable, postgres_server
from tests.integration.lake_ingest_worker import deal_into_groups
from transforms.channels import load_channels
from warehouse.connection import connect
from warehouse.ingest import ingest_landing
from warehouse.lake import LakeTarget, parse_target

ROOT = Path(__file__).resolve().parents[2]
PYTHON = ROOT / ".venv" / "bin" / "python"
PASSWORD = "conc-Pa55word-not-in-logs"
WORKERS = 4
GROUP_FILES = 4  # files per commit: ~95 files a group, so ~25 commits per worker
CRASH_PASS = 6  # worker 0 dies inside its 6th commit: 5 committed (20 files), the rest not
KILL_AFTER_BATCHES = 3 * GROUP_FILES  # worker 1 is killed once it has committed 3 times
WAIT_SECONDS = 240  # a bound for every wait below; a loaded 2-core machine takes far less


@dataclass
class Worker:
    index: int
    channels: list[str]
    files: int
    run_id: str
    report: Path
    process: subprocess.Popen | None = None

    def read_report(self) -> dict:
        return json.loads(self.report.read_text(encoding="utf-8"))

    @property
    def log(self) -> Path:
        """Its stdout and stderr (a file, not a pipe: a pipe nobody reads can stall a writer)."""
        return self.report.with_suffix(".log")

    def output(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")[-3000:]


@dataclass
class Scenario:
    target: LakeTarget
    landing: Path
    archive: Path
    reference: Path
    reference_archive: Path
    workers: list[Worker]
    reference_skipped: dict = field(default_factory=dict)  # {channel: files of the same bytes as one before}
    after_kills: dict = field(default_factory=dict)  # {worker index: batches of its group committed}
    quarantined_after_kills: dict = field(default_factory=dict)  # {worker index: quarantine.files rows}
    last_commit: dict = field(default_factory=dict)  # {run_id: when its last batch was loaded (epoch s)}
    half_batches: int = 0  # batches whose payload rows differ from their record_count, after the kills
    orphan_rows: int = 0  # payload or quarantine rows of no committed batch, after the kills
    first_round: dict = field(default_factory=dict)  # {run_id: [batch_seq ...]}: the first four workers' batches
    reports: list[dict] = field(default_factory=list)
    rerun_reports: list[dict] = field(default_factory=list)
    returncodes: list[int | None] = field(default_factory=list)


def worker_environment(scenario_target: str, data: Path, **extra: str) -> dict[str, str]:
    env = {
        k: v for k, v in os.environ.items() if not k.startswith(("OTKLIK_CRASH", "OTKLIK_PAUSE", "OTKLIK_WAREHOUSE"))
    }
    return {
        **env,
        "PYTHONPATH": str(ROOT),
        "OTKLIK_WAREHOUSE": scenario_target,
        "OTKLIK_LAKE_PASSWORD": PASSWORD,
        "OTKLIK_LAKE_DATA_PATH": str(data),
        "OTKLIK_INGEST_WORKERS": "0",  # each worker reads its files itself: 4 processes on 2 cores already
        **extra,
    }


def start_worker(
    worker: Worker, landing: Path, archive: Path, env: dict[str, str], *, record_run: bool = False, land: bool = True
) -> subprocess.Popen:
    spec = {
        "landing": str(landing),
        "archive": str(archive),
        "report": str(worker.report),
        "run_id": worker.run_id,
        "channels": worker.channels,
        "group_files": GROUP_FILES,
        "record_run": record_run,
        "land": land,
    }
    command = [str(PYTHON), "-m", "tests.integration.lake_ingest_worker", json.dumps(spec)]
    with worker.log.open("w") as log:
        return subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)


def wait_until(condition, what: str, workers: list[Worker]) -> None:
    """Poll ``condition`` until true; fail at once (with the worker's output) if one ended unexpectedly."""
    deadline = time.monotonic() + WAIT_SECONDS
    while not condition():
        ended = [w for w in workers if w.process.poll() is not None]
        if ended:
            pytest.fail(f"{what}: a worker ended first (rc {ended[0].process.returncode}): {ended[0].output()}")
        if time.monotonic() > deadline:
            pytest.fail(f"{what}: not within {WAIT_SECONDS} s")
        time.sleep(0.02)


def committed(con, channels: list[str]) -> int:
    """Batches of ``channels`` in raw now (each query of a lake connection reads the latest snapshot)."""
    return con.execute("select count(*) from raw.batches where list_contains(?, channel_id)", [channels]).fetchone()[0]


@pytest.fixture(scope="module")
def catalog() -> Iterator[PostgresServer]:
    """A PostgreSQL of this module's own: 4 writers hold ~5 catalog connections each."""
    try:
        with postgres_server(max_connections=80) as server:
            with server.admin() as pg:
                pg.execute(f"create role lake login createdb password '{PASSWORD}'")
                pg.execute("create database lake_concurrent owner lake")
                pg.execute("create database lake_runs owner lake")
            yield server
    except PostgresUnavailable as exc:
        pytest.fail(str(exc), pytrace=False)


@pytest.fixture(scope="module")
def scenario(catalog: PostgresServer, tmp_path_factory: pytest.TempPathFactory) -> Scenario:
    root = tmp_path_factory.mktemp("concurrent")
    landing = root / "landing"
    generate_landing(landing, month="2026-10", items=600, seed=2020)
    setting = f"ducklake:postgres:dbname=lake_concurrent host={catalog.host} port={catalog.port} user=lake"
    target = parse_target(setting, {"OTKLIK_LAKE_PASSWORD": PASSWORD, "OTKLIK_LAKE_DATA_PATH": str(root / "data")})
    workers = [
        Worker(i, channels, files, f"ingest-group-{i}", root / f"worker-{i}.json")
        for i, (channels, files) in enumerate(deal_into_groups(landing, WORKERS))
    ]
    scenario = Scenario(
        target, landing, root / "archive", root / "reference.duckdb", root / "reference-archive", workers
    )
    with connect(target):
        pass  # migrated here once, before the workers start
    with connect(scenario.reference) as con:
        summary = ingest_landing(
            con, landing, load_channels(), archive_dir=scenario.reference_archive, run_id="reference"
        )
    scenario.reference_skipped = summary.skipped_files

    _first_round(scenario, setting, root)
    _observe_after_kills(scenario)
    _rerun_killed(scenario, setting, root)
    return scenario


def _first_round(scenario: Scenario, setting: str, root: Path) -> None:
    """Four workers at once; worker 0 dies at a crash point, worker 1 by this test's SIGKILL."""
    for worker in scenario.workers:
        extra = {"OTKLIK_PAUSE_AT": "lake_ingest:start", "OTKLIK_PAUSE_FILE": str(root / f"worker-{worker.index}")}
        if worker.index == 0:
            extra["OTKLIK_CRASH_AT"] = f"before_commit:{CRASH_PASS}"
        env = worker_environment(setting, root / "data", **extra)
        worker.process = start_worker(worker, scenario.landing, scenario.archive, env)
    paused = [root / f"worker-{w.index}.paused" for w in scenario.workers]
    wait_until(lambda: all(p.exists() for p in paused), "all workers ready", scenario.workers)
    for worker in scenario.workers:
        (root / f"worker-{worker.index}.go").touch()

    victim = scenario.workers[1]
    with connect(scenario.target, read_only=True) as con:
        wait_until(
            lambda: committed(con, victim.channels) >= KILL_AFTER_BATCHES,
            "worker 1 committed some batches",
            [victim],
        )
    victim.process.send_signal(signal.SIGKILL)
    for worker in scenario.workers:
        worker.process.wait(timeout=WAIT_SECONDS)
        scenario.returncodes.append(worker.process.returncode)
        if worker.process.returncode not in (0, -signal.SIGKILL):
            pytest.fail(f"worker {worker.index} failed: {worker.output()}")
    scenario.reports = [w.read_report() for w in scenario.workers]


def _observe_after_kills(scenario: Scenario) -> None:
    """What the two kills left, before anything lands again."""
    with connect(scenario.target, read_only=True) as con:
        for worker in scenario.workers:
            scenario.after_kills[worker.index] = committed(con, worker.channels)
            scenario.quarantined_after_kills[worker.index] = con.execute(
                "select count(*) from quarantine.files where list_contains(?, channel_id)", [worker.channels]
            ).fetchone()[0]
        for run_id, last in con.execute("select run_id, max(loaded_at) from raw.batches group by run_id").fetchall():
            scenario.last_commit[run_id] = last.timestamp()
        scenario.half_batches = con.execute(
            "select count(*) from raw.batches b where record_count <>"
            " (select count(*) from raw.channel_payloads p where p._batch_id = b.batch_id)"
            " or rejected_count <> (select count(*) from quarantine.records q where q.batch_id = b.batch_id)"
        ).fetchone()[0]
        scenario.orphan_rows = con.execute(
            "select (select count(*) from raw.channel_payloads p anti join raw.batches b on p._batch_id = b.batch_id)"
            " + (select count(*) from quarantine.records q anti join raw.batches b on q.batch_id = b.batch_id)"
        ).fetchone()[0]
        rows = con.execute("select run_id, batch_seq from raw.batches order by batch_seq").fetchall()
    for run_id, seq in rows:
        scenario.first_round.setdefault(run_id, []).append(seq)


def _rerun_killed(scenario: Scenario, setting: str, root: Path) -> None:
    """The killed workers' groups, landed again by two new processes at the same time."""
    again = [scenario.workers[0], scenario.workers[1]]
    reruns = [
        Worker(w.index, w.channels, w.files, f"{w.run_id}-again", root / f"worker-{w.index}-again.json") for w in again
    ]
    for worker in reruns:
        env = worker_environment(setting, root / "data")
        worker.process = start_worker(worker, scenario.landing, scenario.archive, env)
    for worker in reruns:
        worker.process.wait(timeout=WAIT_SECONDS)
        assert worker.process.returncode == 0, worker.output()
    scenario.rerun_reports = [w.read_report() for w in reruns]


# --- what the lake holds, and the reference -------------------------------------------------------


def _rows(target: LakeTarget | Path, sql: str, archive: Path) -> Counter:
    """The rows of ``sql`` as a multiset, the archive folder's path written as <archive>."""
    with connect(target, read_only=True) as con:
        rows = con.execute(sql).fetchall()
    prefix = str(archive)
    return Counter(tuple(v.replace(prefix, "<archive>") if isinstance(v, str) else v for v in row) for row in rows)


BATCHES = (
    "select batch_id, channel_id, source_file, content_sha256, size_bytes, record_count, rejected_count, status"
    " from raw.batches"
)
PAYLOADS = "select channel_id, _source_file, _record_index, payload::varchar, _batch_id from raw.channel_payloads"
PER_CHANNEL = "select channel_id, count(*) from raw.channel_payloads group by all"
QUARANTINED_RECORDS = (
    "select batch_id, channel_id, source_file, record_index, raw_excerpt, reason, detail from quarantine.records"
)
QUARANTINED_FILES = "select batch_id, channel_id, source_file, content_sha256, reason, detail from quarantine.files"


def _both(scenario: Scenario, sql: str) -> tuple[Counter, Counter]:
    on_lake = _rows(scenario.target, sql, scenario.archive)
    reference = _rows(scenario.reference, sql, scenario.reference_archive)
    return on_lake, reference


# --- the tests ------------------------------------------------------------------------------------


def test_the_four_workers_landed_at_the_same_time_and_their_commits_interleaved(scenario: Scenario) -> None:
    started = [r["started"] for r in scenario.reports]
    # a moment each was landing at: a survivor's end, a killed worker's last commit
    landing_until = [r.get("finished", scenario.last_commit[r["run_id"]]) for r in scenario.reports]
    assert max(started) < min(landing_until), (started, landing_until)  # all four at once
    assert sorted(scenario.first_round) == sorted(w.run_id for w in scenario.workers)
    by_seq = sorted((seq, run_id) for run_id, seqs in scenario.first_round.items() for seq in seqs)
    switches = sum(1 for (_, a), (_, b) in itertools.pairwise(by_seq) if a != b)
    assert len(by_seq) >= 40 and switches >= 2 * WORKERS, [r[-1] for _, r in by_seq]  # many commits, interleaved


def test_each_kill_left_whole_batches_some_but_not_all_of_its_group(scenario: Scenario) -> None:
    assert scenario.returncodes == [-signal.SIGKILL, -signal.SIGKILL, 0, 0]
    crashed, killed = scenario.workers[0], scenario.workers[1]
    # worker 0 died inside a commit: only whole groups of GROUP_FILES before it (fewer if one was retried)
    assert 0 < scenario.after_kills[0] <= (CRASH_PASS - 1) * GROUP_FILES < crashed.files
    assert scenario.after_kills[0] % GROUP_FILES == 0
    assert KILL_AFTER_BATCHES <= scenario.after_kills[1] < killed.files
    assert scenario.half_batches == 0 and scenario.orphan_rows == 0
    for worker in scenario.workers[2:]:  # the survivors landed their whole group
        summary = scenario.reports[worker.index]["summary"]
        loaded = sum(summary["loaded_files"].values())
        assert loaded == scenario.after_kills[worker.index]
        assert len(summary["quarantined_files"]) == scenario.quarantined_after_kills[worker.index]


def test_the_reruns_landed_exactly_what_the_kills_left(scenario: Scenario) -> None:
    for report, worker in zip(scenario.rerun_reports, scenario.workers[:2], strict=True):
        summary = report["summary"]
        landed = sum(summary["loaded_files"].values()) + len(summary["quarantined_files"])
        skipped = sum(summary["skipped_files"].values())
        left = scenario.after_kills[worker.index] + scenario.quarantined_after_kills[worker.index]
        twice = sum(scenario.reference_skipped.get(c, 0) for c in worker.channels)  # the same bytes twice
        assert (landed, skipped) == (worker.files - skipped, left + twice), report


def test_raw_batches_hold_every_landed_file_once(scenario: Scenario) -> None:
    with connect(scenario.target, read_only=True) as con:
        total, ids, seqs, shas = con.execute(
            "select count(*), count(distinct batch_id), count(distinct batch_seq),"
            " count(distinct (channel_id, content_sha256)) from raw.batches"
        ).fetchone()
        in_archive = con.execute("select archive_path, content_sha256 from raw.batches").fetchall()
    assert total == ids == seqs == shas
    on_lake, reference = _both(scenario, BATCHES)
    assert on_lake == reference
    for path, sha256 in in_archive:
        assert Path(path).parent.parent == scenario.archive
        assert hashlib.sha256(Path(path).read_bytes()).hexdigest() == sha256


def test_raw_payloads_are_exactly_the_reference_ingests(scenario: Scenario) -> None:
    lake_counts, reference_counts = _both(scenario, PER_CHANNEL)
    assert dict(lake_counts) == dict(reference_counts)
    on_lake, reference = _both(scenario, PAYLOADS)
    assert sum(on_lake.values()) == sum(reference.values()) > 1000
    assert max(on_lake.values()) == 1  # no record twice
    assert on_lake == reference


def test_quarantine_is_exactly_the_reference_ingests(scenario: Scenario) -> None:
    for sql in (QUARANTINED_RECORDS, QUARANTINED_FILES):
        on_lake, reference = _both(scenario, sql)
        assert on_lake == reference and sum(reference.values()) > 0, sql


def test_the_archive_holds_each_file_once(scenario: Scenario) -> None:
    def archived(folder: Path) -> dict[str, str]:
        return {
            str(path.relative_to(folder)): hashlib.sha256(path.read_bytes()).hexdigest()
            for path in folder.rglob("*")
            if path.is_file() and not path.name.endswith(".tmp")
        }

    on_lake, reference = archived(scenario.archive), archived(scenario.reference_archive)
    assert on_lake == reference
    assert all(name.split("/")[-1] == sha256 for name, sha256 in on_lake.items())
    killed_pids = {scenario.reports[0]["pid"], scenario.reports[1]["pid"]}
    leftovers = [p.name for p in scenario.archive.rglob("*.tmp")]
    assert all(int(name.split(".")[1]) in killed_pids for name in leftovers), leftovers  # only a killed writer's


def test_concurrent_ingest_runs_store_each_configuration_once(catalog: PostgresServer, tmp_path: Path) -> None:
    """Four ingest workers open their runs at once (``start_run``, as flows/ingest.py does): each
    configuration text is stored once in audit.config_versions ("once per content"), not once per worker."""
    setting = f"ducklake:postgres:dbname=lake_runs host={catalog.host} port={catalog.port} user=lake"
    target = parse_target(setting, {"OTKLIK_LAKE_PASSWORD": PASSWORD, "OTKLIK_LAKE_DATA_PATH": str(tmp_path / "data")})
    with connect(target):
        pass  # migrated
    (tmp_path / "landing").mkdir()
    workers = [Worker(i, [f"group-{i}"], 0, f"ingest-run-{i}", tmp_path / f"worker-{i}.json") for i in range(WORKERS)]
    for worker in workers:
        pause = {"OTKLIK_PAUSE_AT": "lake_ingest:start", "OTKLIK_PAUSE_FILE": str(tmp_path / f"worker-{worker.index}")}
        env = worker_environment(setting, tmp_path / "data", **pause)
        worker.process = start_worker(
            worker, tmp_path / "landing", tmp_path / "archive", env, record_run=True, land=False
        )
    wait_until(lambda: all((tmp_path / f"worker-{i}.paused").exists() for i in range(WORKERS)), "ready", workers)
    for worker in workers:
        (tmp_path / f"worker-{worker.index}.go").touch()
    for worker in workers:
        worker.process.wait(timeout=WAIT_SECONDS)
        assert worker.process.returncode == 0, worker.output()
    with connect(target, read_only=True) as con:
        runs = con.execute("select state, count(*) from audit.runs group by all").fetchall()
        stored = con.execute(
            "select name, count(*) from audit.config_versions group by name, sha256 having count(*) > 1 order by name"
        ).fetchall()
    assert runs == [("completed", WORKERS)]
    assert stored == [], f"configuration texts stored more than once (name, copies): {stored}"
