"""A build that rebuilds only what changed equals a build from nothing, table for table, row for row.

A warehouse receives batches: two months of the sample generator's exports, then late edits of old
items (one moving an item to another month) and late events of old cases, then nothing (only the clock
moves), then late items (the last days of a month; a month that begins on a Monday, whose first week
compares with the month before's last), then a new text of an item whose case was reopened (its case
unchanged), each built on a later clock
on its last build (staging from new batches, the models of ``transforms.incremental.SCOPES`` only for
the keys that changed). After each, a second warehouse gets a copy of its raw tables and builds from
nothing. Every table of staging, core and marts, and the quarantine, must be equal.
"""

import json
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb
import pytest

from otklik.sample.generate import generate_landing
from tests.golden import golden_context
from tests.helpers import land_file
from transforms.channels import load_channels
from transforms.dag import BUILD_ORDER, PythonModel
from transforms.incremental import SCOPES, VIEW_READS_ALLOWED, VIEWS
from warehouse import build, connect_memory, scoped_build
from warehouse.build import build_all, build_layer, fingerprint, finish_build
from warehouse.ingest import ingest_landing
from warehouse.runs import record_fingerprints
from warehouse.sql_models import render_model_sql
from warehouse.staging import INDEX_TABLE, STATE_TABLE

STATE = [STATE_TABLE, scoped_build.STATE, scoped_build.CHANGES, scoped_build.FINGERPRINT_DELTAS, scoped_build.APPENDED]


def _tables(con: duckdb.DuckDBPyConnection) -> list[str]:
    rows = con.execute(
        "select schema_name || '.' || table_name from duckdb_tables()"
        " where schema_name in ('staging', 'core', 'marts', 'quarantine', 'restricted') order by 1"
    ).fetchall()
    return [r[0] for r in rows if r[0] not in STATE]


def _rows(con: duckdb.DuckDBPyConnection, table: str) -> list[tuple]:
    return sorted(con.execute(f"select * from {table}").fetchall(), key=repr)


def _build(con: duckdb.DuckDBPyConnection, as_of: datetime, *, from_nothing: bool) -> None:
    """Build every layer, recording each table's fingerprint as a build run does; check that a fingerprint
    taken by difference (scoped_build.fingerprints_by_difference) is the table's."""
    if from_nothing:
        for table in STATE:
            con.execute(f"drop table if exists {table}")
    ctx = golden_context(as_of)
    for layer in BUILD_ORDER:
        built = build_layer(con, layer, ctx)
        record_fingerprints(con, f"build at {as_of}", list(built))
        recorded = con.execute(
            "select table_name, row_count, content_hash from audit.table_fingerprints where run_id = ?",
            [f"build at {as_of}"],
        ).fetchall()
        wrong = [(t, (n, h), fingerprint(con, t)) for t, n, h in recorded if fingerprint(con, t) != (n, h)]
        assert wrong == [], wrong
    finish_build(con)


def _copy_of_raw(con: duckdb.DuckDBPyConnection) -> duckdb.DuckDBPyConnection:
    """A new warehouse holding what ingest wrote into ``con`` (raw, and the files and records it quarantined)."""
    copy = connect_memory()
    tables = con.execute(
        "select schema_name || '.' || table_name from duckdb_tables() where schema_name = 'raw'"
        " or (schema_name = 'quarantine' and table_name in ('files', 'records'))"
    ).fetchall()
    for (table,) in tables:
        copy.register("_rows", con.execute(f"select * from {table}").arrow())
        copy.execute(f"insert into {table} select * from _rows")
        copy.unregister("_rows")
    return copy


Land = Callable[[duckdb.DuckDBPyConnection, Path], None]


def built_both_ways(steps: list[tuple[datetime, Land]], archive: Path) -> duckdb.DuckDBPyConnection:
    """Land each step's batches and build on the last build (scoped rebuilds allowed after the first),
    then build a copy of its raw tables from nothing and require every table equal; return the
    warehouse built step by step."""
    con = connect_memory()
    for number, (as_of, land) in enumerate(steps):
        land(con, archive)
        _build(con, as_of, from_nothing=False)
        if number > 0:
            assert con.execute(f"select scoped from {scoped_build.STATE}").fetchone() == (True,), as_of
        whole = _copy_of_raw(con)
        _build(whole, as_of, from_nothing=True)
        tables = _tables(whole)
        assert tables == _tables(con)
        differ = [t for t in tables if _rows(con, t) != _rows(whole, t)]
        assert differ == [], f"built at {as_of}: {differ}"
    return con


