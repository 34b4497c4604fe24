-- sla_compliance_monthly: SLA compliance per policy, by directorate and for the company, per month.
-- Grain: (report_month, directorate_id, sla_policy_id): every directorate of core.dim_directorates
-- (incl. 'unassigned') and the company row 'all' (is_company_total), for every policy of
-- core.dim_sla_policies, for every month with a clock; and a policy found only on clocks, in the months
-- of its clocks. A month's rows read only that month's clocks (a build brings only the months whose clocks
-- changed up to date: transforms/incremental.py).
-- Months are the clock's start month (reporting timezone). A clock is judged once, in its first
-- cycle; a reopen restarting the clock is counted in later_cycles_count. Measured clocks are the
-- decided ones (achieved, breached, open_breached): a breach counts from the moment it happens, even
-- while the case is still open. The boundary rule (docs/sla.md): a clock is achieved while its
-- elapsed time in the policy's calendar is at most its target. A thin mart over core.fct_sla_monthly.
-- Columns: transforms/sql/marts/sla_compliance_monthly.yml.

with

clocks as (
    select * from core.fct_sla_monthly
),

clock_times as (
    select * from core.fct_case_sla
    where cycle_number = 1 and sla_state in ('achieved', 'breached')
),

sla_policies as (
    select * from core.dim_sla_policies
    where sla_policy_id <> 'unknown'
),

directorates as (
    select * from core.dim_directorates
),

months as (
    select distinct report_month from clocks
),

policies as (
    select
        sla_policy_id,
        arg_max(policy_label, valid_from) as policy_label
    from sla_policies
    group by all
),

-- every policy in every month with a clock, and a policy found only on clocks in the months of its clocks
month_policies as (
    select
        months.report_month,
        policies.sla_policy_id,
        policies.policy_label
    from months
    cross join policies
    union all
    select distinct
        clocks.report_month,
        clocks.sla_policy_id,
        null
    from clocks
    anti join sla_policies
        on clocks.sla_policy_id = sla_policies.sla_policy_id
),

-- the rules of each policy in force during each month: the targets as they are (a rule may give
-- different targets per priority, type or class), and whether the rule changed within the month
month_rules as (
    select
        months.report_month,
        sla_policies.sla_policy_id,
        min(sla_policies.target_minutes_min) as target_minutes_min,
        max(sla_policies.target_minutes_max) as target_minutes_max,
        count(*) > 1 as has_rule_change
    from months
    inner join sla_policies
        on
            sla_policies.valid_from < months.report_month + interval 1 month
            and (sla_policies.valid_to is null or months.report_month < sla_policies.valid_to)
    group by all
),

grid as (
    select
        month_policies.report_month,
        directorates.directorate_id,
        directorates.directorate_name,
        false as is_company_total,
        month_policies.sla_policy_id,
        month_policies.policy_label
    from month_policies
    cross join directorates
    union all
    select
        report_month,
        'all',
        'Вся компания',
        true,
        sla_policy_id,
        policy_label
    from month_policies
),

clock_figures as (
    select
        report_month,
        case when grouping(directorate_id) = 1 then 'all' else directorate_id end as directorate_id,
        sla_policy_id,
        sum(clocks_count) filter (where is_first_cycle)::bigint as clocks_count,
        sum(not_started_count) filter (where is_first_cycle)::bigint as not_started_count,
        sum(open_ok_count) filter (where is_first_cycle)::bigint as open_ok_count,
        sum(at_risk_count) filter (where is_first_cycle)::bigint as at_risk_count,
        sum(achieved_count) filter (where is_first_cycle)::bigint as achieved_count,
        sum(breached_count) filter (where is_first_cycle)::bigint as breached_count,
        sum(open_breached_count) filter (where is_first_cycle)::bigint as open_breached_count,
        sum(clocks_count) filter (where not is_first_cycle)::bigint as later_cycles_count
    from clocks
    group by grouping sets ((report_month, directorate_id, sla_policy_id), (report_month, sla_policy_id))
),

-- start-to-stop time of stopped first-cycle clocks in the policy's calendar; the company pools them
time_figures as (
    select
        report_month,
        case when grouping(directorate_id) = 1 then 'all' else directorate_id end as directorate_id,
        sla_policy_id,
        median(elapsed_minutes / 60) as elapsed_hours_median,
        quantile_cont(elapsed_minutes / 60, 0.9) as elapsed_hours_p90
    from clock_times
    group by grouping sets ((report_month, directorate_id, sla_policy_id), (report_month, sla_policy_id))
),

counted as (
    select
        grid.*,
        month_rules.target_minutes_min,
        month_rules.target_minutes_max,
        coalesce(month_rules.has_rule_change, false) as has_rule_change,
        coalesce(columns(clock_figures.* exclude (report_month, directorate_id, sla_policy_id)), 0),
        time_figures.elapsed_hours_median,
        time_figures.elapsed_hours_p90
    from grid
    left join month_rules
        on
            grid.report_month = month_rules.report_month
            and grid.sla_policy_id = month_rules.sla_policy_id
    left join clock_figures
        on
            grid.report_month = clock_figures.report_month
            and grid.directorate_id = clock_figures.directorate_id
            and grid.sla_policy_id = clock_figures.sla_policy_id
    left join time_figures
        on
            grid.report_month = time_figures.report_month
            and grid.directorate_id = time_figures.directorate_id
            and grid.sla_policy_id = time_figures.sla_policy_id
),

final as (
    select
        -- grain
        report_month,
        directorate_id,
        directorate_name,
        is_company_total,
        sla_policy_id,
        policy_label,
        target_minutes_min,
        target_minutes_max,
        has_rule_change,

        -- clocks by state
        clocks_count,
        not_started_count,
        open_ok_count,
        at_risk_count,
        achieved_count,
        breached_count,
        open_breached_count,

        -- compliance
        achieved_count + breached_count + open_breached_count as measured_count,
        breached_count + open_breached_count as breaches_count,
        share(achieved_count, achieved_count + breached_count + open_breached_count) as compliance_rate,
        is_small_sample(achieved_count + breached_count + open_breached_count) as is_small_sample,

        -- times of stopped clocks
        achieved_count + breached_count as stopped_count,
        elapsed_hours_median,
        elapsed_hours_p90,

        later_cycles_count
    from counted
)

select * from final
