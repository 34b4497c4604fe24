"""The CLI as an operator uses it: `otklik runs`, `otklik replay` and `otklik explain` on a recorded build."""

import json
import shutil
from datetime import UTC, datetime
from pathlib import Path

import pytest
from typer.testing import CliRunner

from otklik.cli import app
from tests.golden import GOLDEN
from tests.warehouse.test_replay import KEY as RECORDED_KEY
from tests.warehouse.test_replay import record_build
from transforms.channels import load_channels
from warehouse import connect
from warehouse.ingest import ingest_landing

KEY = RECORDED_KEY.decode()  # the key record_build built with: the replay must use the same one


def _environment(root: Path) -> dict[str, str]:
    return {"OTKLIK_WAREHOUSE": str(root / "w.duckdb"), "OTKLIK_ARCHIVE": str(root / "archive"), "OTKLIK_PII_KEY": KEY}


@pytest.fixture(scope="module")
def built_once(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """The golden landing ingested and built once for the module (a build with its checks: ~8 s); the
    folder and the run's id."""
    root = tmp_path_factory.mktemp("cli")
    shutil.copytree(GOLDEN, root / "landing")
    with pytest.MonkeyPatch.context() as environment:
        for name, value in _environment(root).items():
            environment.setenv(name, value)
        with connect() as con:
            ingest_landing(con, root / "landing", load_channels(), archive_dir=root / "archive")
            run_id = record_build(con, datetime(2026, 11, 1, tzinfo=UTC))
    return root, run_id


@pytest.fixture
def recorded(built_once: tuple[Path, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """A test's own copy of the module's build (a command may write to its warehouse); the run's id. The
    batches' recorded archive paths are the module's archive, which no test changes."""
    root, run_id = built_once
    shutil.copytree(root / "landing", tmp_path / "landing")
    shutil.copytree(root / "archive", tmp_path / "archive")
    shutil.copyfile(root / "w.duckdb", tmp_path / "w.duckdb")
    for name, value in _environment(tmp_path).items():
        monkeypatch.setenv(name, value)
    return run_id


def test_runs_lists_the_build_as_json(recorded: str) -> None:
    result = CliRunner().invoke(app, ["runs", "--json"])
    assert result.exit_code == 0, result.output
    runs = json.loads(result.output)
    assert [(r["run_id"], r["flow"], r["state"]) for r in runs] == [(recorded, "build-warehouse", "completed")]


def test_replay_prints_identical_and_exits_0(recorded: str) -> None:
    result = CliRunner().invoke(app, ["replay", recorded, "--no-checks"])
    assert result.exit_code == 0, result.output
    assert "identical" in result.output


def test_replay_with_another_key_differs_and_exits_1(recorded: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OTKLIK_PII_KEY", "another-key-0123456789abcdef01234")
    result = CliRunner().invoke(app, ["replay", recorded, "--no-checks"])
    assert result.exit_code == 1
    assert "core.fct_feedback" in result.output


def test_explain_lists_the_items_and_files_behind_a_figure(recorded: str) -> None:
    result = CliRunner().invoke(
        app,
        [
            *("explain", "management_monthly", "--month", "2026-10"),
            *("--metric", "thanks_count", "--key", "directorate_id=all", "--json"),
        ],
    )
    assert result.exit_code == 0, result.output
    found = json.loads(result.output)
    # thanks: R1 R2 R9 in the NPS survey and CALL-1 in the IVR survey (tests/test_golden_end_to_end.py)
    assert found["value"] == 4 and found["count_matches"] is True
    assert sorted(i["item_id"] for i in found["items"]) == [
        "ivr_post_call_survey:CALL-1",
        "nps_email_survey:R1",
        "nps_email_survey:R2",
        "nps_email_survey:R9",
    ]
    assert {(b["channel_id"], b["items"]) for b in found["batches"]} == {
        ("ivr_post_call_survey", 1),
        ("nps_email_survey", 3),
    }
    assert all(b["content_sha256"] and b["source_file"] for b in found["batches"])


def test_explain_without_a_pinned_row_says_which_key_is_missing(recorded: str) -> None:
    result = CliRunner().invoke(
        app, ["explain", "management_monthly", "--month", "2026-10", "--metric", "thanks_count"]
    )
    assert result.exit_code != 0
    assert "pin the row with --key on directorate_id" in str(result.exception)


def test_explain_causes_compares_with_the_three_months_before(recorded: str) -> None:
    args = [*("explain", "management_monthly", "--month", "2026-10"), *("--metric", "items_count")]
    args += ["--key", "directorate_id=all", "--causes"]
    result = CliRunner().invoke(app, [*args, "--json"])
    assert result.exit_code == 0, result.output
    causes = json.loads(result.output)["causes"]
    # the golden fixture begins in October 2026: nothing before, so every slice of 5+ items is new
    assert causes["baseline_months"] == ["2026-07", "2026-08", "2026-09"]
    assert causes["baseline_items_count"] == 0
    assert causes["findings"], "the golden month has slices of 5 items or more"
    assert all(f["is_new_slice"] and f["items_count"] >= 5 for f in causes["findings"])
    shown = CliRunner().invoke(app, args, terminal_width=200)
    assert shown.exit_code == 0, shown.output
    assert "Root causes" in shown.output and "2026-07 … 2026-09" in shown.output
    assert "Slices over-represented among its items" in shown.output
