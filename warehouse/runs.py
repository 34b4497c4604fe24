"""The run ledger in audit.runs: who ran what, on which code and configuration, and what it wrote."""

import hashlib
import json
import subprocess
import uuid
from datetime import UTC, datetime
from importlib.metadata import version
from pathlib import Path

import duckdb

from warehouse.build import fingerprint
from warehouse.connection import PROJECT_ROOT

CONFIG_FILES = (
    "transforms/channels/channels.yaml",
    "transforms/org/org.yaml",
    "transforms/taxonomy/feedback_types.csv",
    "transforms/sla/policies.yaml",
)


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
    return {name: _sha256(PROJECT_ROOT / name) for name in CONFIG_FILES}


def start_run(
    con: duckdb.DuckDBPyConnection, run_id: str, flow: str, parameters: dict, *, as_of: datetime | None = None
) -> None:
    con.execute(
        "insert into audit.runs (run_id, flow, parameters, state, started_at, as_of, code_version, lock_sha256,"
        " config_hashes) values (?, ?, ?, 'running', ?, ?, ?, ?, ?)",
        [
            run_id,
            flow,
            json.dumps(parameters, default=str),
            datetime.now(UTC),
            as_of,
            code_version(),
            _sha256(PROJECT_ROOT / "uv.lock"),
            json.dumps(config_hashes()),
        ],
    )


def finish_run(con: duckdb.DuckDBPyConnection, run_id: str, state: str, message: str | None = None) -> None:
    con.execute(
        "update audit.runs set state = ?, ended_at = ?, message = ? where run_id = ?",
        [state, datetime.now(UTC), message, run_id],
    )


def record_fingerprints(con: duckdb.DuckDBPyConnection, run_id: str, tables: list[str]) -> None:
    for table in tables:
        rows, digest = fingerprint(con, table)
        con.execute(
            "insert into audit.table_fingerprints (run_id, table_name, row_count, content_hash) values (?, ?, ?, ?)",
            [run_id, table, rows, digest],
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
