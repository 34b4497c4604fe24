"""The printed monthly review (transforms/review/pdf.py): A4, the summary on page 1, a page per directorate.

The printing tests skip when no Chromium is installed, unless OTKLIK_REQUIRE_CHROMIUM=1 (CI), where
they fail. The tests of a missing, failing or hanging browser use stand-in programs and always run.
"""

import html
import os
import re
from pathlib import Path

import pytest
from pypdf import PdfReader

from tests.helpers import chromium_or_skip
from transforms.review.pdf import (
    ChromiumNotFound,
    PdfError,
    check_pdf_settings,
    chromium_args,
    find_chromium,
    print_pdf,
    review_pdf,
)
from transforms.review.publishing import ReviewFiles

A4 = (595.3, 841.9)  # points


_chromium = chromium_or_skip


def _directorates(page: str) -> list[str]:
    return [html.unescape(name) for name in re.findall(r'<section id="d-[^"]+" aria-label="([^"]+)">', page)]


def _page(tmp_path: Path) -> Path:
    """A stand-in review page, for the tests whose browser is a stand-in too."""
    page = tmp_path / "reports" / "monthly-review-2026-10.html"
    page.parent.mkdir()
    page.write_text("<!DOCTYPE html><title>обзор</title><h1>Обзор</h1>", encoding="utf-8")
    return page


def _program(tmp_path: Path, body: str) -> Path:
    """A stand-in for the browser: a shell script running ``body``."""
    program = tmp_path / "fake-chromium"
    program.write_text(f"#!/bin/sh\n{body}\n", encoding="utf-8")
    program.chmod(0o755)
    return program


def test_the_review_prints_as_a4_with_the_summary_then_a_page_per_directorate(
    files: ReviewFiles, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("OTKLIK_CHROMIUM", raising=False)
    monkeypatch.setenv("OTKLIK_CHROMIUM", _chromium())
    monkeypatch.setenv("OTKLIK_REVIEW_PDF", "on")
    pdf = review_pdf(files.html).path
    assert pdf == Path(files.html).with_suffix(".pdf")  # beside the page: monthly-review-2026-10.pdf
    names = _directorates(Path(files.html).read_text(encoding="utf-8"))
    assert names[:2] == ["Логистика и доставка", "Розничная сеть"]

    pages = PdfReader(pdf).pages
    assert len(pages) >= 1 + len(names)
    for page in pages:
        assert (float(page.mediabox.width), float(page.mediabox.height)) == pytest.approx(A4, abs=1)
    texts = [" ".join(page.extract_text().split()) for page in pages]
    assert not any("file:" in text for text in texts)  # no header or footer with the address and date
    # Each directorate starts a page, headed by its name, in the page's order.
    starts = [next(i for i, text in enumerate(texts) if text.startswith(name + " ")) for name in names]
    assert starts == sorted(set(starts)) and starts[0] >= 1
    # The pages before the first directorate are the summary: the title, the company, every directorate.
    summary = " ".join(texts[: starts[0]])
    assert texts[0].startswith("Ежемесячный обзор обратной связи — октябрь 2026 ООО «Инструмент-Маркет»")
    assert "Компания в целом" in summary and "Показатели по дирекциям" in summary and "Вся компания" in summary
    assert not any(text.startswith(name + " ") for text in texts[: starts[0]] for name in names)


def test_a_missing_browser_skips_the_pdf_in_auto_mode_and_fails_in_on_mode(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    page = _page(tmp_path)
    missing = tmp_path / "no-such-chromium"
    monkeypatch.setenv("OTKLIK_CHROMIUM", str(missing))
    stale = Path(page).with_suffix(".pdf")
    stale.write_bytes(b"%PDF-1.4 of an older version")

    monkeypatch.delenv("OTKLIK_REVIEW_PDF", raising=False)  # auto
    assert check_pdf_settings() == "auto"
    outcome = review_pdf(page)
    assert outcome.path is None and not outcome.failed
    assert outcome.skipped == (
        f"OTKLIK_CHROMIUM={missing} is not an executable program; removed the older monthly-review-2026-10.pdf"
    )
    assert not stale.exists()  # it would show another version's figures

    monkeypatch.setenv("OTKLIK_REVIEW_PDF", "on")
    expected = f"OTKLIK_CHROMIUM={missing} is not an executable program (OTKLIK_REVIEW_PDF=on)"
    with pytest.raises(PdfError, match=re.escape(expected)):
        check_pdf_settings()
    with pytest.raises(PdfError, match=re.escape(expected)):
        review_pdf(page)

    monkeypatch.setenv("OTKLIK_REVIEW_PDF", "off")
    assert review_pdf(page).skipped == "OTKLIK_REVIEW_PDF=off"
    monkeypatch.setenv("OTKLIK_REVIEW_PDF", "sometimes")
    with pytest.raises(PdfError, match="OTKLIK_REVIEW_PDF must be one of auto, on, off, not 'sometimes'"):
        check_pdf_settings()


def test_no_browser_on_path_names_the_programs_looked_for(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("OTKLIK_CHROMIUM", raising=False)
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(ChromiumNotFound, match="no chromium, chromium-browser, google-chrome, google-chrome-stable on"):
        find_chromium()


def test_a_failing_browser_is_one_line_and_leaves_no_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    page = _page(tmp_path)
    program = _program(
        tmp_path, "echo 'ERROR:dbus/bus.cc Failed to connect to the bus' >&2\necho 'cannot open display' >&2\nexit 3"
    )
    monkeypatch.setenv("OTKLIK_CHROMIUM", str(program))
    monkeypatch.delenv("OTKLIK_REVIEW_PDF", raising=False)
    outcome = review_pdf(page)
    message = f"{program} could not print monthly-review-2026-10.html (exit 3): cannot open display"
    assert outcome.path is None and outcome.failed and outcome.skipped == message
    monkeypatch.setenv("OTKLIK_REVIEW_PDF", "on")
    with pytest.raises(PdfError) as raised:
        review_pdf(page)
    assert str(raised.value) == message + " (OTKLIK_REVIEW_PDF=on)"
    assert sorted(p.name for p in Path(page).parent.iterdir() if "pdf" in p.name) == []


def test_a_hanging_browser_is_stopped_at_the_timeout(tmp_path: Path) -> None:
    page = _page(tmp_path)
    program = _program(tmp_path, "sleep 30")
    with pytest.raises(PdfError, match=r"did not print monthly-review-2026-10.html within 0.5 s"):
        print_pdf(page, tmp_path / "review.pdf", chromium=str(program), timeout=0.5)
    assert not (tmp_path / "review.pdf").exists() and not (tmp_path / ".review.pdf.part").exists()


def test_chromium_runs_offline_with_a_fresh_profile(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    page, pdf, profile = tmp_path / "a.html", tmp_path / "a.pdf", tmp_path / "profile"
    monkeypatch.setattr(os, "geteuid", lambda: 1000)
    args = chromium_args("chromium", page, pdf, profile)
    assert args[0] == "chromium" and args[-1] == page.as_uri()
    assert {"--headless", "--no-pdf-header-footer", "--proxy-server=127.0.0.1:9"} <= set(args)
    assert f"--user-data-dir={profile}" in args and f"--print-to-pdf={pdf}" in args
    assert "--no-sandbox" not in args
    monkeypatch.setattr(os, "geteuid", lambda: 0)
    assert "--no-sandbox" in chromium_args("chromium", page, pdf, profile)
