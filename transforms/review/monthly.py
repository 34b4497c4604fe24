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
from transforms.review.config import Kpi, ReviewSettings
from transforms.review.format import DASH, format_decimal, format_int, format_percent, is_rate, month_title
from transforms.review.links import FigureLinks, rows_where
from transforms.review.periods import add_months
from transforms.review.render import environment, provenance
from transforms.review.restatement import restatement_view
from transforms.review.snapshot import Snapshot
from transforms.review.sources import COMPLAINTS_BY_TYPE
from transforms.review.voices import representative

# The threshold of every is_*_small_sample flag of the marts, read from its one definition (the macro
# small_sample_answers of transforms/sql/metrics.sql), for the page's footnote.
SMALL_SAMPLE_ANSWERS = int(metric_constant("small_sample_answers"))

MANAGEMENT = "marts.management_monthly"
COMPANY_DIRECTORATE_ID = "all"
MISSING_DIRECTORATE_ID = "unassigned"

FEEDBACK_TYPES = "marts.feedback_type_monthly"
SLA_BY_POLICY = "marts.sla_compliance_monthly"
QA_RESULTS = "marts.qa_results_monthly"
CLOSE_THE_LOOP = "marts.close_the_loop_monthly"
SEGMENTS = "marts.customer_segments_monthly"
CHURN_BY_NPS = "marts.churn_by_nps_group_monthly"
SEGMENT_NAMES = {"b2c": "Частные клиенты (B2C)", "b2b": "Компании (B2B)", "vip": "VIP", "unknown": "Сегмент неизвестен"}
NPS_GROUPS = (
    ("detractor", "Критики (0–6)"),
    ("passive", "Нейтральные (7–8)"),
    ("promoter", "Сторонники (9–10)"),
    ("no_answer", "Не отвечали за год"),
)
ALL_MANAGERS = "all"

TRENDS = (
    ("items_count", "Обращения", "шт."),
    ("complaints_count", "Жалобы", "шт."),
    ("nps", "NPS", "−100…100"),
    ("sla_close_24h_compliance_rate", "Закрыто за 24 часа", "доля"),
)
DIRECTORATE_TRENDS = (("complaints_count", "Жалобы", "шт."), ("nps", "NPS", "−100…100"))
CAUSES = "marts.growth_point_causes_monthly"
CAUSES_SHOWN = 3
ATTRIBUTES = {
    "channel": "Канал",
    "store": "Магазин",
    "region": "Регион",
    "segment": "Сегмент клиентов",
    "browser": "Браузер",
    "os": "Операционная система",
    "app_version": "Версия приложения",
}
GROWTH_BASIS = {"mom": "к прошлому месяцу", "yoy": "к году ранее", "mom_and_yoy": "к прошлому месяцу и к году ранее"}


def _delta(column: str, now: Any, before: Any, better: str | None) -> dict[str, str] | None:
    """An arrow and the change, in points for rates; None when either side is unknown."""
    if now is None or before is None:
        return None
    change = now - before
    rate = is_rate(column)
    if isinstance(change, int):
        text = format_int(abs(change)) if change >= 0 else format_int(change)
    else:
        text = format_decimal(change * 100 if rate else float(change)) + (" п. п." if rate else "")
    arrow = "▲" if change > 0 else "▼" if change < 0 else "="
    tone = "flat" if change == 0 or better is None else "good" if (change > 0) == (better == "higher") else "bad"
    return {"arrow": arrow, "text": text if change <= 0 else "+" + text, "tone": tone}


def _history(snapshot: Snapshot, kpi: Kpi, directorate_id: str) -> dict[date, dict[str, Any]]:
    """The KPI's rows of one directorate (or the company), by month."""
    frame = snapshot.table(f"marts.{kpi.mart}")
    rows = rows_where(frame, directorate_id=directorate_id, **kpi.where)
    return {r["report_month"]: r for r in rows}


