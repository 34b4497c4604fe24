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
