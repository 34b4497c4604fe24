-- growth_point_causes_monthly: for every growth point of marts.feedback_type_monthly (one rule
-- everywhere), the attribute slices over-represented among its complaints: channel, store, region,
-- customer segment, and the browser, operating system and app version parsed from the item's user agent
-- (core.int_feedback_attributes).
-- Grain: (report_month, feedback_type_id, directorate_id, attribute, attribute_value), only slices that
-- pass the root-cause rule (macro is_root_cause: at least 5 of the point's complaints and a lift of
-- at least 1.5, or new).
-- Lift = the slice's share of the point's complaints ÷ its share of the same type's complaints in the
-- same directorate over the three months before (each share among complaints where the attribute is
-- known): what changed. A browser behind 60 % of this month's complaints but 10 % before has a lift of
-- 6; a slice with no complaint before is new (is_new_slice, lift null). cause_rank orders a point's
-- slices by excess_complaints, the complaints beyond what the earlier share predicts: the slice that
-- explains most of the growth first.
-- Columns: transforms/sql/marts/growth_point_causes_monthly.yml.

with

points as (
    select
        report_month,
        feedback_type_id,
        label as feedback_type_label,
        directorate_id,
        directorate_name
    from marts.feedback_type_monthly
    where is_growth_point
),

feedback as (
    select * from core.fct_feedback
    where is_counted_item and audience = 'customer'
),

attributes as (
    select * from core.int_feedback_attributes
),

feedback_types as (
    select * from core.dim_feedback_types
),

described as (
    select
        feedback.received_month as report_month,
        coalesce(feedback_types.feedback_type_id, 'unclassified') as feedback_type_id,
        feedback.directorate_id,
        feedback.kind,
        attributes.channel,
        attributes.store,
        attributes.region,
        attributes.segment,
        attributes.browser,
        attributes.os,
        attributes.app_version
    from feedback
    inner join attributes
        on feedback.feedback_id = attributes.feedback_id
    left join feedback_types
        on feedback.feedback_type_id = feedback_types.feedback_type_id
),

slices as (
    unpivot described
    on channel, store, region, segment, browser, os, app_version
    into name attribute value attribute_value
),

complaints as (
    select * from slices
    where kind = 'complaint'
),

-- the point's complaints this month, and the same type's complaints in the directorate in the three
-- months before: what was said before the growth
point_counts as (
    select
        points.report_month,
        points.feedback_type_id,
        points.feedback_type_label,
        points.directorate_id,
        points.directorate_name,
        complaints.attribute,
        complaints.attribute_value,
        count(*) filter (where complaints.report_month = points.report_month) as complaints_count,
        count(*) filter (where complaints.report_month < points.report_month) as baseline_complaints_count
    from points
    inner join complaints
        on
            points.feedback_type_id = complaints.feedback_type_id
            and points.directorate_id = complaints.directorate_id
            and complaints.report_month between points.report_month - interval 3 month and points.report_month
    group by
        points.report_month,
        points.feedback_type_id,
        points.feedback_type_label,
        points.directorate_id,
        points.directorate_name,
        complaints.attribute,
        complaints.attribute_value
),

scored as (
    select
        *,
        sum(complaints_count) over (
            partition by report_month, feedback_type_id, directorate_id, attribute
        ) as complaints_total,
        sum(baseline_complaints_count) over (
            partition by report_month, feedback_type_id, directorate_id, attribute
        ) as baseline_complaints_total
    from point_counts
),

shares as (
    select
        *,
        share(complaints_count, complaints_total) as complaints_share,
        share(baseline_complaints_count, baseline_complaints_total) as baseline_share
    from scored
),

final as (
    select
        -- grain
        report_month,
        feedback_type_id,
        directorate_id,
        attribute,
        attribute_value,

        -- the growth point
        feedback_type_label,
        directorate_name,

        -- the slice among the point's complaints, and among the same type's complaints before
        complaints_count,
        complaints_total::bigint as complaints_total,
        complaints_share,
        baseline_complaints_count,
        baseline_complaints_total::bigint as baseline_complaints_total,
        baseline_share,
        complaints_share / nullif(baseline_share, 0) as lift,
        is_small_sample(complaints_total) as is_small_sample,
        coalesce(baseline_share, 0) = 0 as is_new_slice,
        complaints_count - complaints_total * coalesce(baseline_share, 0) as excess_complaints,
        row_number() over (
            partition by report_month, feedback_type_id, directorate_id
            order by
                complaints_count - complaints_total * coalesce(baseline_share, 0) desc,
                attribute asc,
                attribute_value asc
        ) as cause_rank
    from shares
    where is_root_cause(complaints_count, complaints_share, baseline_share)
)

select * from final
order by report_month, feedback_type_id, directorate_id, cause_rank
