-- fct_case_sla: one row per SLA clock cycle (case_id, sla_policy_id, cycle_number), judged against
-- getvariable('as_of') while open. Cycle 1 starts at the rule's start event; with restart_on_reopen each
-- reopen starts the next cycle. Never drops a case in scope: without its start event it is one
-- 'not_started' row; contradictory events (a stop before the start, a reply before the receipt, events out
-- of order) are listed in clock_violation and the clock runs as the events allow. Times are in the
-- policy's calendar (elapsed_minutes) and in real time (calendar_elapsed_minutes).

with

case_events as (
    select distinct case_id, event_type, event_at from staging.stg_crm__case_events
),

clocks as (
    select * from core.int_sla_clocks
),

marks as (
    select * from core.int_sla_clock_marks
),

intervals as (
    select * from core.int_sla_calendar_intervals
),

cycle_totals as (
    select
        case_id,
        sla_policy_id,
        cycle_number,
        any_value(achieved_at) as achieved_at,
        any_value(window_end_at) as window_end_at,
        any_value(cycle_stray_resumes) as cycle_stray_resumes,
        min(mark_at) filter (where mark = 'activate') as started_at,
        max(mark_at) filter (where mark in ('fulfill', 'as_of')) as ended_at,
        coalesce(sum(segment_working_us) filter (where mark in ('activate', 'resume')), 0) as running_us,
        coalesce(sum(segment_working_us) filter (where mark = 'pause'), 0) as paused_us,
        arg_max(mark, mark_number) filter (where mark not in ('fulfill', 'as_of')) = 'pause' as ends_paused
    from marks
    group by all
),

-- the clock is projected as running after its last known mark: running segments, plus one from the
-- cycle's end when it ended paused; the due time lies in the first that reaches the target, else the last
due_candidates as (
    select marks.*
    from marks
    where marks.mark in ('activate', 'resume')
    union all
    select marks.*
    from marks
    inner join cycle_totals
        on cycle_totals.case_id = marks.case_id
        and cycle_totals.sla_policy_id = marks.sla_policy_id
        and cycle_totals.cycle_number = marks.cycle_number
    where marks.mark in ('fulfill', 'as_of') and cycle_totals.ends_paused
),

due_running as (
    select
        due_candidates.*,
        clocks.target_minutes::bigint * 60000000 as target_us,
        -- the position at which less than at_risk_share of the target is left: the clock turns at risk
        round((1 - clocks.at_risk_share) * clocks.target_minutes * 60000000)::bigint as risk_us,
        coalesce(
            sum(due_candidates.segment_working_us) over (
                partition by due_candidates.case_id, due_candidates.sla_policy_id, due_candidates.cycle_number
                order by due_candidates.mark_number rows between unbounded preceding and 1 preceding
            ),
            0
        ) as running_before_us,
        due_candidates.mark_number = max(due_candidates.mark_number) over (
            partition by due_candidates.case_id, due_candidates.sla_policy_id, due_candidates.cycle_number
        ) as is_last
    from due_candidates
    inner join clocks
        on clocks.case_id = due_candidates.case_id
        and clocks.sla_policy_id = due_candidates.sla_policy_id
),

due_positions as (
    select
        case_id,
        sla_policy_id,
        cycle_number,
        calendar_id,
        position_us + target_us - running_before_us as due_position_us
    from due_running
    where running_before_us + segment_working_us >= target_us or is_last
    qualify row_number() over (partition by case_id, sla_policy_id, cycle_number order by mark_number) = 1
),

dues as (
    select
        due_positions.case_id,
        due_positions.sla_policy_id,
        due_positions.cycle_number,
        intervals.start_at + to_microseconds((due_positions.due_position_us - intervals.working_us_before)::bigint) as due_at
    from due_positions
    asof left join intervals
        on intervals.calendar_id = due_positions.calendar_id
        and due_positions.due_position_us > intervals.working_us_before
),

-- the same projection for the at-risk threshold: sla_watch turns an open clock at risk at this moment
-- between two builds, without calendar arithmetic of its own (transforms/alerts/detect.py)
risk_positions as (
    select
        case_id,
        sla_policy_id,
        cycle_number,
        calendar_id,
        position_us + risk_us - running_before_us as risk_position_us
    from due_running
    where running_before_us + segment_working_us >= risk_us or is_last
    qualify row_number() over (partition by case_id, sla_policy_id, cycle_number order by mark_number) = 1
),

