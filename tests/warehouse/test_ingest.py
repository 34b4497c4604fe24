import errno
import hashlib
import os
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


def test_a_batch_another_writer_landed_meanwhile_is_refused_and_nothing_of_its_group_lands(
    con, landing: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """raw.batches has no key (migration 0016): the group's commit itself refuses a batch id already in
    the ledger, as a run whose list of landed batches was read before another writer's commit would try."""
    import warehouse.ingest as ingest

    ingest_landing(con, landing, load_channels(), run_id="r1")
    before = [_count(con, t) for t in ("raw.batches", "raw.channel_payloads", "quarantine.records")]
    source = landing / "erp_orders_monthly" / "orders_2026-10.csv"
    source.with_name("orders_2026-11.csv").write_bytes(source.read_bytes().replace(b"2026-10", b"2026-11"))
    # a list read before the other writer's commit: every loaded batch looks new (the quarantined file does not)
    quarantined = {row[0] for row in con.execute("select batch_id from quarantine.files").fetchall()}
    monkeypatch.setattr(ingest, "_landed_batch_ids", lambda con: set(quarantined))

    with pytest.raises(ingest.BatchLandedTwice, match="nothing of this group was committed") as refused:
        ingest_landing(con, landing, load_channels(), run_id="r2")
    assert "erp_orders_monthly:" in str(refused.value)
    assert [_count(con, t) for t in ("raw.batches", "raw.channel_payloads", "quarantine.records")] == before

    monkeypatch.undo()  # with the ledger read as it is, the new file alone lands
    summary = ingest_landing(con, landing, load_channels(), run_id="r3")
    assert summary.loaded_files == {"erp_orders_monthly": 1}
    assert _count(con, "raw.batches") == before[0] + 1
    assert con.execute("select count(*) = count(distinct batch_id) from raw.batches").fetchone()[0]


def test_a_group_that_holds_one_batch_twice_commits_none_of_it(con) -> None:
    """The other half of the same refusal: one batch id twice in a group's commit (land_batch never adds it
    twice; this goes round it) lands neither copy."""
    from transforms.readers.base import ReadResult
    from warehouse.ingest import BatchGroup, BatchLandedTwice, ledger_row

    result = ReadResult(records=[{"id": "1", "text": "спасибо"}])
    ledger = ledger_row(
        "web_form:" + "0" * 20, "web_form", "web_form/a.json", "0" * 64, 10, result,
        run_id="r1", source_uri="file:///landing/web_form/a.json", archive_path=Path("/archive/00/0"),
    )  # fmt: skip
    group = BatchGroup(con, max_files=10)
    group.add(ledger, result)
    group.add(dict(ledger, source_file="web_form/a copy.json"), result)
    with pytest.raises(BatchLandedTwice, match=r"web_form:0{20}; nothing of this group was committed"):
        group.flush()
    assert [_count(con, t) for t in ("raw.batches", "raw.channel_payloads")] == [0, 0]


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


# --- the landing scan stays inside the landing folder -----------------------------------------------


def _quarantined(con: duckdb.DuckDBPyConnection, source_file: str) -> tuple:
    return con.execute(
        "select reason, detail, content_sha256, archive_path from quarantine.files where source_file = ?",
        [source_file],
    ).fetchone()


def _archived(archive: Path) -> set[str]:
    return {path.name for path in archive.rglob("*") if path.is_file()}


def test_links_are_quarantined_unread_and_never_archived(con, landing: Path, tmp_path: Path) -> None:
    secret = tmp_path / "elsewhere" / "passwd.json"
    secret.parent.mkdir()
    secret.write_text('{"result": {"feedbacks": [{"feedbackId": 1, "createdAt": "2026-10-05"}]}}', encoding="utf-8")
    folder = landing / "yandex_market_reviews"
    folder.mkdir()
    (folder / "outside.json").symlink_to(secret)
    (folder / "dangling.json").symlink_to(tmp_path / "nothing-here.json")
    (folder / "loop.json").symlink_to(folder / "loop.json")
    (folder / "inside.json").symlink_to(landing / "erp_orders_monthly" / "orders_2026-10.csv")
    (landing / "linked_channel").symlink_to(secret.parent, target_is_directory=True)
    archive = tmp_path / "archive"

    summary = ingest_landing(con, landing, load_channels(), archive_dir=archive)

    expected = {
        "yandex_market_reviews/outside.json": "symlink_outside_landing",
        "yandex_market_reviews/dangling.json": "dangling_link",
        "yandex_market_reviews/loop.json": "dangling_link",
        "yandex_market_reviews/inside.json": "symlink_in_landing",
        "linked_channel": "symlink_outside_landing",
    }
    assert {f: r for f, r, _ in summary.quarantined_files if f in expected} == expected
    for source_file in expected:
        _, detail, sha256, archive_path = _quarantined(con, source_file)
        assert source_file in detail and "symbolic link" in detail and archive_path is None
        assert sha256 == hashlib.sha256(f"link\0{source_file}".encode()).hexdigest()  # of the path, not content
    assert str(secret) in _quarantined(con, "yandex_market_reviews/outside.json")[1]  # where it points, named
    assert hashlib.sha256(secret.read_bytes()).hexdigest() not in _archived(archive)
    assert _count(con, "raw.channel_payloads") == 36  # the golden files, nothing through a link

    again = ingest_landing(con, landing, load_channels(), archive_dir=archive)
    assert again.quarantined_files == []  # recorded once, skipped by the next run
    assert _count(con, "quarantine.files") == 1 + len(expected)


def test_a_named_pipe_is_quarantined_not_waited_for(con, landing: Path) -> None:
    os.mkfifo(landing / "nps_email_survey" / "responses.csv")
    summary = ingest_landing(con, landing, load_channels())
    assert ("nps_email_survey/responses.csv", "not_a_regular_file") in [(f, r) for f, r, _ in summary.quarantined_files]
    assert _count(con, "raw.batches") == 4


def test_a_file_over_max_file_bytes_is_quarantined_without_being_read(con, landing: Path, tmp_path: Path) -> None:
    channels = tuple(
        c.model_copy(update={"reader": c.reader.model_copy(update={"max_file_bytes": 50})})
        if c.id == "erp_orders_monthly"
        else c
        for c in load_channels()
    )
    archive = tmp_path / "archive"
    summary = ingest_landing(con, landing, channels, archive_dir=archive)
    source = "erp_orders_monthly/orders_2026-10.csv"
    assert (source, "too_large") in [(f, r) for f, r, _ in summary.quarantined_files]
    _, detail, _, archive_path = _quarantined(con, source)
    assert "has 68 bytes, over reader.max_file_bytes 50" in detail and archive_path is None
    data = (landing / source).read_bytes()
    assert hashlib.sha256(data).hexdigest() not in _archived(archive)
    assert ingest_landing(con, landing, channels, archive_dir=archive).quarantined_files == []
    # the limit raised: the file is looked at again, and lands
    again = ingest_landing(con, landing, load_channels(), archive_dir=archive)
    assert again.loaded_files == {"erp_orders_monthly": 1}


def test_names_that_are_not_utf8_or_hold_markup_land_like_any_other(con, landing: Path) -> None:
    folder = landing / "nps_email_survey"
    shutil.copy(folder / "responses_2026-10.csv", os.path.join(os.fsencode(folder), b"r\xff\xfe.csv"))
    data = (folder / "responses_2026-10.csv").read_bytes().replace(b"\n", b"\r\n")  # other bytes: a new batch
    (folder / "[bold]notes[").mkdir()  # "[/red]" holds a "/": a folder "[bold]notes[" and a file "red].csv"
    (folder / "[bold]notes[" / "red].csv").write_bytes(data)
    summary = ingest_landing(con, landing, load_channels())
    assert summary.loaded_files["nps_email_survey"] == 2
    names = {r[0] for r in con.execute("select source_file from raw.batches").fetchall()}
    assert "nps_email_survey/[bold]notes[/red].csv" in names
    assert _count(con, "quarantine.files") == 1 + 0  # the copy with the odd name is the same content: skipped
    assert sum(summary.skipped_files.values()) == 1


def test_a_file_that_cannot_be_opened_is_quarantined_and_the_run_goes_on(
    con, landing: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    locked = landing / "nps_email_survey" / "locked.csv"
    locked.write_text("id\n1\n", encoding="utf-8")
    (landing / "nps_email_survey" / "locked_folder").mkdir()
    real_open = os.open

    def refuse(path, flags, mode=0o777, *, dir_fd=None):  # chmod 0 would not stop root
        if path in ("locked.csv", "locked_folder"):
            raise PermissionError(errno.EACCES, "Permission denied", path)
        return real_open(path, flags, mode, dir_fd=dir_fd)

    monkeypatch.setattr(os, "open", refuse)
    summary = ingest_landing(con, landing, load_channels())
    quarantined = [(f, r) for f, r, _ in summary.quarantined_files]
    assert ("nps_email_survey/locked.csv", "unopenable_file") in quarantined
    assert ("nps_email_survey/locked_folder", "unopenable_file") in quarantined
    assert _count(con, "raw.batches") == 4


def test_a_bad_record_keeps_a_masked_excerpt_and_the_archived_files_path(con, landing: Path) -> None:
    folder = landing / "telegram_bot"
    folder.mkdir()
    (folder / "updates.jsonl").write_text(
        '{"update_id": 1, "message": {"text": "ok"}}\n{"update_id": 2, "text": "звоните +7 916 123-45-67"\n',
        encoding="utf-8",
    )
    ingest_landing(con, landing, load_channels())
    excerpt, detail = con.execute("select raw_excerpt, detail from quarantine.records").fetchone()
    assert excerpt == '{"update_id": 2, "text": "звоните [телефон]"'
    archive_path = con.execute(
        "select archive_path from raw.batches where source_file = 'telegram_bot/updates.jsonl'"
    ).fetchone()[0]
    assert detail.endswith(f"the whole record is in {archive_path}")
