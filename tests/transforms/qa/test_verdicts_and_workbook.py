"""The reviewers' workbook (safe against formula injection) and the verdict files they send back."""

import re
import zipfile
from datetime import UTC, date, datetime
from pathlib import Path

import polars as pl
import pytest

from transforms.qa import VerdictFileError, load_sampling_rules, parse_verdicts, read_verdict_file
from transforms.qa.export import COLUMNS, write_sample_workbook

OCT = date(2026, 10, 1)
SAMPLES = pl.DataFrame({"sample_month": [OCT, OCT, OCT], "case_id": ["CS-1", "CS-2", "CS-3"]})
RULES = load_sampling_rules()


def sample_rows(texts: list[str]) -> pl.DataFrame:
    n = len(texts)
    return pl.DataFrame(
        {
            "sample_month": [OCT] * n,
            "case_id": [f"CS-{i}" for i in range(1, n + 1)],
            "sample_reason": ["rate"] * n,
            "directorate_id": ["retail"] * n,
            "department_id": ["stores_moscow"] * n,
            "manager_id": ["m_orlov"] * n,
            "opened_at": [datetime(2026, 10, 5, 7, 0, tzinfo=UTC)] * n,
            "closed_at": [datetime(2026, 10, 5, 21, 30, tzinfo=UTC)] * n,
            "channel_id": ["web_form"] * n,
            "kind": ["complaint"] * n,
            "body_text": texts,
        }
    )


def test_texts_that_look_like_formulas_stay_texts(tmp_path: Path) -> None:
    evil = ['=HYPERLINK("http://evil.example","жми")', "+7 999 123-45-67", "-1+1", "@SUM(A1)", "обычный текст"]
    path = write_sample_workbook(sample_rows(evil), tmp_path / "sample.xlsx", timezone="Europe/Moscow")
    with zipfile.ZipFile(path) as xlsx:
        sheet = xlsx.read("xl/worksheets/sheet1.xml").decode()
    assert "<f>" not in sheet  # no formula cell anywhere
    read = pl.read_excel(path, infer_schema_length=0)
    assert read.columns == [name for name, _ in COLUMNS]
    assert read["body_text"].to_list() == evil
    # times in the reporting zone: 07:00 UTC is 10:00 in Moscow, 21:30 UTC is 00:30 the next day
    assert read["opened_at"][0] == "2026-10-05 10:00"
    assert read["closed_at"][0] == "2026-10-06 00:30"
    assert read["sample_month"][0] == "2026-10"


def write_csv(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "verdicts.csv"
    path.write_text(text, encoding="utf-8")
    return path


def parse(path: Path) -> pl.DataFrame:
    return parse_verdicts(read_verdict_file(path), SAMPLES, rules=RULES, name=path.name)


def test_csv_verdicts_in_any_listed_spelling_and_blank_rows_skipped(tmp_path: Path) -> None:
    path = write_csv(
        tmp_path, "Case_ID,Verdict,Reviewer,Comment\nCS-1, Зачтено ,Лебедева,\nCS-2,FAIL,Лебедева,не решено\nCS-3,,,\n"
    )
    got = parse(path)
    assert got.select("sample_month", "case_id", "verdict", "reviewer", "comment").rows() == [
        (OCT, "CS-1", "pass", "Лебедева", None),
        (OCT, "CS-2", "fail", "Лебедева", "не решено"),
    ]


def test_xlsx_verdicts_from_the_exported_layout(tmp_path: Path) -> None:
    path = tmp_path / "back.xlsx"
    pl.DataFrame({"case_id": ["CS-3", "CS-1"], "verdict": ["pass", "fail"], "reviewer": ["A", "B"]}).write_excel(path)
    assert parse(path).select("case_id", "verdict").rows() == [("CS-3", "pass"), ("CS-1", "fail")]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("case_id,verdict\nCS-9,pass\n", "row 2: unknown case CS-9"),
        ("case_id,verdict\nCS-1,pass\nCS-1,fail\n", "row 3: duplicate case CS-1 (also row 2)"),
        ("case_id,verdict\nCS-1,maybe\n", "row 2: bad verdict 'maybe'"),
        ("case,verdict\nCS-1,pass\n", "missing column(s) ['case_id']"),
    ],
    ids=["unknown-case", "duplicate", "bad-verdict", "missing-column"],
)
def test_a_wrong_file_is_refused_whole_with_a_clear_message(tmp_path: Path, content: str, message: str) -> None:
    with pytest.raises(VerdictFileError, match=re.escape(message)):
        parse(write_csv(tmp_path, content))


def test_every_problem_is_listed_in_one_line(tmp_path: Path) -> None:
    with pytest.raises(VerdictFileError) as error:
        parse(write_csv(tmp_path, "case_id,verdict\nCS-9,pass\nCS-1,??\n"))
    assert "\n" not in str(error.value)
    assert "unknown case CS-9" in str(error.value) and "bad verdict '??'" in str(error.value)


def test_other_file_types_and_missing_files_are_refused(tmp_path: Path) -> None:
    with pytest.raises(VerdictFileError, match=r"not \.txt"):
        read_verdict_file(write_csv(tmp_path, "x").rename(tmp_path / "v.txt"))
    with pytest.raises(VerdictFileError, match="no verdict file"):
        read_verdict_file(tmp_path / "absent.csv")


# ---------------------------------------------------------------- the clarity grade of the closing comment


def test_clarity_score_is_optional_a_whole_number_1_to_5_or_blank(tmp_path: Path) -> None:
    path = write_csv(tmp_path, "case_id,verdict,clarity_score\nCS-1,pass,5\nCS-2,fail, 1 \nCS-3,pass,\n")
    got = parse(path)
    assert got.select("case_id", "clarity_score").rows() == [("CS-1", 5), ("CS-2", 1), ("CS-3", None)]
    assert got.schema["clarity_score"] == pl.Int8
    without = parse(write_csv(tmp_path, "case_id,verdict\nCS-1,pass\n"))  # files from before the grade
    assert without["clarity_score"].to_list() == [None]


def test_clarity_score_from_a_workbook_number_cell(tmp_path: Path) -> None:
    path = tmp_path / "back.xlsx"
    pl.DataFrame({"case_id": ["CS-1", "CS-2"], "verdict": ["pass", "fail"], "clarity_score": [4.0, None]}).write_excel(
        path
    )
    assert parse(path).select("case_id", "clarity_score").rows() == [("CS-1", 4), ("CS-2", None)]


@pytest.mark.parametrize("typed", ["0", "6", "abc", "4.5", "-3"])
def test_a_clarity_score_out_of_1_to_5_refuses_the_file_naming_the_row(tmp_path: Path, typed: str) -> None:
    path = write_csv(tmp_path, f"case_id,verdict,clarity_score\nCS-1,pass,4\nCS-2,fail,{typed}\n")
    with pytest.raises(VerdictFileError) as error:
        parse(path)
    assert str(error.value) == (
        f"verdicts.csv: row 3: bad clarity_score {typed!r} (expected a whole number 1–5, or blank)"
    )


def test_the_workbook_offers_the_clarity_column_beside_the_verdict(tmp_path: Path) -> None:
    path = write_sample_workbook(sample_rows(["текст"]), tmp_path / "sample.xlsx", timezone="Europe/Moscow")
    names = [name for name, _ in COLUMNS]
    assert names.index("clarity_score") == names.index("verdict") + 1
    with zipfile.ZipFile(path) as xlsx:
        sheet = xlsx.read("xl/worksheets/sheet1.xml").decode()
    assert 'type="whole"' in sheet and "<formula1>1</formula1><formula2>5</formula2>" in sheet
