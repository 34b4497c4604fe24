"""What an operator sees when something is wrong: one line naming the file, channel or field and what
to do, exit code 1, no traceback; and data (file names, texts) is printed as it is, never as markup."""

import fcntl
import json
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from unittest import mock

import duckdb
import polars as pl
import pytest
from typer.testing import CliRunner

from otklik import cli
from otklik.cli import main, operator_message
from transforms.alerts import ROUTING_PATH, RoutingError, load_routing
from transforms.channels import REGISTRY_PATH, load_channels
from transforms.config_errors import ConfigError
from transforms.costs import CHANNEL_COSTS_PATH, load_channel_costs
from transforms.org import ORG_PATH, load_org
from transforms.qa import SAMPLING_PATH, load_sampling_rules
from transforms.review.config import REVIEW_CONFIG_PATH, load_review_settings
from transforms.sla.policies import POLICIES_PATH, load_policies_file
from warehouse import connect
from warehouse.reader_copy import publish_reader_copy, reader_copy_path
from warehouse.runs import finish_run, start_run

WEB_FORM_ENTRY = "  - id: web_form\n    display_name: Website feedback form (every page)\n    format: {format}"
FORMATS = "Input should be 'csv', 'json_pages', 'jsonl', 'xlsx', 'eml', 'mbox' or 'xml_feed'"
WEB_FORM_CSV = (
    "id,created_at,page_url,topic,name,email,phone,call_me_back,message\n"
    "9000001,2026-10-05 14:03:27,https://instrument-market.ru/,Доставка,Иван,ivan@example.ru,,0,"
    "курьер опоздал [/red] на два часа\n"
)


@dataclass
class Outcome:
    code: int
    lines: list[str]  # stdout
    stderr: str


def run(*args: str) -> Outcome:
    """``otklik ARGS`` through ``main()`` (where operator errors become one line), in CliRunner's isolation.

    The terminal is 80 columns wide: a long error must still be one line (no wrapping).
    """
    with (
        CliRunner().isolation(env={"COLUMNS": "80"}) as (out, err, _),
        mock.patch.object(sys, "argv", ["otklik", *args]),
    ):
        try:
            main()
            code = 0
        except SystemExit as exited:
            code = exited.code if isinstance(exited.code, int) else 1
        stdout, stderr = out.getvalue().decode(), err.getvalue().decode()
    return Outcome(code, stdout.splitlines(), stderr)


def assert_one_error(outcome: Outcome, *expected: str) -> str:
    assert outcome.code == 1, outcome
    assert len(outcome.lines) == 1, outcome.lines
    line = outcome.lines[0]
    assert line.startswith("error: "), line
    for text in expected:
        assert text in line, (text, line)
    assert "Traceback" not in line + outcome.stderr
    return line


