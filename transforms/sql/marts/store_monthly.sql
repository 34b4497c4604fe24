-- store_monthly: feedback about each store, with the store's manager and directorate from org.yaml.
-- Grain: (report_month, store_id): every store of org.yaml for every month with any feedback, plus
-- the missing member 'unknown' in a month where an item names a store that org.yaml does not know.
-- Only items that name a store (core.fct_feedback.store_id) are counted; conversation repeats are
-- left out of the counts and shown as conversation_repeats_count (see management_monthly).
-- The store's manager, department and directorate are the configured ones, whichever directorate
-- the item itself was routed to (a delivery complaint naming a store still counts for the store).
--
-- Columns:
--   report_month, store_id, store_name, manager_id, manager_name, department_id, directorate_id,
--   directorate_name ('unassigned' for the unknown store)
--   items_count, complaints_count, wishes_count, thanks_count, questions_count, unclassified_count,
--   complaint_share (complaints ÷ items), conversation_repeats_count
--   nps_answers_count, promoters_count, passives_count, detractors_count, nps, nps_ci_low, nps_ci_high
--       (95% interval), is_nps_small_sample (< 30 answers)
--   csi_answers_count, csi_high_count (8–10), csi_low_count (0–3), csi (null without low scores),
--       is_csi_small_sample (< 30 answers)
--   csat_answers_count, csat_satisfied_count, csat (share of 4–5 on 1–5 answers)
--   rating_answers_count, rating_mean: 1–5 review ratings (maps, marketplaces), as received

with

feedback as (
    select * from core.fct_feedback
),

directorates as (
    select * from core.dim_directorates
),

-- marts read the org's config tables directly: core has no store dimension yet
stores as (
    select * from staging.stg_config__stores
),

managers as (
    select * from staging.stg_config__managers
),

departments as (
    select * from staging.stg_config__departments
),

store_owners as (
    select
        stores.store_id,
        stores.store_name,
        stores.manager_id,
        managers.manager_name,
        managers.department_id,
        coalesce(departments.directorate_id, 'unassigned') as directorate_id
    from stores
    left join managers
        on managers.manager_id = stores.manager_id
    left join departments
        on departments.department_id = managers.department_id
    union all
    select 'unknown', 'Неизвестный магазин', 'unassigned', 'Не распределено', 'unassigned', 'unassigned'
),

store_feedback as (
    select
        feedback.*,
        coalesce(stores.store_id, 'unknown') as owner_store_id
    from feedback
    left join stores
        on stores.store_id = feedback.store_id
    where feedback.store_id is not null
),

feedback_figures as (
    select
        received_month as report_month,
        owner_store_id as store_id,
        count(*) filter (where not is_conversation_repeat) as items_count,
        count(*) filter (where not is_conversation_repeat and kind = 'complaint') as complaints_count,
        count(*) filter (where not is_conversation_repeat and kind = 'wish') as wishes_count,
        count(*) filter (where not is_conversation_repeat and kind = 'thanks') as thanks_count,
        count(*) filter (where not is_conversation_repeat and kind = 'question') as questions_count,
        count(*) filter (where not is_conversation_repeat and kind = 'unclassified') as unclassified_count,
        count(*) filter (where is_conversation_repeat) as conversation_repeats_count,
        count(*) filter (
            where not is_conversation_repeat and question_type = 'nps' and nps_group is not null
        ) as nps_answers_count,
        count(*) filter (
            where not is_conversation_repeat and question_type = 'nps' and nps_group = 'promoter'
        ) as promoters_count,
        count(*) filter (
            where not is_conversation_repeat and question_type = 'nps' and nps_group = 'passive'
        ) as passives_count,
        count(*) filter (
            where not is_conversation_repeat and question_type = 'nps' and nps_group = 'detractor'
        ) as detractors_count,
        count(*) filter (
            where not is_conversation_repeat and question_type = 'nps' and nps_group is not null and score_raw >= 8
        ) as csi_high_count,
        count(*) filter (
            where not is_conversation_repeat and question_type = 'nps' and nps_group is not null and score_raw <= 3
        ) as csi_low_count,
        count(*) filter (
            where not is_conversation_repeat and question_type = 'csat' and score_scale = '1-5'
            and score_raw between 1 and 5
        ) as csat_answers_count,
        count(*) filter (
            where not is_conversation_repeat and question_type = 'csat' and score_scale = '1-5'
            and score_raw between 4 and 5
        ) as csat_satisfied_count,
        count(*) filter (
            where not is_conversation_repeat and question_type = 'rating' and score_scale = '1-5'
            and score_raw between 1 and 5
        ) as rating_answers_count,
        avg(score_raw) filter (
            where not is_conversation_repeat and question_type = 'rating' and score_scale = '1-5'
            and score_raw between 1 and 5
        ) as rating_mean
    from store_feedback
    group by all
),