def _kpis(
    snapshot: Snapshot, links: FigureLinks, kpis: tuple[Kpi, ...], directorate_id: str, month: date
) -> list[dict[str, Any]]:
    """Every KPI with its value, its n, and its change month on month and year on year."""
    shown = []
    for kpi in kpis:
        if kpi.company_only and directorate_id != COMPANY_DIRECTORATE_ID:
            continue
        history = _history(snapshot, kpi, directorate_id)
        now = history.get(month)
        value = None if now is None else now.get(kpi.column)
        before = (history.get(add_months(month, -1)) or {}).get(kpi.column)
        year_ago = (history.get(add_months(month, -12)) or {}).get(kpi.column)
        n = None if now is None or kpi.n is None else now.get(kpi.n)
        shown.append(
            {
                "label": kpi.label,
                "value": links.cell(f"marts.{kpi.mart}", now, kpi.column),
                "unit": kpi.unit if value is not None else "",
                "n": None if kpi.n is None else format_int(n or 0),
                "small": n is not None and 0 < n < SMALL_SAMPLE_ANSWERS,
                "mom": _delta(kpi.column, value, before, kpi.better),
                "yoy": _delta(kpi.column, value, year_ago, kpi.better),
            }
        )
    return shown


def _trend_charts(rows_by_month: dict[date, dict[str, Any]], months: list[date], trends: tuple) -> list[str]:
    charts = []
    for column, title, unit in trends:
        points = [(m, (rows_by_month.get(m) or {}).get(column)) for m in months]
        if column.endswith("_rate"):
            points = [(m, None if v is None else 100 * v) for m, v in points]
            unit = "%"
        charts.append(trend_svg(points, title=title, y_title=unit))
    return charts


def _quotes(snapshot: Snapshot, links: FigureLinks, table: str, row: dict[str, Any], n: int) -> list[dict[str, Any]]:
    """Up to n complaints that stand for the figure's items (transforms/review/voices.py), each linked."""
    figure = links.figure(table, row, "complaints_count")
    chosen = representative(snapshot.drill.items_of(figure), n)
    return [{**item, "href": links.item_href(item["feedback_id"])} for item in chosen]


def _top_types(
    snapshot: Snapshot, links: FigureLinks, directorate_id: str, month: date, settings: ReviewSettings
) -> list[dict[str, Any]]:
    """The month's complaint types with most complaints, with the month before, a year before, and quotes."""
    rows = rows_where(snapshot.table(COMPLAINTS_BY_TYPE), directorate_id=directorate_id)
    counts: dict[str, dict[date, dict[str, Any]]] = {}
    for row in rows:
        counts.setdefault(row["feedback_type_id"], {})[row["report_month"]] = row
    table = []
    for by_month in counts.values():
        now = by_month.get(month)
        if not now or not now["complaints_count"]:
            continue
        table.append(
            {
                "label": now["feedback_type_label"],
                "row": now,
                "now": now["complaints_count"],
                "previous": (by_month.get(add_months(month, -1)) or {}).get("complaints_count", 0),
                "year_ago": (by_month.get(add_months(month, -12)) or {}).get("complaints_count", 0),
            }
        )
    top = sorted(table, key=lambda e: (-e["now"], e["row"]["feedback_type_id"]))[: settings.monthly.top_types]
    for entry in top:
        entry["quotes"] = _quotes(snapshot, links, COMPLAINTS_BY_TYPE, entry["row"], settings.monthly.verbatims)
    return top


def _growth_points(
    snapshot: Snapshot,
    links: FigureLinks,
    directorate_id: str | None,
    month: date,
    settings: ReviewSettings,
    quoted: int | None = None,
) -> list[dict[str, Any]]:
    """The month's growth points by the mart's own rule (feedback_type_monthly.is_growth_point), in its rank
    order; the company's are every directorate's. Only the first ``quoted`` (all when None) get quotes."""
    where: dict[str, Any] = {"report_month": month}
    if directorate_id is not None:
        where["directorate_id"] = directorate_id
    rows = [r for r in rows_where(snapshot.table(FEEDBACK_TYPES), **where) if r.get("is_growth_point")]
    rows.sort(key=lambda r: (r.get("growth_rank") or 0, r["feedback_type_id"], r["directorate_id"]))
    points = []
    for position, row in enumerate(rows):
        with_quotes = quoted is None or position < quoted
        points.append(
            {
                "row": row,
                "basis": GROWTH_BASIS.get(row.get("growth_basis") or "", row.get("growth_basis") or ""),
                "now": links.cell(FEEDBACK_TYPES, row, "complaints_count"),
                "quotes": _quotes(snapshot, links, FEEDBACK_TYPES, row, settings.monthly.verbatims)
                if with_quotes
                else [],
                "causes": _causes(snapshot, row) if with_quotes else [],
                "brief": not with_quotes,
            }
        )
    return points


