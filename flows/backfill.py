"""Reprocess a range of months: load what lies in the landing folder, rebuild once, review each month.

    otklik backfill --from 2025-01 --to 2025-12

Used after history arrives late (a new channel's archive, a re-export of a past year) or after a
fix to the code or configuration. Every step is idempotent, so a backfill can be repeated or
resumed after a crash and ends in the same state:

- ingest skips every file already loaded (its content hash is in the batch ledger);
- the build rebuilds the derived layers from raw (one build serves every month of the range:
  the layers hold all history, so building once per month would only repeat the same work);
- each month with data gets its monthly review. A month already published stays frozen: the review
  is rendered again from its snapshot, unchanged; ``republish`` publishes a new version of the
  months whose figures changed, with a restatement (flows/review.py).

Months of the range without any feedback are reported, not skipped silently: a gap in history is
exactly what the person running a backfill needs to see.
"""

from datetime import date

from prefect import flow, get_run_logger, task

from flows.build_warehouse import build_warehouse
from flows.ingest import ingest_channels
from flows.review import monthly_review, parse_month
from warehouse import connect


def month_range(first: str, last: str) -> list[str]:
    """Every month from ``first`` to ``last`` inclusive, as YYYY-MM."""
    start, end = parse_month(first), parse_month(last)
    if end < start:
        raise ValueError(f"the range ends before it starts: --from {first} --to {last}")
    months = []
    year, month = start.year, start.month
    while date(year, month, 1) <= end:
        months.append(f"{year:04d}-{month:02d}")
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return months


MAX_MONTHS = 240  # twenty years: a typo such as --to 2205-01 is refused instead of run


@task(name="items-per-month")
def items_per_month(months: list[str]) -> dict[str, int]:
    """Feedback items the marts hold per month of the range (0 for a month without any)."""
    with connect(read_only=True) as con:
        rows = con.execute(
            "select strftime(report_month, '%Y-%m'), items_count from marts.management_monthly"
            " where directorate_id = 'all' and strftime(report_month, '%Y-%m') in (select unnest(?))",
            [months],
        ).fetchall()
    found = dict(rows)
    return {m: int(found.get(m) or 0) for m in months}


@flow(name="backfill", flow_run_name="backfill {from_month}..{to_month}")
def backfill(
    from_month: str,
    to_month: str,
    landing: str | None = None,
    as_of: str | None = None,
    republish: bool = False,
) -> dict:
    """Ingest, build once, then review every month of the range that has data."""
    months = month_range(from_month, to_month)
    if len(months) > MAX_MONTHS:
        raise ValueError(f"{len(months)} months from {from_month} to {to_month}: at most {MAX_MONTHS} at once")
    ingested = ingest_channels(landing=landing)
    built = build_warehouse(as_of=as_of)
    items = items_per_month(months)
    reviews: dict[str, str | None] = {}
    for month in months:
        if items[month] == 0:
            get_run_logger().warning("%s: no feedback items in the warehouse; no review written", month)
            reviews[month] = None
            continue
        reviews[month] = monthly_review(month, republish=republish)
    return {"ingest": ingested, "build": built, "items": items, "reviews": reviews}
