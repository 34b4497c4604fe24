"""bench/statements.py: the statement log of a run, on a real warehouse connection, and its summary."""

import subprocess
import sys
from pathlib import Path

import pytest

from bench.statements import (
    HEADER,
    Statement,
    by_caller,
    by_pattern,
    by_shape,
    pattern,
    read_log,
    record_statements,
    report,
    statements_report,
)
from warehouse import connect, connection

ROOT = Path(__file__).resolve().parents[2]


def _three_statements(con) -> list:
    con.execute("create table t as\n\tselect range as id from range(10)")
    picked = con.execute("select id from t where rowid in (select 3)").fetchall()
    con.execute("checkpoint")
    return picked


def test_every_statement_of_a_warehouse_connection_is_logged_with_its_caller(tmp_path: Path) -> None:
    log = tmp_path / "run.tsv"
    opened = connection.open_duckdb
    with record_statements(log), connect(tmp_path / "w.duckdb") as con:
        assert _three_statements(con) == [(3,)]  # results pass through
        assert con.sql("select count(*) from t").fetchone() == (10,)
    assert connection.open_duckdb is opened  # unwrapped again

    statements = read_log(log)
    mine = [s for s in statements if s.caller == "test_statements.py:_three_statements"]
    assert [s.statement for s in mine] == [
        "create table t as select range as id from range(10)",  # on one line, tabs and newlines gone
        "select id from t where rowid in (select 3)",
        "checkpoint",
    ]
    assert [s.shape for s in mine] == ["other", "rowid", "commit"]
    # connect's own statements (session settings, migrations) are there too, in order, each with its caller
    assert any(s.caller == "connection.py:session_defaults" for s in statements)
    assert [s.start for s in statements] == sorted(s.start for s in statements)
    assert all(s.seconds >= 0 for s in statements)
    assert any(s.caller == "test_statements.py:test_every_statement_of_a_warehouse_connection_is_logged_with_its_caller"
               for s in statements)  # fmt: skip


def test_a_connection_opened_after_the_log_is_not_logged(tmp_path: Path) -> None:
    log = tmp_path / "run.tsv"
    with record_statements(log):
        pass
    with connect(tmp_path / "w.duckdb") as con:
        con.execute("select 1")
    assert read_log(log) == []


def test_the_summary_adds_up_by_shape_and_by_caller() -> None:
    logs = {
        "1m": [
            Statement(0.0, 1.5, "a.py:build", "commit"),
            Statement(1.5, 0.25, "a.py:build", "delete from t where rowid in (select id from x)"),
            Statement(2.0, 0.5, "b.py:copy", "select 1"),
        ],
        "100k": [Statement(0.0, 0.75, "b.py:copy", "checkpoint otklik_reader_update")],
    }
    assert by_shape(logs["1m"]) == {"commit": (1, 1.5), "rowid": (1, 0.25), "other": (1, 0.5)}
    assert by_shape(logs["100k"]) == {"commit": (1, 0.75), "rowid": (0, 0.0), "other": (0, 0.0)}
    assert by_caller(logs["1m"]) == {"a.py:build": 1.75, "b.py:copy": 0.5}
    text = report(logs, top=1)
    assert "| commit | 1, 1.50 s | 1, 0.75 s |" in text
    assert "| all | 3, 2.25 s | 1, 0.75 s |" in text
    assert "| a.py:build | 1.75 | 0.00 |" in text and "b.py:copy" not in text.split("callers")[1]


def test_the_command_summarises_logs_and_refuses_other_files(tmp_path: Path) -> None:
    good = tmp_path / "good.tsv"
    good.write_text(HEADER + "0.1000\t0.2500\tx.py:f\tselect 1\n")
    bad = tmp_path / "bad.tsv"
    bad.write_text("0.1\t0.2\tx.py:f\tselect 1\n")
    command = [sys.executable, str(ROOT / "bench" / "statements.py")]

    done = subprocess.run([*command, str(good)], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    assert "| other | 1, 0.25 s |" in done.stdout and "| x.py:f | 0.25 |" in done.stdout
    listed = subprocess.run([*command, str(good), "--statements"], capture_output=True, text=True, check=False)
    assert listed.returncode == 0 and "| x.py:f \\| select # | 0.250 |" in listed.stdout

    (tmp_path / "other").mkdir()
    same_name = tmp_path / "other" / "good.tsv"
    same_name.write_text(HEADER + "0.1000\t0.5000\tx.py:f\tselect 1\n")
    both = subprocess.run([*command, str(good), str(same_name)], capture_output=True, text=True, check=False)
    assert both.returncode == 0, both.stderr
    assert f"| | {good} | {same_name} |" in both.stdout and "| x.py:f | 0.25 | 0.50 |" in both.stdout
    twice = subprocess.run([*command, str(good), str(good)], capture_output=True, text=True, check=False)
    assert twice.returncode == 2 and twice.stderr.strip() == "error: a log is named twice"

    refused = subprocess.run([*command, str(good), str(bad)], capture_output=True, text=True, check=False)
    assert refused.returncode == 2 and refused.stdout == ""
    assert refused.stderr.strip() == f"error: {bad}: not a statements log (its first line is not {HEADER.strip()!r})"
    assert "Traceback" not in refused.stderr


def test_a_line_with_too_few_fields_is_named(tmp_path: Path) -> None:
    log = tmp_path / "cut.tsv"
    log.write_text(HEADER + "0.1\t0.2\tx.py:f\n")
    with pytest.raises(ValueError, match=r"cut.tsv, line 2: expected 4 tab-separated fields, found 3"):
        read_log(log)


def test_the_same_statement_of_two_runs_falls_together_and_the_largest_difference_comes_first() -> None:
    one = Statement(
        0.0, 0.5, "copy.py:catch_up", "delete from t where rowid >= 1164098 and day = '2027-01-18 06:00:00+00'"
    )
    logs = {
        "1m": [
            one,
            Statement(1.0, 0.25, "copy.py:catch_up", "create table _otklik_checks_05d19dad.main.rows_2 as select 1"),
            Statement(2.0, 0.125, "build.py:rebuild", "commit"),
        ],
        "100k": [
            Statement(0.0, 0.125, "copy.py:catch_up", "delete from t where rowid >= 116 and day = '2027-01-19T07'"),
            Statement(1.0, 0.25, "copy.py:catch_up", "create table _otklik_checks_9a0b.main.rows_2 as select 1"),
            Statement(2.0, 0.5, "build.py:rebuild", "commit"),
        ],
    }  # fmt: skip
    assert pattern(one) == "copy.py:catch_up | delete from t where rowid >= # and day = #"
    assert by_pattern(logs) == [
        ("copy.py:catch_up | delete from t where rowid >= # and day = #", [0.5, 0.125]),
        ("copy.py:catch_up | create table _otklik_checks_#.main.rows_2 as select #", [0.25, 0.25]),
        ("build.py:rebuild | commit", [0.125, 0.5]),
    ]
    text = statements_report(logs, top=2)
    assert text.startswith("the 2 statements that differ most between the first two logs (seconds)")
    assert "| copy.py:catch_up \\| delete from t where rowid >= # and day = # | 0.500 | 0.125 |" in text
    assert "commit" not in text
    alone = statements_report({"100k": logs["100k"]}, top=1)
    assert alone.startswith("the 1 statements that took longest") and "| build.py:rebuild \\| commit | 0.500 |" in alone
