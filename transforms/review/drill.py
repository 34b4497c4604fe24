"""Drill-through: which core rows stand behind a figure, as DuckDB SQL.

A figure's items are the rows of its *source* (core.fct_feedback, or core.fct_case_sla for SLA
figures) that (1) fall in the reviewed period, in the reporting timezone, (2) match the row's grain
on every key column the source also has ('all' matches everything, a missing member matches
null) and (3) satisfy the predicate the figure's column stands for. The rules below say which
predicate each column name stands for; a column no rule names has no drill-through (orders, costs).
"""

import re
from dataclasses import dataclass

from transforms.review.tables import COMPANY_MEMBER, MISSING_MEMBERS


@dataclass(frozen=True)
class Source:
    item_kind: str
    table: str
    item_id: str  # SQL over alias i
    local_time: str  # the column placing a row in a period (UTC timestamp)


FEEDBACK = Source("feedback", "core.fct_feedback", "i.feedback_id", "received_at")
SLA_CLOCK = Source("sla_clock", "core.fct_case_sla", "i.case_id || '|' || i.sla_policy_id", "started_at")
SOURCES = (FEEDBACK, SLA_CLOCK)


@dataclass(frozen=True)
class Rule:
    pattern: str  # a full match on the column name
    source: Source
    predicate: str  # SQL over alias i
    requires: tuple[str, ...] = ()  # key columns the table must have for the rule to apply


# The items a feedback figure counts are those whose metric flag (core.fct_feedback, the one place the
# rules of docs/metrics.md live) is set: a figure and its items cannot disagree.
_COUNTED = "i.is_counted_item"
_REPEAT = "i.audience = 'customer' and i.is_conversation_repeat and not i.is_self_service_session"
# The marts judge a clock in its first cycle (a reopen's later cycles are followed under additional
# control, see sla_compliance_monthly.sql), so the items behind an SLA figure are first cycles too.
_FIRST_CYCLE = "i.cycle_number = 1"
_MEASURED = f"{_FIRST_CYCLE} and i.sla_state in ('achieved', 'breached', 'open_breached')"
_ACHIEVED = f"{_FIRST_CYCLE} and i.sla_state = 'achieved'"
_BREACHED = f"{_FIRST_CYCLE} and i.is_breached"


def _kind(kind: str) -> str:
    return f"{_COUNTED} and i.kind = '{kind}'"


def _flag(name: str) -> str:
    return f"i.is_{name}"


def _sla(policy: str, predicate: str) -> str:
    return f"i.sla_policy_id = '{policy}' and {predicate}"


# The SLA column groups of management_monthly name their policy (see its SQL).
_SLA_GROUPS = {"close_24h": "close_within_24h", "first_contact_1h": "first_contact_within_1h"}

