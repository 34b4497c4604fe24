-- table: staging.stg_channels__feedback_versions
-- severity: critical
-- why: an earlier version must have a current row in staging.stg_channels__feedback, marked is_edited
-- per_key: feedback_id
-- An orphan version would be an edit whose winner got lost; a current row that is not marked
-- is_edited would hide the edit from the review. Returns the offending versions.

with

versions as (
    select * from staging.stg_channels__feedback_versions
),

feedback as (
    select * from staging.stg_channels__feedback
),

final as (
    select
        versions.feedback_id,
        versions.version_number,
        versions._batch_id,
        feedback.is_edited as current_is_edited
    from versions
    left join feedback
        on versions.feedback_id = feedback.feedback_id
    where
        feedback.feedback_id is null
        or not feedback.is_edited
)

select * from final
order by feedback_id, version_number
