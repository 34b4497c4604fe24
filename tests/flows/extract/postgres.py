"""A real PostgreSQL on loopback for the SQL puller's tests, started once per session.

``postgres_server`` finds the server binaries (``initdb``, ``pg_ctl``, ``postgres``) on PATH, in
/usr/local/bin or in Debian's /usr/lib/postgresql/<version>/bin, runs ``initdb`` in a fresh
temporary folder, starts the server with ``pg_ctl`` on a free port of 127.0.0.1 (its Unix socket
in that folder, no other listener) and stops it (``pg_ctl stop -m immediate``) at the end.

- **Missing binaries fail the tests** with the install command (``apt-get install postgresql``);
  they are never skipped silently. .ci/run installs the package on a fresh machine.
- **As root** (CI and the sessions here run as root, and PostgreSQL refuses to run as root): the
  server runs as the ``postgres`` system user that Debian's package creates (``subprocess`` with
  ``user=``/``group=``), in a folder under the system temp dir owned by that user. Without such a
  user the fixture fails and says so.
- **Authentication**: ``trust`` on the Unix socket (the fixture's own set-up, as the superuser),
  ``scram-sha-256`` on TCP, so the puller's login over 127.0.0.1 really checks the password.
- Speed: ``fsync=off`` and small buffers; nothing here needs durability across a machine crash.
"""

import os
import pwd
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest

from tests.flows.extract.imap_server import free_port

INSTALL_HINT = "apt-get install postgresql (Debian's package: initdb, pg_ctl and postgres, and the postgres user)"
_SUPERUSER = "postgres"

__all__ = ["INSTALL_HINT", "PostgresServer", "PostgresUnavailable", "find_binaries", "postgres", "postgres_server"]


class PostgresUnavailable(RuntimeError):
    """PostgreSQL cannot be started here; the message says what to install."""


@dataclass(frozen=True)
class PostgresServer:
    host: str
    port: int
    socket_dir: Path

    def dsn(self, user: str, database: str) -> str:
        """The libpq URL the puller gets (no password: it comes from the channel's secret)."""
        return f"postgresql://{user}@{self.host}:{self.port}/{database}"

    def admin(self, database: str = "postgres") -> psycopg.Connection:
        """A superuser connection over the Unix socket (trust), autocommit."""
        return psycopg.connect(
            host=str(self.socket_dir), port=self.port, user=_SUPERUSER, dbname=database, autocommit=True
        )


def find_binaries(candidates: list[Path] | None = None) -> Path:
    """The folder holding initdb, pg_ctl and postgres; PostgresUnavailable naming the install command."""
    if candidates is None:
        on_path = shutil.which("initdb")
        candidates = [Path(on_path).resolve().parent] if on_path else []
        candidates.append(Path("/usr/local/bin"))
        candidates += sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True)
    for folder in candidates:
        if all((folder / name).exists() for name in ("initdb", "pg_ctl", "postgres")):
            return folder
    raise PostgresUnavailable(f"PostgreSQL server binaries (initdb, pg_ctl, postgres) not found: {INSTALL_HINT}")


def _run_as() -> dict:
    """subprocess keywords that drop root to the postgres user; none when not root."""
    if os.geteuid() != 0:
        return {}
    try:
        account = pwd.getpwnam(_SUPERUSER)
    except KeyError:
        raise PostgresUnavailable(
            f"running as root, and PostgreSQL refuses to run as root: no '{_SUPERUSER}' user to run it as; "
            f"{INSTALL_HINT}"
        ) from None
    return {"user": account.pw_uid, "group": account.pw_gid, "extra_groups": []}


@contextmanager
def postgres_server() -> Iterator[PostgresServer]:
    """Start a throwaway PostgreSQL on 127.0.0.1 and stop it at the end."""
    binaries = find_binaries()
    run_as = _run_as()
    root = Path(tempfile.mkdtemp(prefix="otklik-pg-"))
    data = root / "data"
    try:
        if run_as:
            os.chown(root, run_as["user"], run_as["group"])
            os.chmod(root, 0o700)
        port = free_port()
        _run(
            [
                str(binaries / "initdb"),
                "-D",
                str(data),
                "-U",
                _SUPERUSER,
                "--auth-local=trust",
                "--auth-host=scram-sha-256",
                "--encoding=UTF8",
                "--locale=C",
                "--no-sync",
            ],
            run_as,
        )
        settings = (
            f"-c listen_addresses=127.0.0.1 -c port={port} -c unix_socket_directories={root}"
            " -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c shared_buffers=16MB"
            " -c max_connections=20"
        )
        _run(
            [str(binaries / "pg_ctl"), "-D", str(data), "-l", str(root / "server.log"), "-o", settings, "-w", "start"],
            run_as,
            log=root / "server.log",
        )
        try:
            yield PostgresServer("127.0.0.1", port, root)
        finally:
            _run([str(binaries / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop"], run_as, check=False)
    finally:
        shutil.rmtree(root, ignore_errors=True)


def _run(command: list[str], run_as: dict, *, log: Path | None = None, check: bool = True) -> None:
    done = subprocess.run(command, capture_output=True, text=True, timeout=120, cwd="/", **run_as)
    if check and done.returncode != 0:
        server_log = log.read_text(errors="replace")[-2000:] if log and log.exists() else ""
        raise PostgresUnavailable(
            f"{Path(command[0]).name} failed ({done.returncode}): {done.stderr[-2000:]}{server_log}"
        )


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresServer]:
    """The session's PostgreSQL; a failure (never a skip) when it cannot be started here."""
    server = postgres_server()
    try:
        started = server.__enter__()
    except PostgresUnavailable as exc:
        pytest.fail(str(exc), pytrace=False)
    try:
        yield started
    finally:
        server.__exit__(None, None, None)
