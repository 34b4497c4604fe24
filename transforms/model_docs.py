"""docs/marts.md, written from the marts' specs (``transforms/sql/marts/*.yml``) and their intro (``marts.intro.md``).

``otklik docs`` writes it; ``tests/transforms/test_model_docs.py`` fails when the committed file
differs from what the specs say, so the reference cannot drift from the models.
"""

from __future__ import annotations

from pathlib import Path

from transforms.model_specs import ModelSpec, load_spec, specified_models

PROJECT_ROOT = Path(__file__).resolve().parent.parent
MARTS_DOC = PROJECT_ROOT / "docs" / "marts.md"
ASSERTIONS_DIR = PROJECT_ROOT / "expectations" / "marts"

# The order a reader meets them in; a mart not listed follows, by name.
READING_ORDER = (
    "management_monthly",
    "sla_compliance_monthly",
    "owner_monthly",
    "store_monthly",
    "channel_monthly",
    "feedback_type_monthly",
    "complaints_by_type_monthly",
    "close_the_loop_monthly",
    "qa_results_monthly",
    "growth_point_causes_monthly",
    "customer_segments_monthly",
    "churn_by_nps_group_monthly",
    "weekly_summary",
    "weekly_type_complaints",
    "weekly_sla_breaches",
    "weekly_reopened_cases",
    "channel_freshness",
)

# The hand-written part: what every mart shares and the scope decisions, in markdown.
INTRO = PROJECT_ROOT / "transforms" / "sql" / "marts" / "marts.intro.md"
GENERATED = "<!-- Written by `otklik docs` from transforms/sql/marts/marts.intro.md and *.yml; edit those. -->"

CONFIG_WORDS = {
    "directorate": "a directorate of org.yaml or `unassigned`",
    "directorate_or_all": "a directorate of org.yaml, `unassigned` or `all`",
    "department": "a department of org.yaml or `unassigned`",
    "manager": "a manager of org.yaml or `unassigned`",
    "store": "a store of org.yaml or `unknown`",
    "channel": "a channel of channels.yaml or `unknown`",
    "feedback_type": "a type of the taxonomy or `unclassified`",
}
CHECK_WORDS = {
    "not_null": "not null",
    "count": "count ≥ 0",
    "share": "0–1",
    "score": "−100…100",
    "not_negative": "≥ 0",
}


def _check_text(check: str | dict) -> str:
    if isinstance(check, str):
        return CHECK_WORDS[check]
    key = next(k for k in check if k not in ("why", "severity"))
    argument = check[key]
    suffix = " (warning)" if check.get("severity") == "warning" else ""
    if key == "in":
        values = (str(v).lower() if isinstance(v, bool) else v for v in argument)
        return "one of " + ", ".join(f"`{v}`" for v in values) + suffix
    if key == "in_config":
        return CONFIG_WORDS[argument] + suffix
    if key == "at_most":
        return f"≤ `{argument}`{suffix}"
    if key == "contains":
        return "includes " + ", ".join(f"`{v}`" for v in argument) + suffix
    low, high = argument
    return f"{'' if low is None else low}…{'' if high is None else high}{suffix}"


def _assertion_why(name: str) -> str:
    path = ASSERTIONS_DIR / f"{name}.sql"
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.startswith("-- why:"):
            return line.removeprefix("-- why:").strip()
    return ""


def _one_line(text: str) -> str:
    return " ".join(text.split())


def mart_section(name: str, spec: ModelSpec) -> str:
    lines = [
        f"## {name}",
        "",
        _one_line(spec.description),
        "",
        f"**Grain:** {' × '.join(f'`{c}`' for c in spec.grain)}. {_one_line(spec.rows)}",
        "",
        "| column | meaning | checked |",
        "| --- | --- | --- |",
    ]
    for column, column_spec in spec.columns.items():
        checks = "; ".join(_check_text(c) for c in column_spec.checks)
        lines.append(f"| `{column}` | {_one_line(column_spec.description)} | {checks} |")
    if spec.row_rules or spec.reconciliations:
        lines += ["", "Also checked:", ""]
        lines += [f"- `{rule.holds}`: {_one_line(rule.why)}" for rule in spec.row_rules]
        lines += [f"- `{name}.sql`: {_assertion_why(name)}" for name in spec.reconciliations]
    return "\n".join(lines)


def marts_reference() -> str:
    """The text of docs/marts.md."""
    names = specified_models("marts")
    ordered = [n for n in READING_ORDER if n in names] + sorted(set(names) - set(READING_ORDER))
    sections = [mart_section(name, load_spec("marts", name)) for name in ordered]
    title, rest = INTRO.read_text(encoding="utf-8").split("\n", 1)
    return "\n\n".join([f"{title}\n\n{GENERATED}\n{rest}".rstrip(), "# The marts", *sections]) + "\n"


def write_marts_reference(path: Path = MARTS_DOC) -> Path:
    path.write_text(marts_reference(), encoding="utf-8")
    return path
