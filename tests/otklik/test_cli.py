"""The CLI as an operator uses it: `otklik runs` and `otklik replay` on a recorded build."""

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


@pytest.fixture
def recorded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    shutil.copytree(GOLDEN, tmp_path / "landing")
    for name, value in {
        "OTKLIK_WAREHOUSE": tmp_path / "w.duckdb",
        "OTKLIK_ARCHIVE": tmp_path / "archive",
        "OTKLIK_PII_KEY": KEY,
    }.items():
        monkeypatch.setenv(name, str(value))
    with connect() as con:
        ingest_landing(con, tmp_path / "landing", load_channels(), archive_dir=tmp_path / "archive")
        return record_build(con, datetime(2026, 11, 1, tzinfo=UTC))


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
