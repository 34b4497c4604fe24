"""Render the monthly top-management review of one month from the marts."""

from datetime import UTC, date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from prefect import flow, task

from flows.settings import reports_dir
from transforms.org import load_org
from transforms.review import render_monthly_review
from warehouse import connect, warehouse_path
from warehouse.runs import assert_publishable


def previous_month(today: date, timezone: str) -> str:
    """The month before ``today`` (a date in the reporting zone), as YYYY-MM."""
    first = today.replace(day=1)
    last_of_previous = date.fromordinal(first.toordinal() - 1)
    return last_of_previous.strftime("%Y-%m")


def parse_month(month: str) -> date:
    try:
        return datetime.strptime(month, "%Y-%m").date()
    except ValueError as exc:
        raise ValueError(f"month must look like 2026-10, got {month!r}") from exc


@task(name="render-monthly-review")
def render_review_task(month: str) -> str:
    first_day = parse_month(month)
    with connect(read_only=True) as con:
        run_id = assert_publishable(con)
        mart = con.execute(
            "select * from marts.management_monthly where report_month = ? order by directorate_id", [first_day]
        ).pl()
    if mart.is_empty():
        raise ValueError(f"marts.management_monthly has no rows for {month}: build the warehouse for that month first")
    html = render_monthly_review(
        mart,
        month=first_day,
        company_name=load_org().company.name,
        generated_at=datetime.now(UTC),
        sources={"warehouse": str(warehouse_path()), "build run": run_id},
    )
    out = reports_dir() / f"monthly-review-{month}.html"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(html, encoding="utf-8")
    return str(out)


@flow(name="monthly-review")
def monthly_review(month: str | None = None) -> str:
    """Write reports/monthly-review-<month>.html (default: the month just ended); return its path."""
    if month is None:
        zone = ZoneInfo(load_org().company.reporting_timezone)
        month = previous_month(datetime.now(zone).date(), zone.key)
    return render_review_task(month)


def review_path(month: str) -> Path:
    return reports_dir() / f"monthly-review-{month}.html"