@pytest.fixture
def warehouse(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A migrated warehouse of the test's own (and landing, archive, reports, key)."""
    path = tmp_path / "w.duckdb"
    for name, value in {
        "OTKLIK_WAREHOUSE": path,
        "OTKLIK_LANDING": tmp_path / "landing",
        "OTKLIK_ARCHIVE": tmp_path / "archive",
        "OTKLIK_REPORTS": tmp_path / "reports",
        "OTKLIK_PII_KEY": "test-key-not-a-secret-0123456789",
    }.items():
        monkeypatch.setenv(name, str(value))
    (tmp_path / "landing").mkdir()
    with connect():
        pass
    return path


# --- the warehouse ----------------------------------------------------------------------------------


def test_a_busy_warehouse_says_who_holds_it_and_since_when(warehouse: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OTKLIK_WAREHOUSE_LOCK_TIMEOUT", "0.3")
    lock = warehouse.with_name(warehouse.name + ".lock")
    with open(lock, "a+") as handle:  # another open file: this process's warehouse_lock does not nest in it
        fcntl.flock(handle, fcntl.LOCK_EX)
        handle.truncate(0)
        handle.write(json.dumps({"pid": 4242, "since": "2026-11-01T03:00:00+00:00", "what": "build-warehouse"}))
        handle.flush()
        outcome = run("runs")
    assert_one_error(outcome, "stayed locked", "pid 4242 since 2026-11-01T03:00:00+00:00", "try again later")


@pytest.mark.parametrize("command", [["runs"], ["quarantine", "retry"]], ids=["read-only", "read-write"])
def test_a_damaged_warehouse_names_the_file_and_the_readers_copy(warehouse: Path, command: list[str]) -> None:
    with connect() as con:  # a completed build, whose readers' copy stays when the live file is damaged
        start_run(con, "build-1", "build-warehouse", {})
        finish_run(con, "build-1", "completed")
        publish_reader_copy(con)
    copy = reader_copy_path(warehouse)
    warehouse.write_bytes(b"this is not a DuckDB database " * 500)
    line = assert_one_error(run(*command), f"cannot open the warehouse {warehouse}", "not a valid DuckDB")
    assert f"the readers' copy {copy} still serves the last completed build (run build-1 of " in line
    assert "published reviews stay readable there" in line and "cannot replace the live file" in line
    assert "move" in line and "w.duckdb.wal" in line and "`otklik ingest`" in line

    copy.unlink()
    line = assert_one_error(run(*command), f"cannot open the warehouse {warehouse}", "not a valid DuckDB")
    assert f"there is no readable readers' copy at {copy}" in line and "restore it from your backup" in line


def test_a_corrupt_block_is_reported_like_a_damaged_file(warehouse: Path) -> None:
    with open(warehouse, "r+b") as handle:  # every block's checksum is checked when the file opens
        handle.seek(8192)
        handle.write(b"\xff" * 4096)
    assert_one_error(run("runs"), f"cannot open the warehouse {warehouse}", "Corrupt database file")


def test_a_program_outside_otklik_holding_the_file_is_named(warehouse: Path, tmp_path: Path) -> None:
    ready = tmp_path / "ready"
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            f"import duckdb, pathlib, time; c = duckdb.connect({str(warehouse)!r}); "
            f"pathlib.Path({str(ready)!r}).touch(); time.sleep(60)",
        ]
    )
    try:
        deadline = time.monotonic() + 30
        while not ready.exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        line = assert_one_error(run("runs"), f"cannot open the warehouse {warehouse}", "outside otklik")
        assert f"PID {holder.pid}" in line and "not a valid" not in line
    finally:
        holder.kill()
        holder.wait()


def test_an_outdated_warehouse_says_how_to_migrate(warehouse: Path) -> None:
    with connect() as con:
        con.execute(
            "delete from main.schema_migrations where version = (select max(version) from main.schema_migrations)"
        )
    assert_one_error(
        run("runs"), f"the warehouse {warehouse} is at schema version", "`otklik ingest` or `otklik build`"
    )


def test_a_missing_landing_folder_is_one_line_before_any_flow(warehouse: Path, tmp_path: Path) -> None:
    assert_one_error(run("ingest", "--landing", str(tmp_path / "nope")), f"landing folder {tmp_path / 'nope'}")
    (tmp_path / "landing").rmdir()  # OTKLIK_LANDING
    assert_one_error(run("ingest"), f"landing folder {tmp_path / 'landing'} does not exist", "OTKLIK_LANDING")
    assert_one_error(run("backfill", "--from", "2026-09", "--to", "2026-10"), "landing folder")


# --- configuration ----------------------------------------------------------------------------------


def _broken(path: Path, tmp_path: Path, old: str, new: str) -> Path:
    text = path.read_text(encoding="utf-8")
    assert old in text, old
    copy = tmp_path / path.name
    copy.write_text(text.replace(old, new, 1), encoding="utf-8")
    return copy


def test_a_channel_with_an_unknown_format_is_named_by_its_id(tmp_path: Path) -> None:
    bad = _broken(REGISTRY_PATH, tmp_path, WEB_FORM_ENTRY.format(format="csv"), WEB_FORM_ENTRY.format(format="xml"))
    with pytest.raises(ConfigError) as caught:
        load_channels(bad)
    assert str(caught.value) == f"{bad}: channel web_form: format: {FORMATS} (got 'xml')"


LOADERS: dict[str, tuple[Callable[[Path], object], Path]] = {
    "channels": (load_channels, REGISTRY_PATH),
    "org": (load_org, ORG_PATH),
    "policies": (load_policies_file, POLICIES_PATH),
    "costs": (load_channel_costs, CHANNEL_COSTS_PATH),
    "routing": (load_routing, ROUTING_PATH),
    "sampling": (load_sampling_rules, SAMPLING_PATH),
    "review": (load_review_settings, REVIEW_CONFIG_PATH),
}


