-- table: marts.owner_monthly
-- severity: critical
-- why: the owners' rows of a month must add up to that month's customer items and repeats in core.fct_feedback and its opened cases in core.fct_cases
-- Every customer item (self-service sessions apart) counts under exactly one owner (department and manager 'unassigned' when missing), and
-- every case with an opening under its owner and opening month. Returns one row per month whose
-- totals differ.

with

feedback as (
    select * from core.fct_feedback
    where audience = 'customer' and not is_self_service_session
),

cases as (
    select * from core.fct_cases
),

mart as (
    select * from marts.owner_monthly
),

core_months as (
    select
        received_month as report_month,
        count(*) as core_items,
        0 as core_cases
    from feedback
    group by all
    union all
    select
        opened_month,
        0,
        count(*)
    from cases
    where opened_month is not null
    group by all
),

core_totals as (
    select
        report_month,
        sum(core_items) as core_items,
        sum(core_cases) as core_cases
    from core_months
    group by all
),

mart_totals as (
    select
        report_month,
        sum(items_count + conversation_repeats_count) as mart_items,
        sum(cases_count) as mart_cases
    from mart
    group by all
),

final as (
    select
        coalesce(mart_totals.report_month, core_totals.report_month) as report_month,
        coalesce(core_totals.core_items, 0) as core_items,
        coalesce(mart_totals.mart_items, 0) as mart_items,
        coalesce(core_totals.core_cases, 0) as core_cases,
        coalesce(mart_totals.mart_cases, 0) as mart_cases
    from mart_totals
    full outer join core_totals
        on mart_totals.report_month = core_totals.report_month
)

select * from final
where core_items <> mart_items or core_cases <> mart_cases
order by report_month
