"""The bad-input corpus (tests/fixtures/bad_inputs) through the real ingest and staging build.

Every way a landed file can be wrong has a case with its expected outcome: the whole file in
quarantine.files, one record in quarantine.records, a staging reject, an earlier version, or a
staged row with its text cleaned, masked and capped. Then nothing is lost (every landed file and
record is accounted for, batch by batch) and the control channel, calm_jsonl, is staged exactly as
it is when it is landed alone. The corpus has its own channels (``channels.yaml`` beside it), so it
means the same whatever the registry says. The 1 MB text is written at test time, to keep the
repository small.
"""

import json
import shutil
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import pytest

from expectations.validate import EXPECTATIONS_DIR, parse_sql_check, run_sql_check
from transforms.channels.registry import Channel, parse_channels
from transforms.dag import BuildContext
from transforms.normalize.text import MAX_TEXT_CHARS, is_formula_like
from transforms.org import load_org
from transforms.sla import load_policies
from transforms.taxonomy import load_feedback_types
from warehouse import connect_memory
from warehouse.build import build_layer
from warehouse.ingest import ingest_landing

CORPUS = Path(__file__).resolve().parent / "fixtures" / "bad_inputs"
CHANNELS = parse_channels((CORPUS / "channels.yaml").read_text(encoding="utf-8"), source="bad_inputs/channels.yaml")
AS_OF = datetime(2026, 11, 1, tzinfo=UTC)
ONE_MEGABYTE_FILE = "chat_jsonl/04_one_megabyte.jsonl"
RECONCILIATION = EXPECTATIONS_DIR / "staging" / "assert_stg_channels__feedback_reconciles_with_raw.sql"

# Whole files that cannot be read: (file under landing/, quarantine.files reason).
FILE_CASES = [
    ("reviews_pages/page_002_broken.json", "broken_json"),  # a stray comma
    ("reviews_pages/page_003_truncated.json", "broken_json"),  # a page cut off in transfer
    ("reviews_pages/page_004_zero_bytes.json", "empty_file"),
    ("survey_csv/survey_cp1251.csv", "encoding_mismatch"),  # cp1251 bytes, the channel declares UTF-8
    ("survey_csv/survey_empty.csv", "empty_file"),  # nothing but blank lines
    ("complaint_xlsx/01_xfd1048576.xlsx", "too_many_cells"),  # A1 and XFD1048576: 17 billion cells to allocate
    ("complaint_xlsx/02_billion_laughs.xlsx", "xml_entities"),  # a DTD in the shared strings
    ("not_registered/export.jsonl", "unknown_channel"),  # a folder that is no channel
]
# Single records of a readable file: (file, record_index, quarantine.records reason).
RECORD_CASES = [
    ("chat_jsonl/01_mixed.jsonl", 1, "broken_json"),
    ("chat_jsonl/01_mixed.jsonl", 2, "not_an_object"),  # JSON, but a list
    ("chat_jsonl/03_truncated.jsonl", 1, "broken_json"),  # the last line, cut mid-record
    ("survey_csv/survey_utf8.csv", 1, "wrong_cell_count"),
]
# Records that land but do not reach staging: (channel, source_item_id, staging reject reason).
REJECT_CASES = [
    ("chat_jsonl", None, "missing_field"),  # no id
    ("chat_jsonl", "ancient", "bad_timestamp"),  # 1999
    ("chat_jsonl", "dup", "duplicate"),  # the same record twice in one file
    ("chat_jsonl", "empty", "empty_item"),  # blank text, no score
    ("chat_jsonl", "future", "future_date"),  # 2027
    ("chat_jsonl", "no-date", "missing_field"),
    ("chat_jsonl", "ok-1", "duplicate"),  # delivered again, unchanged, in the next export
    ("chat_jsonl", "score-9", "score_out_of_range"),  # 9 on a 1-5 scale
    ("chat_jsonl", "score-abc", "bad_score"),
    ("reviews_pages", "3", "bad_timestamp"),  # seconds where milliseconds are due: 1970
]


def context(channels: tuple[Channel, ...]) -> BuildContext:
    return BuildContext(
        as_of=AS_OF,
        reporting_timezone="Europe/Moscow",
        channels=channels,
        org=load_org(),
        feedback_types=load_feedback_types(),
        sla_policies=load_policies(),
        pii_key=b"bad-inputs-test-key",
    )


