-- feedback_type_monthly: feedback per type of the taxonomy and owning directorate, with month-on-month
-- and year-on-year change and the growth points the monthly review lists.
-- Grain: (report_month, feedback_type_id, directorate_id), for every month from the first to the last
-- month of core.fct_feedback where the pair has items or repeats this month or had items the month
-- before (so a type that falls silent shows once). A type not in the taxonomy is 'unclassified'. Counts leave
-- conversation repeats out (see management_monthly).
-- Comparisons are null where the compared month lies before the first month of data (unknown, not 0).
--
-- Growth point (is_growth_point), the rule: with at least 5 complaints this month (the evidence floor,
-- below which a change is noise), complaints grew against the month before or the same month a year
-- before by at least 3 and by at least 50% (any rise from 0 counts as 50%), or the type's share of
-- all the month's complaints grew by at least 5 percentage points. growth_basis says which
-- comparison(s) qualified; growth_rank orders the month's growth points by the larger rise in count.
--
-- Columns:
--   report_month, feedback_type_id, label, directorate_id, directorate_name
--   items_count, complaints_count, wishes_count, thanks_count, questions_count, unclassified_count,
--   conversation_repeats_count
--   complaint_share_of_month   complaints ÷ all complaints of the month (every type and directorate)
--   complaints_prev_month_count, complaints_mom_change (difference), complaints_mom_growth_rate
--       (change ÷ previous; null when the previous is 0), complaint_share_mom_change (share difference)
--   complaints_prev_year_count, complaints_yoy_change, complaints_yoy_growth_rate, complaint_share_yoy_change
--   is_growth_point, growth_basis ('mom', 'yoy', 'mom_and_yoy'; null when not a growth point), growth_rank

with

feedback as (
    select * from core.fct_feedback
),

feedback_types as (
    select * from core.dim_feedback_types
),

directorates as (
    select * from core.dim_directorates
),

typed as (
    select
        feedback.*,
        coalesce(feedback_types.feedback_type_id, 'unclassified') as known_type_id
    from feedback
    left join feedback_types
        on feedback_types.feedback_type_id = feedback.feedback_type_id
),

type_counts as (
    select
        received_month as report_month,
        known_type_id as feedback_type_id,
        directorate_id,
        count(*) filter (where not is_conversation_repeat) as items_count,
        count(*) filter (where not is_conversation_repeat and kind = 'complaint') as complaints_count,
        count(*) filter (where not is_conversation_repeat and kind = 'wish') as wishes_count,
        count(*) filter (where not is_conversation_repeat and kind = 'thanks') as thanks_count,
        count(*) filter (where not is_conversation_repeat and kind = 'question') as questions_count,
        count(*) filter (where not is_conversation_repeat and kind = 'unclassified') as unclassified_count,
        count(*) filter (where is_conversation_repeat) as conversation_repeats_count
    from typed
    group by all
),

data_months as (
    select min(received_month) as first_month, max(received_month) as last_month from feedback
),

months as (
    select range::date as report_month
    from data_months, range(data_months.first_month, data_months.last_month + interval 1 month, interval 1 month)
),

pairs as (
    select distinct feedback_type_id, directorate_id from type_counts
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
        on type_counts.report_month = months.report_month
        and type_counts.feedback_type_id = pairs.feedback_type_id
        and type_counts.directorate_id = pairs.directorate_id
),

with_shares as (
    select
        *,
        share(complaints_count, sum(complaints_count) over (partition by report_month)) as complaint_share_of_month
    from filled
),

compared as (
    select
        this_month.*,
        case when data_months.first_month <= this_month.report_month - interval 1 month
            then prev_month.complaints_count end as complaints_prev_month_count,
        case when data_months.first_month <= this_month.report_month - interval 1 month
            then coalesce(prev_month.complaint_share_of_month, 0) end as prev_month_share,
        coalesce(prev_month.items_count, 0) as prev_month_items,
        case when data_months.first_month <= this_month.report_month - interval 1 year
            then prev_year.complaints_count end as complaints_prev_year_count,
        case when data_months.first_month <= this_month.report_month - interval 1 year
            then coalesce(prev_year.complaint_share_of_month, 0) end as prev_year_share
    from with_shares as this_month
    cross join data_months
    left join with_shares as prev_month
        on prev_month.report_month = this_month.report_month - interval 1 month
        and prev_month.feedback_type_id = this_month.feedback_type_id
        and prev_month.directorate_id = this_month.directorate_id
    left join with_shares as prev_year
        on prev_year.report_month = this_month.report_month - interval 1 year
        and prev_year.feedback_type_id = this_month.feedback_type_id
        and prev_year.directorate_id = this_month.directorate_id
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

-- the growth-point rule of the header: evidence floor 5, rise >= 3 and >= 50%, or share +5 points
judged as (
    select
        *,
        complaints_count >= 5 and (
            (complaints_mom_change >= 3 and complaints_count >= 1.5 * complaints_prev_month_count)
            or complaint_share_mom_change >= 0.05
        ) as is_mom_growth,
        complaints_count >= 5 and (
            (complaints_yoy_change >= 3 and complaints_count >= 1.5 * complaints_prev_year_count)
            or complaint_share_yoy_change >= 0.05
        ) as is_yoy_growth
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
        judged.unclassified_count,
        judged.conversation_repeats_count,
        judged.complaint_share_of_month,

        -- month on month
        judged.complaints_prev_month_count,
        judged.complaints_mom_change,
        judged.complaints_mom_growth_rate,
        judged.complaint_share_mom_change,

        -- year on year
        judged.complaints_prev_year_count,
        judged.complaints_yoy_change,
        judged.complaints_yoy_growth_rate,
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
        on feedback_types.feedback_type_id = judged.feedback_type_id
    left join directorates
        on directorates.directorate_id = judged.directorate_id
)

select * from final
