"""erp_orders_monthly pulled as shipped from a real PostgreSQL on loopback (tests/flows/extract/postgres.py).

Each test gets its own database with the ERP's view as the shipped query reads it
(``erp.orders_monthly``): one row per month and directorate, ``updated_at`` stamped by the ERP's
monthly close, so every month's six rows share one ``updated_at`` (ties that a page boundary cuts).
"""

import contextlib
import csv
import io
import json
import logging
import os
import subprocess
import sys
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pytest
from psycopg import errors, sql

from flows.extract import PullError
from flows.extract.sql_pull import keyset_query, parse_cursor
from otklik.sample.writers import csv_bytes
from tests.flows.extract.postgres import PostgresServer, PostgresUnavailable, find_binaries, postgres  # noqa: F401
from tests.flows.extract.providers.conftest import cursor_chain, pull_as_shipped, shipped
from warehouse import connect

PASSWORD = "Erp-7fQz-Lm28vXc"  # planted: must appear nowhere the pull writes
READER = "erp_reader"
DIRECTORATES = ("retail", "ecommerce", "logistics", "finance", "customer_service", "corporate_sales")
ROOT = Path(__file__).resolve().parents[4]

SCHEMA = """
create schema erp;
create table erp.orders_monthly (
    month date not null,
    directorate_id text not null,
    orders_count integer not null,
    updated_at timestamptz not null,
    primary key (month, directorate_id)
);
"""

# The ERP's monthly close stamps every directorate of a month at once, 2 days after the month.
HISTORY = """
insert into erp.orders_monthly
select m::date, d.id, 800 + (extract(epoch from m)::bigint / 86400 * 7 + d.n * 613) %% 9000,
       (m + interval '1 month 2 days 02:00') at time zone 'UTC'
from generate_series(%s::date, %s::date, interval '1 month') as m,
     unnest(%s::text[]) with ordinality as d(id, n)
"""


@dataclass(frozen=True)
class Erp:
    server: PostgresServer
    database: str

    @property
    def dsn(self) -> str:
        return self.server.dsn(READER, self.database)

    def execute(self, statement: str, params: list | None = None) -> None:
        with self.server.admin(self.database) as con:
            con.execute(statement, params)

    def add_months(self, first: str, last: str) -> None:
        self.execute(HISTORY, [first, last, list(DIRECTORATES)])

    def rows(self) -> Counter:
        """The source's current rows as the CSV writes them: (month, directorate, orders)."""
        with self.server.admin(self.database) as con:
            found = con.execute(
                "select to_char(month, 'YYYY-MM'), directorate_id, orders_count::text from erp.orders_monthly"
            ).fetchall()
        return Counter(found)


@pytest.fixture
def erp(postgres: PostgresServer) -> Iterator[Erp]:  # noqa: F811 - the imported session fixture
    database = f"erp_{uuid.uuid4().hex[:10]}"
    with postgres.admin() as con:
        with contextlib.suppress(errors.DuplicateObject):
            con.execute(sql.SQL("create role {} login password {}").format(sql.Identifier(READER), PASSWORD))
        con.execute(sql.SQL("create database {}").format(sql.Identifier(database)))
    source = Erp(postgres, database)
    source.execute(SCHEMA)
    source.execute(f"grant usage on schema erp to {READER}; grant select on erp.orders_monthly to {READER}")
    source.add_months("2011-11-01", "2026-10-01")  # 180 months x 6 directorates = 1080 rows
    yield source
    with postgres.admin() as con:
        con.execute(sql.SQL("drop database {} with (force)").format(sql.Identifier(database)))


def pull(wh: duckdb.DuckDBPyConnection, archive: Path, dsn: str, secret: str = PASSWORD, **kwargs):
    return pull_as_shipped(wh, "erp_orders_monthly", archive, dsn, secret=secret, **kwargs)


def landed(con: duckdb.DuckDBPyConnection) -> Counter:
    rows = con.execute("select payload from raw.channel_payloads where channel_id = 'erp_orders_monthly'").fetchall()
    return Counter(tuple(json.loads(p)[k] for k in ("month", "directorate", "orders")) for (p,) in rows)