def land_and_stage(landing: Path, channels: tuple[Channel, ...]) -> duckdb.DuckDBPyConnection:
    con = connect_memory()
    ingest_landing(con, landing, channels, run_id="bad-inputs")
    build_layer(con, "staging", context(channels))
    return con


@pytest.fixture(scope="module")
def landing(tmp_path_factory: pytest.TempPathFactory) -> Path:
    landing = tmp_path_factory.mktemp("bad") / "landing"
    shutil.copytree(CORPUS / "landing", landing)
    big = {"id": "one-megabyte", "sent_at": "2026-10-05T10:00:00+03:00", "text": "Очень длинный отзыв. " * 50_000}
    (landing / ONE_MEGABYTE_FILE).write_text(json.dumps(big, ensure_ascii=False) + "\n", encoding="utf-8")
    return landing


@pytest.fixture(scope="module")
def warehouse(landing: Path) -> duckdb.DuckDBPyConnection:
    return land_and_stage(landing, CHANNELS)


def staged(con: duckdb.DuckDBPyConnection, feedback_id: str) -> dict:
    cursor = con.execute("select * from staging.stg_channels__feedback where feedback_id = ?", [feedback_id])
    names = [d[0] for d in cursor.description]
    row = cursor.fetchone()
    assert row is not None, f"{feedback_id} is not in staging"
    return dict(zip(names, row, strict=True))


@pytest.mark.parametrize(("source_file", "reason"), FILE_CASES, ids=[c[0] for c in FILE_CASES])
def test_unreadable_files_are_quarantined_whole(
    warehouse: duckdb.DuckDBPyConnection, source_file: str, reason: str
) -> None:
    found = warehouse.execute(
        "select reason, detail from quarantine.files where source_file = ?", [source_file]
    ).fetchall()
    assert [r[0] for r in found] == [reason]
    assert found[0][1]  # with a detail a data engineer can act on
    assert warehouse.execute("select count(*) from raw.batches where source_file = ?", [source_file]).fetchone()[0] == 0


@pytest.mark.parametrize(("source_file", "index", "reason"), RECORD_CASES, ids=[f"{c[0]}#{c[1]}" for c in RECORD_CASES])
def test_unparseable_records_are_quarantined_alone(
    warehouse: duckdb.DuckDBPyConnection, source_file: str, index: int, reason: str
) -> None:
    found = warehouse.execute(
        "select reason from quarantine.records where source_file = ? and record_index = ?", [source_file, index]
    ).fetchall()
    assert found == [(reason,)]
    # the rest of the file loaded
    assert (
        warehouse.execute("select record_count from raw.batches where source_file = ?", [source_file]).fetchone()[0] > 0
    )


def test_a_quarantined_record_keeps_a_masked_excerpt_and_names_the_archived_file(
    warehouse: duckdb.DuckDBPyConnection,
) -> None:
    excerpt, detail, archive_path = warehouse.execute(
        "select r.raw_excerpt, r.detail, b.archive_path from quarantine.records as r"
        " join raw.batches as b using (batch_id) where r.source_file = 'survey_csv/survey_utf8.csv'"
    ).fetchone()
    assert excerpt == "s3,2026-10-05,лишняя ячейка: звоните [телефон] или [email],7,extra"
    assert "row 2 (line 3)" in detail and archive_path in detail
    assert "123-45-67" in Path(archive_path).read_text(encoding="utf-8")  # the whole record, for who may read it


def test_every_staging_reject_is_expected_and_every_expected_one_happens(warehouse: duckdb.DuckDBPyConnection) -> None:
    rejects = warehouse.execute(
        "select channel_id, source_item_id, reason from quarantine.staging_rejects order by all"
    ).fetchall()
    assert rejects == sorted(REJECT_CASES, key=lambda r: (r[0], r[1] is None, r[1] or "", r[2]))


