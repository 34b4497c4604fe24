-- table: staging.stg_channels__feedback
-- severity: critical
-- why: an item with neither text, a score, a yes/no answer nor a session outcome must have been rejected as empty_item, not counted as volume
-- per_row: true
-- Returns the offending items.

select
    feedback_id,
    channel_id,
    _source_file,
    _record_index
from staging.stg_channels__feedback
where
    coalesce(length(trim(body_text)), 0) = 0
    and score_raw is null
    and is_issue_solved is null
    and self_service_outcome is null
order by feedback_id
