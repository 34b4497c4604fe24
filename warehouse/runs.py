"""The run ledger in audit.runs: who ran what, on which code and configuration, and what it wrote."""

import hashlib
import json
import os
import socket
import subprocess
import uuid
from contextlib import nullcontext
from datetime import UTC, datetime
from importlib.metadata import version
from pathlib import Path

import duckdb

from warehouse.build import fingerprint
from warehouse.connection import PROJECT_ROOT
from warehouse.lake import current_snapshot, lake_lock, retry_conflicts, target_of

CONFIG_FILES = (
    "transforms/channels/channels.yaml",
    "transforms/org/org.yaml",
    "transforms/taxonomy/feedback_types.csv",
    "transforms/sla/policies.yaml",
    "transforms/costs/channel_costs.yaml",
)
# The classifier's model artifact (JSON text; its sha256 is the model version in core.fct_feedback),
# recorded with the configuration. Apart from CONFIG_FILES, which replay unpacks by position.
CLASSIFIER_FILES = ("transforms/classify/models/default.json",)
# State a build reads besides the batches: what people entered (manual labels, QA samples and verdicts),
# by the column holding when it was entered. A run read what had been entered when it started
# (`otklik replay` gives it exactly that); raw.qa_verdicts also changes by superseded_at.
HUMAN_INPUTS = {"raw.manual_labels": "labelled_at", "raw.qa_samples": "drawn_at", "raw.qa_verdicts": "imported_at"}


def new_run_id() -> str:
    return datetime.now(UTC).strftime("%Y%m%dT%H%M%S") + "-" + uuid.uuid4().hex[:8]


def code_version() -> str:
    """The git commit (with '+dirty' when the tree has changes), else the package version."""
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=PROJECT_ROOT, capture_output=True, text=True, check=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=PROJECT_ROOT,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        return commit + ("+dirty" if dirty else "")
    except (OSError, subprocess.CalledProcessError):
        return "otklik " + version("otklik")


def _sha256(path: Path) -> str | None:
    return hashlib.sha256(path.read_bytes()).hexdigest() if path.exists() else None


def config_hashes() -> dict[str, str | None]:
    return {name: _sha256(PROJECT_ROOT / name) for name in (*CONFIG_FILES, *CLASSIFIER_FILES)}


def config_texts() -> dict[str, str | None]:
    """The text of every configuration file a build reads (None when a file is absent)."""
    return {
        name: (PROJECT_ROOT / name).read_bytes().decode("utf-8") if (PROJECT_ROOT / name).exists() else None
        for name in (*CONFIG_FILES, *CLASSIFIER_FILES)
    }


def store_config_versions(con: duckdb.DuckDBPyConnection, texts: dict[str, str | None]) -> dict[str, str | None]:
    """Store each text in audit.config_versions under its sha256 (once); return {name: sha256}.

    "Once" holds with writers at the same time too: on a DuckLake (no key constraint, ingest workers of
    several channel groups starting together) the texts not stored yet are inserted under an exclusive
    lock of the store, looked up again inside it. Most runs store nothing: the texts are there already.
    """
    hashes = {
        name: None if text is None else hashlib.sha256(text.encode("utf-8")).hexdigest() for name, text in texts.items()
    }
    missing = _not_stored(con, hashes)
    if not missing:
        return hashes
    target = target_of(con)
    with (
        nullcontext() if target is None else lake_lock(target, [CONFIG_STORE_LOCK], exclusive=True, timeout_seconds=600)
    ):
        for name in sorted(_not_stored(con, hashes) if target is not None else missing):
            con.execute(
                "insert into audit.config_versions (sha256, name, content) select $1, $2, $3"
                " where not exists (select 1 from audit.config_versions where sha256 = $1)",
                [hashes[name], name, texts[name]],
            )
    return hashes


CONFIG_STORE_LOCK = "audit:config_versions"


def _not_stored(con: duckdb.DuckDBPyConnection, hashes: dict[str, str | None]) -> set[str]:
    """The names whose text (by its sha256) is not in audit.config_versions yet."""
    wanted = sorted({h for h in hashes.values() if h is not None})
    stored = {
        r[0]
        for r in con.execute(
            "select sha256 from audit.config_versions where list_contains(?, sha256)", [wanted]
        ).fetchall()
    }
    return {name for name, h in hashes.items() if h is not None and h not in stored}


