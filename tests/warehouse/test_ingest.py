import shutil
from pathlib import Path

import duckdb
import pytest

from transforms.channels import load_channels
from warehouse.ingest import ingest_landing

GOLDEN = Path(__file__).resolve().parent.parent / "fixtures" / "golden_landing"


@pytest.fixture
def landing(tmp_path: Path) -> Path:
    target = tmp_path / "landing"
    shutil.copytree(GOLDEN, target)
    return target


def _count(con: duckdb.DuckDBPyConnection, table: str) -> int:
    return con.execute(f"select count(*) from {table}").fetchone()[0]


def test_every_record_of_the_golden_landing_is_loaded_once(con, landing: Path) -> None:
    summary = ingest_landing(con, landing, load_channels(), run_id="r1")
    # 14 survey rows, 2 IVR rows, 18 case events, 2 order rows (hand-counted in the fixture files)
    assert summary.loaded_records == {
        "nps_email_survey": 14,
        "ivr_post_call_survey": 2,
        "crm_case_events": 18,
        "erp_orders_monthly": 2,
    }
    assert _count(con, "raw.channel_payloads") == 36
    assert _count(con, "raw.batches") == 4


def test_a_second_run_on_the_same_files_changes_nothing(con, landing: Path) -> None:
    ingest_landing(con, landing, load_channels())
    before = (
        _count(con, "raw.channel_payloads"),
        _count(con, "raw.batches"),
        _count(con, "quarantine.files"),
    )
    summary = ingest_landing(con, landing, load_channels())
    # 4 loaded files and 1 quarantined file are all recognised by their content hash
    assert summary.loaded_files == {} and sum(summary.skipped_files.values()) == 5
    assert summary.quarantined_files == []
    assert (
        _count(con, "raw.channel_payloads"),
        _count(con, "raw.batches"),
        _count(con, "quarantine.files"),
    ) == before


def test_the_same_file_under_another_name_is_not_loaded_twice(con, landing: Path) -> None:
    ingest_landing(con, landing, load_channels())
    source = landing / "erp_orders_monthly" / "orders_2026-10.csv"
    shutil.copy(source, source.with_name("orders_2026-10 (copy).csv"))
    summary = ingest_landing(con, landing, load_channels())
    assert summary.loaded_files == {}
    assert _count(con, "raw.channel_payloads") == 36


def test_a_folder_that_is_no_channel_is_quarantined_with_its_reason(con, landing: Path) -> None:
    summary = ingest_landing(con, landing, load_channels())
    assert [(f, r) for f, r, _ in summary.quarantined_files] == [("not_a_channel/readme.txt", "unknown_channel")]
    assert con.execute("select reason from quarantine.files").fetchall() == [("unknown_channel",)]


@pytest.mark.parametrize(
    ("name", "content", "reason"),
    [
        ("broken.json", b'{"result": {"feedbacks": [ {"feedbackId": 1,', "broken_json"),
        ("empty.json", b"", "empty_file"),
        ("notes.txt", b"hello", "unexpected_file"),
    ],
    ids=["broken-json", "empty", "wrong-extension"],
)
def test_an_unreadable_file_goes_to_quarantine_and_the_rest_loads(
    con, landing: Path, name: str, content: bytes, reason: str
) -> None:
    folder = landing / "yandex_market_reviews"
    folder.mkdir()
    (folder / name).write_bytes(content)
    summary = ingest_landing(con, landing, load_channels())
    assert (f"yandex_market_reviews/{name}", reason) in [(f, r) for f, r, _ in summary.quarantined_files]
    assert _count(con, "raw.channel_payloads") == 36


def test_a_crash_inside_a_batch_leaves_nothing_half_loaded_and_the_next_run_recovers(
    con, landing: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_execute = duckdb.DuckDBPyConnection.execute
    calls = {"n": 0}

    class Crash(RuntimeError):
        pass

    def crash_on_ledger(self, query, *args, **kwargs):
        if isinstance(query, str) and query.startswith("insert into raw.batches"):
            calls["n"] += 1
            if calls["n"] == 2:  # the second file: its payloads are already inserted
                raise Crash("power cut")
        return real_execute(self, query, *args, **kwargs)

    proxy = _ExecuteProxy(con, crash_on_ledger)
    with pytest.raises(Crash):
        ingest_landing(proxy, landing, load_channels(), group_files=1)
    assert _count(con, "raw.batches") == 1
    loaded = con.execute("select distinct _batch_id from raw.channel_payloads").fetchall()
    assert len(loaded) == 1, "payloads of the crashed batch were left behind"

    ingest_landing(con, landing, load_channels())
    assert _count(con, "raw.batches") == 4
    assert _count(con, "raw.channel_payloads") == 36


class _ExecuteProxy:
    """A connection whose execute can fail on cue; everything else is the real connection."""

    def __init__(self, con: duckdb.DuckDBPyConnection, execute) -> None:
        self._con = con
        self._execute = execute

    def execute(self, query, *args, **kwargs):
        return self._execute(self._con, query, *args, **kwargs)

    def __getattr__(self, name: str):
        return getattr(self._con, name)
