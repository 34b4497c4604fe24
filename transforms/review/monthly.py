"""The monthly management review: one self-contained Russian HTML page from a published snapshot.

Pure rendering: it reads only the snapshot (never the live marts), so a published version renders
the same whenever it is rendered. The page makes no external requests (inline CSS, inline SVG, no
scripts), so it can be mailed or archived as evidence.
"""

from datetime import date
from typing import Any

import polars as pl

from transforms.metrics import metric_constant
from transforms.review.charts import trend_svg
from transforms.review.config import ReviewSettings
from transforms.review.format import DASH, format_decimal, format_int, format_percent, label, month_title
from transforms.review.links import FigureLinks, rows_where
from transforms.review.periods import add_months
from transforms.review.render import environment, provenance
from transforms.review.restatement import restatement_view
from transforms.review.snapshot import Snapshot
from transforms.review.sources import COMPLAINTS_BY_TYPE

# The threshold of every is_*_small_sample flag of the marts, read from its one definition (the macro
# small_sample_answers of transforms/sql/metrics.sql), for the page's footnote.
SMALL_SAMPLE_ANSWERS = int(metric_constant("small_sample_answers"))

MANAGEMENT = "marts.management_monthly"
COMPANY_DIRECTORATE_ID = "all"
MISSING_DIRECTORATE_ID = "unassigned"

# The KPIs of the overview and of every directorate: column, and whether more is better (None: neither).
KPIS: tuple[tuple[str, bool | None], ...] = (
    ("items_count", None),
    ("complaints_count", False),
    ("complaint_share", False),
    ("nps", True),
    ("csat", True),
    ("sla_close_24h_compliance_rate", True),
    ("sla_first_contact_1h_compliance_rate", True),
    ("complaints_per_1000_orders", False),
)
TRENDS = (
    ("items_count", "Обращения", "шт."),
    ("complaints_count", "Жалобы", "шт."),
    ("nps", "NPS", "−100…100"),
    ("sla_close_24h_compliance_rate", "Закрыто за 24 часа", "доля"),
)
DIRECTORATE_TRENDS = (("complaints_count", "Жалобы", "шт."), ("nps", "NPS", "−100…100"))
SLA_COLUMNS = ("close_24h", "first_contact_1h")
SLA_TITLES = {"close_24h": "Закрытие обращения за 24 часа", "first_contact_1h": "Первый контакт за 1 час"}


def _delta(column: str, now: Any, before: Any, better: bool | None) -> dict[str, str] | None:
    """An arrow and the change, in points for rates; None when either side is unknown."""
    if now is None or before is None:
        return None
    change = now - before
    rate = column.endswith(("_rate", "_share")) or column == "csat"
    text = format_decimal(change * 100 if rate else float(change)) + (" п. п." if rate else "")
    arrow = "▲" if change > 0 else "▼" if change < 0 else "="
    tone = "flat" if change == 0 or better is None else "good" if (change > 0) == better else "bad"
    return {"arrow": arrow, "text": text if change <= 0 else "+" + text, "tone": tone}


def _kpis(rows_by_month: dict[date, dict[str, Any]], month: date, links: FigureLinks) -> list[dict[str, Any]]:
    now = rows_by_month.get(month)
    previous = rows_by_month.get(add_months(month, -1))
    year_ago = rows_by_month.get(add_months(month, -12))
    kpis = []
    for column, better in KPIS:
        value = None if now is None else now.get(column)
        kpis.append(
            {
                "label": label(column),
                "value": links.cell(MANAGEMENT, now, column),
                "mom": _delta(column, value, (previous or {}).get(column), better),
                "yoy": _delta(column, value, (year_ago or {}).get(column), better),
            }
        )
    return kpis


def _trend_charts(rows_by_month: dict[date, dict[str, Any]], months: list[date], trends: tuple) -> list[str]:
    charts = []
    for column, title, unit in trends:
        points = [(m, (rows_by_month.get(m) or {}).get(column)) for m in months]
        if column.endswith("_rate"):
            points = [(m, None if v is None else 100 * v) for m, v in points]
            unit = "%"
        charts.append(trend_svg(points, title=title, y_title=unit))
    return charts


def _growth(by_type: pl.DataFrame | None, directorate_id: str, month: date, top: int) -> dict[str, list]:
    """Top complaint types of the month, and growth points: types whose complaints grew most month on month."""
    rows = rows_where(by_type, directorate_id=directorate_id)
    counts: dict[str, dict[str, Any]] = {}
    for row in rows:
        entry = counts.setdefault(row["feedback_type_id"], {"label": row["feedback_type_label"], "rows": {}})
        entry["rows"][row["report_month"]] = row
    table = []
    for type_id, entry in counts.items():
        now = entry["rows"].get(month)
        table.append(
            {
                "type_id": type_id,
                "label": entry["label"],
                "row": now,
                "now": 0 if now is None else now["complaints_count"],
                "previous": (entry["rows"].get(add_months(month, -1)) or {}).get("complaints_count", 0),
                "year_ago": (entry["rows"].get(add_months(month, -12)) or {}).get("complaints_count", 0),
            }
        )
    for entry in table:
        entry["mom"], entry["yoy"] = entry["now"] - entry["previous"], entry["now"] - entry["year_ago"]
    top_types = sorted((e for e in table if e["now"]), key=lambda e: (-e["now"], e["type_id"]))[:top]
    growth = sorted((e for e in table if e["mom"] > 0), key=lambda e: (-e["mom"], -e["now"], e["type_id"]))[:top]
    return {"top": top_types, "growth": growth}


