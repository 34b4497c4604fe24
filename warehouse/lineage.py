"""Lineage of a published figure: the items, batches and source files behind one mart cell.

``otklik explain marts.management_monthly --month 2026-10 --key directorate_id=logistics
--metric complaints_count`` answers an auditor's "where does this 5 come from?":

1. the mart row: the month plus enough ``--key`` columns to pin exactly one row of the mart's grain
   (the grain is ``report_month`` and every ``*_id`` column, as the review uses it);
2. the items: the core rows the figure counts, selected by the same drill-through rules the
   published review freezes (``transforms/review/drill.py``), so the review's links and this command
   can never disagree;
3. the batches (``raw.batches``) those items were loaded from, with the landed file, its sha256 and
   where its bytes are archived; for an SLA clock, the batches of the case's CRM events.

A figure with no drill-through rule (orders, costs) is refused with the reason, not answered with
an empty list. For a count, the number of items is checked against the figure and a mismatch is
shown; it would be a bug in a mart or in a drill rule.
"""

from dataclasses import dataclass
from datetime import date

import duckdb
import polars as pl

from transforms.review.drill import Rule, figure_items_sql, rule_for
from transforms.review.periods import Period, local_bounds, month_period
from transforms.review.tables import mart_key_columns, row_key


@dataclass(frozen=True)
class Explanation:
    mart: str
    month: str
    key: dict[str, str]  # the pinned row's grain (report_month excluded)
    metric: str
    value: object
    item_kind: str  # feedback | sla_clock
    items: pl.DataFrame  # one row per item, with its batch
    batches: pl.DataFrame  # one row per batch, with how many of the items came from it

    @property
    def count_matches(self) -> bool | None:
        """For a ``*_count`` figure: does the number of items equal it? None for other figures."""
        if not self.metric.endswith("_count") or self.value is None:
            return None
        return int(self.value) == self.items.height


class LineageError(ValueError):
    """The figure cannot be explained as asked (unknown mart or column, no single row, no rule)."""


def _mart_frame(con: duckdb.DuckDBPyConnection, mart: str, first_day: date) -> pl.DataFrame:
    schema, _, name = mart.rpartition(".")
    schema = schema or "marts"
    known = {
        r[0]
        for r in con.execute("select table_name from information_schema.tables where table_schema = 'marts'").fetchall()
    }
    if schema != "marts" or name not in known:
        raise LineageError(f"unknown mart {mart!r}; the marts are: {', '.join(sorted(known))}")
    columns = {
        r[0]
        for r in con.execute(
            "select column_name from information_schema.columns where table_schema = 'marts' and table_name = ?",
            [name],
        ).fetchall()
    }
    if "report_month" not in columns:
        raise LineageError(f"marts.{name} has no report_month: it is not a monthly mart")
    return con.execute(f'select * from marts."{name}" where report_month = ?', [first_day]).pl()


def _pin_row(frame: pl.DataFrame, mart: str, month: str, key: dict[str, str]) -> tuple[dict, tuple[str, ...]]:
    grain = mart_key_columns(frame) if not frame.is_empty() else ()
    if frame.is_empty():
        raise LineageError(f"{mart} has no rows for {month}")
    unknown = sorted(set(key) - set(grain))
    if unknown:
        raise LineageError(f"{unknown} not in the grain of {mart}; its grain is {', '.join(grain)}")
    rows = frame.filter(*[pl.col(c) == v for c, v in key.items()]) if key else frame
    if rows.height != 1:
        free = [c for c in grain if c != "report_month" and c not in key]
        examples = rows.select(free).unique().head(5).to_dicts() if free else []
        raise LineageError(
            f"{rows.height} rows of {mart} for {month} match {key or 'no key'}: pin the row with --key "
            f"on {', '.join(free)} (e.g. {examples})"
        )
    return rows.to_dicts()[0], grain


def _source_columns(con: duckdb.DuckDBPyConnection, table: str) -> set[str]:
    schema, name = table.split(".")
    rows = con.execute(
        "select column_name from information_schema.columns where table_schema = ? and table_name = ?",
        [schema, name],
    ).fetchall()
    return {r[0] for r in rows}


