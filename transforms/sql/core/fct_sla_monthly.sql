-- fct_sla_monthly: SLA clocks per month, owner and policy, by state; additive counts only.
-- Grain: (report_month, directorate_id, department_id, manager_id, sla_policy_id, is_first_cycle).
-- report_month is the clock cycle's start month (reporting timezone; core.fct_case_sla). A reopened
-- case's later cycles are rows with is_first_cycle false: the marts judge first cycles and show the
-- later ones apart.

with

case_sla as (
    select * from core.fct_case_sla
),

final as (
    select
        -- grain
        report_month,
        directorate_id,
        department_id,
        manager_id,
        sla_policy_id,
        cycle_number = 1 as is_first_cycle,

        -- clocks by state; measured = decided (achieved, breached, open_breached)
        count(*) as clocks_count,
        count(*) filter (where sla_state = 'not_started') as not_started_count,
        count(*) filter (where sla_state = 'open_ok') as open_ok_count,
        count(*) filter (where sla_state = 'at_risk') as at_risk_count,
        count(*) filter (where sla_state = 'achieved') as achieved_count,
        count(*) filter (where sla_state = 'breached') as breached_count,
        count(*) filter (where sla_state = 'open_breached') as open_breached_count

    from case_sla
    group by all
)

select * from final