@pytest.mark.parametrize(
    ("loader", "old", "new", "expected"),
    [
        pytest.param(
            "channels",
            "schedule_group: hourly",
            "schedule_group: weekly",
            "channel ivr_post_call_survey: schedule_group: Input should be",
            id="channels",
        ),
        pytest.param(
            "org",
            "{id: delivery, name: Доставка}",
            "{id: delivery, name: Доставка, valid_from: someday}",
            "directorate logistics: department delivery: valid_from: Input should be a valid date",
            id="org",
        ),
        pytest.param(
            "policies",
            "target_minutes: 60",
            "target_minutes: -5",
            "policy first_contact_within_1h: rules.0.target_minutes: Input should be greater than 0 (got -5)",
            id="policies",
        ),
        pytest.param(
            "costs",
            "monthly_cost_rub: 60000",
            "monthly_cost_rub: -1",
            "costs.0.monthly_cost_rub: Input should be greater than or equal to 0",
            id="costs",
        ),
        pytest.param(
            "routing",
            "url: http://localhost",
            "url: ftp://localhost",
            "webhook service_desk: url: String should match pattern",
            id="routing",
        ),
        pytest.param(
            "sampling", "rate: 0.10", "rate: 2", "rate: Input should be less than or equal to 1 (got 2)", id="sampling"
        ),
        pytest.param(
            "review",
            "trend_months: 13",
            "trend_months: one",
            "monthly.trend_months: Input should be a valid integer",
            id="review",
        ),
    ],
)
def test_every_config_loader_names_the_file_and_the_entity(
    loader: str, old: str, new: str, expected: str, tmp_path: Path
) -> None:
    load, path = LOADERS[loader]
    bad = _broken(path, tmp_path, old, new)
    with pytest.raises(ConfigError) as caught:
        load(bad)
    assert str(caught.value).startswith(f"{bad}: {expected}"), str(caught.value)
    assert "\n" not in str(caught.value) and "validation error" not in str(caught.value)


@pytest.mark.parametrize("loader", sorted(LOADERS))
def test_a_yaml_syntax_error_names_the_file_line_and_column(loader: str, tmp_path: Path) -> None:
    load, path = LOADERS[loader]
    lines = path.read_text(encoding="utf-8").splitlines()
    first = next(i for i, line in enumerate(lines) if line and not line.startswith("#"))
    lines.insert(first + 1, "  broken: [unclosed")
    bad = tmp_path / path.name
    bad.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load(bad)
    message = str(caught.value)
    assert message.startswith(f"{bad}: invalid YAML: line ") and ", column " in message, message
    assert "\n" not in message


def test_the_routing_error_is_still_a_routing_error(tmp_path: Path) -> None:
    bad = tmp_path / "routing.yaml"
    bad.write_text("routes: [{default: true, emails: [a@b.c]}\n")
    with pytest.raises(RoutingError, match=r"routing\.yaml: invalid YAML: line 2, column 1"):
        load_routing(bad)


def test_an_empty_config_file_says_so(tmp_path: Path) -> None:
    empty = tmp_path / "org.yaml"
    empty.write_text("# nothing yet\n")
    with pytest.raises(ConfigError, match="the file is empty"):
        load_org(empty)


