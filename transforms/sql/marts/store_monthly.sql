-- store_monthly: feedback about each store, with the store's manager and directorate from org.yaml.
-- Grain: (report_month, store_id): every store of core.dim_stores for every month with any customer
-- feedback, plus the member 'unknown' in a month where an item names a store that org.yaml does not
-- know. Only the customers' items that name a store count. The store's manager, department and
-- directorate are the configured ones, whichever directorate the item itself was routed to (a
-- delivery complaint naming a store still counts for the store). A thin mart over
-- core.fct_feedback_monthly. Columns: transforms/sql/marts/store_monthly.yml.

with

feedback as (
    select * from core.fct_feedback_monthly
    where audience = 'customer'
),

stores as (
    select * from core.dim_stores
),

directorates as (
    select * from core.dim_directorates
),

months as (
    select distinct report_month from feedback
),

feedback_figures as (
    select
        report_month,
        store_id,
        sum(items_count)::bigint as items_count,
        sum(items_count) filter (where kind = 'complaint')::bigint as complaints_count,
        sum(items_count) filter (where kind = 'wish')::bigint as wishes_count,
        sum(items_count) filter (where kind = 'thanks')::bigint as thanks_count,
        sum(items_count) filter (where kind = 'question')::bigint as questions_count,
        sum(items_count) filter (where kind = 'other')::bigint as other_count,
        sum(items_count) filter (where kind = 'unclassified')::bigint as unclassified_count,
        sum(conversation_repeats_count)::bigint as conversation_repeats_count,
        sum(columns('^(nps_.*|csi_.*|csat_.*|rating_answers)_count$'))::bigint,
        sum(rating_score_sum) as rating_score_sum
    from feedback
    where store_id is not null
    group by all
),

-- every configured store every month; the unknown store only where an item needs it
grid as (
    select
        months.report_month,
        stores.*
    from months
    cross join stores
    where
        stores.store_id <> 'unknown'
        or exists (
            select 1 from feedback_figures
            where feedback_figures.report_month = months.report_month and feedback_figures.store_id = 'unknown'
        )
),

counted as (
    select
        grid.*,
        coalesce(columns(feedback_figures.* exclude (report_month, store_id, rating_score_sum)), 0),
        feedback_figures.rating_score_sum
    from grid
    left join feedback_figures
        on
            grid.report_month = feedback_figures.report_month
            and grid.store_id = feedback_figures.store_id
),

final as (
    select
        -- grain and owners
        counted.report_month,
        counted.store_id,
        counted.store_name,
        counted.manager_id,
        counted.manager_name,
        counted.department_id,
        counted.directorate_id,
        directorates.directorate_name,

        -- volume
        counted.items_count,
        counted.complaints_count,
        counted.wishes_count,
        counted.thanks_count,
        counted.questions_count,
        counted.other_count,
        counted.unclassified_count,
        share(counted.complaints_count, counted.items_count) as complaint_share,
        is_small_sample(counted.items_count) as is_complaint_share_small_sample,
        counted.conversation_repeats_count,

        -- nps
        counted.nps_answers_count,
        counted.nps_promoters_count as promoters_count,
        counted.nps_passives_count as passives_count,
        counted.nps_detractors_count as detractors_count,
        nps(counted.nps_promoters_count, counted.nps_detractors_count, counted.nps_answers_count) as nps,
        nps_ci_low(counted.nps_promoters_count, counted.nps_detractors_count, counted.nps_answers_count) as nps_ci_low,
        nps_ci_high(
            counted.nps_promoters_count, counted.nps_detractors_count, counted.nps_answers_count
        ) as nps_ci_high,
        is_small_sample(counted.nps_answers_count) as is_nps_small_sample,

        -- csi (over the same answers as nps)
        counted.nps_answers_count as csi_answers_count,
        counted.csi_high_count,
        counted.csi_low_count,
        csi(counted.csi_high_count, counted.csi_low_count) as csi,
        is_small_sample(counted.nps_answers_count) as is_csi_small_sample,

        -- csat and review ratings (1-5 stars, as received)
        counted.csat_answers_count,
        counted.csat_satisfied_count,
        share(counted.csat_satisfied_count, counted.csat_answers_count) as csat,
        is_small_sample(counted.csat_answers_count) as is_csat_small_sample,
        counted.rating_answers_count,
        counted.rating_score_sum / nullif(counted.rating_answers_count, 0) as rating_mean,
        is_small_sample(counted.rating_answers_count) as is_rating_small_sample

    from counted
    inner join directorates
        on counted.directorate_id = directorates.directorate_id
)

select * from final