def test_first_pull_lands_every_row_once_in_keyset_pages(wh, archive, erp) -> None:
    summary = pull(wh, archive, erp.dsn)

    assert landed(wh) == erp.rows() and sum(landed(wh).values()) == 1080
    chain = cursor_chain(wh, "erp_orders_monthly")
    assert [json.loads(after) for _, after in chain] == [
        ["2018-11-03 02:00:00+00", "2018-10", "customer_service"],  # row 500: 2nd of the six of 2018-10
        ["2025-10-03 02:00:00+00", "2025-09", "finance"],  # row 1000: 4th of the six of 2025-09
        ["2026-11-03 02:00:00+00", "2026-10", "retail"],  # row 1080, the last
    ]
    assert [before for before, _ in chain] == [None, chain[0][1], chain[1][1]]
    assert (summary.pages_landed, summary.records) == (3, 1080)
    counts = wh.execute("select record_count from raw.batches order by batch_seq").fetchall()
    assert counts == [(500,), (500,), (80,)]


def test_a_page_is_the_csv_the_erp_export_writes(wh, archive, erp) -> None:
    pull(wh, archive, erp.dsn)

    (path,) = wh.execute("select archive_path from raw.batches order by batch_seq desc limit 1").fetchone()
    data = Path(path).read_bytes()
    rows = list(csv.reader(io.StringIO(data.decode("utf-8"))))
    assert rows[0] == ["month", "directorate", "orders"]
    assert data == csv_bytes(rows[0], rows[1:], delimiter=shipped("erp_orders_monthly").reader.delimiter)
    assert rows[-1][:2] == ["2026-10", "retail"]


def test_the_next_pull_lands_only_new_rows(wh, archive, erp) -> None:
    first = pull(wh, archive, erp.dsn)
    erp.add_months("2026-11-01", "2026-11-01")  # the next monthly close

    second = pull(wh, archive, erp.dsn)
    third = pull(wh, archive, erp.dsn)

    assert (second.cursor_start, second.pages_landed, second.records) == (first.last_cursor, 1, 6)
    assert json.loads(second.last_cursor)[0] == "2026-12-03 02:00:00+00"
    assert (third.pages_fetched, third.pages_landed, third.last_cursor) == (0, 0, second.last_cursor)
    assert landed(wh) == erp.rows() and sum(landed(wh).values()) == 1086


def test_a_restated_month_lands_again(wh, archive, erp) -> None:
    pull(wh, archive, erp.dsn)
    erp.execute(
        "update erp.orders_monthly set orders_count = 4321, updated_at = '2026-11-20 09:30:00+00'"
        " where month = '2026-09-01' and directorate_id = 'ecommerce'"
    )

    again = pull(wh, archive, erp.dsn)

    assert again.records == 1
    assert json.loads(again.last_cursor) == ["2026-11-20 09:30:00+00", "2026-09", "ecommerce"]
    versions = [row for row in landed(wh) if row[:2] == ("2026-09", "ecommerce")]
    assert len(versions) == 2 and ("2026-09", "ecommerce", "4321") in versions


def test_ties_at_a_page_boundary_are_neither_skipped_nor_repeated() -> None:
    options = shipped("erp_orders_monthly").how_extracted.options
    from flows.extract.sql_pull import Options

    query, params = keyset_query(Options.model_validate(options), ["2018-07-03 02:00:00+00", "2018-06", "finance"])
    text = query.as_string(None)
    assert '("updated_at", "month", "directorate") > (%s, %s, %s)' in text
    assert 'order by "updated_at", "month", "directorate" limit 500' in text
    assert params == ["2018-07-03 02:00:00+00", "2018-06", "finance"]
    with pytest.raises(PullError, match="not a JSON list of 3 texts"):
        parse_cursor("2026-10-01", Options.model_validate(options), "erp_orders_monthly")


def test_a_wrong_password_names_the_secret_and_keeps_the_cursor(wh, archive, erp) -> None:
    first = pull(wh, archive, erp.dsn)
    erp.add_months("2026-11-01", "2026-11-01")
    waits: list[float] = []

    with pytest.raises(PullError) as refused:
        pull(wh, archive, erp.dsn, secret="Wr0ng-Qx81", sleep=waits.append)

    message = str(refused.value)
    assert "OTKLIK_ERP_PASSWORD" in message and "refused the login" in message and "Wr0ng-Qx81" not in message
    assert waits == []  # a refusal is not retried
    assert wh.execute("select cursor from raw.channel_cursors").fetchone()[0] == first.last_cursor
    assert sum(landed(wh).values()) == 1080