def _verbatims(snapshot: Snapshot, links: FigureLinks, row: dict[str, Any], n: int) -> list[dict[str, Any]]:
    figure = links.figure(MANAGEMENT, row, "complaints_count")
    items = [snapshot.items.get(key) for key in snapshot.items_of(figure)]
    texts = sorted(
        (i for i in items if i and i.get("body_text")), key=lambda i: (i["received_local"], i["feedback_id"])
    )
    return texts[:n]


def _generic(snapshot: Snapshot, links: FigureLinks, table: str, **where: Any) -> dict[str, Any] | None:
    """Rows of a mart the page knows no layout for (QA results, SLA by policy): every column, labelled."""
    frozen = snapshot.tables.get(table)
    if frozen is None:
        return None
    rows = rows_where(frozen.frame, **where)
    hidden = {"report_month", "directorate_id", "directorate_name", "is_company_total"}
    columns = [c for c in frozen.frame.columns if c not in hidden]
    return {
        "columns": [label(c) for c in columns],
        "rows": [[links.cell(table, r, c) for c in columns] for r in rows],
    }


def _by_month(frame: pl.DataFrame | None, directorate_id: str) -> dict[date, dict[str, Any]]:
    return {r["report_month"]: r for r in rows_where(frame, directorate_id=directorate_id)}


def _has_activity(row: dict[str, Any]) -> bool:
    cases = (row.get("sla_close_24h_measured_count") or 0) + (row.get("sla_first_contact_1h_measured_count") or 0)
    return bool(row.get("items_count") or cases or row.get("orders_count"))


def _directorate_rows(mart: pl.DataFrame, month: date) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    rows = rows_where(mart, report_month=month)
    company = [r for r in rows if r["directorate_id"] == COMPANY_DIRECTORATE_ID]
    if not company:
        raise ValueError(f"the review has no company row ('{COMPANY_DIRECTORATE_ID}') for {month:%Y-%m}")
    directorates = sorted(
        (
            r
            for r in rows
            if r["directorate_id"] != COMPANY_DIRECTORATE_ID
            # The missing member is shown only when something landed there: then it is a to-do.
            and (r["directorate_id"] != MISSING_DIRECTORATE_ID or _has_activity(r))
        ),
        key=lambda r: (r["directorate_id"] == MISSING_DIRECTORATE_ID, r["directorate_name"]),
    )
    return company[0], directorates


def render_monthly_review(snapshot: Snapshot, *, company_name: str, items_page: str, settings: ReviewSettings) -> str:
    """Render a published monthly review.

    Args:
        snapshot: the published version (warehouse.publish.load_snapshot).
        company_name: shown under the title.
        items_page: file name of the drill-down page the figures link to.
        settings: transforms/review/review.yaml.

    Raises:
        ValueError: the snapshot has no management mart row for the company in its month.
    """
    month = snapshot.period.start
    mart = snapshot.table(MANAGEMENT)
    if mart is None:
        raise ValueError(f"the review {snapshot.review_id} holds no {MANAGEMENT}")
    company, directorates = _directorate_rows(mart, month)
    links = FigureLinks(snapshot, items_page)
    months = [add_months(month, -i) for i in reversed(range(settings.monthly.trend_months))]
    by_type = snapshot.table(COMPLAINTS_BY_TYPE)
    sections = []
    for row in directorates:
        history = _by_month(mart, row["directorate_id"])
        where = {"report_month": month, "directorate_id": row["directorate_id"]}
        sections.append(
            {
                "row": row,
                "kpis": _kpis(history, month, links),
                "charts": _trend_charts(history, months, DIRECTORATE_TRENDS),
                "growth": _growth(by_type, row["directorate_id"], month, settings.monthly.top_types),
                "sla": [
                    {
                        "title": SLA_TITLES[g],
                        **{
                            part: links.cell(MANAGEMENT, row, f"sla_{g}_{part}")
                            for part in ("measured_count", "breached_count", "compliance_rate")
                        },
                    }
                    for g in SLA_COLUMNS
                    if f"sla_{g}_measured_count" in row
                ],
                "sla_by_policy": _generic(snapshot, links, "marts.sla_compliance_monthly", **where),
                "qa": _generic(snapshot, links, "marts.qa_results_monthly", **where),
                "verbatims": _verbatims(snapshot, links, row, settings.monthly.verbatims),
            }
        )
    company_history = _by_month(mart, COMPANY_DIRECTORATE_ID)
    return (
        environment()
        .get_template("monthly.html.j2")
        .render(
            title=f"Ежемесячный обзор обратной связи — {month_title(month)}",
            company_name=company_name,
            snapshot=snapshot,
            restatement=restatement_view(snapshot.restatement),
            company=company,
            company_kpis=_kpis(company_history, month, links),
            company_charts=_trend_charts(company_history, months, TRENDS),
            first_month=month_title(months[0]),
            last_month=month_title(month),
            trend_months=settings.monthly.trend_months,
            directorates=directorates,
            sections=sections,
            cell=lambda row, column: links.cell(MANAGEMENT, row, column),
            type_cell=lambda row, text: links.cell(COMPLAINTS_BY_TYPE, row, "complaints_count", text),
            items_page=items_page,
            small_sample_answers=SMALL_SAMPLE_ANSWERS,
            sources=provenance(snapshot),
            dash=DASH,
            fmt_int=format_int,
            fmt_pct=format_percent,
        )
    )
