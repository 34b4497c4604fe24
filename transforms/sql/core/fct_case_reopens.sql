-- fct_case_reopens: one row per reopen of a CRM case: the loop repeated, the case sent back to work.
-- Grain: (case_id, reopened_at). An event re-delivered in a later batch counts once. Its owner is the
-- case's latest (core.fct_cases).

with

case_events as (
    select distinct
        case_id,
        event_at
    from staging.stg_crm__case_events
    where event_type = 'reopened'
),

cases as (
    select * from core.fct_cases
),

final as (
    select
        case_events.case_id,
        case_events.event_at as reopened_at,
        coalesce(cases.directorate_id, 'unassigned') as directorate_id,
        coalesce(cases.manager_id, 'unassigned') as manager_id
    from case_events
    left join cases
        on case_events.case_id = cases.case_id
)

select * from final
