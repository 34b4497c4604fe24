-- table: core.fct_feedback
-- severity: critical
-- why: every feedback_type_id must be a type of the taxonomy (or 'unclassified'), or it drops out of type marts
-- per_row: true

select
    fct_feedback.feedback_id,
    fct_feedback.feedback_type_id
from core.fct_feedback
left join core.dim_feedback_types
    on fct_feedback.feedback_type_id = dim_feedback_types.feedback_type_id
where dim_feedback_types.feedback_type_id is null
order by fct_feedback.feedback_id