months as (
    select distinct received_month as report_month from feedback
),

-- every configured store every month; the unknown store only where an item needs it
grid as (
    select months.report_month, store_owners.*
    from months
    cross join store_owners
    where store_owners.store_id <> 'unknown'
        or exists (
            select 1 from feedback_figures
            where feedback_figures.report_month = months.report_month and feedback_figures.store_id = 'unknown'
        )
),

final as (
    select
        -- grain and owners
        grid.report_month,
        grid.store_id,
        grid.store_name,
        grid.manager_id,
        grid.manager_name,
        grid.department_id,
        grid.directorate_id,
        coalesce(directorates.directorate_name, 'Не распределено') as directorate_name,

        -- volume
        coalesce(feedback_figures.items_count, 0) as items_count,
        coalesce(feedback_figures.complaints_count, 0) as complaints_count,
        coalesce(feedback_figures.wishes_count, 0) as wishes_count,
        coalesce(feedback_figures.thanks_count, 0) as thanks_count,
        coalesce(feedback_figures.questions_count, 0) as questions_count,
        coalesce(feedback_figures.unclassified_count, 0) as unclassified_count,
        share(feedback_figures.complaints_count, feedback_figures.items_count) as complaint_share,
        coalesce(feedback_figures.conversation_repeats_count, 0) as conversation_repeats_count,

        -- nps
        coalesce(feedback_figures.nps_answers_count, 0) as nps_answers_count,
        coalesce(feedback_figures.promoters_count, 0) as promoters_count,
        coalesce(feedback_figures.passives_count, 0) as passives_count,
        coalesce(feedback_figures.detractors_count, 0) as detractors_count,
        nps(
            feedback_figures.promoters_count, feedback_figures.detractors_count, feedback_figures.nps_answers_count
        ) as nps,
        nps_ci_low(
            feedback_figures.promoters_count, feedback_figures.detractors_count, feedback_figures.nps_answers_count
        ) as nps_ci_low,
        nps_ci_high(
            feedback_figures.promoters_count, feedback_figures.detractors_count, feedback_figures.nps_answers_count
        ) as nps_ci_high,
        coalesce(feedback_figures.nps_answers_count, 0) < 30 as is_nps_small_sample,

        -- csi (same answers as nps)
        coalesce(feedback_figures.nps_answers_count, 0) as csi_answers_count,
        coalesce(feedback_figures.csi_high_count, 0) as csi_high_count,
        coalesce(feedback_figures.csi_low_count, 0) as csi_low_count,
        csi(feedback_figures.csi_high_count, feedback_figures.csi_low_count) as csi,
        coalesce(feedback_figures.nps_answers_count, 0) < 30 as is_csi_small_sample,

        -- csat and review ratings
        coalesce(feedback_figures.csat_answers_count, 0) as csat_answers_count,
        coalesce(feedback_figures.csat_satisfied_count, 0) as csat_satisfied_count,
        share(feedback_figures.csat_satisfied_count, feedback_figures.csat_answers_count) as csat,
        coalesce(feedback_figures.rating_answers_count, 0) as rating_answers_count,
        feedback_figures.rating_mean

    from grid
    left join directorates
        on directorates.directorate_id = grid.directorate_id
    left join feedback_figures
        on feedback_figures.report_month = grid.report_month
        and feedback_figures.store_id = grid.store_id
)

select * from final
