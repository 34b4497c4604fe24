"""The files of a published review: HTML page, drill-down page and XLSX workbook, all from the snapshot.

The monthly review's PDF is printed from the HTML page by the flow (flows/review.py, transforms/review/pdf.py).
"""

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from transforms.review.config import ReviewSettings
from transforms.review.format import month_title
from transforms.review.items import render_items_page
from transforms.review.monthly import render_monthly_review
from transforms.review.periods import MONTHLY
from transforms.review.render import provenance
from transforms.review.restatement import restatement_lines
from transforms.review.snapshot import Snapshot
from transforms.review.weekly import render_weekly_review, weekly_title
from transforms.review.workbook import write_workbook


@dataclass(frozen=True)
class ReviewFiles:
    review_id: str
    version: int
    html: str
    items_html: str
    xlsx: str
    restatement: list[str] = field(default_factory=list)
    pdf: str | None = None  # the printed page (transforms/review/pdf.py), when the flow printed one


def file_stem(snapshot: Snapshot) -> str:
    period = snapshot.period
    if period.kind == MONTHLY:
        return f"monthly-review-{period.label}"
    return f"weekly-review-{period.label}-{period.scope}"


def write_review_files(
    snapshot: Snapshot,
    folder: Path,
    *,
    company_name: str,
    settings: ReviewSettings,
    page_written: Callable[[Path], object] | None = None,
) -> ReviewFiles:
    """Write (or overwrite with identical bytes) the three files of ``snapshot`` into ``folder``.

    ``page_written`` is called with the HTML page's path as soon as it is written, before the
    drill-down page and the workbook (the flow starts the PDF print there, to run beside them)."""
    folder.mkdir(parents=True, exist_ok=True)
    stem = file_stem(snapshot)
    html, items, xlsx = folder / f"{stem}.html", folder / f"{stem}-items.html", folder / f"{stem}.xlsx"
    if snapshot.period.kind == MONTHLY:
        title = f"Ежемесячный обзор обратной связи — {month_title(snapshot.period.start)}"
        page = render_monthly_review(snapshot, company_name=company_name, items_page=items.name, settings=settings)
    else:
        title = weekly_title(snapshot)
        page = render_weekly_review(snapshot, company_name=company_name, items_page=items.name)
    html.write_text(page, encoding="utf-8")
    if page_written is not None:
        page_written(html)
    # The drill-down page and sheet hold the figures the page shows (every figure of every frozen row
    # would be ~900k figure-item pairs a month: an 85 MB page). The rest stay in
    # audit.published_figure_items, and `otklik explain` lists them for any mart figure.
    shown = set(re.findall(rf'href="{re.escape(items.name)}#(fig-[0-9a-f]+)"', page))
    quoted = set(re.findall(rf'href="{re.escape(items.name)}#(item-[0-9a-f]+)"', page))
    items.write_text(
        render_items_page(
            snapshot,
            title=f"{title}: обращения за цифрами",
            company_name=company_name,
            review_page=html.name,
            per_figure=settings.drill.html_items_per_figure,
            anchors=shown,
            quoted=quoted,
        ),
        encoding="utf-8",
    )
    write_workbook(
        snapshot,
        xlsx,
        title=title,
        sources=provenance(snapshot),
        anchors=shown,
        per_figure=settings.drill.xlsx_items_per_figure,
    )
    return ReviewFiles(
        snapshot.review_id, snapshot.version, str(html), str(items), str(xlsx), restatement_lines(snapshot.restatement)
    )
