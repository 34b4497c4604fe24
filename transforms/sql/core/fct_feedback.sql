-- fct_feedback: one row per feedback item from any channel, classified and routed to its owner.
-- Grain: feedback_id (unique; expectations/core/fct_feedback.py). received_month is the month in
-- the reporting timezone, not UTC: an item at 23:30 Moscow on the 31st belongs to that month.
-- An item that repeats the same customer's item on another channel (core.int_feedback_conversations)
-- stays here, flagged is_conversation_repeat: the marts count each conversation once.

with

feedback as (
    select * from core.int_feedback_classified
),

channels as (
    select * from core.dim_channels
),

directorates as (
    select * from core.dim_directorates
),

conversations as (
    select * from core.int_feedback_conversations
),

final as (
    select
        -- ids
        feedback.feedback_id,
        coalesce(channels.channel_id, 'unknown') as channel_id,
        feedback.source_item_id,
        feedback.feedback_type_id,
        coalesce(directorates.directorate_id, 'unassigned') as directorate_id,
        feedback.department_id,
        feedback.manager_id,
        feedback.store_id,
        feedback.customer_key,
        coalesce(conversations.conversation_id, feedback.feedback_id) as conversation_id,

        -- timestamps (UTC) and the reporting month
        feedback.received_at,
        date_trunc('month', feedback.received_at at time zone getvariable('reporting_timezone'))::date
            as received_month,

        -- classification
        feedback.kind,
        feedback.has_text,
        feedback.body_text,
        feedback.language,
        feedback.classifier_version,
        feedback.sentiment,
        feedback.confidence as classification_confidence,
        feedback.method as classification_method,
        feedback.needs_review,
        feedback.taxonomy_version,
        feedback.model_version,

        -- scores
        feedback.score_raw,
        feedback.score_scale,
        feedback.score_10,
        feedback.question_type,
        case
            when feedback.question_type not in ('nps', 'tnps', 'enps') or feedback.score_scale <> '0-10' then null
            when feedback.score_raw >= 9 then 'promoter'
            when feedback.score_raw >= 7 then 'passive'
            when feedback.score_raw >= 0 then 'detractor'
        end as nps_group,

        -- contact and slicing attributes
        feedback.has_contact_request,
        feedback.has_contact,
        feedback.segment,
        feedback.device,

        -- conversations and edits
        coalesce(conversations.is_conversation_repeat, false) as is_conversation_repeat,
        feedback.is_edited,

        -- lineage
        feedback._batch_id,
        feedback._source_file,
        feedback._record_index

    from feedback
    left join channels
        on channels.channel_id = feedback.channel_id
    left join directorates
        on directorates.directorate_id = feedback.directorate_id
    left join conversations
        on conversations.feedback_id = feedback.feedback_id
)

select * from final
