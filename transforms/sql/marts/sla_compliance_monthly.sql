-- sla_compliance_monthly: SLA compliance per policy, by directorate and for the company, per month.
-- Grain: (report_month, directorate_id, sla_policy_id): every directorate of core.dim_directorates
-- (incl. 'unassigned') and the company row 'all' (is_company_total), for every policy of
-- staging.stg_config__sla_policies (and any policy still found on a clock), for every month with a
-- clock. Months are core.fct_case_sla.report_month (the clock's start, reporting timezone).
-- A clock is counted once, in its first cycle: when core.fct_case_sla has cycle_number, later cycles
-- (a reopen restarting the clock) are shown as later_cycles_count and not judged again.
-- "Measured" are the decided clocks (achieved, breached, open_breached), as in management_monthly:
-- a breach counts from the moment it happens, even while the case is still open.
--
-- Columns:
--   report_month, directorate_id, directorate_name, is_company_total, sla_policy_id, policy_label
--   target_minutes      target of the latest rule of the policy in force during the month
--   has_rule_change     more than one rule of the policy was in force during the month
--   clocks_count        first-cycle clocks started (or anchored) in the month, in any state
--   not_started_count, open_ok_count, at_risk_count: clocks not decided yet
--   achieved_count      stopped within target
--   breached_count      stopped after the target
--   open_breached_count still running past the due time (as of the build's as_of)
--   measured_count      achieved + breached + open_breached
--   breaches_count      breached + open_breached
--   compliance_rate     achieved ÷ measured (null when nothing was measured)
--   is_small_sample     fewer than 30 measured clocks: the rate is shown, flagged
--   stopped_count       clocks that stopped (achieved + breached): the evidence of the times below
--   elapsed_hours_median, elapsed_hours_p90: start-to-stop time of stopped clocks, in the policy's
--                       clock (fct_case_sla.elapsed_minutes); p90 interpolates linearly
--   later_cycles_count  clocks of a second or later cycle (not in the counts above)

with

-- core.fct_case_sla with a cycle_number column whether or not the SLA engine writes one (null: first)
case_sla as (
    select * from core.fct_case_sla
    union all by name
    select null::bigint as cycle_number
    where false
),

sla_policies as (
    select * from staging.stg_config__sla_policies
),

directorates as (
    select * from core.dim_directorates
),

first_cycles as (
    select * from case_sla
    where coalesce(cycle_number, 1) = 1
),

months as (
    select distinct report_month from case_sla
),

policies as (
    select sla_policy_id, arg_max(label, valid_from) as policy_label from sla_policies group by all
    union all
    select distinct case_sla.sla_policy_id, null
    from case_sla
    anti join sla_policies
        on sla_policies.sla_policy_id = case_sla.sla_policy_id
),

-- the rules of each policy that overlap each month
month_rules as (
    select
        months.report_month,
        sla_policies.sla_policy_id,
        arg_max(sla_policies.target_minutes, sla_policies.valid_from) as target_minutes,
        count(*) > 1 as has_rule_change
    from months
    inner join sla_policies
        on sla_policies.valid_from < months.report_month + interval 1 month
        and (sla_policies.valid_to is null or sla_policies.valid_to > months.report_month)
    group by all
),

grid as (
    select
        months.report_month,
        directorates.directorate_id,
        directorates.directorate_name,
        false as is_company_total,
        policies.sla_policy_id,
        policies.policy_label
    from months
    cross join directorates
    cross join policies
    union all
    select months.report_month, 'all', 'Вся компания', true, policies.sla_policy_id, policies.policy_label
    from months
    cross join policies
),

clock_figures as (
    select
        report_month,
        case when grouping(directorate_id) = 1 then 'all' else directorate_id end as directorate_id,
        sla_policy_id,
        count(*) as clocks_count,
        count(*) filter (where sla_state = 'not_started') as not_started_count,
        count(*) filter (where sla_state = 'open_ok') as open_ok_count,
        count(*) filter (where sla_state = 'at_risk') as at_risk_count,
        count(*) filter (where sla_state = 'achieved') as achieved_count,
        count(*) filter (where sla_state = 'breached') as breached_count,
        count(*) filter (where sla_state = 'open_breached') as open_breached_count,
        count(*) filter (where sla_state in ('achieved', 'breached')) as stopped_count,
        median(elapsed_minutes / 60) filter (where sla_state in ('achieved', 'breached')) as elapsed_hours_median,
        quantile_cont(elapsed_minutes / 60, 0.9) filter (
            where sla_state in ('achieved', 'breached')
        ) as elapsed_hours_p90
    from first_cycles
    group by grouping sets ((report_month, directorate_id, sla_policy_id), (report_month, sla_policy_id))
),

later_cycles as (
    select
        report_month,
        case when grouping(directorate_id) = 1 then 'all' else directorate_id end as directorate_id,
        sla_policy_id,
        count(*) as later_cycles_count
    from case_sla
    where cycle_number > 1
    group by grouping sets ((report_month, directorate_id, sla_policy_id), (report_month, sla_policy_id))
),

counted as (
    select
        grid.*,
        month_rules.target_minutes,
        coalesce(month_rules.has_rule_change, false) as has_rule_change,
        coalesce(columns(clock_figures.* exclude (
            report_month, directorate_id, sla_policy_id, elapsed_hours_median, elapsed_hours_p90
        )), 0),
        clock_figures.elapsed_hours_median,
        clock_figures.elapsed_hours_p90,
        coalesce(later_cycles.later_cycles_count, 0) as later_cycles_count
    from grid
    left join month_rules
        on month_rules.report_month = grid.report_month
        and month_rules.sla_policy_id = grid.sla_policy_id
    left join clock_figures
        on clock_figures.report_month = grid.report_month
        and clock_figures.directorate_id = grid.directorate_id
        and clock_figures.sla_policy_id = grid.sla_policy_id
    left join later_cycles
        on later_cycles.report_month = grid.report_month
        and later_cycles.directorate_id = grid.directorate_id
        and later_cycles.sla_policy_id = grid.sla_policy_id
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
        target_minutes,
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
        achieved_count + breached_count + open_breached_count < 30 as is_small_sample,

        -- times of stopped clocks
        stopped_count,
        elapsed_hours_median,
        elapsed_hours_p90,

        later_cycles_count
    from counted
)

select * from final
