-- table: core.fct_feedback
-- severity: critical
-- why: an item with a feedback type must be routed to that type's directorate, never to 'unassigned'
-- per_row: true
-- Every type in transforms/taxonomy/feedback_types.csv names its directorate; an owner lost on the
-- way (a join on a renamed id) would silently move complaints out of a directorate's review.

select
    feedback_id,
    feedback_type_id,
    directorate_id
from core.fct_feedback
where
    feedback_type_id <> 'unclassified'
    and directorate_id = 'unassigned'
order by feedback_id