REQUESTERS = {
    1: ("Пётр", "petr@example.com"),
    2: ("Анна", "anna@example.com"),
    3: ("Ольга", "olga@example.com"),
    4: ("Игорь", "igor@example.com"),
}


def _ticket(ticket_id: int, created_at: str, updated_at: str, subject: str, text: str, requester: int) -> dict:
    """A Freshdesk ticket as its API gives it, from a requester of ``REQUESTERS``."""
    name, email = REQUESTERS[requester]
    return {
        "id": ticket_id,
        "created_at": created_at,
        "updated_at": updated_at,
        "subject": subject,
        "description_text": text,
        "requester_id": requester,
        "requester": {"name": name, "email": email, "phone": None},
    }


def _late_batches(con: duckdb.DuckDBPyConnection, archive: Path) -> None:
    """Edits of items of the first month, late events of its cases (one reopens a contact request's closed
    case), a late second final-survey answer about another request's case; an edit that moves an item of
    the second month to the third (its creation time was wrong: the second month changes by that item's
    old row alone)."""
    item = con.execute(
        "select source_item_id, received_at from staging.stg_channels__feedback"
        " where channel_id = 'freshdesk_tickets' order by received_at limit 1"
    ).fetchone()
    moved = con.execute(
        "select source_item_id from staging.stg_channels__feedback where channel_id = 'freshdesk_tickets'"
        " and received_at >= '2026-10-01T00:00:00Z' order by received_at limit 1"
    ).fetchone()
    case = con.execute(
        "select case_id, feedback_id from staging.stg_crm__case_events where event_type = 'opened'"
        " and case_id not in (select case_id from staging.stg_crm__case_events where event_type = 'closed')"
        " order by case_id limit 1"
    ).fetchone()
    # contact requests: one whose customer said the issue was solved answers again, late; another one's
    # closed case is reopened (a request's row joins its case and the final-survey answers about it)
    answered = con.execute(
        "select case_id from core.fct_contact_requests where is_solved order by feedback_id limit 1"
    ).fetchone()
    reopened = con.execute(
        "select case_id, feedback_id, directorate_id, department_id, manager_id, priority"
        " from staging.stg_crm__case_events where event_type = 'opened' and case_id in"
        " (select case_id from core.fct_contact_requests where is_resolved and not is_final_survey_answered)"
        " order by case_id limit 1"
    ).fetchone()
    # a closed case opened from a ticket (another than the edited one) is reopened: a later step edits the
    # ticket's text alone (_late_edit_of_a_reopened_ticket)
    ticket_case = con.execute(
        "select e.case_id, e.feedback_id, e.directorate_id, e.department_id, e.manager_id, e.priority"
        " from staging.stg_crm__case_events as e inner join staging.stg_channels__feedback as f"
        " on f.feedback_id = e.feedback_id where e.event_type = 'opened' and f.channel_id = 'freshdesk_tickets'"
        " and f.source_item_id <> ? and e.case_id in"
        " (select case_id from staging.stg_crm__case_events where event_type = 'closed')"
        " order by e.case_id limit 1",
        [item[0]],
    ).fetchone()
    assert item and moved and case and answered and reopened and ticket_case, (
        "the sample has tickets, an open case, requests and a closed case of a ticket"
    )
    subject, text = "Повторное обращение", "Заказ так и не привезли, верните деньги"
    ticket = _ticket(int(item[0]), item[1].astimezone(UTC).isoformat(), "2026-11-20T09:00:00Z", subject, text, 1)
    moved_ticket = _ticket(int(moved[0]), "2026-11-10T09:00:00Z", "2026-11-20T09:00:00Z", subject, text, 2)
    events = (
        "case_id,event,event_at,feedback_id,directorate,department,manager,priority\n"
        f"{case[0]},first_contact,2026-11-20T10:00:00+03:00,{case[1]},logistics,delivery,m_fedorov,normal\n"
        f"{case[0]},closed,2026-11-21T10:00:00+03:00,{case[1]},logistics,delivery,m_fedorov,normal\n"
        f"{reopened[0]},reopened,2026-11-20T11:00:00+03:00,{','.join(reopened[1:])}\n"
        f"{ticket_case[0]},reopened,2026-11-20T12:00:00+03:00,{','.join(ticket_case[1:])}\n"
    )
    answer = {
        "response_id": "FS-LATE-000001",
        "survey": "close_the_loop_final",
        "case_id": answered[0],
        "customer_id": "C1000001",
        "answered_at": "2026-11-20T12:00:00+03:00",
        "tnps": 3,
        "solved": "Нет",
        "comment": "Так и не перезвонили",
    }
    for channel_id, name, data in [
        ("freshdesk_tickets", "late-edit.json", json.dumps([ticket, moved_ticket], ensure_ascii=False).encode()),
        ("crm_case_events", "late-events.csv", events.encode()),
        ("ctl_final_survey", "late-answer.jsonl", (json.dumps(answer, ensure_ascii=False) + "\n").encode()),
    ]:
        land_file(con, archive, channel_id, name, data, run_id="late")


