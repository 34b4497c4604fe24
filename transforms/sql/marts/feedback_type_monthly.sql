-- feedback_type_monthly: the customers' feedback per type of the taxonomy and owning directorate, with
-- month-on-month and year-on-year change and the growth points the monthly review lists.
-- Grain: (report_month, feedback_type_id, directorate_id), for every month from the first to the last
-- month of core.fct_feedback_monthly where the pair has items or repeats this month or had items the
-- month before (so a type that falls silent shows once). A type not in the taxonomy is 'unclassified'.
-- Comparisons are null where the compared month lies before the first month of data (unknown, not 0).
-- Growth point: the macro is_complaint_growth (transforms/sql/metrics.sql), against the month before
-- or the same month a year before; growth_basis says which qualified, growth_rank orders the month's
-- growth points by the larger rise in count. Columns: transforms/sql/marts/feedback_type_monthly.yml.

with

feedback as (
    select * from core.fct_feedback_monthly
    where audience = 'customer'
),

feedback_types as (
    select * from core.dim_feedback_types
),

directorates as (
    select * from core.dim_directorates
),

type_counts as (
    select
        report_month,
        feedback_type_id,
        directorate_id,
        sum(items_count)::bigint as items_count,
        sum(items_count) filter (where kind = 'complaint')::bigint as complaints_count,
        sum(items_count) filter (where kind = 'wish')::bigint as wishes_count,
        sum(items_count) filter (where kind = 'thanks')::bigint as thanks_count,
        sum(items_count) filter (where kind = 'question')::bigint as questions_count,
        sum(items_count) filter (where kind = 'other')::bigint as other_count,
        sum(items_count) filter (where kind = 'unclassified')::bigint as unclassified_count,
        sum(conversation_repeats_count)::bigint as conversation_repeats_count
    from feedback
    group by all
    having sum(items_count) + sum(conversation_repeats_count) > 0
),

data_months as (
    select
        min(report_month) as first_month,
        max(report_month) as last_month
    from feedback
),

months as (
    select range::date as report_month
    from data_months, range(data_months.first_month, data_months.last_month + interval 1 month, interval 1 month)
),

pairs as (
    select distinct
        feedback_type_id,
        directorate_id
    from type_counts
),

filled as (
    select
        months.report_month,
        pairs.feedback_type_id,
        pairs.directorate_id,
        coalesce(columns(type_counts.* exclude (report_month, feedback_type_id, directorate_id)), 0)
    from months
    cross join pairs
    left join type_counts
        on
            months.report_month = type_counts.report_month
            and pairs.feedback_type_id = type_counts.feedback_type_id
            and pairs.directorate_id = type_counts.directorate_id
),

with_shares as (
    select
        *,
        sum(complaints_count) over (partition by report_month) as month_complaints_count,
        share(complaints_count, sum(complaints_count) over (partition by report_month)) as complaint_share_of_month
    from filled
),

compared as (
    select
        this_month.*,
        case
            when data_months.first_month <= this_month.report_month - interval 1 month
                then prev_month.complaints_count
        end as complaints_prev_month_count,
        case
            when data_months.first_month <= this_month.report_month - interval 1 month
                then coalesce(prev_month.complaint_share_of_month, 0)
        end as prev_month_share,
        coalesce(prev_month.items_count, 0) as prev_month_items,
        case
            when data_months.first_month <= this_month.report_month - interval 1 year
                then prev_year.complaints_count
        end as complaints_prev_year_count,
        case
            when data_months.first_month <= this_month.report_month - interval 1 year
                then coalesce(prev_year.complaint_share_of_month, 0)
        end as prev_year_share
    from with_shares as this_month
    cross join data_months
    left join with_shares as prev_month
        on
            prev_month.report_month = this_month.report_month - interval 1 month
            and this_month.feedback_type_id = prev_month.feedback_type_id
            and this_month.directorate_id = prev_month.directorate_id
    left join with_shares as prev_year
        on
            prev_year.report_month = this_month.report_month - interval 1 year
            and this_month.feedback_type_id = prev_year.feedback_type_id
            and this_month.directorate_id = prev_year.directorate_id
),

changes as (
    select
        *,
        complaints_count - complaints_prev_month_count as complaints_mom_change,
        share(complaints_count - complaints_prev_month_count, complaints_prev_month_count)
            as complaints_mom_growth_rate,
        complaint_share_of_month - prev_month_share as complaint_share_mom_change,
        complaints_count - complaints_prev_year_count as complaints_yoy_change,
        share(complaints_count - complaints_prev_year_count, complaints_prev_year_count)
            as complaints_yoy_growth_rate,
        complaint_share_of_month - prev_year_share as complaint_share_yoy_change
    from compared
    where items_count > 0 or conversation_repeats_count > 0 or prev_month_items > 0
),

judged as (
    select
        *,
        is_complaint_growth(complaints_count, complaints_prev_month_count, complaint_share_mom_change) as is_mom_growth,
        is_complaint_growth(complaints_count, complaints_prev_year_count, complaint_share_yoy_change) as is_yoy_growth
    from changes
),

final as (
    select
        -- grain
        judged.report_month,
        judged.feedback_type_id,
        coalesce(feedback_types.label, 'Не классифицировано') as label,
        judged.directorate_id,
        coalesce(directorates.directorate_name, 'Не распределено') as directorate_name,

        -- volume
        judged.items_count,
        judged.complaints_count,
        judged.wishes_count,
        judged.thanks_count,
        judged.questions_count,
        judged.other_count,
        judged.unclassified_count,
        judged.conversation_repeats_count,
        judged.month_complaints_count::bigint as month_complaints_count,
        judged.complaint_share_of_month,
        is_small_sample(judged.month_complaints_count) as is_complaint_share_small_sample,

        -- month on month
        judged.complaints_prev_month_count,
        judged.complaints_mom_change,
        judged.complaints_mom_growth_rate,
        is_small_sample(judged.complaints_prev_month_count) as is_mom_growth_small_sample,
        judged.complaint_share_mom_change,

        -- year on year
        judged.complaints_prev_year_count,
        judged.complaints_yoy_change,
        judged.complaints_yoy_growth_rate,
        is_small_sample(judged.complaints_prev_year_count) as is_yoy_growth_small_sample,
        judged.complaint_share_yoy_change,

        -- growth points
        coalesce(judged.is_mom_growth or judged.is_yoy_growth, false) as is_growth_point,
        case
            when judged.is_mom_growth and judged.is_yoy_growth then 'mom_and_yoy'
            when judged.is_mom_growth then 'mom'
            when judged.is_yoy_growth then 'yoy'
        end as growth_basis,
        case when coalesce(judged.is_mom_growth or judged.is_yoy_growth, false) then rank() over (
            partition by judged.report_month, coalesce(judged.is_mom_growth or judged.is_yoy_growth, false)
            order by greatest(judged.complaints_mom_change, judged.complaints_yoy_change) desc nulls last
        ) end as growth_rank

    from judged
    left join feedback_types
        on judged.feedback_type_id = feedback_types.feedback_type_id
    left join directorates
        on judged.directorate_id = directorates.directorate_id
)

select * from final
