"""A real PostgreSQL on loopback for the SQL puller's tests, started once per session.

``postgres_server`` finds the server binaries (``initdb``, ``pg_ctl``, ``postgres``) on PATH, in
/usr/local/bin or in Debian's /usr/lib/postgresql/<version>/bin (``otklik.local_postgres``, which the
project's own ``otklik postgres start`` uses too), runs ``initdb`` in a fresh
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
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest

from otklik.local_postgres import (
    INSTALL_HINT,
    SUPERUSER,
    PostgresUnavailable,
    find_binaries,
    initdb_command,
    run_server_command,
    server_settings,
)
from otklik.local_postgres import run_as as server_run_as
from tests.flows.extract.imap_server import free_port

__all__ = ["INSTALL_HINT", "PostgresServer", "PostgresUnavailable", "find_binaries", "postgres", "postgres_server"]


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
            host=str(self.socket_dir), port=self.port, user=SUPERUSER, dbname=database, autocommit=True
        )


@contextmanager
def postgres_server(max_connections: int = 20) -> Iterator[PostgresServer]:
    """Start a throwaway PostgreSQL on 127.0.0.1 and stop it at the end."""
    binaries = find_binaries()
    run_as = server_run_as()
    root = Path(tempfile.mkdtemp(prefix="otklik-pg-"))
    data = root / "data"
    try:
        if run_as:
            os.chown(root, run_as["user"], run_as["group"])
            os.chmod(root, 0o700)
        port = free_port()
        run_server_command([*initdb_command(binaries, data), "--no-sync"], run_as)
        settings = server_settings(port, root, throwaway=True, max_connections=max_connections)
        run_server_command(
            [str(binaries / "pg_ctl"), "-D", str(data), "-l", str(root / "server.log"), "-o", settings, "-w", "start"],
            run_as,
            log=root / "server.log",
        )
        try:
            yield PostgresServer("127.0.0.1", port, root)
        finally:
            stop = [str(binaries / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop"]
            run_server_command(stop, run_as, check=False)
    finally:
        shutil.rmtree(root, ignore_errors=True)


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
