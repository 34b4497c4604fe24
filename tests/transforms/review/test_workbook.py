"""The XLSX workbook read back: a sheet per frozen table, the drill-through, and text that stays text."""

import zipfile
from pathlib import Path

import duckdb
import fastexcel
import polars as pl
import pytest
import xlsxwriter

from tests.transforms.review.conftest import COMPANY
from tests.transforms.review.review_warehouse import FORMULA_TEXT, SCRIPT_TEXT
from transforms.review.config import load_review_settings
from transforms.review.format import label
from transforms.review.publishing import ReviewFiles, write_review_files
from transforms.review.snapshot import Snapshot
from transforms.review.workbook import WORKBOOK_OPTIONS, _Writer, sheet_name


def test_one_sheet_per_frozen_table_plus_drill_through(files: ReviewFiles) -> None:
    sheets = fastexcel.read_excel(files.xlsx).sheet_names
    assert sheets == [
        "Обзор", "management_monthly", "complaints_by_type_monthly", "Показатели", "Элементы", "Элементы SLA",
    ]  # fmt: skip


def test_figures_read_back_as_numbers(files: ReviewFiles) -> None:
    mart = pl.read_excel(files.xlsx, sheet_name="management_monthly")
    october = mart.filter(pl.col("Дирекция (код)") == "retail", pl.col("Месяц").dt.month() == 10)
    retail = october.filter(pl.col("Месяц").dt.year() == 2026).row(0, named=True)
    assert retail["Жалоб"] == 3 and retail["Жалоб на 1 000 заказов"] == 1.5


def test_a_text_starting_with_equals_is_a_string_not_a_formula(files: ReviewFiles) -> None:
    items = pl.read_excel(files.xlsx, sheet_name="Элементы")
    texts = dict(zip(items["feedback_id"], items[label("body_text")], strict=True))
    assert texts["F2"] == FORMULA_TEXT and texts["F1"] == SCRIPT_TEXT
    # the cell is a shared string in the sheet XML, not a <f> formula
    with zipfile.ZipFile(files.xlsx) as book:
        xml = "".join(book.read(n).decode() for n in book.namelist() if n.startswith("xl/worksheets/"))
    assert "<f>" not in xml


def test_drill_through_sheet_lists_the_items_behind_each_figure(files: ReviewFiles) -> None:
    links = pl.read_excel(files.xlsx, sheet_name="Показатели")
    retail = links.filter(pl.col("figure_id") == "marts.management_monthly|2026-10-01|retail|complaints_count")
    assert retail["item_id"].to_list() == ["F1", "F2", "F3"]


def test_sheet_names_are_short_unique_and_legal() -> None:
    used: set[str] = set()
    assert sheet_name("marts.management_monthly", used) == "management_monthly"
    assert sheet_name("x." + "a" * 40, used) == "a" * 31
    assert sheet_name("y." + "a" * 40, used) == "a" * 29 + "~2"
    assert sheet_name("marts.bad[name]?", used) == "bad_name__"


def test_rendering_a_frozen_version_again_writes_the_same_bytes(
    snapshot: Snapshot, files: ReviewFiles, tmp_path: Path
) -> None:
    again = write_review_files(snapshot, tmp_path / "again", company_name=COMPANY, settings=load_review_settings())
    for kind in ("xlsx", "html"):
        assert Path(getattr(again, kind)).read_bytes() == Path(getattr(files, kind)).read_bytes(), kind


def _published(warehouse: duckdb.DuckDBPyConnection, snapshot: Snapshot, sql: str) -> pl.DataFrame:
    """``sql`` over this version's rows of audit.published_figure_items (``pairs``) and audit.published_items
    (``items``), read apart from the drill-through reader under test."""
    return warehouse.execute(
        "with pairs as (select * from audit.published_figure_items where review_id = $review),"
        f" items as (select * from audit.published_items where review_id = $review) {sql}",
        {"review": snapshot.review_id},
    ).pl()


def test_a_figure_with_more_items_than_the_cap_points_to_the_items_sheet(
    warehouse: duckdb.DuckDBPyConnection, snapshot: Snapshot, tmp_path: Path
) -> None:
    from transforms.review.workbook import write_workbook

    path = write_workbook(snapshot, tmp_path / "capped.xlsx", title="t", sources={}, per_figure=1)
    figures = pl.read_excel(path, sheet_name="Показатели")
    sizes = _published(warehouse, snapshot, "select figure_id, count(*) as len from pairs group by figure_id")
    big = set(sizes.filter(pl.col("len") > 1)["figure_id"])
    assert big, "the fixture has figures with several items"
    pointers = figures.filter(pl.col("figure_id").is_in(list(big)))
    assert pointers.height == len(big)  # one row each, instead of one per item
    assert pointers["item_id"].str.contains("отфильтруйте лист").all()
    small = figures.filter(~pl.col("figure_id").is_in(list(big)))
    assert small.height == sizes.filter(pl.col("len") == 1).height


def test_a_table_longer_than_a_sheet_goes_on_over_more_sheets(
    warehouse: duckdb.DuckDBPyConnection, snapshot: Snapshot, tmp_path: Path
) -> None:
    from transforms.review.workbook import write_workbook

    # Excel stops at 1,048,576 rows and xlsxwriter drops the rows past it without a word; 2 stands in for it
    path = write_workbook(snapshot, tmp_path / "split.xlsx", title="t", sources={}, rows_per_sheet=2)
    names = fastexcel.read_excel(path).sheet_names
    items = [n for n in names if n == "Элементы" or n.startswith("Элементы (")]
    feedback = _published(warehouse, snapshot, "select item_id from items where item_kind = 'feedback' order by 1")
    feedback = feedback["item_id"].to_list()
    assert len(items) == -(-len(feedback) // 2) > 1
    read = [i for n in items for i in pl.read_excel(path, sheet_name=n)["feedback_id"].to_list()]
    assert read == feedback  # every item once, in order, each sheet under its own header
    figure_sheets = [n for n in names if n.startswith("Показатели")]
    pairs = pl.concat([pl.read_excel(path, sheet_name=n) for n in figure_sheets])
    assert pairs.height == _published(warehouse, snapshot, "select * from pairs").height


@pytest.mark.parametrize(("count", "sheets"), [(0, 1), (1, 1), (3, 1), (4, 2), (6, 2), (7, 3)])
def test_rows_read_once_fill_as_many_sheets_as_they_need(tmp_path: Path, count: int, sheets: int) -> None:
    # the item sheets take their rows as an iterator, page by page (warehouse/drill_through.py): a last
    # sheet that comes out exactly full must not be followed by an empty one
    rows = ([f"id-{n}", n] for n in range(count))
    path = tmp_path / "rows.xlsx"
    with xlsxwriter.Workbook(str(path), WORKBOOK_OPTIONS) as book:
        names = _Writer(book).tables(book, "Элементы", set(), ["item_id", "n"], rows, labels=False, rows_per_sheet=3)
    assert names == ["Элементы", *[f"Элементы ({k})" for k in range(2, sheets + 1)]]
    read = [r for n in names for r in pl.read_excel(path, sheet_name=n)["item_id"].to_list()]
    assert read == [f"id-{n}" for n in range(count)]
