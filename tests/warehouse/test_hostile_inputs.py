"""Hostile inputs through the real ingest: each ends in quarantine with its reason, the rest lands.

The attacker probe's findings, as one landing folder landed by one ``ingest_landing`` run
(tests/fixtures/bad_inputs/README.md, "Hostile inputs"): workbooks that would make calamine
allocate 512 GiB or inflate gigabytes, a billion-laughs DTD, a CSV with a 10 MB field, links out
of the landing folder and dangling ones, a named pipe, a file over its channel's size limit, a path
with Rich markup. Beside them, well-formed files of the same and of other channels, some sorted
after the hostile ones (``z_...``), must land in the same run; this process must not grow by
gigabytes, and the reader's child process must stay under its memory limit. The big files are
written here (tests/fixtures/bad_inputs/hostile.py), not committed.
"""

import hashlib
import importlib.util
import json
import os
import resource
import sys
from pathlib import Path

import duckdb
import pytest

from transforms.channels.registry import parse_channels
from transforms.readers import guard
from warehouse import connect_memory
from warehouse.ingest import IngestSummary, ingest_landing

HOSTILE = Path(__file__).resolve().parent.parent / "fixtures" / "bad_inputs" / "hostile.py"


def _load_hostile():
    spec = importlib.util.spec_from_file_location("bad_inputs_hostile", HOSTILE)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


hostile = _load_hostile()

FIELDS = "fields: {source_item_id: id, received_at: date, body_text: text}"
CHANNELS = parse_channels(
    f"""
channels:
  - {{id: hostile_xlsx, display_name: Workbooks, format: xlsx, {FIELDS}}}
  - id: unchecked_xlsx
    display_name: Workbooks with max_cells out of the way (the child's memory limit must hold)
    format: xlsx
    reader: {{max_cells: 1000000000000}}
    {FIELDS}
  - {{id: hostile_csv, display_name: Survey, format: csv, reader: {{delimiter: ","}}, {FIELDS}}}
  - {{id: tiny_limit, display_name: Small files only, format: jsonl, reader: {{max_file_bytes: 1000}}, {FIELDS}}}
  - {{id: z_calm, display_name: "The control, sorted last", format: jsonl, {FIELDS}}}
""",
    source="test_hostile_inputs",
)

# Whole entries: (source_file, quarantine.files reason, whether its bytes were read and archived).
FILE_CASES = [
    ("hostile_xlsx/01_xfd1048576.xlsx", "too_many_cells", True),
    ("hostile_xlsx/02_xfd_without_dimension.xlsx", "too_many_cells", True),
    ("hostile_xlsx/03_xfd_lying_dimension.xlsx", "too_many_cells", True),
    ("hostile_xlsx/04_one_600_mb_cell.xlsx", "too_large", True),
    ("hostile_xlsx/05_huge_shared_strings.xlsx", "too_large", True),
    ("hostile_xlsx/06_deflate_bomb.xlsx", "zip_bomb", True),
    ("hostile_xlsx/07_billion_laughs.xlsx", "xml_entities", True),
    ("hostile_xlsx/08_billion_laughs_utf16.xlsx", "xml_entities", True),
    ("hostile_xlsx/09_lying_size.xlsx", "broken_xlsx", True),
    ("unchecked_xlsx/01_xfd1048576.xlsx", "out_of_memory", True),
    ("hostile_csv/outside.csv", "symlink_outside_landing", False),
    ("hostile_csv/dangling.csv", "dangling_link", False),
    ("hostile_csv/inside.csv", "symlink_in_landing", False),
    ("hostile_csv/pipe.csv", "not_a_regular_file", False),
    ("tiny_limit/big.jsonl", "too_large", False),
]
# Well-formed files that must land in the same run: (source_file, records).
LANDED = [
    ("hostile_xlsx/z_ok.xlsx", 2),
    ("unchecked_xlsx/z_ok.xlsx", 2),  # after the reader's child process died on the file before it
    ("hostile_csv/huge_field.csv", 2),  # the 10 MB row is a record error, the two others land
    ("z_calm/ok.jsonl", 2),
    ("z_calm/[bold]notes[/red].jsonl", 1),
]


