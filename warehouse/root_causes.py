"""Root causes of any figure: which attribute slices its items are over-represented in, against the
items of the same figure in the months before.

``otklik explain MART --month M --metric C --key ... --causes`` answers a manager's "why did this
grow?" for any figure with item-level lineage (warehouse.lineage): the figure's items this month
are compared with the same figure's items (the same mart row's key) over the three months before,
slice by slice, for every attribute of core.int_feedback_attributes (channel, store, region,
customer segment, browser, operating system, app version from the user agent); an SLA clock is described by
its case's department, manager and priority and by the attributes of the item that opened the case.
A slice is a finding by the same rule as marts.growth_point_causes_monthly (the macro
``is_root_cause`` of transforms/sql/metrics.sql): at least 5 items this month and a share at least
1.5 times its earlier share, or new. Findings are ranked by excess items, the items beyond what the
earlier share predicts.
"""

from dataclasses import dataclass

import duckdb
import polars as pl

from transforms.metrics import create_metric_macros
from transforms.review.periods import add_months, month_period
from warehouse.lineage import Explanation, LineageError, explain_figure

BASELINE_MONTHS = 3

ATTRIBUTE_LABELS = {
    "channel": "channel",
    "store": "store",
    "region": "region",
    "segment": "customer segment",
    "browser": "browser",
    "os": "operating system",
    "app_version": "app version",
    "department_id": "department",
    "manager_id": "manager",
    "priority": "priority",
}

_DESCRIBED = {
    "feedback": """
        select items.period, a.channel, a.store, a.region, a.segment, a.browser, a.os, a.app_version
        from _cause_items as items
        join core.int_feedback_attributes as a on a.feedback_id = items.item_id
    """,
    # a clock's item_id is "case_id|sla_policy_id" (warehouse.lineage)
    "sla_clock": """
        select items.period, a.channel, a.store, a.region, a.segment, a.browser, a.os, a.app_version,
            c.department_id, c.manager_id, c.priority
        from _cause_items as items
        join core.fct_cases as c on c.case_id = split_part(items.item_id, '|', 1)
        left join core.int_feedback_attributes as a on a.feedback_id = c.feedback_id
    """,
}

_FINDINGS = """
with

described as ({described}),

slices as (
    unpivot (select * from described)
    on columns(* exclude (period))
    into name attribute value attribute_value
),

counts as (
    select
        attribute,
        attribute_value,
        count(*) filter (where period = 'now') as items_count,
        count(*) filter (where period = 'before') as baseline_items_count
    from slices
    group by all
),

totals as (
    select
        *,
        sum(items_count) over (partition by attribute) as items_total,
        sum(baseline_items_count) over (partition by attribute) as baseline_items_total
    from counts
),

shares as (
    select
        *,
        share(items_count, items_total) as items_share,
        share(baseline_items_count, baseline_items_total) as baseline_share
    from totals
)

select
    attribute,
    attribute_value,
    items_count,
    items_total::bigint as items_total,
    items_share,
    baseline_items_count,
    baseline_items_total::bigint as baseline_items_total,
    baseline_share,
    items_share / nullif(baseline_share, 0) as lift,
    coalesce(baseline_share, 0) = 0 as is_new_slice,
    items_count - items_total * coalesce(baseline_share, 0) as excess_items
from shares
where is_root_cause(items_count, items_share, baseline_share)
order by excess_items desc, attribute, attribute_value
"""


@dataclass(frozen=True)
class RootCauses:
    figure: Explanation
    baseline_months: tuple[str, ...]  # the months compared with, oldest first
    baseline_items: int  # the same figure's items in those months
    findings: pl.DataFrame  # one row per slice that passes the rule, the largest excess first


def _month_label(month: str, offset: int) -> str:
    start = add_months(month_period(month).start, offset)
    return f"{start:%Y-%m}"


def explain_causes(
    con: duckdb.DuckDBPyConnection,
    mart: str,
    *,
    month: str,
    metric: str,
    key: dict[str, str],
    reporting_timezone: str,
    baseline_months: int = BASELINE_MONTHS,
) -> RootCauses:
    """The root-cause findings of ``metric`` of the row of ``mart`` in ``month`` matching ``key``."""
    figure = explain_figure(con, mart, month=month, metric=metric, key=key, reporting_timezone=reporting_timezone)
    months = tuple(_month_label(month, -n) for n in range(baseline_months, 0, -1))
    before: list[str] = []
    for earlier in months:
        try:
            found = explain_figure(
                con, mart, month=earlier, metric=metric, key=figure.key, reporting_timezone=reporting_timezone
            )
        except LineageError:  # no such row that month (no data yet, or nothing to count): no items
            continue
        before.extend(found.items["item_id"].unique().to_list())
    now = figure.items["item_id"].unique().to_list()
    items = pl.DataFrame(
        {"period": ["now"] * len(now) + ["before"] * len(before), "item_id": now + before},
        schema={"period": pl.String, "item_id": pl.String},
    )
    create_metric_macros(con)
    con.register("_cause_items", items)
    try:
        findings = con.execute(_FINDINGS.format(described=_DESCRIBED[figure.item_kind])).pl()
    finally:
        con.unregister("_cause_items")
    return RootCauses(figure=figure, baseline_months=months, baseline_items=len(before), findings=findings)
