"""A local PostgreSQL for the DuckLake warehouse's catalog, run by the project itself (``otklik postgres``).

``start`` finds the server binaries (``find_binaries``: on PATH, in /usr/local/bin, or Debian's
/usr/lib/postgresql/<version>/bin), creates a cluster under the project (``.postgres/``, git-ignored)
the first time, starts it on 127.0.0.1 (port ``OTKLIK_POSTGRES_PORT``, default 5544; its Unix socket
in ``.postgres/``), creates the catalog database and its owner ``otklik`` and prints the
``OTKLIK_WAREHOUSE`` value for it. ``stop`` and ``status`` do what they say.

- **As root** (CI, containers) PostgreSQL refuses to run; the server then runs as the ``postgres`` user
  that Debian's package creates, and the cluster's folder belongs to it.
- **Authentication**: ``trust`` on the Unix socket, which only the server's owner can reach (the
  set-up's superuser connection); ``scram-sha-256`` over TCP, with a password made at the first start
  and kept in ``.postgres/otklik.password`` (mode 0600): otklik reads it from ``OTKLIK_LAKE_PASSWORD``
  (``make demo-ducklake`` passes it), never from the command line, and prints it nowhere.
- The tests' throwaway server (tests/flows/extract/postgres.py) uses the same binary finding and the
  same ``run_as`` / ``run_server_command`` helpers.
"""

from __future__ import annotations

import os
import pwd
import secrets
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import typer

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_ROOT = PROJECT_ROOT / ".postgres"
DEFAULT_PORT = 5544
PORT_VARIABLE = "OTKLIK_POSTGRES_PORT"
SUPERUSER = "postgres"
CATALOG_USER = "otklik"
CATALOG_DATABASE = "otklik"
INSTALL_HINT = "apt-get install postgresql (Debian's package: initdb, pg_ctl and postgres, and the postgres user)"


class PostgresUnavailable(RuntimeError):
    """PostgreSQL cannot be started here; the message says what to install or what failed."""


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


def run_as() -> dict:
    """subprocess keywords that drop root to the postgres user; none when not root."""
    if os.geteuid() != 0:
        return {}
    try:
        account = pwd.getpwnam(SUPERUSER)
    except KeyError:
        raise PostgresUnavailable(
            f"running as root, and PostgreSQL refuses to run as root: no '{SUPERUSER}' user to run it as; "
            f"{INSTALL_HINT}"
        ) from None
    return {"user": account.pw_uid, "group": account.pw_gid, "extra_groups": []}


def run_server_command(
    command: list[str], as_user: dict, *, log: Path | None = None, check: bool = True
) -> subprocess.CompletedProcess:
    """Run initdb / pg_ctl (as ``as_user``); PostgresUnavailable with its output (and the log's tail) if it fails."""
    done = subprocess.run(command, capture_output=True, text=True, timeout=120, cwd="/", **as_user)
    if check and done.returncode != 0:
        server_log = log.read_text(errors="replace")[-2000:] if log and log.exists() else ""
        raise PostgresUnavailable(
            f"{Path(command[0]).name} failed ({done.returncode}): {done.stderr[-2000:]}{server_log}"
        )
    return done


def initdb_command(binaries: Path, data: Path) -> list[str]:
    return [
        str(binaries / "initdb"),
        "-D",
        str(data),
        "-U",
        SUPERUSER,
        "--auth-local=trust",
        "--auth-host=scram-sha-256",
        "--encoding=UTF8",
        "--locale=C",
    ]


def server_settings(port: int, socket_dir: Path, *, throwaway: bool = False, max_connections: int = 100) -> str:
    """``pg_ctl -o`` settings: loopback only, the socket in ``socket_dir``; no durability for a throwaway one."""
    settings = (
        f"-c listen_addresses=127.0.0.1 -c port={port} -c unix_socket_directories={socket_dir}"
        f" -c max_connections={max_connections}"
    )
    if throwaway:
        settings += " -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c shared_buffers=16MB"
    return settings


