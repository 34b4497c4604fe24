-- weekly_summary: each directorate's week ('all' = the company) against the week before, for the
-- weekly directorate review. Weeks are ISO weeks (Monday to Sunday) of the reporting timezone.
-- Grain: (week_start, directorate_id), every directorate and 'all' for every week with any customer
-- item or SLA clock. Items are the customers' counted items (core.fct_feedback.is_counted_item), each
-- conversation once; clocks are those whose cycle started in the week. Columns:
-- transforms/sql/marts/weekly_summary.yml.

with

feedback as (
    select
        *,
        date_trunc('week', timezone(getvariable('reporting_timezone'), received_at))::date as week_start
    from core.fct_feedback
    where is_counted_item or is_nps_answer
),

clocks as (
    select
        *,
        date_trunc('week', timezone(getvariable('reporting_timezone'), started_at))::date as week_start
    from core.fct_case_sla
    where started_at is not null and cycle_number = 1  -- the cycle compliance judges, as every SLA mart
),

directorates as (
    select * from core.dim_directorates
),

item_figures as (
    select
        week_start,
        case when grouping(directorate_id) = 1 then 'all' else directorate_id end as directorate_id,
        count(*) filter (where is_counted_item) as items_count,
        count(*) filter (where is_counted_item and kind = 'complaint') as complaints_count,
        count(*) filter (where is_nps_answer) as nps_answers_count,
        count(*) filter (where is_nps_promoter) as nps_promoters_count,
        count(*) filter (where is_nps_detractor) as nps_detractors_count
    from feedback
    group by grouping sets ((week_start, directorate_id), (week_start))
),

sla_figures as (
    select
        week_start,
        case when grouping(directorate_id) = 1 then 'all' else directorate_id end as directorate_id,
        count(*) filter (where sla_state in ('achieved', 'breached', 'open_breached')) as sla_measured_count,
        count(*) filter (where is_breached) as sla_breached_count
    from clocks
    group by grouping sets ((week_start, directorate_id), (week_start))
),

-- the weeks of the figures, not of the rows: each row set is then read once, and not kept for a second pass
weeks as (
    select week_start from item_figures
    union
    select week_start from sla_figures
),

grid as (
    select
        weeks.week_start,
        directorates.directorate_id
    from weeks cross join directorates
    union all
    select
        week_start,
        'all'
    from weeks
),

counted as (
    select
        grid.*,
        coalesce(columns(item_figures.* exclude (week_start, directorate_id)), 0),
        coalesce(columns(sla_figures.* exclude (week_start, directorate_id)), 0)
    from grid
    left join item_figures
        on
            grid.week_start = item_figures.week_start
            and grid.directorate_id = item_figures.directorate_id
    left join sla_figures
        on
            grid.week_start = sla_figures.week_start
            and grid.directorate_id = sla_figures.directorate_id
),

final as (
    select
        this_week.week_start,
        this_week.directorate_id,
        this_week.items_count,
        coalesce(previous_week.items_count, 0) as previous_items_count,
        this_week.complaints_count,
        coalesce(previous_week.complaints_count, 0) as previous_complaints_count,
        this_week.nps_answers_count,
        nps(this_week.nps_promoters_count, this_week.nps_detractors_count, this_week.nps_answers_count) as nps,
        is_small_sample(this_week.nps_answers_count) as is_nps_small_sample,
        this_week.sla_measured_count,
        this_week.sla_breached_count
    from counted as this_week
    left join counted as previous_week
        on
            previous_week.week_start = this_week.week_start - interval 7 day
            and this_week.directorate_id = previous_week.directorate_id
)

select * from final
