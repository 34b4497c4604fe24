"""The review flows on the golden fixture, through the real ingest and build: publish, late data, republish."""

import sys
from pathlib import Path

import pytest
from pypdf import PdfReader
from typer.testing import CliRunner

from flows.build_warehouse import build_warehouse
from flows.ingest import ingest_channels
from flows.review import monthly_review, weekly_review
from otklik.cli import app, main
from transforms.review.pdf import ChromiumNotFound, find_chromium

AS_OF = "2026-11-01T00:00:00+00:00"
# One more October detractor, landed after the review was published (a late export of the survey).
LATE_CSV = (
    "response_id,submitted_at,recommend_score,comment,customer_id,contact_me,phone,email,order_number,store_code,segment\n"
    "R20,2026-10-20T12:00:00+03:00,2,Курьер опоздал на три дня,C020,no,,,ORD-20,,b2c\n"
)


def _printing() -> bool:
    try:
        return bool(find_chromium())
    except ChromiumNotFound:
        return False


def test_publish_then_late_data_then_republish(workspace: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OTKLIK_REVIEW_PDF", "auto")  # a PDF beside the page when Chromium is here
    ingest_channels(landing=str(workspace / "landing"))
    build_warehouse(as_of=AS_OF)
    html = Path(monthly_review("2026-10"))
    published = html.read_bytes()
    xlsx, pdf = html.with_suffix(".xlsx"), html.with_suffix(".pdf")
    assert xlsx.is_file() and html.with_name("monthly-review-2026-10-items.html").is_file()
    assert pdf.is_file() == _printing()

    (workspace / "landing" / "nps_email_survey" / "responses_2026-10-late.csv").write_text(LATE_CSV, encoding="utf-8")
    ingest_channels(landing=str(workspace / "landing"))
    build_warehouse(as_of=AS_OF)
    assert Path(monthly_review("2026-10")).read_bytes() == published  # re-rendered from the frozen version

    result = CliRunner().invoke(app, ["review", "--month", "2026-10", "--republish", "--reason", "поздний опрос"])
    assert result.exit_code == 0, result.output
    assert "monthly:2026-10:all:v2" in result.output
    assert "Пересчёт относительно версии 1: поздний опрос" in result.output
    assert "responses_2026-10-late.csv" in result.output
    assert "Ответов NPS" in result.output  # the new answer changed the NPS figures
    page = html.read_text(encoding="utf-8")
    assert "Пересчёт: версия 2 вместо версии 1" in page and "responses_2026-10-late.csv" in page
    if _printing():  # the PDF was printed again, from version 2
        first = " ".join(PdfReader(pdf).pages[0].extract_text().split())
        assert "Опубликованная версия 2" in first and "Пересчёт: версия 2 вместо версии 1" in first

    monkeypatch.setenv("OTKLIK_REVIEW_PDF", "off")
    assert Path(monthly_review("2026-10")) == html and not pdf.exists()  # no PDF of an older version stays


def test_weekly_review_of_one_directorate(workspace: Path) -> None:
    ingest_channels(landing=str(workspace / "landing"))
    build_warehouse(as_of=AS_OF)
    (path,) = weekly_review("2026-W41", "logistics")
    assert Path(path).name == "weekly-review-2026-W41-logistics.html"
    assert "Еженедельный обзор: Логистика и доставка — неделя 2026-W41" in Path(path).read_text(encoding="utf-8")
    with pytest.raises(ValueError, match="unknown directorate 'nope'"):
        weekly_review("2026-W41", "nope")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        pytest.param(["review"], "exactly one of --month", id="neither"),
        pytest.param(["review", "--month", "2026-13"], "month must look like 2026-10", id="bad-month"),
        pytest.param(["review", "--week", "2026-45"], "week must look like 2026-W45", id="bad-week"),
        pytest.param(["review", "--month", "2026-10", "--directorate", "retail"], "goes with --week", id="mixed"),
    ],
)
def test_operator_errors_are_one_line(
    args: list[str], message: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("COLUMNS", "200")
    monkeypatch.setattr(sys, "argv", ["otklik", *args])
    with pytest.raises(SystemExit) as exited:
        main()
    assert exited.value.code == 1
    out = capsys.readouterr().out
    assert out.startswith("error: ") and message in out and "Traceback" not in out