def _jsonl(*ids: str) -> bytes:
    return "".join(json.dumps({"id": i, "date": "2026-10-05", "text": f"отзыв {i}"}) + "\n" for i in ids).encode()


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> tuple[duckdb.DuckDBPyConnection, Path, Path, IngestSummary, dict]:
    work = tmp_path_factory.mktemp("hostile")
    landing, archive, elsewhere = work / "landing", work / "archive", work / "elsewhere"
    for folder in ("hostile_xlsx", "unchecked_xlsx", "hostile_csv", "tiny_limit", "z_calm/[bold]notes["):
        (landing / folder).mkdir(parents=True)
    elsewhere.mkdir()
    workbooks = {
        "01_xfd1048576.xlsx": hostile.xfd_workbook(),
        "02_xfd_without_dimension.xlsx": hostile.xfd_workbook_without_dimension(),
        "03_xfd_lying_dimension.xlsx": hostile.xfd_workbook_with_lying_dimension(),
        "04_one_600_mb_cell.xlsx": hostile.one_huge_cell_workbook(600),
        "05_huge_shared_strings.xlsx": hostile.huge_shared_strings_workbook(300),
        "06_deflate_bomb.xlsx": hostile.deflate_bomb_workbook(2),
        "07_billion_laughs.xlsx": hostile.billion_laughs_workbook(),
        "08_billion_laughs_utf16.xlsx": hostile.billion_laughs_workbook("utf-16"),
        "09_lying_size.xlsx": hostile.lying_size_workbook(),
        "z_ok.xlsx": hostile.good_workbook(),
    }
    for name, data in workbooks.items():
        (landing / "hostile_xlsx" / name).write_bytes(data)
    (landing / "unchecked_xlsx" / "01_xfd1048576.xlsx").write_bytes(hostile.xfd_workbook())
    (landing / "unchecked_xlsx" / "z_ok.xlsx").write_bytes(hostile.good_workbook())
    (landing / "hostile_csv" / "huge_field.csv").write_bytes(hostile.csv_with_huge_field(10))
    secret = elsewhere / "customers.csv"
    secret.write_text("id,date,text\ns1,2026-10-05,Иванов Иван +7 916 123-45-67\n", encoding="utf-8")
    (landing / "hostile_csv" / "outside.csv").symlink_to(secret)
    (landing / "hostile_csv" / "dangling.csv").symlink_to(elsewhere / "gone.csv")
    (landing / "hostile_csv" / "inside.csv").symlink_to(landing / "hostile_csv" / "huge_field.csv")
    os.mkfifo(landing / "hostile_csv" / "pipe.csv")
    (landing / "tiny_limit" / "big.jsonl").write_bytes(_jsonl(*[f"t{n}" for n in range(40)]))
    (landing / "z_calm" / "ok.jsonl").write_bytes(_jsonl("c1", "c2"))
    (landing / "z_calm" / "[bold]notes[" / "red].jsonl").write_bytes(_jsonl("c3"))

    con = connect_memory()
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    summary = ingest_landing(con, landing, CHANNELS, archive_dir=archive, run_id="hostile")
    memory = {
        "self_growth_bytes": (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) * 1024,
        "children_max_bytes": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024,
        "secret_sha256": hashlib.sha256(secret.read_bytes()).hexdigest(),
    }
    yield con, landing, archive, summary, memory
    con.close()


@pytest.mark.parametrize(("source_file", "reason", "read"), FILE_CASES, ids=[c[0] for c in FILE_CASES])
def test_each_hostile_entry_is_quarantined_with_its_reason(run, source_file: str, reason: str, read: bool) -> None:
    con, *_ = run
    rows = con.execute(
        "select reason, detail, archive_path from quarantine.files where source_file = ?", [source_file]
    ).fetchall()
    assert [r[0] for r in rows] == [reason]
    assert rows[0][1]  # a detail to act on
    assert (rows[0][2] is not None) == read  # links, pipes and files over the size limit are never archived
    assert con.execute("select count(*) from raw.batches where source_file = ?", [source_file]).fetchone()[0] == 0


@pytest.mark.parametrize(("source_file", "records"), LANDED, ids=[c[0] for c in LANDED])
def test_well_formed_files_of_the_same_run_land(run, source_file: str, records: int) -> None:
    con, *_ = run
    assert con.execute("select record_count from raw.batches where source_file = ?", [source_file]).fetchall() == [
        (records,)
    ]


def test_the_ten_megabyte_row_is_one_masked_record_error(run) -> None:
    con, *_ = run
    excerpt, reason, detail = con.execute(
        "select raw_excerpt, reason, detail from quarantine.records where source_file = 'hostile_csv/huge_field.csv'"
    ).fetchone()
    assert reason == "record_too_large" and detail.startswith("row 2 (line 3): 10,000,0")
    assert len(excerpt) == 500 and excerpt.startswith("c2,2026-10-05,spam spam")


def test_nothing_was_read_through_a_link(run) -> None:
    _, _, archive, _, memory = run
    assert memory["secret_sha256"] not in {path.name for path in archive.rglob("*")}


def test_every_entry_is_accounted_for_once(run) -> None:
    con, landing, *_ = run
    entries = sorted(
        os.path.relpath(os.path.join(top, name), landing)
        for top, folders, files in os.walk(landing)
        for name in files + [f for f in folders if os.path.islink(os.path.join(top, f))]
    )
    accounted = con.execute(
        "select source_file from raw.batches union all select source_file from quarantine.files order by 1"
    ).fetchall()
    assert [r[0] for r in accounted] == entries


def test_memory_stayed_sane(run) -> None:
    *_, memory = run
    assert memory["self_growth_bytes"] < 2**30  # the 2 GiB bomb and the 600 MB cell were never inflated here
    assert memory["children_max_bytes"] < guard.MEMORY_LIMIT_BYTES  # the child's limit held


def test_a_second_run_quarantines_nothing_again(run) -> None:
    con, landing, archive, *_ = run
    before = con.execute("select count(*) from quarantine.files").fetchone()[0]
    again = ingest_landing(con, landing, CHANNELS, archive_dir=archive, run_id="hostile-2")
    assert again.quarantined_files == [] and again.loaded_files == {}
    assert con.execute("select count(*) from quarantine.files").fetchone()[0] == before
