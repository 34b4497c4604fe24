"""Excel workbooks (transforms/readers/xlsx.py), written with xlsxwriter in the test."""

import io
from collections.abc import Callable
from datetime import date, datetime

import pytest
import xlsxwriter

from transforms.channels.registry import ReaderOptions, get_channel
from transforms.readers import UnreadableFile, read_file
from transforms.readers.xlsx import read


def workbook(fill: Callable[[xlsxwriter.Workbook], None]) -> bytes:
    buffer = io.BytesIO()
    book = xlsxwriter.Workbook(buffer, {"in_memory": True})
    fill(book)
    book.close()
    return buffer.getvalue()


def complaint_book(book: xlsxwriter.Workbook) -> None:
    sheet = book.add_worksheet("Книга жалоб")
    date_format = book.add_format({"num_format": "dd.mm.yyyy"})
    datetime_format = book.add_format({"num_format": "dd.mm.yyyy hh:mm:ss"})
    sheet.write_row(0, 0, ["№ записи", " Дата ", "Магазин", "Текст обращения", "Телефон", "Сумма"])
    sheet.write_number(1, 0, 17)
    sheet.write_datetime(1, 1, datetime(2026, 10, 5), date_format)
    sheet.write_string(1, 2, "M-012")
    sheet.write_string(1, 3, "Долго ждал на кассе")
    sheet.write_number(1, 4, 79161234567)
    sheet.write_number(1, 5, 1234.5)
    sheet.write_number(2, 0, 18)
    sheet.write_string(2, 1, "06.10.2026")  # typed as text by staff
    sheet.write_string(2, 2, "M-013")
    sheet.write_string(2, 3, "Спасибо!")
    # row 3 left empty
    sheet.write_number(4, 0, 19)
    sheet.write_datetime(4, 1, datetime(2026, 10, 7, 13, 45, 12), datetime_format)
    sheet.write_number(4, 2, 300)


def test_mixed_date_cells_whole_numbers_and_empty_rows() -> None:
    result = read(workbook(complaint_book), ReaderOptions())
    assert result.errors == []
    assert result.records == [
        {"№ записи": "17", "Дата": "2026-10-05", "Магазин": "M-012", "Текст обращения": "Долго ждал на кассе",
         "Телефон": "79161234567", "Сумма": "1234.5"},
        {"№ записи": "18", "Дата": "06.10.2026", "Магазин": "M-013", "Текст обращения": "Спасибо!",
         "Телефон": None, "Сумма": None},
        {"№ записи": "19", "Дата": "2026-10-07T13:45:12", "Магазин": "300", "Текст обращения": None,
         "Телефон": None, "Сумма": None},
    ]  # fmt: skip


def test_store_complaint_book_channel_reads_it() -> None:
    result = read_file(workbook(complaint_book), get_channel("store_complaint_book"))
    assert [record["№ записи"] for record in result.records] == ["17", "18", "19"]


def test_named_sheet() -> None:
    def two_sheets(book: xlsxwriter.Workbook) -> None:
        book.add_worksheet("Сводка").write_row(0, 0, ["x"])
        data = book.add_worksheet("Данные")
        data.write_row(0, 0, ["id", "day"])
        data.write_row(1, 0, ["a"])
        data.write_datetime(1, 1, date(2026, 1, 31), book.add_format({"num_format": "yyyy-mm-dd"}))

    data = workbook(two_sheets)
    assert read(data, ReaderOptions(sheet="Данные")).records == [{"id": "a", "day": "2026-01-31"}]
    assert read(data, ReaderOptions()).records == []  # the first sheet has only a header


def test_missing_sheet_is_unreadable() -> None:
    with pytest.raises(UnreadableFile) as caught:
        read(workbook(complaint_book), ReaderOptions(sheet="Нет такого"))
    assert caught.value.reason == "missing_sheet"
    assert "Книга жалоб" in caught.value.detail


def test_not_a_workbook_is_unreadable() -> None:
    with pytest.raises(UnreadableFile) as caught:
        read(b"PK\x03\x04 not really a zip", ReaderOptions())
    assert caught.value.reason == "broken_xlsx"


def test_empty_workbook_has_no_records() -> None:
    assert read(workbook(lambda book: book.add_worksheet("Пусто")), ReaderOptions()).records == []
