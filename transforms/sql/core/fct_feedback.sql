-- fct_feedback: one row per feedback item from any channel, classified and routed to its owner.
-- Grain: feedback_id (unique; expectations/core/fct_feedback.py). received_month is the month in
-- the reporting timezone, not UTC: an item at 23:30 Moscow on the 31st belongs to that month.

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

        -- timestamps (UTC) and the reporting month
        feedback.received_at,
        date_trunc('month', feedback.received_at at time zone getvariable('reporting_timezone'))::date
            as received_month,

        -- classification
        feedback.kind,
        feedback.has_text,
        feedback.body_text,
        feedback.classifier_version,

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

        -- lineage
        feedback._batch_id,
        feedback._source_file,
        feedback._record_index

    from feedback
    left join channels
        on channels.channel_id = feedback.channel_id
    left join directorates
        on directorates.directorate_id = feedback.directorate_id
)

select * from final