def test_nothing_is_lost_batch_by_batch(landing: Path, warehouse: duckdb.DuckDBPyConnection) -> None:
    landed = sorted(p.relative_to(landing).as_posix() for p in landing.rglob("*") if p.is_file())
    accounted = warehouse.execute(
        "select source_file from raw.batches union all select source_file from quarantine.files order by 1"
    ).fetchall()
    assert [r[0] for r in accounted] == landed  # every file exactly once
    bad_batches = run_sql_check(warehouse, parse_sql_check(RECONCILIATION))
    assert bad_batches.success, bad_batches.sample
    read, outcomes = warehouse.execute(
        "select (select sum(record_count + rejected_count) from raw.batches),"
        " (select count(*) from staging.stg_channels__feedback)"
        " + (select count(*) from staging.stg_channels__feedback_versions)"
        " + (select count(*) from quarantine.staging_rejects)"
        " + (select count(*) from quarantine.records)"
    ).fetchone()
    assert read == outcomes == 33  # 19 + 2 + 2 + 1 chat lines, 3 page items, 3 survey rows, 3 calm lines


def test_html_and_script_are_stripped(warehouse: duckdb.DuckDBPyConnection) -> None:
    assert staged(warehouse, "chat_jsonl:html")["body_text"] == "Курьер опоздал\n& грубил"


@pytest.mark.parametrize("item", ["formula-eq", "formula-plus", "formula-minus", "formula-at"])
def test_formula_like_text_is_kept_as_written_and_recognisable(warehouse: duckdb.DuckDBPyConnection, item: str) -> None:
    # neutralizing is the spreadsheet writer's job; staging keeps what the customer wrote
    text = staged(warehouse, f"chat_jsonl:{item}")["body_text"]
    assert is_formula_like(text)
    assert staged(warehouse, "survey_csv:s2")["body_text"] == "=1+1 это не формула, а отзыв"


def test_a_one_megabyte_text_is_capped(warehouse: duckdb.DuckDBPyConnection) -> None:
    text = staged(warehouse, "chat_jsonl:one-megabyte")["body_text"]
    assert len(text) == MAX_TEXT_CHARS and text.endswith("…") and text.startswith("Очень длинный отзыв.")


def test_personal_data_is_masked_in_text_and_kept_apart(warehouse: duckdb.DuckDBPyConnection) -> None:
    row = staged(warehouse, "chat_jsonl:pii")
    assert row["body_text"] == "Списали дважды с карты [карта], звоните [телефон]"
    contact = warehouse.execute(
        "select phone_normalized, customer_name, customer_key from restricted.customer_contacts"
        " where feedback_id = 'chat_jsonl:pii'"
    ).fetchone()
    assert contact == ("79161234567", "Иван Петров", row["customer_key"])
    assert row["has_contact"] is True
    everything = " ".join(str(r) for r in warehouse.execute("select * from staging.stg_channels__feedback").fetchall())
    for raw in ("1234567", "123-45-67", "Иван", "Петров", "CUST-1", "cust-1", "4111"):
        assert raw not in everything


def test_an_edit_in_a_later_export_replaces_the_item_and_keeps_its_history(
    warehouse: duckdb.DuckDBPyConnection,
) -> None:
    current = staged(warehouse, "chat_jsonl:edited")
    assert (current["body_text"], current["is_edited"]) == ("Товар пришёл мятый, но магазин его обменял", True)
    history = warehouse.execute(
        "select v.body_text, v.version_number, b.source_file from staging.stg_channels__feedback_versions as v"
        " join raw.batches as b on b.batch_id = v.superseded_by_batch_id"
    ).fetchall()
    assert history == [("Товар пришёл мятый", 1, "chat_jsonl/02_edits.jsonl")]


def test_epoch_milliseconds_as_numbers_and_as_text(warehouse: duckdb.DuckDBPyConnection) -> None:
    assert staged(warehouse, "reviews_pages:1")["received_at"] == datetime(2026, 10, 5, 11, 3, 27, 123000, tzinfo=UTC)
    assert staged(warehouse, "reviews_pages:2")["received_at"] == datetime(2026, 10, 5, 11, 3, 27, tzinfo=UTC)


def test_other_channels_are_unaffected(landing: Path, warehouse: duckdb.DuckDBPyConnection, tmp_path: Path) -> None:
    alone = tmp_path / "landing"
    shutil.copytree(landing / "calm_jsonl", alone / "calm_jsonl")
    calm = tuple(c for c in CHANNELS if c.id == "calm_jsonl")
    query = "select * from staging.stg_channels__feedback where channel_id = 'calm_jsonl' order by feedback_id"
    with land_and_stage(alone, calm) as con:
        assert warehouse.execute(query).fetchall() == con.execute(query).fetchall()
    assert len(warehouse.execute(query).fetchall()) == 3
