-- fct_case_sla: one row per SLA clock cycle (case_id, sla_policy_id, cycle_number), judged against
-- getvariable('as_of') while open. Cycle 1 starts at the rule's start event; with restart_on_reopen each
-- reopen starts the next cycle. Never drops a case in scope: without its start event it is one
-- 'not_started' row; contradictory events (a stop before the start, a reply before the receipt, events out
-- of order) are listed in clock_violation and the clock runs as the events allow. Times are in the
-- policy's calendar (elapsed_minutes) and in real time (calendar_elapsed_minutes).
-- The boundary rule (docs/sla.md): a clock is within target while its elapsed time in the policy's
-- calendar is at most the target, and breaches at the first instant it exceeds it. due_at is the LAST
-- instant still within target, so achieved_at <= due_at <=> elapsed <= target and as_of > due_at <=>
-- elapsed at as_of > target; at_risk_at is, alike, the last instant at which at least at_risk_share of
-- the target is left. The reference is transforms/sla/clock.py.

with

case_events as (
    select distinct
        case_id,
        event_type,
        event_at
    from staging.stg_crm__case_events
),

clocks as (
    select
        *,
        target_minutes::bigint * 60000000 as target_us,
        -- the running time beyond which less than at_risk_share of the target is left: at risk past it
        round((1 - at_risk_share) * target_minutes * 60000000)::bigint as risk_us
    from core.int_sla_clocks
),

marks as (
    select * from core.int_sla_clock_marks
),

-- the inverse lookup (position -> instant) needs strictly increasing working_us_before: an interval
-- without working time (a local period lost to a DST switch) adds no position and would tie its successor
intervals as (
    select * from core.int_sla_calendar_intervals
    where working_us > 0
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
-- cycle's end when it ended paused; the due time lies in the first that runs past the target, else the
-- last (a segment that only reaches it is not enough: elapsed stays at the target until the next runs)
due_candidates as (
    select marks.*
    from marks
    where marks.mark in ('activate', 'resume')
    union all
    select marks.*
    from marks
    inner join cycle_totals
        on
            marks.case_id = cycle_totals.case_id
            and marks.sla_policy_id = cycle_totals.sla_policy_id
            and marks.cycle_number = cycle_totals.cycle_number
    where marks.mark in ('fulfill', 'as_of') and cycle_totals.ends_paused
),

due_running as (
    select
        due_candidates.*,
        clocks.target_us,
        clocks.risk_us,
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
        on
            due_candidates.case_id = clocks.case_id
            and due_candidates.sla_policy_id = clocks.sla_policy_id
),

due_positions as (
    select
        case_id,
        sla_policy_id,
        cycle_number,
        calendar_id,
        position_us + target_us - running_before_us as due_position_us
    from due_running
    where running_before_us + segment_working_us > target_us or is_last
    qualify row_number() over (partition by case_id, sla_policy_id, cycle_number order by mark_number) = 1
),

-- position -> instant: the LAST instant at that position, so a position equal to an interval's
-- working_us_before maps to that interval's start, not to the end of the one before (the same position:
-- no working time passes in between). Past the end of the calendar horizon the lookup extrapolates.
dues as (
    select
        due_positions.case_id,
        due_positions.sla_policy_id,
        due_positions.cycle_number,
        intervals.start_at
        + to_microseconds((due_positions.due_position_us - intervals.working_us_before)::bigint) as due_at
    from due_positions
    asof left join intervals
        on
            due_positions.calendar_id = intervals.calendar_id
            and due_positions.due_position_us >= intervals.working_us_before
),

-- the same projection for the at-risk threshold: at_risk_at is the last instant with at least
-- at_risk_share of the target left; sla_watch turns a running clock at risk once as_of is past it, between
-- two builds, without calendar arithmetic of its own (transforms/alerts/detect.py)
risk_positions as (
    select
        case_id,
        sla_policy_id,
        cycle_number,
        calendar_id,
        position_us + risk_us - running_before_us as risk_position_us
    from due_running
    where running_before_us + segment_working_us > risk_us or is_last
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
        on
            risk_positions.calendar_id = intervals.calendar_id
            and risk_positions.risk_position_us >= intervals.working_us_before
),

clock_violations as (
    select
        clocks.case_id,
        clocks.sla_policy_id,
        coalesce(bool_or(case_events.event_type = clocks.stop_event), false) as has_stop_before_start,
        coalesce(bool_or(case_events.event_type <> clocks.stop_event), false) as has_event_before_start
    from clocks
    inner join case_events
        on
            clocks.case_id = case_events.case_id
            and clocks.started_at > case_events.event_at
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
                if(
                    clock_violations.has_event_before_start or cycle_violations.has_disorder,
                    'events_out_of_order',
                    null
                )
            ),
            ''
        ) as clock_violation
    from clocks
    left join cycle_totals
        on
            clocks.case_id = cycle_totals.case_id
            and clocks.sla_policy_id = cycle_totals.sla_policy_id
    left join dues
        on
            cycle_totals.case_id = dues.case_id
            and cycle_totals.sla_policy_id = dues.sla_policy_id
            and cycle_totals.cycle_number = dues.cycle_number
    left join risks
        on
            cycle_totals.case_id = risks.case_id
            and cycle_totals.sla_policy_id = risks.sla_policy_id
            and cycle_totals.cycle_number = risks.cycle_number
    left join clock_violations
        on
            clocks.case_id = clock_violations.case_id
            and clocks.sla_policy_id = clock_violations.sla_policy_id
    left join cycle_violations
        on
            clocks.case_id = cycle_violations.case_id
            and clocks.sla_policy_id = cycle_violations.sla_policy_id
),

-- the boundary rule: within target while elapsed <= target (achieved_at <= due_at, as_of <= due_at);
-- at risk once strictly less than at_risk_share is left (running_us > risk_us; exactly the share is ok)
judged as (
    select
        *,
        sla_state(getvariable('as_of'), cycle_started_at, achieved_at, due_at, running_us, risk_us) as sla_state
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
        due_at,  -- the last instant within target (elapsed <= target_minutes); breached right after it
        at_risk_at,  -- the last instant with at least at_risk_share left (projected like due_at)
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

        -- months (reporting timezone): the cycle's start, or the anchor day when never started
        date_trunc(
            'month',
            coalesce(timezone(getvariable('reporting_timezone'), cycle_started_at)::date, anchor_date)
        )::date as report_month

    from judged
)

select * from final
