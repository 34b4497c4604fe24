-- fct_feedback_monthly: the feedback facts every mart needs, summed per month at the finest grain any
-- mart slices by. Additive counts only (a sum over any set of rows is the figure of that set); the
-- per-answer rules are the is_* flags of core.fct_feedback.
-- Grain: (report_month, audience, channel_id, directorate_id, department_id, manager_id, store_id,
-- feedback_type_id, kind). report_month is the item's received_month (reporting timezone). store_id
-- is null for items that name no store and 'unknown' for a store org.yaml does not know; a type
-- not in the taxonomy is 'unclassified'.

with

feedback as (
    select * from core.fct_feedback
),

feedback_types as (
    select * from core.dim_feedback_types
),

stores as (
    select * from core.dim_stores
),

keyed as (
    select
        feedback.*,
        case when feedback.store_id is not null then coalesce(stores.store_id, 'unknown') end as known_store_id,
        coalesce(feedback_types.feedback_type_id, 'unclassified') as known_feedback_type_id
    from feedback
    left join stores
        on feedback.store_id = stores.store_id
    left join feedback_types
        on feedback.feedback_type_id = feedback_types.feedback_type_id
),

final as (
    select
        -- grain
        received_month as report_month,
        audience,
        channel_id,
        directorate_id,
        department_id,
        manager_id,
        known_store_id as store_id,
        known_feedback_type_id as feedback_type_id,
        kind,

        -- volume: every item received is a contact of its channel; items are the counted ones
        count(*) as contacts_count,
        count(*) filter (where is_counted_item) as items_count,
        count(*) filter (
            where audience = 'customer' and is_conversation_repeat and not is_self_service_session
        ) as conversation_repeats_count,

        -- self-service
        count(*) filter (where is_self_service_session) as self_service_sessions_count,
        count(*) filter (where is_self_service_resolved) as self_service_resolved_count,

        -- NPS and CSI
        count(*) filter (where is_nps_answer) as nps_answers_count,
        count(*) filter (where is_nps_promoter) as nps_promoters_count,
        count(*) filter (where is_nps_passive) as nps_passives_count,
        count(*) filter (where is_nps_detractor) as nps_detractors_count,
        count(*) filter (where is_csi_high) as csi_high_count,
        count(*) filter (where is_csi_low) as csi_low_count,

        -- CSAT, effort, review ratings
        count(*) filter (where is_csat_answer) as csat_answers_count,
        count(*) filter (where is_csat_satisfied) as csat_satisfied_count,
        count(*) filter (where is_effort_answer) as effort_answers_count,
        count(*) filter (where is_low_effort) as low_effort_count,
        count(*) filter (where is_rating_answer) as rating_answers_count,
        coalesce(sum(score_raw) filter (where is_rating_answer), 0) as rating_score_sum,

        -- the final close-the-loop survey: tNPS and CES
        count(*) filter (where is_tnps_answer) as tnps_answers_count,
        count(*) filter (where is_tnps_promoter) as tnps_promoters_count,
        count(*) filter (where is_tnps_passive) as tnps_passives_count,
        count(*) filter (where is_tnps_detractor) as tnps_detractors_count,
        count(*) filter (where is_ces_answer) as ces_answers_count,
        count(*) filter (where is_ces_solved) as ces_solved_count,

        -- eNPS
        count(*) filter (where is_enps_answer) as enps_answers_count,
        count(*) filter (where is_enps_promoter) as enps_promoters_count,
        count(*) filter (where is_enps_passive) as enps_passives_count,
        count(*) filter (where is_enps_detractor) as enps_detractors_count

    from keyed
    group by all
)

select * from final