def _causes(snapshot: Snapshot, point: dict[str, Any]) -> list[dict[str, Any]]:
    """The growth point's top root-cause findings (marts.growth_point_causes_monthly), in plain words."""
    rows = rows_where(
        snapshot.table(CAUSES),
        report_month=point["report_month"],
        feedback_type_id=point["feedback_type_id"],
        directorate_id=point["directorate_id"],
    )
    shown = []
    for row in sorted(rows, key=lambda r: r["cause_rank"])[:CAUSES_SHOWN]:
        before = (
            "раньше таких жалоб не было"
            if row["is_new_slice"]
            else f"за три месяца до этого {format_percent(row['baseline_share'], 0)}, "
            f"в {format_decimal(row['lift'])} раза больше"
        )
        shown.append(
            {
                "attribute": ATTRIBUTES.get(row["attribute"], row["attribute"]),
                "value": row["attribute_value"],
                "text": f"{format_int(row['complaints_count'])} из {format_int(row['complaints_total'])} жалоб "
                f"({format_percent(row['complaints_share'], 0)}); {before}",
            }
        )
    return shown


def _target(minimum: Any, maximum: Any) -> str:
    """A target in minutes as a manager says it: 5 мин, 1 ч, 24 ч, 2 дн.; a range when the rules differ."""
    if minimum is None:
        return DASH

    def one(minutes: float) -> str:
        if minutes < 60:
            return f"{format_decimal(minutes, 0)} мин"
        if minutes < 48 * 60 or minutes % (24 * 60):
            return f"{format_decimal(minutes / 60, 1 if minutes % 60 else 0)} ч"
        return f"{format_decimal(minutes / 1440, 0)} дн."

    return one(minimum) if maximum in (None, minimum) else f"{one(minimum)} – {one(maximum)}"


def _sla_by_policy(snapshot: Snapshot, links: FigureLinks, directorate_id: str, month: date) -> list[dict[str, Any]]:
    """Each SLA policy with clocks this month, in plain words."""
    rows = rows_where(snapshot.table(SLA_BY_POLICY), report_month=month, directorate_id=directorate_id)
    shown = []
    for row in sorted(rows, key=lambda r: r["sla_policy_id"]):
        if not row.get("clocks_count"):
            continue
        shown.append(
            {
                "policy": row.get("policy_label") or row["sla_policy_id"],
                "target": _target(row.get("target_minutes_min"), row.get("target_minutes_max")),
                "rule_changed": bool(row.get("has_rule_change")),
                "measured": links.cell(SLA_BY_POLICY, row, "measured_count"),
                "breaches": links.cell(SLA_BY_POLICY, row, "breaches_count"),
                "open_breached": format_int(row.get("open_breached_count") or 0),
                "compliance": links.cell(SLA_BY_POLICY, row, "compliance_rate"),
                "small": bool(row.get("is_small_sample")) and bool(row.get("measured_count")),
                "median": _hours(row.get("elapsed_hours_median")),
                "p90": _hours(row.get("elapsed_hours_p90")),
                "running": format_int((row.get("open_ok_count") or 0) + (row.get("at_risk_count") or 0)),
            }
        )
    return shown


def _hours(hours: float | None) -> str:
    if hours is None:
        return DASH
    if hours < 1:
        return f"{format_decimal(hours * 60, 0)} мин"
    return f"{format_decimal(hours, 1)} ч"


def _sla_matrix(snapshot: Snapshot, links: FigureLinks, directorates: list[dict[str, Any]], month: date) -> dict:
    """Compliance by policy (rows) and directorate (columns), the company last: the summary's SLA table."""
    frame = snapshot.table(SLA_BY_POLICY)
    columns = [d["directorate_id"] for d in directorates] + [COMPANY_DIRECTORATE_ID]
    names = {d["directorate_id"]: d["directorate_name"] for d in directorates} | {COMPANY_DIRECTORATE_ID: "Компания"}
    cells: dict[str, dict[str, Any]] = {}
    labels: dict[str, str] = {}
    for row in rows_where(frame, report_month=month):
        if row["directorate_id"] not in names or not row.get("clocks_count"):
            continue
        labels[row["sla_policy_id"]] = row.get("policy_label") or row["sla_policy_id"]
        cells.setdefault(row["sla_policy_id"], {})[row["directorate_id"]] = row
    policies = sorted(cells)
    return {
        "columns": [names[c] for c in columns],
        "rows": [
            {
                "policy": labels[p],
                "cells": [
                    {
                        "value": links.cell(SLA_BY_POLICY, cells[p].get(c), "compliance_rate")
                        if cells[p].get(c)
                        else DASH,
                        "n": format_int((cells[p].get(c) or {}).get("measured_count") or 0),
                    }
                    for c in columns
                ],
            }
            for p in policies
        ],
    }


