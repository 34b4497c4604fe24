-- fct_cases: one row per CRM case, folded from its lifecycle events.
-- Grain: case_id. Cases are re-routed while they live, so each owner column comes from the
-- latest event that carries it ('unassigned' when none does, or when it is not in its dimension,
-- core.dim_directorates / dim_departments / dim_managers). An event re-delivered in a later batch
-- counts once.

with

case_events as (
    select * from staging.stg_crm__case_events
),

directorates as (
    select * from core.dim_directorates
),

departments as (
    select * from core.dim_departments
),

managers as (
    select * from core.dim_managers
),

deduplicated as (
    select *
    from case_events
    qualify row_number() over (
        partition by case_id, event_type, event_at
        order by _batch_id desc, _record_index desc
    ) = 1
),

with_opened_at as (
    select
        *,
        min(event_at) filter (where event_type = 'opened') over (partition by case_id) as case_opened_at,
        -- "latest" breaks ties on event_at by load order
        struct_pack(event_at, _batch_id, _record_index) as event_order
    from deduplicated
),

folded as (
    select
        case_id,

        -- owners
        arg_min(feedback_id, event_order) filter (where feedback_id is not null) as feedback_id,
        arg_max(directorate_id, event_order) filter (where directorate_id is not null) as directorate_id,
        arg_max(department_id, event_order) filter (where department_id is not null) as department_id,
        arg_max(manager_id, event_order) filter (where manager_id is not null) as manager_id,
        arg_max(priority, event_order) filter (where priority is not null) as priority,

        -- timestamps (UTC)
        min(case_opened_at) as opened_at,
        min(event_at) filter (where event_type = 'first_contact') as first_contact_at,
        -- a close recorded before the case was opened is not its close
        min(event_at) filter (
            where event_type = 'closed' and event_at >= coalesce(case_opened_at, event_at)
        ) as closed_at,
        max(event_at) filter (where event_type = 'closed') as last_closed_at,
        max(event_at) filter (where event_type in ('opened', 'reopened')) as last_opened_at,
        -- escalated for a check (a warehouse, a supplier): the first such event
        min(event_at) filter (where event_type = 'under_review') as under_review_at,

        -- lifecycle
        count(*) filter (where event_type = 'reopened') as reopened_count

    from with_opened_at
    group by case_id
),

final as (
    select
        -- ids
        folded.case_id,
        folded.feedback_id,
        coalesce(directorates.directorate_id, 'unassigned') as directorate_id,
        coalesce(departments.department_id, 'unassigned') as department_id,
        coalesce(managers.manager_id, 'unassigned') as manager_id,
        coalesce(folded.priority, 'unassigned') as priority,

        -- timestamps (UTC)
        folded.opened_at,
        folded.first_contact_at,
        folded.closed_at,
        folded.last_closed_at,
        folded.under_review_at,

        -- lifecycle
        folded.reopened_count,
        -- open when the latest open or reopen has no close at or after it
        coalesce(
            folded.last_opened_at > coalesce(folded.last_closed_at, '-infinity'::timestamptz), false
        ) as is_open,

        -- months (reporting timezone)
        date_trunc(
            'month', timezone(getvariable('reporting_timezone'), folded.opened_at)
        )::date as opened_month

    from folded
    left join directorates
        on folded.directorate_id = directorates.directorate_id
    left join departments
        on folded.department_id = departments.department_id
    left join managers
        on folded.manager_id = managers.manager_id
)

select * from final