_FEEDBACK_ITEMS = """
select
    f.feedback_id as item_id,
    strftime(timezone($tz, f.received_at), '%Y-%m-%d %H:%M') as received_local,
    f.channel_id,
    f.kind,
    f.feedback_type_id,
    f.score_raw,
    left(f.body_text, 200) as body_text,
    f._batch_id as batch_id,
    f._record_index as record_index
from core.fct_feedback as f
where f.feedback_id in (select item_id from _lineage_items)
order by f.received_at, f.feedback_id
"""

# An SLA clock is measured on a case: its lineage is the CRM events that started and stopped it.
_SLA_CLOCK_ITEMS = """
select
    s.case_id || '|' || s.sla_policy_id as item_id,
    s.sla_state,
    strftime(timezone($tz, s.started_at), '%Y-%m-%d %H:%M') as started_local,
    strftime(timezone($tz, s.achieved_at), '%Y-%m-%d %H:%M') as achieved_local,
    e._batch_id as batch_id,
    count(*) as events
from core.fct_case_sla as s
join staging.stg_crm__case_events as e on e.case_id = s.case_id
where s.cycle_number = 1  -- the cycle the marts judge (transforms/review/drill.py)
    and s.case_id || '|' || s.sla_policy_id in (select item_id from _lineage_items)
group by all
order by item_id, batch_id
"""

_BATCHES = """
select
    b.batch_id,
    b.channel_id,
    b.source_file,
    b.content_sha256,
    b.archive_path,
    strftime(b.loaded_at, '%Y-%m-%d %H:%M:%S UTC') as loaded_at,
    b.run_id,
    count(distinct i.item_id) as items
from _lineage_item_rows as i
join raw.batches as b on b.batch_id = i.batch_id
group by all
order by loaded_at, b.batch_id
"""


def explain_figure(
    con: duckdb.DuckDBPyConnection,
    mart: str,
    *,
    month: str,
    metric: str,
    key: dict[str, str],
    reporting_timezone: str,
) -> Explanation:
    """The items and batches behind ``metric`` of the one row of ``mart`` in ``month`` matching ``key``."""
    period: Period = month_period(month)
    mart = mart if "." in mart else f"marts.{mart}"
    frame = _mart_frame(con, mart, period.start)
    if metric not in frame.columns:
        raise LineageError(f"{mart} has no column {metric!r}")
    row, grain = _pin_row(frame, mart, month, key)
    rule: Rule | None = rule_for(metric, grain)
    if rule is None:
        raise LineageError(
            f"{metric} of {mart} has no item-level lineage (it is not counted from feedback items or SLA clocks, "
            "e.g. orders or costs come from their own sources)"
        )
    one_row = pl.DataFrame([row]).with_columns(pl.lit(row_key(row, grain)).alias("_row_key"))
    select = figure_items_sql("_lineage_row", mart, metric, rule, grain, _source_columns(con, rule.source.table))
    start, end = local_bounds(period)
    con.register("_lineage_row", one_row)
    try:
        ids = con.execute(f"select item_id from ({select})", [start, end, reporting_timezone]).pl()
    finally:
        con.unregister("_lineage_row")
    con.register("_lineage_items", ids)
    try:
        sql = _FEEDBACK_ITEMS if rule.source.item_kind == "feedback" else _SLA_CLOCK_ITEMS
        items = con.execute(sql, {"tz": reporting_timezone}).pl()
        con.register("_lineage_item_rows", items)
        try:
            batches = con.execute(_BATCHES).pl()
        finally:
            con.unregister("_lineage_item_rows")
    finally:
        con.unregister("_lineage_items")
    if rule.source.item_kind == "sla_clock":  # one row per clock; its batches are listed separately
        items = items.group_by("item_id", "sla_state", "started_local", "achieved_local", maintain_order=True).agg(
            pl.col("batch_id").sort().str.join(", ").alias("batch_id"), pl.col("events").sum()
        )
    return Explanation(
        mart=mart,
        month=month,
        key={c: str(row[c]) for c in grain if c != "report_month"},
        metric=metric,
        value=row[metric],
        item_kind=rule.source.item_kind,
        items=items,
        batches=batches,
    )
