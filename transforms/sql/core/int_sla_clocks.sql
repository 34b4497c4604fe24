-- int_sla_clocks: one row per (case_id, sla_policy_id) for every policy whose rule was in force on the
-- day the case opened (reporting timezone) and whose scope (priorities, channel of the case's item,
-- "contact me" answers) takes the case; with the case's target (first matching override, else the rule's)
-- and the clock's first start. A type's SLA class is the taxonomy's (staging.stg_config__feedback_types). A 'feedback_received' start is the received_at of the case's item.

with

case_events as (
    select distinct
        case_id,
        event_type,
        event_at
    from staging.stg_crm__case_events
),

sla_policies as (
    select * from staging.stg_config__sla_policies
),

sla_targets as (
    select * from staging.stg_config__sla_targets
),

cases as (
    select * from core.fct_cases
),

feedback as (
    select * from core.fct_feedback
),

feedback_types as (
    select * from staging.stg_config__feedback_types
),

case_first_events as (
    select
        case_id,
        min(event_at) as first_event_at
    from case_events
    group by case_id
),

case_anchors as (
    select
        cases.*,
        feedback.channel_id,
        feedback.received_at,
        coalesce(feedback.has_contact_request, false) as has_contact_request,
        feedback.feedback_type_id,
        feedback_types.sla_class,
        timezone(
            getvariable('reporting_timezone'),
            coalesce(cases.opened_at, case_first_events.first_event_at)
        )::date as anchor_date
    from cases
    inner join case_first_events
        on cases.case_id = case_first_events.case_id
    left join feedback
        on cases.feedback_id = feedback.feedback_id
    left join feedback_types
        on feedback.feedback_type_id = feedback_types.feedback_type_id
),

case_rules as (
    select
        case_anchors.*,
        sla_policies.sla_policy_id,
        sla_policies.valid_from as rule_valid_from,
        sla_policies.start_event,
        sla_policies.stop_event,
        sla_policies.pause_events,
        sla_policies.resume_events,
        sla_policies.restart_on_reopen,
        sla_policies.target_minutes as rule_target_minutes,
        sla_policies.calendar_id,
        sla_policies.at_risk_share
    from case_anchors
    inner join sla_policies
        on
            case_anchors.anchor_date >= sla_policies.valid_from
            and (sla_policies.valid_to is null or case_anchors.anchor_date < sla_policies.valid_to)
    where (
        sla_policies.applies_to_priorities is null
        or list_contains(sla_policies.applies_to_priorities, case_anchors.priority)
    )
    and (
        sla_policies.applies_to_channels is null
        or list_contains(sla_policies.applies_to_channels, case_anchors.channel_id)
    )
    and (not sla_policies.contact_request_only or case_anchors.has_contact_request)
),

-- equi-join first, match after: an outer join on the list conditions would be a nested loop
matched_targets as (
    select
        case_rules.case_id,
        case_rules.sla_policy_id,
        arg_min(sla_targets.target_minutes, sla_targets.target_order) as target_minutes
    from case_rules
    inner join sla_targets
        on
            case_rules.sla_policy_id = sla_targets.sla_policy_id
            and case_rules.rule_valid_from = sla_targets.valid_from
    where
        (sla_targets.priorities is null or list_contains(sla_targets.priorities, case_rules.priority))
        and (
            sla_targets.feedback_type_ids is null
            or list_contains(sla_targets.feedback_type_ids, case_rules.feedback_type_id)
        )
        and (sla_targets.sla_classes is null or list_contains(sla_targets.sla_classes, case_rules.sla_class))
    group by all
),

targeted as (
    select
        case_rules.*,
        coalesce(matched_targets.target_minutes, case_rules.rule_target_minutes) as target_minutes
    from case_rules
    left join matched_targets
        on
            case_rules.case_id = matched_targets.case_id
            and case_rules.sla_policy_id = matched_targets.sla_policy_id
),

start_events as (
    select
        targeted.case_id,
        targeted.sla_policy_id,
        min(case_events.event_at) as first_start_event_at
    from targeted
    left join case_events
        on
            targeted.case_id = case_events.case_id
            and targeted.start_event = case_events.event_type
    group by all
),

final as (
    select
        targeted.* exclude (first_contact_at, closed_at, last_closed_at, is_open, opened_month),
        case
            when targeted.start_event = 'feedback_received' then targeted.received_at
            else start_events.first_start_event_at
        end as started_at
    from targeted
    inner join start_events
        on
            targeted.case_id = start_events.case_id
            and targeted.sla_policy_id = start_events.sla_policy_id
)

select * from final