def test_a_config_yaml_error_through_the_cli_is_one_line(
    warehouse: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    bad = tmp_path / "org.yaml"
    bad.write_text(ORG_PATH.read_text(encoding="utf-8").replace("company:\n", "company:\n  name: [\n", 1))
    monkeypatch.setattr("transforms.org.load_org", lambda: load_org(bad))
    assert_one_error(run("qa", "sample", "--month", "2026-10"), f"{bad}: invalid YAML: line ", ", column ")


def test_a_broken_alert_routing_is_one_line_before_any_flow(warehouse: Path, tmp_path: Path) -> None:
    bad = tmp_path / "routing.yaml"
    bad.write_text("routes: [\n", encoding="utf-8")
    assert_one_error(run("sla", "watch", "--routing", str(bad)), f"{bad}: invalid YAML: line 2, column 1")


def test_a_config_validation_error_through_the_cli_names_the_channel(
    warehouse: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    bad = _broken(REGISTRY_PATH, tmp_path, WEB_FORM_ENTRY.format(format="csv"), WEB_FORM_ENTRY.format(format="xml"))
    monkeypatch.setattr("transforms.channels.load_channels", lambda: load_channels(bad))
    line = assert_one_error(run("quarantine", "retry"), f"{bad}: channel web_form: format: {FORMATS} (got 'xml')")
    assert "channels.0" not in line
    with connect(read_only=True) as con:  # reported before a run was opened
        assert con.execute("select count(*) from audit.runs").fetchone()[0] == 0


def test_several_config_problems_are_one_line_each(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    text = REGISTRY_PATH.read_text(encoding="utf-8").replace("schedule_group: hourly", "schedule_group: weekly")
    bad = tmp_path / "channels.yaml"
    bad.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_channels(bad)
    problems = caught.value.problems
    assert len(problems) == text.count("schedule_group: weekly") > 1
    assert all(p.startswith(f"{bad}: channel ") and ": schedule_group: " in p for p in problems)


# --- data is never markup, user input is never markup ------------------------------------------------


def test_markup_in_an_argument_is_printed_as_typed(warehouse: Path) -> None:
    line = assert_one_error(
        run("explain", "management_monthly", "--month", "2026-10", "--metric", "x", "--key", "[/red]"),
        "got '[/red]'",
    )
    assert line == "error: --key must look like column=value, got '[/red]'"
    assert_one_error(run("sla", "watch", "--as-of", "[bold]soon[/red]"), "got '[bold]soon[/red]'")


def test_an_item_text_with_markup_prints_in_a_table(capsys: pytest.CaptureFixture[str]) -> None:
    cli._print_frame("Items [/red]", pl.DataFrame({"body_text": ["курьер [/red] опоздал"], "[b]col": ["x"]}))
    out = capsys.readouterr().out
    assert "курьер [/red] опоздал" in out and "Items [/red]" in out and "[b]col" in out


def test_a_bug_keeps_its_traceback(warehouse: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(*args: object, **kwargs: object) -> Iterator[None]:
        raise RuntimeError("a bug")

    monkeypatch.setattr("warehouse.connect", broken)
    with mock.patch.object(sys, "argv", ["otklik", "runs"]), pytest.raises(RuntimeError, match="a bug"):
        main()
    # a DuckDB error that is not opening the file (a query on a healthy warehouse) is a bug too
    try:
        duckdb.connect(":memory:").execute("select * from no_such_table")
    except duckdb.Error as error:
        assert operator_message(error) is None


# --- through Prefect flows ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def prefect_harness() -> Iterator[None]:
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=120):
        yield


@pytest.mark.flows
def test_a_file_name_with_markup_ingests_and_lists_literally(
    prefect_harness: None, warehouse: Path, tmp_path: Path
) -> None:
    folder = tmp_path / "landing" / "web_form" / "["  # web_form/[/red]evil.json: "/" makes a folder "["
    folder.mkdir(parents=True)
    (folder / "red]evil.json").write_text(
        WEB_FORM_CSV.replace("9000001", "9000002"), encoding="utf-8"
    )  # not *.csv: quarantined
    (folder / "red]evil.csv").write_text(WEB_FORM_CSV, encoding="utf-8")  # loaded

    ingested = run("ingest")
    assert ingested.code == 0, ingested
    assert any(line.startswith("quarantined web_form/[/red]evil.json: unexpected_file") for line in ingested.lines), (
        ingested
    )
    assert "Traceback" not in ingested.stderr
    with connect(read_only=True) as con:
        assert con.execute("select source_file from raw.batches").fetchall() == [("web_form/[/red]evil.csv",)]

    listed = run("quarantine", "list")
    assert listed.code == 0, listed
    assert "web_form/[/red]evil.json (web_form): unexpected_file — red]evil.json does not match '*.csv'" in (
        "\n".join(listed.lines)
    )


@pytest.mark.flows
def test_a_review_that_may_not_be_published_is_one_line(prefect_harness: None, warehouse: Path) -> None:
    assert_one_error(run("review", "--month", "2026-10"), "the warehouse was never built: run `otklik build` first")