@dataclass(frozen=True)
class LocalPostgres:
    """The project's cluster: its folder, port and the files in it."""

    root: Path = DEFAULT_ROOT
    port: int = DEFAULT_PORT
    durable: bool = True  # False: no fsync (a throwaway cluster, e.g. a test's)

    @property
    def data(self) -> Path:
        return self.root / "data"

    @property
    def log(self) -> Path:
        return self.root / "server.log"

    @property
    def password_file(self) -> Path:
        return self.root / f"{CATALOG_USER}.password"

    def warehouse_setting(self) -> str:
        """The OTKLIK_WAREHOUSE value of the catalog database (no password: OTKLIK_LAKE_PASSWORD)."""
        return f"ducklake:postgres:dbname={CATALOG_DATABASE} host=127.0.0.1 port={self.port} user={CATALOG_USER}"

    def password(self) -> str:
        return self.password_file.read_text(encoding="utf-8").strip()

    def running(self) -> bool:
        if not (self.data / "PG_VERSION").exists():
            return False
        command = [str(find_binaries() / "pg_ctl"), "-D", str(self.data), "status"]
        done = run_server_command(command, run_as(), check=False)
        return done.returncode == 0

    def start(self) -> None:
        """Create the cluster (the first time), start it, and create the catalog's user and database."""
        binaries, as_user = find_binaries(), run_as()
        self.root.mkdir(mode=0o700, exist_ok=True)
        if as_user:
            os.chown(self.root, as_user["user"], as_user["group"])
        os.chmod(self.root, 0o700)
        if not (self.data / "PG_VERSION").exists():
            run_server_command([*initdb_command(binaries, self.data), *self._no_sync()], as_user)
        if not self.running():
            settings = server_settings(self.port, self.root, throwaway=not self.durable)
            run_server_command(
                [str(binaries / "pg_ctl"), "-D", str(self.data), "-l", str(self.log), "-o", settings, "-w", "start"],
                as_user,
                log=self.log,
            )
        self._create_catalog()

    def _no_sync(self) -> list[str]:
        return [] if self.durable else ["--no-sync"]

    def stop(self) -> None:
        if self.running():
            run_server_command(
                [str(find_binaries() / "pg_ctl"), "-D", str(self.data), "-m", "fast", "-w", "stop"], run_as()
            )

    def admin(self, database: str = "postgres"):
        """A superuser connection over the Unix socket (trust), autocommit."""
        import psycopg

        return psycopg.connect(host=str(self.root), port=self.port, user=SUPERUSER, dbname=database, autocommit=True)

    def _create_catalog(self) -> None:
        from psycopg import sql

        if not self.password_file.exists():
            self.password_file.touch(mode=0o600)
            self.password_file.write_text(secrets.token_urlsafe(24), encoding="utf-8")
        with self.admin() as pg:
            exists = pg.execute("select 1 from pg_roles where rolname = %s", [CATALOG_USER]).fetchone()
            verb = "alter" if exists else "create"
            pg.execute(
                sql.SQL(verb + " role {} login password {}").format(
                    sql.Identifier(CATALOG_USER), sql.Literal(self.password())
                )
            )
            if not pg.execute("select 1 from pg_database where datname = %s", [CATALOG_DATABASE]).fetchone():
                pg.execute(
                    sql.SQL("create database {} owner {}").format(
                        sql.Identifier(CATALOG_DATABASE), sql.Identifier(CATALOG_USER)
                    )
                )


def local_postgres(root: Path | None = None) -> LocalPostgres:
    """The project's cluster, on ``OTKLIK_POSTGRES_PORT`` (default 5544)."""
    text = os.environ.get(PORT_VARIABLE, "").strip()
    if text and not (text.isdigit() and 0 < int(text) < 65536):
        raise ValueError(f"{PORT_VARIABLE}={text!r} is not a TCP port")
    return LocalPostgres(root or DEFAULT_ROOT, int(text) if text else DEFAULT_PORT)


postgres_app = typer.Typer(
    help="The project's local PostgreSQL, the catalog of a DuckLake warehouse (.postgres/).", no_args_is_help=True
)


@postgres_app.command("start")
def start_command() -> None:
    """Create (the first time) and start the cluster; print the OTKLIK_WAREHOUSE value of its catalog."""
    server = local_postgres()
    server.start()
    print(f"PostgreSQL on 127.0.0.1:{server.port} ({server.data})", file=sys.stderr)
    print(f"password of {CATALOG_USER}: {server.password_file} (pass it as OTKLIK_LAKE_PASSWORD)", file=sys.stderr)
    print(server.warehouse_setting())


@postgres_app.command("stop")
def stop_command() -> None:
    """Stop the cluster (its data stays in .postgres/)."""
    server = local_postgres()
    server.stop()
    print(f"PostgreSQL on 127.0.0.1:{server.port} stopped", file=sys.stderr)


@postgres_app.command("status")
def status_command() -> None:
    """Whether the cluster runs, and the OTKLIK_WAREHOUSE value of its catalog; exit code 1 when it does not."""
    server = local_postgres()
    if not server.running():
        print(f"PostgreSQL is not running ({server.data}): run `otklik postgres start`", file=sys.stderr)
        raise typer.Exit(1)
    print(f"PostgreSQL runs on 127.0.0.1:{server.port} ({server.data})", file=sys.stderr)
    print(server.warehouse_setting())