def _qa(snapshot: Snapshot, links: FigureLinks, directorate_id: str, month: date) -> dict[str, Any] | None:
    """The head's sample checks: the directorate's total and each manager's."""
    rows = rows_where(snapshot.table(QA_RESULTS), report_month=month, directorate_id=directorate_id)
    if not rows:
        return None
    total = next((r for r in rows if r["manager_id"] == ALL_MANAGERS), None)
    managers = sorted((r for r in rows if r["manager_id"] != ALL_MANAGERS), key=lambda r: r["manager_id"])

    def line(row: dict[str, Any], who: str) -> dict[str, Any]:
        return {
            "who": who,
            "sampled": links.cell(QA_RESULTS, row, "sampled_count"),
            "checked": links.cell(QA_RESULTS, row, "checked_count"),
            "passed": links.cell(QA_RESULTS, row, "passed_count"),
            "failed": links.cell(QA_RESULTS, row, "failed_count"),
            "rework_open": links.cell(QA_RESULTS, row, "rework_open_count"),
            "pass_rate": links.cell(QA_RESULTS, row, "pass_rate"),
            "clarity": links.cell(QA_RESULTS, row, "clarity_score_avg") if "clarity_score_avg" in row else None,
        }

    lines = [line(r, r["manager_id"]) for r in managers]
    return {"lines": lines, "total": line(total, "Итого") if total else None}


def _funnel(snapshot: Snapshot, links: FigureLinks, directorate_id: str, month: date) -> list[dict[str, Any]] | None:
    """Close the loop: asked to be contacted → contacted within 1 h → under review → resolved → surveyed."""
    rows = rows_where(
        snapshot.table(CLOSE_THE_LOOP), report_month=month, directorate_id=directorate_id, manager_id=ALL_MANAGERS
    )
    if not rows:
        return None
    row = rows[0]
    requested = row.get("contact_requested_count") or 0
    stages = (
        ("Просили связаться", "contact_requested_count"),
        ("Связались в течение часа", "contacted_within_1h_count"),
        ("Передано на проверку (эскалация)", "under_review_count"),
        ("Решено и закрыто", "resolved_count"),
        ("Ответили на итоговый опрос", "final_survey_answered_count"),
    )
    funnel = []
    for title, column in stages:
        if column not in row:
            continue
        count = row.get(column) or 0
        funnel.append(
            {
                "stage": title,
                "count": links.cell(CLOSE_THE_LOOP, row, column),
                "share": format_percent(count / requested) if requested else DASH,
            }
        )
    funnel.append(
        {
            "stage": "tNPS итогового опроса",
            "count": links.cell(CLOSE_THE_LOOP, row, "tnps"),
            "share": f"n = {format_int(row.get('tnps_answers_count') or 0)}",
        }
    )
    funnel.append(
        {
            "stage": "CES: вопрос решён",
            "count": links.cell(CLOSE_THE_LOOP, row, "ces_rate"),
            "share": f"n = {format_int(row.get('ces_answers_count') or 0)}",
        }
    )
    return funnel