def run_config_texts(con: duckdb.DuckDBPyConnection, run_id: str) -> dict[str, str | None]:
    """The configuration texts a run recorded, by file name, read back from audit.config_versions.

    Raises ValueError for an unknown run and when a text is not in the store (a run
    recorded before the store existed).
    """
    row = con.execute("select config_hashes from audit.runs where run_id = ?", [run_id]).fetchone()
    if row is None:
        raise ValueError(f"no run {run_id!r} in audit.runs")
    hashes: dict[str, str | None] = json.loads(row[0]) if row[0] else {}
    texts: dict[str, str | None] = {}
    for name, digest in hashes.items():
        if digest is None:
            texts[name] = None
            continue
        found = con.execute("select content from audit.config_versions where sha256 = ?", [digest]).fetchone()
        if found is None:
            raise ValueError(
                f"run {run_id}: the content of {name} (sha256 {digest[:12]}…) is not in audit.config_versions;"
                " the run predates the configuration store and cannot be replayed"
            )
        texts[name] = found[0]
    return texts


def record_inputs(con: duckdb.DuckDBPyConnection, run_id: str) -> int:
    """Record every batch now in raw.batches as an input of ``run_id``; return how many.

    The batches are recorded as a bound of load order (migration 0014): raw.batches is never deleted
    from, and batch_seq is taken at commit while no build runs, so a build reads exactly the batches
    up to the highest batch_seq it sees. The run keeps that bound, their count and the sha256 of their
    ids: a cost that does not grow with the history's runs, where a row per batch per build did.

    On a DuckLake the run also records the snapshot it read them at (audit.runs.input_snapshot):
    `otklik replay` reads the batches and what people had entered as of it.
    """
    seq = con.execute("select coalesce(max(batch_seq), 0) from raw.batches").fetchone()[0]
    count, digest = _count_and_digest(con, "select batch_id from raw.batches")
    retry_conflicts(  # on a DuckLake another run's writer may update audit.runs at the same time
        lambda: con.execute(
            "update audit.runs set input_batch_seq = ?, input_batch_count = ?, input_batches_sha256 = ?"
            " where run_id = ?",
            [seq, count, digest, run_id],
        )
    )
    snapshot = current_snapshot(con)  # raw.batches and the run's bound as committed just now
    if snapshot is not None:
        retry_conflicts(
            lambda: con.execute("update audit.runs set input_snapshot = ? where run_id = ?", [snapshot, run_id])
        )
    return count


class InputsChanged(RuntimeError):
    """raw.batches no longer holds exactly the batches a run recorded as its inputs."""


def input_batches_sql(con: duckdb.DuckDBPyConnection, run_id: str) -> str:
    """A select of the ids of the batches ``run_id`` read (one column, ``batch_id``), for ``in (...)``.

    Runs since migration 0014 read every batch up to their load-order bound; earlier ones listed them
    in audit.run_inputs. A run that recorded no inputs (not a build) selects none.
    """
    row = con.execute("select input_batch_seq from audit.runs where run_id = ?", [run_id]).fetchone()
    if row is not None and row[0] is not None:
        return f"select batch_id from raw.batches where coalesce(batch_seq, 0) <= {int(row[0])}"
    return "select batch_id from audit.run_inputs where run_id = " + "'" + run_id.replace("'", "''") + "'"


def run_inputs(con: duckdb.DuckDBPyConnection, run_id: str) -> list[str]:
    """The ids of the batches ``run_id`` read, sorted; raises InputsChanged when raw.batches no longer
    holds the very batches it recorded (their count and the sha256 of their ids)."""
    read = input_batches_sql(con, run_id)
    batches = [r[0] for r in con.execute(f"select batch_id from ({read}) order by 1").fetchall()]
    recorded = con.execute(
        "select input_batch_count, input_batches_sha256 from audit.runs where run_id = ?", [run_id]
    ).fetchone()
    if recorded is not None and recorded[1] is not None:
        count, digest = _count_and_digest(con, read)
        if (count, digest) != (recorded[0], recorded[1]):
            raise InputsChanged(
                f"run {run_id} read {recorded[0]} batch(es) (ids' sha256 {recorded[1][:12]}…); raw.batches now"
                f" holds {count} up to its load-order bound (sha256 {digest[:12]}…): the run's inputs"
                " cannot be recovered as they were"
            )
    return batches


def _count_and_digest(con: duckdb.DuckDBPyConnection, select: str) -> tuple[int, str]:
    """How many batch ids ``select`` gives, and the sha256 of them sorted, one per line (the digest a
    published review records as its provenance): what a build records and what its replay checks."""
    return con.execute(
        f"select count(*), sha256(coalesce(string_agg(batch_id, chr(10) order by batch_id), '')) from ({select})"
    ).fetchone()


def batches_not_read_by(con: duckdb.DuckDBPyConnection, run_id: str) -> int:
    """How many batches of raw.batches ``run_id`` did not read (those landed after it)."""
    return con.execute(
        f"select count(*) from raw.batches where batch_id not in ({input_batches_sql(con, run_id)})"
    ).fetchone()[0]