risks as (
    select
        risk_positions.case_id,
        risk_positions.sla_policy_id,
        risk_positions.cycle_number,
        intervals.start_at
        + to_microseconds((risk_positions.risk_position_us - intervals.working_us_before)::bigint) as at_risk_at
    from risk_positions
    asof left join intervals
        on intervals.calendar_id = risk_positions.calendar_id
        and risk_positions.risk_position_us > intervals.working_us_before
),

clock_violations as (
    select
        clocks.case_id,
        clocks.sla_policy_id,
        coalesce(bool_or(case_events.event_type = clocks.stop_event), false) as has_stop_before_start,
        coalesce(bool_or(case_events.event_type <> clocks.stop_event), false) as has_event_before_start
    from clocks
    inner join case_events
        on case_events.case_id = clocks.case_id
        and case_events.event_at < clocks.started_at
        and list_contains(
            list_concat([clocks.stop_event, 'reopened'], clocks.pause_events, clocks.resume_events),
            case_events.event_type
        )
    group by all
),

cycle_violations as (
    select
        case_id,
        sla_policy_id,
        -- a stray resume, or a reopen while the previous cycle was still running
        bool_or(cycle_stray_resumes > 0 or (window_end_at is not null and achieved_at is null)) as has_disorder
    from cycle_totals
    group by all
),

cycles as (
    select
        clocks.*,
        coalesce(cycle_totals.cycle_number, 1) as cycle_number,
        cycle_totals.started_at as cycle_started_at,
        cycle_totals.ended_at,
        cycle_totals.achieved_at,
        cycle_totals.running_us,
        cycle_totals.paused_us,
        cycle_totals.ends_paused,
        dues.due_at,
        risks.at_risk_at,
        nullif(
            concat_ws(
                ',',
                if(
                    clock_violations.has_stop_before_start,
                    if(clocks.start_event = 'feedback_received', 'reply_before_receipt', 'stop_before_start'),
                    null
                ),
                if(clock_violations.has_event_before_start or cycle_violations.has_disorder, 'events_out_of_order', null)
            ),
            ''
        ) as clock_violation
    from clocks
    left join cycle_totals
        on cycle_totals.case_id = clocks.case_id
        and cycle_totals.sla_policy_id = clocks.sla_policy_id
    left join dues
        on dues.case_id = cycle_totals.case_id
        and dues.sla_policy_id = cycle_totals.sla_policy_id
        and dues.cycle_number = cycle_totals.cycle_number
    left join risks
        on risks.case_id = cycle_totals.case_id
        and risks.sla_policy_id = cycle_totals.sla_policy_id
        and risks.cycle_number = cycle_totals.cycle_number
    left join clock_violations
        on clock_violations.case_id = clocks.case_id
        and clock_violations.sla_policy_id = clocks.sla_policy_id
    left join cycle_violations
        on cycle_violations.case_id = clocks.case_id
        and cycle_violations.sla_policy_id = clocks.sla_policy_id
),

judged as (
    select
        *,
        case
            when cycle_started_at is null then 'not_started'
            when achieved_at <= due_at then 'achieved'
            when achieved_at is not null then 'breached'
            when getvariable('as_of') > due_at then 'open_breached'
            when target_minutes * 60 - running_us / 1e6 < at_risk_share * target_minutes * 60 then 'at_risk'
            else 'open_ok'
        end as sla_state
    from cycles
),

final as (
    select
        -- ids
        case_id,
        sla_policy_id,
        cycle_number,
        rule_valid_from,
        directorate_id,
        department_id,
        manager_id,
        priority,
        feedback_id,

        -- timestamps (UTC)
        cycle_started_at as started_at,
        due_at,
        at_risk_at,  -- when less than at_risk_share of the target is left (projected like due_at)
        achieved_at,

        -- sla
        calendar_id,
        target_minutes,
        running_us / 60e6 as elapsed_minutes,
        (epoch_us(ended_at) - epoch_us(cycle_started_at)) / 60e6 as calendar_elapsed_minutes,
        paused_us / 60e6 as paused_minutes,
        coalesce(ends_paused and achieved_at is null, false) as is_paused,
        sla_state,
        cycle_started_at is not null as is_measured,
        -- a breach counts from the moment the due time passes, closed or not
        sla_state in ('breached', 'open_breached') as is_breached,
        clock_violation,
        -- reopened at least once (a later cycle exists), or sent back by the head's check
        is_under_additional_control,

        -- months (reporting timezone): the cycle's start, or the anchor day when never started
        date_trunc(
            'month',
            coalesce(timezone(getvariable('reporting_timezone'), cycle_started_at)::date, anchor_date)
        )::date as report_month

    from judged
)

select * from final
