"""The monthly review as a PDF: the published HTML page printed by headless Chromium.

The page's print rules (``@page``/``@media print`` in templates/_base.html.j2) make it A4 with the
summary on the first page and each directorate from a new page. Chromium prints the file offline:
the page requests nothing (tests/transforms/review/test_browser.py holds it to that), and the browser
gets a dead proxy (127.0.0.1:9) and a fresh, temporary profile, so nothing of a user's browser and no
network is used.

| variable          | default | what                                                                  |
| ----------------- | ------- | --------------------------------------------------------------------- |
| OTKLIK_REVIEW_PDF | auto    | auto: print when a browser is found; on: always (none is an error); off |
| OTKLIK_CHROMIUM   | PATH    | the browser; else chromium, chromium-browser, google-chrome(-stable)  |

Not byte-for-byte reproducible: Chromium writes the print time into the PDF (CreationDate,
ModDate), and links to the drill-down page become ``file://`` addresses of the folder the page was
printed in. The text, the pages and the figures are the same for the same published version.
"""

import os
import shutil
import signal
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

MODES = ("auto", "on", "off")
CANDIDATES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
TIMEOUT_SECONDS = 120.0


class PdfError(ValueError):
    """The PDF could not be printed (one line: what, and what to do).

    A ValueError so that the CLI shows it as an operator's error, one line without a traceback.
    """


class ChromiumNotFound(PdfError):
    pass


@dataclass(frozen=True)
class PdfOutcome:
    """A printed PDF (``path``, ``seconds``) or why there is none (``skipped``)."""

    path: Path | None
    seconds: float = 0.0
    skipped: str | None = None
    failed: bool = False  # skipped because printing failed (auto), not by choice or for want of a browser


def pdf_mode() -> str:
    mode = os.environ.get("OTKLIK_REVIEW_PDF", "auto").strip().lower() or "auto"
    if mode not in MODES:
        raise PdfError(f"OTKLIK_REVIEW_PDF must be one of {', '.join(MODES)}, not {mode!r}")
    return mode


def check_pdf_settings() -> str:
    """OTKLIK_REVIEW_PDF, checked before anything is published: a wrong value, or ``on`` without a
    browser, raises PdfError here rather than after the review was frozen."""
    mode = pdf_mode()
    if mode == "on":
        try:
            find_chromium()
        except ChromiumNotFound as error:
            raise PdfError(f"{error} (OTKLIK_REVIEW_PDF=on)") from None
    return mode


def find_chromium() -> str:
    """The browser to print with: OTKLIK_CHROMIUM, else the first known name on PATH."""
    configured = os.environ.get("OTKLIK_CHROMIUM", "").strip()
    if configured:
        found = shutil.which(configured)
        if found is None:
            raise ChromiumNotFound(f"OTKLIK_CHROMIUM={configured} is not an executable program")
        return found
    for name in CANDIDATES:
        found = shutil.which(name)
        if found is not None:
            return found
    raise ChromiumNotFound(
        f"no {', '.join(CANDIDATES)} on PATH (apt-get install chromium, or set OTKLIK_CHROMIUM to the browser)"
    )


def chromium_args(binary: str, html: Path, pdf: Path, profile: Path) -> list[str]:
    args = [
        binary,
        "--headless",
        "--disable-gpu",
        # Chromium 111+ (new headless) knows --no-pdf-header-footer, older ones --print-to-pdf-no-header;
        # each ignores the switch it does not know, so both are given.
        "--no-pdf-header-footer",
        "--print-to-pdf-no-header",
        f"--user-data-dir={profile}",
        "--no-first-run",
        "--no-default-browser-check",
        "--disable-extensions",
        "--disable-sync",
        "--disable-background-networking",
        "--disable-component-update",
        "--proxy-server=127.0.0.1:9",  # offline: any http(s) request would go to a closed port
        "--proxy-bypass-list=<-loopback>",
        f"--print-to-pdf={pdf}",
    ]
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        args.append("--no-sandbox")  # Chromium refuses to run as root with its sandbox
    return [*args, html.as_uri()]


def _reason(stderr: str) -> str:
    """The last line of Chromium's stderr that is not noise about D-Bus or the launcher script."""
    lines = [line.strip() for line in stderr.splitlines() if line.strip()]
    useful = [line for line in lines if "dbus" not in line.lower() and "unexpected operator" not in line]
    return (useful or lines or ["no message"])[-1][:300]


def print_pdf(
    html_path: str | Path, pdf_path: str | Path, *, chromium: str | None = None, timeout: float = TIMEOUT_SECONDS
) -> Path:
    """Print ``html_path`` to ``pdf_path`` (A4, by the page's print CSS); raise PdfError on any failure.

    The PDF is written beside its final name first and moved into place only when it is a PDF, so a
    failed print leaves no half file.
    """
    html, pdf = Path(html_path).resolve(), Path(pdf_path).resolve()
    if not html.is_file():
        raise PdfError(f"cannot print {html}: no such file")
    binary = chromium or find_chromium()
    pdf.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="otklik-chromium-") as profile:
        part = pdf.with_name(f".{pdf.name}.part")
        part.unlink(missing_ok=True)
        try:
            process = subprocess.Popen(
                chromium_args(binary, html, part, Path(profile)),
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
                errors="replace",
                start_new_session=True,  # its own process group, so a timeout ends its helpers too
            )
        except OSError as error:
            raise PdfError(f"cannot start {binary}: {error.strerror or error}") from None
        try:
            _, stderr = process.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.communicate()
            part.unlink(missing_ok=True)
            raise PdfError(f"{binary} did not print {html.name} within {timeout:g} s") from None
        finally:
            if process.poll() is None:  # interrupted: leave no browser behind
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
        if process.returncode != 0 or not _is_pdf(part):
            part.unlink(missing_ok=True)
            raise PdfError(f"{binary} could not print {html.name} (exit {process.returncode}): {_reason(stderr)}")
        os.replace(part, pdf)
    return pdf


def _is_pdf(path: Path) -> bool:
    if not path.is_file():
        return False
    with path.open("rb") as file:
        return file.read(5) == b"%PDF-"


def review_pdf(html_path: str | Path, *, timeout: float = TIMEOUT_SECONDS) -> PdfOutcome:
    """Print the review beside its page (same name, .pdf) as OTKLIK_REVIEW_PDF says.

    auto: print when Chromium is found, else skip with the reason; a failed print is skipped too
    (the HTML is the review; the PDF is a copy of it). on: a missing browser or a failed print raises
    PdfError. off: skip. A skipped PDF removes an older one beside the page, which would show the
    figures of another version.
    """
    html = Path(html_path)
    pdf = html.with_suffix(".pdf")
    mode = pdf_mode()
    if mode == "off":
        return _skip(pdf, "OTKLIK_REVIEW_PDF=off")
    try:
        binary = find_chromium()
        started = time.perf_counter()
        print_pdf(html, pdf, chromium=binary, timeout=timeout)
    except PdfError as error:
        if mode == "on":
            raise PdfError(f"{error} (OTKLIK_REVIEW_PDF=on)") from None
        return _skip(pdf, str(error), failed=not isinstance(error, ChromiumNotFound))
    return PdfOutcome(pdf, seconds=time.perf_counter() - started)


def _skip(pdf: Path, reason: str, *, failed: bool = False) -> PdfOutcome:
    if pdf.is_file():
        pdf.unlink()
        reason += f"; removed the older {pdf.name}"
    return PdfOutcome(None, skipped=reason, failed=failed)