def _late_edit_of_a_reopened_ticket(con: duckdb.DuckDBPyConnection, archive: Path) -> None:
    """A new text of a ticket whose case was reopened in an earlier step: of the case, only its item changes
    (marts.weekly_reopened_cases shows the item's text beside the case's reopens: a model scoped by case must
    map a changed item to the cases opened from it)."""
    ticket = con.execute(
        "select f.source_item_id, f.received_at from staging.stg_channels__feedback as f"
        " inner join staging.stg_crm__case_events as e on e.feedback_id = f.feedback_id"
        " where f.channel_id = 'freshdesk_tickets' and e.event_type = 'reopened' order by f.source_item_id limit 1"
    ).fetchone()
    assert ticket, "a ticket's case was reopened by _late_batches"
    edit = _ticket(
        int(ticket[0]),
        ticket[1].astimezone(UTC).isoformat(),
        "2026-11-24T09:00:00Z",
        "Дополнение к обращению",
        "Деньги так и не вернули, прошу перезвонить",
        4,
    )
    name = "late-edit-of-a-reopened-ticket.json"
    land_file(con, archive, "freshdesk_tickets", name, json.dumps([edit], ensure_ascii=False).encode(), run_id=name)


def _late_pause_of_a_resolved_case(con: duckdb.DuckDBPyConnection, archive: Path) -> None:
    """A late wait for the customer over nearly all of the longest first reaction cycle resolved within target:
    its elapsed time falls to minutes, its state and times stay, and its month's median moves
    (marts.sla_compliance_monthly reads stopped cycles' elapsed times, which the clocks' view compares:
    ``View.settled``)."""
    resolved = con.execute(
        "select s.case_id, s.started_at, s.achieved_at,"
        " e.feedback_id, e.directorate_id, e.department_id, e.manager_id, e.priority"
        " from core.fct_case_sla as s inner join staging.stg_crm__case_events as e"
        " on e.case_id = s.case_id and e.event_type = 'opened'"
        " where s.sla_policy_id = 'reaction_by_type' and s.cycle_number = 1 and s.sla_state = 'achieved'"
        " order by s.elapsed_minutes desc, s.case_id limit 1"
    ).fetchone()
    assert resolved, "the sample has a case resolved within its reaction target"
    case, started_at, achieved_at, rest = resolved[0], resolved[1], resolved[2], ",".join(resolved[3:])
    paused = (started_at + timedelta(minutes=5)).astimezone(UTC).isoformat()
    resumed = (achieved_at - timedelta(minutes=5)).astimezone(UTC).isoformat()
    events = (
        "case_id,event,event_at,feedback_id,directorate,department,manager,priority\n"
        f"{case},waiting_customer,{paused},{rest}\n{case},resumed,{resumed},{rest}\n"
    )
    land_file(con, archive, "crm_case_events", "late-pause.csv", events.encode(), run_id="late-pause")