RULES: tuple[Rule, ...] = (
    Rule(r"items_count", FEEDBACK, _COUNTED),
    Rule(r"contacts_count", FEEDBACK, "true"),
    Rule(r"complaints_count|complaint_share|complaints_per_1000_orders", FEEDBACK, _kind("complaint")),
    Rule(r"wishes_count", FEEDBACK, _kind("wish")),
    Rule(r"thanks_count", FEEDBACK, _kind("thanks")),
    Rule(r"questions_count", FEEDBACK, _kind("question")),
    Rule(r"other_count", FEEDBACK, _kind("other")),
    Rule(r"unclassified_count", FEEDBACK, _kind("unclassified")),
    Rule(r"conversation_repeats_count", FEEDBACK, _REPEAT),
    *(
        Rule(rf"{question}|{question}_answers_count|{question}_ci_low|{question}_ci_high", FEEDBACK,
             _flag(f"{question}_answer"))
        for question in ("nps", "tnps", "enps")
    ),
    *(
        Rule(rf"({question}_)?{group}s_count" if question == "nps" else rf"{question}_{group}s_count", FEEDBACK,
             _flag(f"{question}_{group}"))
        for question in ("nps", "tnps", "enps")
        for group in ("promoter", "passive", "detractor")
    ),
    Rule(r"csi|csi_answers_count", FEEDBACK, _flag("nps_answer")),
    Rule(r"csi_high_count", FEEDBACK, _flag("csi_high")),
    Rule(r"csi_low_count", FEEDBACK, _flag("csi_low")),
    Rule(r"csat|csat_answers_count", FEEDBACK, _flag("csat_answer")),
    Rule(r"csat_satisfied_count", FEEDBACK, _flag("csat_satisfied")),
    Rule(r"ces_rate|ces_answers_count", FEEDBACK, _flag("ces_answer")),
    Rule(r"ces_solved_count", FEEDBACK, _flag("ces_solved")),
    Rule(r"ces_effort|effort_answers_count", FEEDBACK, _flag("effort_answer")),
    Rule(r"low_effort_count", FEEDBACK, _flag("low_effort")),
    Rule(r"rating_mean|rating_answers_count", FEEDBACK, _flag("rating_answer")),
    Rule(r"self_service_sessions_count", FEEDBACK, _flag("self_service_session")),
    Rule(r"self_service_resolved_count", FEEDBACK, _flag("self_service_resolved")),
    *(
        rule
        for group, policy in _SLA_GROUPS.items()
        for rule in (
            Rule(rf"sla_{group}_(measured_count|compliance_rate)", SLA_CLOCK, _sla(policy, _MEASURED)),
            Rule(rf"sla_{group}_achieved_count", SLA_CLOCK, _sla(policy, _ACHIEVED)),
            Rule(rf"sla_{group}_breached_count", SLA_CLOCK, _sla(policy, _BREACHED)),
        )
    ),
    # tables keyed by policy (the SLA mart, the weekly breaches)
    Rule(r"(sla_)?(measured_count|compliance_rate)", SLA_CLOCK, _MEASURED, requires=("sla_policy_id",)),
    Rule(r"(sla_)?achieved_count", SLA_CLOCK, _ACHIEVED, requires=("sla_policy_id",)),
    Rule(r"(sla_)?breached_count|breaches_count", SLA_CLOCK, _BREACHED, requires=("sla_policy_id",)),
    # all policies together (the weekly summary)
    Rule(r"sla_measured_count", SLA_CLOCK, _MEASURED),
    Rule(r"sla_breached_count", SLA_CLOCK, _BREACHED),
)  # fmt: skip


def rule_for(column: str, key_columns: tuple[str, ...]) -> Rule | None:
    for rule in RULES:
        if re.fullmatch(rule.pattern, column) and all(k in key_columns for k in rule.requires):
            return rule
    return None


def _quote(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'


def _literal(text: str) -> str:
    return text.replace("'", "''")


def _key_match(column: str) -> str:
    q = _quote(column)
    missing = ", ".join(f"'{m}'" for m in MISSING_MEMBERS)
    return f"(m.{q} = '{COMPANY_MEMBER}' or i.{q} = m.{q} or (i.{q} is null and m.{q} in ({missing})))"


def figure_items_sql(
    rows_view: str,
    table: str,
    column: str,
    rule: Rule,
    key_columns: tuple[str, ...],
    source_columns: set[str],
    source_table: str | None = None,
) -> str:
    """One select of (figure_id, item_kind, item_id) for every row of ``rows_view`` whose ``column`` is
    not null. Parameters: 1 and 2 are the period's local [start, end), 3 the reporting timezone.
    ``source_table``: the rule's source table, or a table holding its rows of the period (publishing)."""
    joins = [_key_match(k) for k in key_columns if k in source_columns and k != "report_month"]
    time = f"timezone(?3, i.{rule.source.local_time})"
    conditions = [f"{time} >= ?1", f"{time} < ?2", f"({rule.predicate})", *joins]
    figure = f"'{_literal(table)}|' || m._row_key || '|{_literal(column)}'"
    return (
        f"select distinct {figure} as figure_id, '{rule.source.item_kind}' as item_kind,"
        f" {rule.source.item_id} as item_id"
        f" from {rows_view} as m join {source_table or rule.source.table} as i on {' and '.join(conditions)}"
        f" where m.{_quote(column)} is not null"
    )
