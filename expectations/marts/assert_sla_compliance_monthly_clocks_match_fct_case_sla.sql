-- table: marts.sla_compliance_monthly
-- severity: critical
-- why: every SLA clock of core.fct_case_sla is counted once per month and policy, and the company row equals the directorates' sum
-- A clock counts under its directorate and under the company row 'all', either in clocks_count (its
-- first cycle, by state) or in later_cycles_count. Returns one row per (month, policy) whose core
-- count, directorate sum or company row differ, or whose breaches differ from core's is_breached.

with

case_sla as (
    select * from core.fct_case_sla
),

mart as (
    select * from marts.sla_compliance_monthly
),

core_totals as (
    select
        report_month,
        sla_policy_id,
        count(*) as core_clocks,
        count(*) filter (where is_breached) as core_breached_clocks
    from case_sla
    group by all
),

mart_totals as (
    select
        report_month,
        sla_policy_id,
        sum(clocks_count + later_cycles_count) filter (where directorate_id <> 'all') as directorate_clocks,
        sum(clocks_count + later_cycles_count) filter (where directorate_id = 'all') as company_clocks,
        sum(breaches_count) filter (where directorate_id <> 'all') as directorate_breaches
    from mart
    group by all
),

final as (
    select
        coalesce(mart_totals.report_month, core_totals.report_month) as report_month,
        coalesce(mart_totals.sla_policy_id, core_totals.sla_policy_id) as sla_policy_id,
        coalesce(core_totals.core_clocks, 0) as core_clocks,
        coalesce(mart_totals.directorate_clocks, 0) as directorate_clocks,
        coalesce(mart_totals.company_clocks, 0) as company_clocks,
        coalesce(core_totals.core_breached_clocks, 0) as core_breached_clocks,
        coalesce(mart_totals.directorate_breaches, 0) as directorate_breaches
    from mart_totals
    full outer join core_totals
        on
            mart_totals.report_month = core_totals.report_month
            and mart_totals.sla_policy_id = core_totals.sla_policy_id
)

select * from final
where
    core_clocks <> directorate_clocks
    or core_clocks <> company_clocks
    -- a later cycle may breach too; compare breaches only where every clock is a first cycle
    or (core_breached_clocks <> directorate_breaches and directorate_clocks = (
        select coalesce(sum(clocks_count), 0) from mart
        where
            mart.report_month = final.report_month
            and mart.sla_policy_id = final.sla_policy_id
            and mart.directorate_id <> 'all'
    ))
order by report_month, sla_policy_id
