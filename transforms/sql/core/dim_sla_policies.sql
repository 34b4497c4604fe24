-- dim_sla_policies: one row per SLA policy and rule version, plus the 'unknown' policy.
-- Grain: (sla_policy_id, valid_from). Source: transforms/sla/policies.yaml. A rule is in force from
-- valid_from until the next rule's valid_from (valid_to, exclusive; null = still in force). A rule
-- may set other targets per priority, feedback type or SLA class: target_minutes_min and
-- target_minutes_max span every target the rule can give a clock (equal when it has one).

with

policies as (
    select * from staging.stg_config__sla_policies
),

targets as (
    select * from staging.stg_config__sla_targets
),

target_ranges as (
    select
        policies.sla_policy_id,
        policies.valid_from,
        least(min(policies.target_minutes), min(targets.target_minutes)) as target_minutes_min,
        greatest(max(policies.target_minutes), max(targets.target_minutes)) as target_minutes_max
    from policies
    left join targets
        on
            policies.sla_policy_id = targets.sla_policy_id
            and policies.valid_from = targets.valid_from
    group by all
),

final as (
    select
        policies.sla_policy_id,
        policies.label as policy_label,
        policies.valid_from,
        policies.valid_to,
        policies.start_event,
        policies.stop_event,
        policies.calendar_id,
        policies.target_minutes,
        target_ranges.target_minutes_min,
        target_ranges.target_minutes_max
    from policies
    inner join target_ranges
        on
            policies.sla_policy_id = target_ranges.sla_policy_id
            and policies.valid_from = target_ranges.valid_from
    union all
    select
        'unknown',
        'Неизвестная политика',
        date '2000-01-01',
        null,
        null,
        null,
        null,
        null,
        null,
        null
)

select * from final
