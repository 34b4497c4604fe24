"""CSV exports (transforms/readers/csv_export.py)."""

import codecs

import pytest

from transforms.channels.registry import ReaderOptions
from transforms.readers import UnreadableFile
from transforms.readers.csv_export import read, sniff_delimiter


def test_cp1251_semicolon_export_with_decimal_commas_and_crlf() -> None:
    text = (
        "ИД звонка;Дата;Время;Оценка;Комментарий оператора;Номер телефона\r\n"
        'c-1;05.10.2026;14:03:27;4,5;"Клиент недоволен; просил перезвонить";+7 916 123-45-67\r\n'
        "c-2;05.10.2026;14:05:00;5;;\r\n"
    )
    result = read(text.encode("cp1251"), ReaderOptions(encoding="cp1251", delimiter=";"))
    assert result.errors == []
    assert result.records == [
        {
            "ИД звонка": "c-1",
            "Дата": "05.10.2026",
            "Время": "14:03:27",
            "Оценка": "4,5",
            "Комментарий оператора": "Клиент недоволен; просил перезвонить",
            "Номер телефона": "+7 916 123-45-67",
        },
        {
            "ИД звонка": "c-2",
            "Дата": "05.10.2026",
            "Время": "14:05:00",
            "Оценка": "5",
            "Комментарий оператора": "",
            "Номер телефона": "",
        },
    ]


def test_detected_cp1251_and_sniffed_delimiter() -> None:
    data = "id;текст\r\n1;привет\r\n2;пока\r\n".encode("cp1251")
    assert read(data, ReaderOptions()).records == [
        {"id": "1", "текст": "привет"},
        {"id": "2", "текст": "пока"},
    ]


def test_utf16_bom_tab_separated_google_play_style() -> None:
    text = 'Package Name\tReview Text\tStar Rating\ncom.x\tОтлично, спасибо\t5\ncom.x\t"a\tb"\t1\n'
    result = read(text.encode("utf-16"), ReaderOptions())
    assert result.records == [
        {"Package Name": "com.x", "Review Text": "Отлично, спасибо", "Star Rating": "5"},
        {"Package Name": "com.x", "Review Text": "a\tb", "Star Rating": "1"},
    ]


def test_quoted_newlines_and_delimiters_stay_in_the_cell() -> None:
    data = b'id,comment\r\n1,"line one\r\nline two, with comma"\r\n2,"say ""hi"""\r\n'
    records = read(data, ReaderOptions(delimiter=",")).records
    assert records == [
        {"id": "1", "comment": "line one\r\nline two, with comma"},
        {"id": "2", "comment": 'say "hi"'},
    ]


def test_header_whitespace_and_bom_are_stripped() -> None:
    data = codecs.BOM_UTF8 + b" id , name \n1,a\n"
    assert read(data, ReaderOptions(delimiter=",")).records == [{"id": "1", "name": "a"}]


def test_wrong_cell_count_is_a_record_error_and_others_load() -> None:
    data = b"a,b\n1,2\n3,4,5\n6\n7,8\n"
    result = read(data, ReaderOptions(delimiter=","))
    assert result.records == [{"a": "1", "b": "2"}, {"a": "7", "b": "8"}]
    assert [(e.record_index, e.reason, e.raw_excerpt) for e in result.errors] == [
        (1, "wrong_cell_count", "3,4,5"),
        (2, "wrong_cell_count", "6"),
    ]
    assert result.record_indexes == [0, 3]
    assert [index for index, _ in result.indexed_records()] == [0, 3]


def test_malformed_quoting_is_a_record_error_with_its_line() -> None:
    data = b'a,b\n1,2\n"x"y,3\n4,5\n'
    result = read(data, ReaderOptions(delimiter=","))
    assert result.records == [{"a": "1", "b": "2"}, {"a": "4", "b": "5"}]
    assert len(result.errors) == 1
    assert result.errors[0].reason == "broken_csv_row"
    assert "line 3" in result.errors[0].detail


def test_blank_rows_and_trailing_delimiters_are_tolerated() -> None:
    data = b"a;b;\n1;2;\n\n;;\n3;4;\n"
    result = read(data, ReaderOptions(delimiter=";"))
    assert result.errors == []
    assert result.records == [{"a": "1", "b": "2"}, {"a": "3", "b": "4"}]


def test_duplicate_and_empty_header_names_get_unique_names() -> None:
    records = read(b"x,x,,y\n1,2,3,4\n", ReaderOptions(delimiter=",")).records
    assert records == [{"x": "1", "x_2": "2", "column_3": "3", "y": "4"}]


def test_empty_file_has_no_records() -> None:
    assert read(b"", ReaderOptions()).records == []


def test_undecodable_file_is_unreadable() -> None:
    with pytest.raises(UnreadableFile):
        read(bytes(range(128, 256)), ReaderOptions())


@pytest.mark.parametrize(
    ("text", "delimiter"),
    [
        ("a;b;c\n1;2;3\n", ";"),
        ("a,b\n1,2\n", ","),
        ("a\tb\n1\t2\n", "\t"),
        ("a|b\n1|2\n", "|"),
        ("one\n", ","),
    ],
    ids=["semicolon", "comma", "tab", "pipe", "single-column"],
)
def test_sniff_delimiter(text: str, delimiter: str) -> None:
    assert sniff_delimiter(text) == delimiter


def test_a_ten_megabyte_field_is_one_record_error_and_the_other_rows_load() -> None:
    data = b'id,comment\n1,fine\n2,"' + b"x" * (10 * 10**6) + b'"\n3,also fine\n'
    result = read(data, ReaderOptions(delimiter=","))
    assert result.records == [{"id": "1", "comment": "fine"}, {"id": "3", "comment": "also fine"}]
    assert [(e.record_index, e.reason) for e in result.errors] == [(1, "record_too_large")]
    error = result.errors[0]
    assert error.detail.startswith("row 2 (line 3): 10,000,010 bytes, over reader.max_record_bytes 4,194,304")
    assert len(error.raw_excerpt) == 500 and error.raw_excerpt.startswith("2,xxx")


def test_max_record_bytes_counts_the_header_and_the_cells_in_utf8() -> None:
    data = "id,comment\n1,ёёёё\n2,ok\n".encode()  # row 1: 2 + 7 + 1 + 8 bytes
    result = read(data, ReaderOptions(delimiter=",", max_record_bytes=17))
    assert result.records == [{"id": "2", "comment": "ok"}]
    assert result.errors[0].reason == "record_too_large" and "18 bytes" in result.errors[0].detail


def test_a_rejected_row_keeps_only_a_masked_excerpt_and_says_which_row() -> None:
    data = "id,name,comment\n1,a,b\n2,Иванов Иван,звоните +7 916 123-45-67 или ivan@mail.ru,карта 4111 1111 1111 1111\n"
    result = read(data.encode(), ReaderOptions(delimiter=","))
    error = result.errors[0]
    assert error.reason == "wrong_cell_count"
    assert error.raw_excerpt == "2,Иванов Иван,звоните [телефон] или [email],карта [карта]"  # names cannot be told
    assert error.detail.startswith("row 2 (line 3): 4 cells where the header has 3")


def test_the_csv_modules_field_cap_does_not_cut_a_long_field_into_rows() -> None:
    long = "слово " * 40_000  # 240,000 characters: past the csv module's default 131,072
    data = f'id,comment\n1,"{long}"\n2,ok\n'.encode()
    assert [r["id"] for r in read(data, ReaderOptions(delimiter=",")).records] == ["1", "2"]
