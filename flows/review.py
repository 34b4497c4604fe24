"""Publish and render the monthly review and the weekly directorate reviews.

The first run for a period publishes it (freezes its figures and the items behind them); later runs
re-render the frozen version. ``republish`` freezes a new version with a restatement. The monthly
review is also printed to a PDF beside its page when Chromium is there (OTKLIK_REVIEW_PDF, see
transforms/review/pdf.py); without it the flow says in one line why there is no PDF.
"""

import contextvars
import dataclasses
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from prefect import flow, get_run_logger, task

from flows.settings import reports_dir
from transforms.org import load_org
from transforms.review.config import load_review_settings
from transforms.review.pdf import check_pdf_settings, review_pdf
from transforms.review.periods import Period, month_period, parse_month, previous_month, previous_week, week_period
from transforms.review.publishing import ReviewFiles, write_review_files
from transforms.review.restatement import restatement_lines
from transforms.review.sources import monthly_tables, weekly_tables
from warehouse import connect
from warehouse.publish import latest_review_id, load_restatement, load_snapshot, publish_review
from warehouse.runs import assert_publishable

__all__ = ["monthly_review", "parse_month", "published_version", "review_path", "weekly_review"]


def review_path(month: str) -> Path:
    return reports_dir() / f"monthly-review-{month}.html"


@task(name="publish-review", task_run_name="{period.kind}-{period.label}-{period.scope}")
def publish_task(period: Period, republish: bool = False, reason: str | None = None) -> ReviewFiles:
    """Freeze ``period`` unless a version exists (or ``republish``), then write its files from the snapshot."""
    org, settings = load_org(), load_review_settings()
    if period.kind == "monthly":
        check_pdf_settings()
    timezone = org.company.reporting_timezone
    with connect() as con:  # read-write: a warehouse from before migration 0008 gets its tables here
        review_id = latest_review_id(con, period)
        if review_id is None or republish:
            build_run_id = assert_publishable(con)
            tables = (
                monthly_tables(con, period, settings)
                if period.kind == "monthly"
                else weekly_tables(con, period, settings)
            )
            review_id = publish_review(
                con, period, tables, build_run_id=build_run_id, reporting_timezone=timezone, reason=reason
            ).review_id
    # The files are written from the published version, its drill-through read as they are written
    # (warehouse/drill_through.py): a reader's connection, beside other readers.
    with connect(read_only=True) as con:
        snapshot = load_snapshot(con, review_id)
        if period.kind != "monthly":
            return write_review_files(snapshot, reports_dir(), company_name=org.company.name, settings=settings)
        # Chromium prints the page while the drill-down page and the workbook are written (~3 s saved)
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="review-pdf") as printer:
            printing: list[Future[str | None]] = []

            def start_print(html: Path) -> None:
                printing.append(printer.submit(contextvars.copy_context().run, _print, str(html)))

            files = write_review_files(
                snapshot, reports_dir(), company_name=org.company.name, settings=settings, page_written=start_print
            )
            return dataclasses.replace(files, pdf=printing[0].result())


def _print(html: str) -> str | None:
    """The review's PDF beside its page, or None with a log line saying why (PdfError when required)."""
    outcome = review_pdf(html)
    if outcome.path is None:
        log = get_run_logger().warning if outcome.failed else get_run_logger().info
        log("PDF of %s skipped: %s", Path(html).name, outcome.skipped)
        return None
    size = outcome.path.stat().st_size
    get_run_logger().info("printed %s in %.1f s (%d KB)", outcome.path.name, outcome.seconds, size // 1024)
    return str(outcome.path)


def published_version(period: Period) -> tuple[str, list[str]]:
    """The latest version of ``period`` and its restatement as text lines (empty for version 1)."""
    with connect(read_only=True) as con:
        review_id = latest_review_id(con, period)
        if review_id is None:
            raise ValueError(f"{period.kind} review {period.label} ({period.scope}) is not published")
        return review_id, restatement_lines(load_restatement(con, review_id))


def _today() -> datetime:
    return datetime.now(ZoneInfo(load_org().company.reporting_timezone))


@flow(name="monthly-review")
def monthly_review(month: str | None = None, republish: bool = False, reason: str | None = None) -> str:
    """Publish (or re-render) the review of ``month`` (default: the month just ended); return the HTML path."""
    period = month_period(month or previous_month(_today().date()))
    return publish_task(period, republish, reason).html


@flow(name="weekly-review")
def weekly_review(
    week: str | None = None, directorate: str | None = None, republish: bool = False, reason: str | None = None
) -> list[str]:
    """Publish the weekly review of ``directorate`` (default: every directorate) for ``week`` (default: last)."""
    label = week or previous_week(_today().date())
    known = [d.id for d in load_org().directorates]
    if directorate is not None and directorate not in known:
        raise ValueError(f"unknown directorate {directorate!r}; known: {', '.join(known)}")
    scopes = [directorate] if directorate else known
    return [publish_task(week_period(label, scope), republish, reason).html for scope in scopes]