def _customers(snapshot: Snapshot, links: FigureLinks, month: date) -> dict[str, Any] | None:
    """Customer segments and churn: the CRM's customer base by segment beside its feedback, and the
    churn of detractors against promoters over the twelve months up to the month."""
    segments = rows_where(snapshot.table(SEGMENTS), report_month=month)
    if not segments:
        return None
    order = list(SEGMENT_NAMES)
    segments.sort(key=lambda r: (order.index(r["segment"]) if r["segment"] in order else len(order), r["segment"]))
    lines = [
        {
            "segment": SEGMENT_NAMES.get(r["segment"], r["segment"]),
            "at_start": links.cell(SEGMENTS, r, "customers_at_start_count"),
            "new": links.cell(SEGMENTS, r, "customers_new_count"),
            "refused": links.cell(SEGMENTS, r, "customers_refused_count"),
            "churned": links.cell(SEGMENTS, r, "customers_churned_count"),
            "churn_rate": links.cell(SEGMENTS, r, "churn_rate"),
            "feedback": links.cell(SEGMENTS, r, "items_count"),
            "complaints": links.cell(SEGMENTS, r, "complaints_count"),
            "nps": links.cell(SEGMENTS, r, "nps"),
            "nps_n": format_int(r["nps_answers_count"]),
            "csi": links.cell(SEGMENTS, r, "csi"),
            "small": bool(r["is_nps_small_sample"]),
        }
        for r in segments
        if r["customers_at_start_count"] or r["items_count"]
    ]
    groups = {r["nps_group"]: r for r in rows_where(snapshot.table(CHURN_BY_NPS), report_month=month)}
    churn = [
        {
            "group": label,
            "customer_months": links.cell(CHURN_BY_NPS, groups[g], "customers_at_start_12m_count"),
            "lost": links.cell(CHURN_BY_NPS, groups[g], "customers_lost_12m_count"),
            "rate": links.cell(CHURN_BY_NPS, groups[g], "churn_rate_12m", format_percent(groups[g]["churn_rate_12m"])),
            "ratio": format_decimal(groups[g]["churn_rate_12m_to_promoters"]),
            "month_lost": links.cell(CHURN_BY_NPS, groups[g], "customers_lost_count"),
            "month_rate": links.cell(CHURN_BY_NPS, groups[g], "churn_rate"),
        }
        for g, label in NPS_GROUPS
        if g in groups
    ]
    detractors, promoters = groups.get("detractor"), groups.get("promoter")
    verdict = _churn_verdict(detractors, promoters) if detractors and promoters else None
    return {"lines": lines, "churn": churn, "verdict": verdict}


def _churn_verdict(detractors: dict[str, Any], promoters: dict[str, Any]) -> str | None:
    """The sentence above the churn table: how many times more (or less) often detractors left than
    promoters over the twelve months; None when the promoters lost nobody (the ratio is null)."""
    ratio = detractors["churn_rate_12m_to_promoters"]
    if ratio is None:
        return None
    rates = (
        f"{format_percent(detractors['churn_rate_12m'])} против {format_percent(promoters['churn_rate_12m'])} "
        "клиентов в месяц."
    )
    if ratio == 0:
        # No detractor left while promoters did (a short history, few detractors): there is no
        # "times less often" to state, only that they stayed.
        return f"За 12 месяцев ни один критик не ушёл, а сторонники уходили: {rates}"
    how = f"в {format_decimal(ratio)} раза чаще" if ratio >= 1 else f"в {format_decimal(1 / ratio)} раза реже"
    return f"За 12 месяцев критики уходили {how} сторонников: {rates}"


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
    kpis = settings.monthly.kpis
    sections = []
    for row in directorates:
        directorate_id = row["directorate_id"]
        sections.append(
            {
                "row": row,
                "kpis": _kpis(snapshot, links, kpis, directorate_id, month),
                "charts": _trend_charts(_by_month(mart, directorate_id), months, DIRECTORATE_TRENDS),
                "top_types": _top_types(snapshot, links, directorate_id, month, settings),
                "growth": _growth_points(snapshot, links, directorate_id, month, settings),
                "sla": _sla_by_policy(snapshot, links, directorate_id, month),
                "qa": _qa(snapshot, links, directorate_id, month),
                "funnel": _funnel(snapshot, links, directorate_id, month),
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
            company_kpis=_kpis(snapshot, links, kpis, COMPANY_DIRECTORATE_ID, month),
            company_charts=_trend_charts(company_history, months, TRENDS),
            company_growth=_growth_points(snapshot, links, None, month, settings, quoted=settings.monthly.top_types),
            company_sla=_sla_matrix(snapshot, links, directorates, month),
            company_qa=_qa(snapshot, links, COMPANY_DIRECTORATE_ID, month),
            company_funnel=_funnel(snapshot, links, COMPANY_DIRECTORATE_ID, month),
            company_customers=_customers(snapshot, links, month),
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
