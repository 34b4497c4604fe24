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