def test_an_unreachable_database_is_retried_then_fails(wh, archive, postgres) -> None:  # noqa: F811
    from tests.flows.extract.imap_server import free_port

    waits: list[float] = []
    with pytest.raises(PullError, match="cannot connect after 6 attempt") as down:
        pull(wh, archive, f"postgresql://{READER}@127.0.0.1:{free_port()}/erp", sleep=waits.append)
    assert len(waits) == 5 and down.value.retryable


def test_the_password_never_leaves_the_pull(wh, archive, erp, caplog) -> None:
    caplog.set_level(logging.DEBUG)
    erp.execute(
        "insert into erp.orders_monthly values ('2026-10-01', %s, 1, '2026-11-04 00:00:00+00')",
        [f"echo {PASSWORD}"],
    )
    pull(wh, archive, erp.dsn)
    failures = []
    for dsn in (
        erp.server.dsn(READER, "no_such_database"),
        f"postgresql://{READER}:{PASSWORD}@127.0.0.1:{erp.server.port}/{erp.database}",
    ):
        with pytest.raises(PullError) as failed:
            pull(wh, archive, dsn)
        failures.append(str(failed.value))

    assert "no_such_database" in failures[0] and "carries a password" in failures[1]
    texts = [caplog.text, *failures]
    for table in ("raw.batches", "raw.channel_payloads", "raw.channel_cursors", "quarantine.files"):
        texts.append(str(wh.execute(f"select * from {table}").fetchall()))
    texts += [p.read_bytes().decode("utf-8", "replace") for p in archive.rglob("*") if p.is_file()]
    assert all(PASSWORD not in text for text in texts)
    assert ("2026-10", "echo ***", "1") in landed(wh)
    assert "holds the channel's secret" in caplog.text  # the last row's key: its cursor stays uncommitted


PULL = """
import os, sys
from pathlib import Path
from flows.extract import pull_channel
from transforms.channels import get_channel
from warehouse import connect
with connect(sys.argv[1]) as con:
    pull_channel(con, get_channel("erp_orders_monthly"), archive_dir=Path(sys.argv[2]), run_id="crash-test",
                 secret=os.environ["OTKLIK_ERP_PASSWORD"], base_url=os.environ["OTKLIK_ERP_DSN"])
"""


def _pull_in_a_process(warehouse: Path, archive: Path, dsn: str, crash_at: str | None) -> int:
    env = {k: v for k, v in os.environ.items() if k != "OTKLIK_CRASH_AT"}
    env |= {"OTKLIK_ERP_PASSWORD": PASSWORD, "OTKLIK_ERP_DSN": dsn}
    if crash_at:
        env["OTKLIK_CRASH_AT"] = crash_at
    done = subprocess.run(
        [sys.executable, "-c", PULL, str(warehouse), str(archive)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert PASSWORD not in done.stdout + done.stderr
    return done.returncode


def test_a_kill_between_landing_a_page_and_its_commit_loses_nothing_and_doubles_nothing(tmp_path, erp) -> None:
    warehouse, archive = tmp_path / "w.duckdb", tmp_path / "archive"
    # kill -9 (warehouse/faults.py) between landing a page and committing it with its cursor: after
    # the second page's archive copy (not yet in the warehouse); then, in the next run, inside the
    # third page's transaction, its raw rows and cursor written, before the commit.
    codes = [_pull_in_a_process(warehouse, archive, erp.dsn, kill) for kill in ("after_archive:2", "before_commit:2")]
    erp.add_months("2026-11-01", "2026-11-01")  # and a month closes before the run that finishes
    codes.append(_pull_in_a_process(warehouse, archive, erp.dsn, None))

    assert codes == [-9, -9, 0]
    with connect(warehouse, read_only=True) as con:
        assert landed(con) == erp.rows()  # every source row once: nothing lost, nothing doubled
        assert sum(landed(con).values()) == 1086
        chain = cursor_chain(con, "erp_orders_monthly")
        assert [before for before, _ in chain] == [None, chain[0][1], chain[1][1]]
        counts = con.execute("select record_count from raw.batches order by batch_seq").fetchall()
        assert counts == [(500,), (500,), (86,)]


def test_without_the_binaries_the_fixture_fails_with_the_install_command(tmp_path) -> None:
    with pytest.raises(PostgresUnavailable, match="apt-get install postgresql"):
        find_binaries([tmp_path])
