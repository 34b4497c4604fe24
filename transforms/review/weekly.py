"""The weekly directorate review (the head of customer service with one directorate): from a snapshot."""

from datetime import date
from typing import Any

from transforms.org import load_org
from transforms.review.format import label
from transforms.review.links import FigureLinks
from transforms.review.render import environment, provenance
from transforms.review.restatement import restatement_view
from transforms.review.snapshot import Snapshot

SECTIONS = (
    ("weekly.top_types", "Главные темы жалоб недели", "Жалоб за неделю нет."),
    ("weekly.systemic_errors", "Системные ошибки", "Системных ошибок не найдено."),
    ("weekly.sla_breaches", "Нарушения SLA", "Обращений с начатым сроком SLA за неделю нет."),
    ("weekly.reopened_cases", "Переоткрытые обращения (не закрыты по-настоящему)", "Переоткрытых обращений нет."),
)
HIDDEN = {"directorate_id", "feedback_type_id"}


def weekly_title(snapshot: Snapshot) -> str:
    period = snapshot.period
    names = {d.id: d.name for d in load_org().directorates}
    scope = "вся компания" if period.scope == "all" else names.get(period.scope, period.scope)
    last = period.end.toordinal() - 1
    return (
        f"Еженедельный обзор: {scope} — неделя {period.label} "
        f"({period.start:%d.%m} — {date.fromordinal(last):%d.%m.%Y})"
    )


def _section(snapshot: Snapshot, links: FigureLinks, table: str) -> dict[str, Any]:
    frame = snapshot.table(table)
    if frame is None:
        return {"columns": [], "rows": []}
    columns = [c for c in frame.columns if c not in HIDDEN]
    return {
        "columns": [label(c) for c in columns],
        "text_columns": [c == "body_text" for c in columns],
        "rows": [[links.cell(table, r, c) for c in columns] for r in frame.to_dicts()],
    }


def render_weekly_review(snapshot: Snapshot, *, company_name: str, items_page: str) -> str:
    links = FigureLinks(snapshot, items_page)
    summary = snapshot.table("weekly.summary")
    row = summary.to_dicts()[0] if summary is not None and summary.height else None
    kpis = [
        {"label": label(c), "value": links.cell("weekly.summary", row, c)}
        for c in ("items_count", "complaints_count", "nps", "sla_measured_count", "sla_breached_count")
    ]
    previous = {c: links.cell("weekly.summary", row, c) for c in ("previous_items_count", "previous_complaints_count")}
    return (
        environment()
        .get_template("weekly.html.j2")
        .render(
            title=weekly_title(snapshot),
            company_name=company_name,
            snapshot=snapshot,
            restatement=restatement_view(snapshot.restatement),
            kpis=kpis,
            previous=previous,
            sections=[
                {"title": title, "empty": empty, **_section(snapshot, links, table)} for table, title, empty in SECTIONS
            ],
            items_page=items_page,
            sources=provenance(snapshot),
        )
    )