def _late_tickets(*created: str) -> Land:
    """Complaints delivered late, received at ``created`` (UTC): of the items, only their months change, and
    the weeks after their months' last weeks (the weekly marts compare a week with the one before)."""

    def land(con: duckdb.DuckDBPyConnection, archive: Path) -> None:
        text = "Курьер опоздал на три часа, заказ привезли мятым, верните деньги"
        tickets = [
            _ticket(int(at[:10].replace("-", "")), at, "2026-11-23T09:00:00Z", "Жалоба", text, 3) for at in created
        ]
        name = f"late-tickets-{created[0][:10]}.json"
        data = json.dumps(tickets, ensure_ascii=False).encode()
        land_file(con, archive, "freshdesk_tickets", name, data, run_id=name)

    return land


@pytest.fixture(scope="module")
def months(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    root = tmp_path_factory.mktemp("months")
    folders = []
    for seed, month in enumerate(["2026-09", "2026-10"], start=7):
        folder = root / month
        generate_landing(folder, month=month, items=250, seed=seed)
        folders.append(folder)
    return folders


def test_scoped_builds_equal_builds_from_nothing(months: list[Path], tmp_path: Path) -> None:
    clock = datetime(2026, 10, 1, 6, tzinfo=UTC)
    steps = [
        (clock, lambda con, archive: ingest_landing(con, months[0], load_channels(), archive_dir=archive)),
        (
            clock + timedelta(days=31),
            lambda con, archive: ingest_landing(con, months[1], load_channels(), archive_dir=archive),
        ),
        (clock + timedelta(days=52), _late_batches),
        (clock + timedelta(days=53), lambda con, archive: None),  # only the clock moves
        # the last days of the first month; a month before the history
        (clock + timedelta(days=54), _late_tickets("2026-09-29T07:00:00Z", "2026-05-27T07:00:00Z")),
        # a month that begins on a Monday: its first week compares with the last week of the month before
        (clock + timedelta(days=55), _late_tickets("2026-06-02T07:00:00Z")),
        (clock + timedelta(days=56), _late_edit_of_a_reopened_ticket),
        (clock + timedelta(days=57), _late_pause_of_a_resolved_case),
    ]
    scoped = built_both_ways(steps, tmp_path / "archive")
    # the scoped builds did rebuild by key: every declared model was brought up to date by its keys
    state = scoped.execute(f"select scoped from {scoped_build.STATE}").fetchone()
    assert state == (True,)
    assert scoped.execute(f"select count(*) from {INDEX_TABLE}").fetchone()[0] > 0


def test_every_scoped_model_is_rebuilt_by_key_after_new_batches(months: list[Path], tmp_path: Path) -> None:
    con = connect_memory()
    ingest_landing(con, months[0], load_channels(), archive_dir=tmp_path / "archive")
    _build(con, datetime(2026, 10, 1, 6, tzinfo=UTC), from_nothing=False)
    ingest_landing(con, months[1], load_channels(), archive_dir=tmp_path / "archive")
    _build(con, datetime(2026, 11, 1, 6, tzinfo=UTC), from_nothing=False)
    whole = {
        r[0] for r in con.execute(f"select table_name from {scoped_build.CHANGES} where key_name is null").fetchall()
    }
    assert whole.isdisjoint(SCOPES), sorted(whole & set(SCOPES))
    keyed = {
        r[0]
        for r in con.execute(f"select table_name from {scoped_build.CHANGES} where key_name is not null").fetchall()
    }
    assert set(SCOPES) <= keyed


def test_a_scoped_build_checks_what_it_changed(months: list[Path], tmp_path: Path) -> None:
    con = connect_memory()
    checked = "select distinct suite from audit.validation_results where run_id = ?"
    ingest_landing(con, months[0], load_channels(), archive_dir=tmp_path / "archive")
    build_all(con, golden_context(datetime(2026, 10, 1, 6, tzinfo=UTC)), run_id="first")
    ingest_landing(con, months[1], load_channels(), archive_dir=tmp_path / "archive")
    build_all(con, golden_context(datetime(2026, 11, 1, 6, tzinfo=UTC)), run_id="second")
    first = {r[0] for r in con.execute(checked, ["first"]).fetchall()}
    second = {r[0] for r in con.execute(checked, ["second"]).fetchall()}
    assert {"raw.batches", "staging.stg_channels__feedback", "core.fct_feedback", "core.fct_case_sla"} <= second
    assert "core.dim_channels" in first and "core.dim_channels" not in second  # the same channels: not checked again
    assert second < first


def test_a_build_leaves_alone_the_models_that_read_neither_the_clock_nor_a_change(
    months: list[Path], tmp_path: Path
) -> None:
    con = connect_memory()
    ingest_landing(con, months[0], load_channels(), archive_dir=tmp_path / "archive")
    clock = datetime(2026, 10, 1, 6, tzinfo=UTC)
    _build(con, clock, from_nothing=False)
    oids = (
        "select schema_name || '.' || table_name, table_oid from duckdb_tables() where schema_name in ('core', 'marts')"
    )
    before = dict(con.execute(oids).fetchall())
    _build(con, clock + timedelta(hours=1), from_nothing=False)  # nothing landed: only the clock moved
    after = dict(con.execute(oids).fetchall())
    left = {table for table, oid in before.items() if after.get(table) == oid}
    # configuration dimensions and a mart of QA verdicts read nothing that changed: not written again
    assert {"core.dim_channels", "core.dim_stores", "core.dim_sla_policies", "marts.qa_results_monthly"} <= left
    # a model that reads the clock is built again, though nothing it reads changed
    assert "marts.channel_freshness" not in left


ONE_PIECE_CLOCK = datetime(2026, 11, 1, 6, tzinfo=UTC)


@pytest.fixture(scope="module")
def in_one_piece(months: list[Path], tmp_path_factory: pytest.TempPathFactory) -> Iterator[duckdb.DuckDBPyConnection]:
    """Both months built from nothing, each model in one piece (about 500 items; the memory limit holds every
    case); the tests below only read it."""
    con = connect_memory()
    archive = tmp_path_factory.mktemp("one-piece") / "archive"
    for month in months:
        ingest_landing(con, month, load_channels(), archive_dir=archive)
    _build(con, ONE_PIECE_CLOCK, from_nothing=True)
    yield con
    con.close()


def test_python_models_built_whole_by_partitions_equal_one_piece(
    in_one_piece: duckdb.DuckDBPyConnection, monkeypatch: pytest.MonkeyPatch
) -> None:
    con, clock = in_one_piece, ONE_PIECE_CLOCK
    parted = _copy_of_raw(con)
    monkeypatch.setattr(build, "PART_KEYS", 37)  # the same models in 14 or so partitions each
    computed = []  # the pieces computed (a spy on the real function)
    piece = build._python_model
    monkeypatch.setattr(build, "_python_model", lambda *a: computed.append(a[2].name) or piece(*a))
    _build(parted, clock, from_nothing=True)
    assert all(computed.count(name) >= 10 for name in set(computed)) and len(set(computed)) == 3, computed
    python_models = [f"core.{m.name}" for m in BUILD_ORDER["core"] if isinstance(m, PythonModel)]
    assert len(python_models) == 3 and all(t in SCOPES for t in python_models)
    assert all(parted.execute(f"select count(*) from {t}").fetchone()[0] > 2 * 37 for t in python_models)
    for table in _tables(con):
        assert parted.execute(f"describe {table}").fetchall() == con.execute(f"describe {table}").fetchall(), table
        assert _rows(parted, table) == _rows(con, table), table


def test_sla_models_built_whole_by_partitions_equal_one_piece(
    in_one_piece: duckdb.DuckDBPyConnection, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A SQL model whose scope declares ``bytes_per_key`` is built in partitions when DuckDB's memory limit
    holds fewer of its keys than it has (warehouse/build.py): the same rows as in one piece."""
    con, clock = in_one_piece, ONE_PIECE_CLOCK
    parted = _copy_of_raw(con)
    declared = sorted(table for table, scope in SCOPES.items() if scope.bytes_per_key is not None)
    assert declared == ["core.fct_case_sla", "core.fct_cases", "core.int_sla_clock_marks", "core.int_sla_clocks"]
    # 7 cases a partition for the SLA chain (8 KiB a case), 28 for fct_cases (2 KiB)
    monkeypatch.setattr(build, "memory_limit_bytes", lambda _: 7 * SCOPES["core.fct_case_sla"].bytes_per_key)
    parts = {}  # the partitions of each model built whole (a spy on the real function)
    partitions = build._partitions
    monkeypatch.setattr(
        build, "_partitions", lambda c, layer, m, n: parts.setdefault(f"{layer}.{m.name}", partitions(c, layer, m, n))
    )
    _build(parted, clock, from_nothing=True)
    assert all(parts[table] >= (3 if table == "core.fct_cases" else 10) for table in declared), parts
    assert all(parted.execute(f"select count(distinct case_id) from {t}").fetchone()[0] > 10 * 7 for t in declared)
    for table in _tables(con):
        assert parted.execute(f"describe {table}").fetchall() == con.execute(f"describe {table}").fetchall(), table
        assert _rows(parted, table) == _rows(con, table), table


# what an ignored column is set to, by its type: nothing, and values far below and far above any real one
_EXTREMES = {
    "DOUBLE": ("null", "-1e9", "1e9"),
    "BIGINT": ("null", "-1000000000", "1000000000"),
    "VARCHAR": ("null", "''", "'~not a value of this column~'"),
    "TIMESTAMP WITH TIME ZONE": (
        "null",
        "timestamptz '1970-01-01 00:00:00+00'",
        "timestamptz '2100-01-01 00:00:00+00'",
    ),
}


def test_a_model_reads_nothing_its_views_hide(in_one_piece: duckdb.DuckDBPyConnection) -> None:
    """A model that maps an input through its view (``transforms.incremental.VIEWS``) is not rebuilt when only
    the view's ignored columns or left-out rows of the input change: so its rows must not depend on them. With
    those columns set to nothing, or to values far below or above any real one (and the times of the left-out
    rows moved far away, their ids kept; a column the view compares in some rows, ``View.settled``, moved in the
    others), each such model's select gives the rows it built, but for the reads ``VIEW_READS_ALLOWED`` names.
    A model that brings the clock's cases up to date itself (``KeyScope.advance``) reads what its view hides by
    design, and is held to its rows by tests/transforms/sql/clock/test_clock_advance.py."""
    con = in_one_piece
    mapped = [(t, s) for t, s in SCOPES.items() if s.views and s.advance is None]
    assert {t for t, _ in mapped} >= {
        "core.fct_sla_events",
        "core.fct_sla_monthly",
        "marts.weekly_summary",
        "marts.sla_compliance_monthly",
    }
    # the hidden parts this warehouse holds: open cycles, breached or not, and their end marks
    open_cycles = "select count(*) from core.fct_case_sla where started_at is not null and achieved_at is null and "
    assert con.execute(open_cycles + "is_breached").fetchone()[0] > 0
    assert con.execute(open_cycles + "not is_breached").fetchone()[0] > 0
    assert con.execute("select count(*) from core.int_sla_clock_marks where mark = 'as_of'").fetchone()[0] > 0
    for table, scope in mapped:
        layer, name = table.split(".")
        select = render_model_sql(layer, name).rstrip().rstrip(";")
        built = _rows(con, table)
        for variant in range(3):
            con.execute("begin transaction")
            try:
                for source in scope.views:
                    view = VIEWS[source]
                    types = dict(con.execute(f"select column_name, column_type from (describe {source})").fetchall())
                    moved = [c for c in view.ignored if (table, source, c) not in VIEW_READS_ALLOWED]
                    sets = ", ".join(  # a settled column only in the rows where the view ignores it
                        f"{c} = case when {view.settled[c]} then {c} else {_EXTREMES[types[c]][variant]} end"
                        if c in view.settled
                        else f"{c} = {_EXTREMES[types[c]][variant]}"
                        for c in moved
                    )
                    con.execute(f"update {source} set {sets}")
                    if view.rows is not None:  # the rows the view leaves out: their times too (a mark at the clock)
                        times = [c for c, t in types.items() if t == "TIMESTAMP WITH TIME ZONE"] + moved
                        left_out = ", ".join(
                            f"{c} = {_EXTREMES[types[c]][1 + variant % 2]}" for c in dict.fromkeys(times)
                        )
                        con.execute(f"update {source} set {left_out} where not ({view.rows})")
                assert sorted(con.execute(select).fetchall(), key=repr) == built, (table, variant)
            finally:
                con.execute("rollback")