def start_run(
    con: duckdb.DuckDBPyConnection,
    run_id: str,
    flow: str,
    parameters: dict,
    *,
    as_of: datetime | None = None,
    configs: dict[str, str | None] | None = None,
) -> None:
    """Open a run in audit.runs, storing the configuration it uses (``configs``: {file: text},
    default the files on disk) in audit.config_versions and their hashes in the run's row."""
    mark_abandoned_runs(con)
    hashes = store_config_versions(con, config_texts() if configs is None else configs)
    # On a DuckLake another writer's update of audit.runs (its own run's end) conflicts with this insert
    # and is not retried by DuckLake itself: it is here (warehouse/lake.py retry_conflicts).
    retry_conflicts(lambda: _insert_run(con, run_id, flow, parameters, as_of, hashes))


def _insert_run(
    con: duckdb.DuckDBPyConnection,
    run_id: str,
    flow: str,
    parameters: dict,
    as_of: datetime | None,
    hashes: dict[str, str | None],
) -> None:
    con.execute(
        "insert into audit.runs (run_id, flow, parameters, state, started_at, as_of, code_version, lock_sha256,"
        " config_hashes, pid, host) values (?, ?, ?, 'running', ?, ?, ?, ?, ?, ?, ?)",
        [
            run_id,
            flow,
            json.dumps(parameters, default=str),
            datetime.now(UTC),
            as_of,
            code_version(),
            _sha256(PROJECT_ROOT / "uv.lock"),
            json.dumps(hashes),
            os.getpid(),
            socket.gethostname(),
        ],
    )


def _process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # alive, another user's
        return True
    return True


def mark_abandoned_runs(con: duckdb.DuckDBPyConnection) -> list[str]:
    """Runs left 'running' by a process of this host that no longer exists (kill -9, a crash): mark them
    'abandoned' with the reason; return their ids. A run of another host is left alone (its process
    cannot be asked), and so is one of this process."""
    here = socket.gethostname()
    rows = con.execute("select run_id, pid from audit.runs where state = 'running' and host = ?", [here]).fetchall()
    gone = [run_id for run_id, pid in rows if pid is not None and pid != os.getpid() and not _process_alive(pid)]
    for run_id in gone:
        pid = next(p for r, p in rows if r == run_id)
        message = f"its process (pid {pid} on {here}) ended without finishing the run"
        retry_conflicts(  # on a DuckLake another run's writer may update audit.runs at the same time
            lambda run_id=run_id, message=message: con.execute(
                "update audit.runs set state = 'abandoned', ended_at = ?, message = ? where run_id = ?",
                [datetime.now(UTC), message, run_id],
            )
        )
    return gone


def finish_run(con: duckdb.DuckDBPyConnection, run_id: str, state: str, message: str | None = None) -> None:
    retry_conflicts(  # on a DuckLake another run's writer may update audit.runs at the same time
        lambda: con.execute(
            "update audit.runs set state = ?, ended_at = ?, message = ? where run_id = ?",
            [state, datetime.now(UTC), message, run_id],
        )
    )


def record_fingerprints(con: duckdb.DuckDBPyConnection, run_id: str, tables: list[str]) -> None:
    from warehouse.scoped_build import fingerprints_by_difference

    if not tables:
        return
    # a table a scoped build left alone or rebuilt by key: by difference from the last; the others from their rows
    known = fingerprints_by_difference(con, tables)
    rows = [(run_id, table, *(known.get(table) or fingerprint(con, table))) for table in tables]
    con.execute(  # one insert of every row: an insert a table cost about a millisecond each
        "insert into audit.table_fingerprints (run_id, table_name, row_count, content_hash) values "
        + ", ".join(["(?, ?, ?, ?)"] * len(rows)),
        [value for row in rows for value in row],
    )


class NotPublishable(RuntimeError):
    """The marts are not in a state that may be published."""


def assert_publishable(con: duckdb.DuckDBPyConnection) -> str:
    """The id of the last build-warehouse run, which must have completed with every check passed.

    A failed build may have left a layer rebuilt but unchecked (or checked and failed), and its
    downstream layers stale; publishing a review from that state would present unchecked figures.
    """
    row = con.execute(
        "select run_id, state, message from audit.runs where flow = 'build-warehouse' order by started_at desc limit 1"
    ).fetchone()
    if row is None:
        raise NotPublishable("the warehouse was never built: run `otklik build` first")
    run_id, state, message = row
    if state != "completed":
        raise NotPublishable(
            f"the last warehouse build ({run_id}) ended '{state}', so the review is not published "
            f"until a build passes its checks. The build said:\n{message or '(no message)'}"
        )
    return run_id
