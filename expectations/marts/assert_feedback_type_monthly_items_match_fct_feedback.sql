-- table: marts.feedback_type_monthly
-- severity: critical
-- why: the types' rows of a month must add up to that month's customer items and repeats in core.fct_feedback, and each previous-month figure to that month's row
-- Every item counts under one (type, directorate) pair; a type missing from the taxonomy counts as
-- 'unclassified'. The month-on-month comparison must read the previous month's own count. Returns
-- one row per month whose totals differ, or per pair whose previous-month count is wrong.

with

feedback as (
    select * from core.fct_feedback
    where audience = 'customer' and not is_self_service_session
),

mart as (
    select * from marts.feedback_type_monthly
),

core_totals as (
    select
        received_month as report_month,
        count(*) filter (where not is_conversation_repeat) as core_items,
        count(*) filter (where is_conversation_repeat) as core_repeats
    from feedback
    group by all
),

mart_totals as (
    select
        report_month,
        sum(items_count) as mart_items,
        sum(conversation_repeats_count) as mart_repeats
    from mart
    group by all
),

totals as (
    select
        coalesce(mart_totals.report_month, core_totals.report_month) as report_month,
        null as feedback_type_id,
        null as directorate_id,
        coalesce(core_totals.core_items, 0) as core_items,
        coalesce(mart_totals.mart_items, 0) as mart_items,
        coalesce(core_totals.core_repeats, 0) as core_repeats,
        coalesce(mart_totals.mart_repeats, 0) as mart_repeats
    from mart_totals
    full outer join core_totals
        on mart_totals.report_month = core_totals.report_month
    where
        coalesce(core_totals.core_items, 0) <> coalesce(mart_totals.mart_items, 0)
        or coalesce(core_totals.core_repeats, 0) <> coalesce(mart_totals.mart_repeats, 0)
),

-- a pair's previous-month count against that month's row (a missing row means 0 complaints)
wrong_comparisons as (
    select
        this_month.report_month,
        this_month.feedback_type_id,
        this_month.directorate_id,
        this_month.complaints_prev_month_count as core_items,
        coalesce(prev_month.complaints_count, 0) as mart_items,
        null as core_repeats,
        null as mart_repeats
    from mart as this_month
    left join mart as prev_month
        on
            prev_month.report_month = this_month.report_month - interval 1 month
            and this_month.feedback_type_id = prev_month.feedback_type_id
            and this_month.directorate_id = prev_month.directorate_id
    where this_month.complaints_prev_month_count <> coalesce(prev_month.complaints_count, 0)
),

final as (
    select * from totals
    union all
    select * from wrong_comparisons
)

select * from final
order by report_month
