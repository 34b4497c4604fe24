import json
import shutil
from pathlib import Path

import duckdb
import pytest

from transforms.channels import Channel, load_channels
from warehouse.ingest import ingest_landing
from warehouse.quarantine import quarantine_overview, quarantined_files, retry_files

GOLDEN = Path(__file__).resolve().parent.parent / "fixtures" / "golden_landing"

TEST_FORUM = Channel.model_validate(
    {
        "id": "test_only_forum",
        "display_name": "Test-only forum",
        "format": "jsonl",
        "reader": {"file_glob": "*.jsonl"},
        "fields": {"source_item_id": "id", "received_at": "date", "body_text": "text"},
        "timestamp_format": "epoch",
    }
)


@pytest.fixture
def landing(tmp_path: Path) -> Path:
    target = tmp_path / "landing"
    shutil.copytree(GOLDEN, target)
    folder = target / "test_only_forum"
    folder.mkdir()
    lines = [{"id": i, "date": 1790000000 + i, "text": f"Комментарий {i}"} for i in range(3)]
    (folder / "comments.jsonl").write_text("\n".join(json.dumps(x, ensure_ascii=False) for x in lines))
    return target


def test_a_file_of_a_channel_added_later_is_landed_by_retry(con: duckdb.DuckDBPyConnection, landing: Path) -> None:
    archive = landing.parent / "archive"
    ingest_landing(con, landing, load_channels(), archive_dir=archive)
    assert {(c, r) for _, c, _, r, _ in quarantined_files(con)} == {
        ("not_a_channel", "unknown_channel"),
        ("test_only_forum", "unknown_channel"),
    }
    assert ("file", "test_only_forum", "unknown_channel", 1) in quarantine_overview(con)

    outcomes = retry_files(con, (*load_channels(), TEST_FORUM), archive_dir=archive, run_id="retry-1")
    assert sorted((o.source_file, o.status) for o in outcomes) == [
        ("not_a_channel/readme.txt", "still_failing"),
        ("test_only_forum/comments.jsonl", "loaded"),
    ]
    assert con.execute("select count(*) from raw.channel_payloads where channel_id = 'test_only_forum'").fetchone() == (
        3,
    )
    assert [r[1] for r in quarantined_files(con)] == ["not_a_channel"]

    again = retry_files(con, (*load_channels(), TEST_FORUM), archive_dir=archive, run_id="retry-2")
    assert [(o.source_file, o.status) for o in again] == [("not_a_channel/readme.txt", "still_failing")]
    assert con.execute("select count(*) from raw.channel_payloads where channel_id = 'test_only_forum'").fetchone() == (
        3,
    )
    # the next ingest of the same landing folder does not load the retried file a second time
    ingest_landing(con, landing, (*load_channels(), TEST_FORUM), archive_dir=archive)
    assert con.execute("select count(*) from raw.batches where channel_id = 'test_only_forum'").fetchone() == (1,)


def test_retry_refuses_a_tampered_archive_copy(con: duckdb.DuckDBPyConnection, landing: Path) -> None:
    archive = landing.parent / "archive"
    ingest_landing(con, landing, load_channels(), archive_dir=archive)
    (path,) = con.execute("select archive_path from quarantine.files where channel_id = 'test_only_forum'").fetchone()
    Path(path).write_text("{}")
    outcomes = retry_files(con, (*load_channels(), TEST_FORUM), archive_dir=archive, run_id="retry")
    assert ("test_only_forum/comments.jsonl", "archive_missing") in [(o.source_file, o.status) for o in outcomes]
    assert con.execute("select count(*) from raw.batches where channel_id = 'test_only_forum'").fetchone() == (0,)
