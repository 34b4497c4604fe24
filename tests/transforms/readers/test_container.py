"""Workbooks checked before they are loaded (transforms/readers/container.py).

The hostile workbooks come from tests/fixtures/bad_inputs/hostile.py, written at test time; each
must be refused by the check alone, in this process, in well under a second and without inflating
anything it refuses.
"""

import importlib.util
import resource
import sys
import time
from pathlib import Path

import pytest

from transforms.channels.registry import ReaderOptions
from transforms.readers import UnreadableFile, container, xlsx

HOSTILE = Path(__file__).resolve().parents[2] / "fixtures" / "bad_inputs" / "hostile.py"


def _load_hostile():
    spec = importlib.util.spec_from_file_location("bad_inputs_hostile", HOSTILE)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


hostile = _load_hostile()
MAX_CELLS = ReaderOptions().max_cells

# (builder in hostile.py, the reason check_workbook gives, words its detail must hold)
CASES = [
    ("xfd_workbook", "too_many_cells", "A1:XFD1048576"),
    ("xfd_workbook_without_dimension", "too_many_cells", "A1:XFD1048576"),
    ("xfd_workbook_with_lying_dimension", "too_many_cells", "A1:XFD1048576"),
    ("one_huge_cell_workbook", "too_large", "shared-strings"),
    ("huge_shared_strings_workbook", "too_large", "shared-strings"),
    ("deflate_bomb_workbook", "zip_bomb", "inflates"),
    ("billion_laughs_workbook", "xml_entities", "<!DOCTYPE"),
    ("lying_size_workbook", "broken_xlsx", "CRC"),
    ("bzip2_workbook", "broken_xlsx", "compression method 12"),
    ("many_parts_workbook", "too_large", "20,010 parts"),
]


@pytest.mark.parametrize(("builder", "reason", "words"), CASES, ids=[c[0] for c in CASES])
def test_a_hostile_workbook_is_refused_before_it_is_loaded(builder: str, reason: str, words: str) -> None:
    data = getattr(hostile, builder)()
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    started = time.perf_counter()
    with pytest.raises(UnreadableFile) as caught:
        container.check_workbook(data, MAX_CELLS)
    assert (caught.value.reason, time.perf_counter() - started < 1) == (reason, True)
    assert words in caught.value.detail
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before < 100 * 1024  # KiB: nothing inflated
    with pytest.raises(UnreadableFile) as through_the_reader:  # the reader checks first, too
        xlsx.read(data, ReaderOptions())
    assert through_the_reader.value.reason == reason


def test_entities_in_utf16_are_found_too() -> None:
    with pytest.raises(UnreadableFile) as caught:
        container.check_workbook(hostile.billion_laughs_workbook("utf-16"), MAX_CELLS)
    assert caught.value.reason == "xml_entities"


def test_a_well_formed_workbook_passes_and_reads() -> None:
    data = hostile.good_workbook()
    container.check_workbook(data, MAX_CELLS)
    assert [r["id"] for r in xlsx.read(data, ReaderOptions()).records] == ["w1", "w2"]


def test_max_cells_is_the_channels_limit() -> None:
    rows = [["id", "a", "b"], *[[f"r{n}", "x", "y"] for n in range(9)]]  # A1:C10, 30 cells
    data = hostile.workbook(rows)
    container.check_workbook(data, 30)
    with pytest.raises(UnreadableFile) as caught:
        container.check_workbook(data, 29)
    assert caught.value.reason == "too_many_cells" and "reader.max_cells 29" in caught.value.detail
    with pytest.raises(UnreadableFile):
        xlsx.read(data, ReaderOptions(max_cells=29))


def test_cells_spelled_otherwise_are_counted() -> None:
    """Namespace prefixes, single quotes and attributes before r= go the slow way, with the same result."""
    sheet = (
        b'<?xml version="1.0"?><x:worksheet xmlns:x="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
        b"<x:sheetData><x:row r='1'><x:c t='s' r='A1'><x:v>0</x:v></x:c></x:row>"
        b"<x:row r='900000'><x:c s=\"1\" r='Z900000'><x:v>1</x:v></x:c></x:row></x:sheetData></x:worksheet>"
    )
    data = hostile.rezip(hostile.good_workbook(), replace={hostile.SHEET: sheet})
    with pytest.raises(UnreadableFile) as caught:
        container.check_workbook(data, MAX_CELLS)
    assert caught.value.reason == "too_many_cells" and "A1:Z900000" in caught.value.detail


def test_a_wide_but_legal_workbook_passes() -> None:
    rows = [["id", *[f"c{n}" for n in range(200)]], *[[f"r{n}", *["x"] * 200] for n in range(50)]]
    container.check_workbook(hostile.workbook(rows), MAX_CELLS)


def test_not_a_zip_is_left_to_the_reader() -> None:
    container.check_workbook(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1 an .xls", MAX_CELLS)  # OLE2: nothing to check here
    with pytest.raises(UnreadableFile) as caught:
        container.check_workbook(b"PK\x03\x04 not really a zip", MAX_CELLS)
    assert caught.value.reason == "broken_xlsx"
