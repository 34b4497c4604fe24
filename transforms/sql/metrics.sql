-- The metric definitions that the marts share (docs/metrics.md), as DuckDB macros: the only place
-- where a formula or the small-sample threshold is written. Every build creates them on its
-- connection before the first SQL model (warehouse/sql_models.py); Python reads a threshold by
-- evaluating its macro (warehouse.sql_models.metric_constant), never by repeating the number.
-- The per-answer thresholds (promoter 9-10, CSI high 8-10, CSAT 4-5, ...) are flags on the facts
-- (core.fct_feedback), not macros: a mart only sums flags and calls these.

-- A rate computed from fewer answers (or cases, or clocks) than this is shown, flagged.
create or replace temp macro small_sample_answers() as 30;

create or replace temp macro is_small_sample(n) as coalesce(n, 0) < small_sample_answers();

-- A share or rate: null (not 0, not an error) when the denominator is 0 or unknown.
create or replace temp macro share(part, whole) as part / nullif(whole, 0);

-- NPS (and tNPS, eNPS) = 100 × (promoters − detractors) / answers, in −100…100; null without answers.
create or replace temp macro nps(promoters, detractors, answers) as
100 * (promoters - detractors) / nullif(answers, 0);

-- Each answer scores +1 / 0 / −1 and NPS is 100 × their mean; its standard error follows from that
-- score's variance p_P + p_D − (p_P − p_D)², floored at 0 against rounding.
create or replace temp macro nps_standard_error(promoters, detractors, answers) as
case
    when answers > 0
        then 100 * sqrt(
            greatest(0, (promoters + detractors) / answers - ((promoters - detractors) / answers) ** 2) / answers
        )
end;

-- The 95% normal interval (z = 1.96), clipped to −100…100; null without answers.
create or replace temp macro nps_ci_low(promoters, detractors, answers) as
case
    when answers > 0
        then greatest(
            -100, nps(promoters, detractors, answers) - 1.96 * nps_standard_error(promoters, detractors, answers)
        )
end;

create or replace temp macro nps_ci_high(promoters, detractors, answers) as
case
    when answers > 0
        then least(
            100, nps(promoters, detractors, answers) + 1.96 * nps_standard_error(promoters, detractors, answers)
        )
end;

-- CSI = count(8–10) / count(0–3) on the 0–10 recommend question; undefined (null) without low scores.
create or replace temp macro csi(high_count, low_count) as high_count / nullif(low_count, 0);

-- Growth point (feedback types whose complaints grew most): with at least 5 complaints this month (the
-- evidence floor, below which a change is noise), complaints grew against the compared month by at
-- least 3 and by at least 50% (any rise from 0 counts as 50%), or the type's share of all the month's
-- complaints grew by at least 5 percentage points. Null when the compared month is unknown.
create or replace temp macro is_complaint_growth(complaints, compared_complaints, share_change) as
complaints >= 5 and (
    (complaints - compared_complaints >= 3 and complaints >= 1.5 * compared_complaints)
    or share_change >= 0.05
);

-- Root cause of a figure: an attribute slice (channel, store, segment, browser, OS, app version, ...)
-- over-represented among the figure's items against the same figure's items over the three months
-- before: at least 5 items this month, and a share at least 1.5 times the earlier share, or a slice
-- that held none of the earlier items (new). Shares are among the items where the attribute is known.
create or replace temp macro root_cause_min_items() as 5;

create or replace temp macro root_cause_min_lift() as 1.5;

create or replace temp macro is_root_cause(items, items_share, baseline_share) as
items >= root_cause_min_items() and (
    coalesce(baseline_share, 0) = 0 or items_share / baseline_share >= root_cause_min_lift()
);

-- Churn rate: customers lost in the month (current → refused or churned in the CRM) ÷ customers who
-- were current at the month's first instant; null without customers at the start.
create or replace temp macro churn_rate(lost, customers_at_start) as lost / nullif(customers_at_start, 0);

-- An SLA clock's state (docs/metrics.md «SLA»), by the boundary rule: within target while the elapsed time
-- is at most the target (achieved_at <= due_at; as_of <= due_at while open), at risk once strictly less
-- than the rule's at-risk share is left (running_us > risk_us). Shared by core.fct_case_sla and the
-- advance of its open cycles to a later clock (transforms/sql/clock/fct_case_sla.sql); the clock is an
-- argument, so no model reads it through this macro.
create or replace temp macro sla_state(as_of, started_at, achieved_at, due_at, running_us, risk_us) as
case
    when started_at is null then 'not_started'
    when achieved_at <= due_at then 'achieved'
    when achieved_at is not null then 'breached'
    when as_of > due_at then 'open_breached'
    when running_us > risk_us then 'at_risk'
    else 'open_ok'
end;

-- The calendar position (working microseconds since the calendar's start) of ``instant``, in the
-- working interval of its calendar that starts last at or before it (its start_at, working_us and the
-- working time before it); 0 before the calendar's first interval. Shared by core.int_sla_clock_marks and
-- the advance of its open cycles' ends (transforms/sql/clock/int_sla_clock_marks.sql).
create or replace temp macro sla_position_us(working_us_before, working_us, start_at, instant) as
coalesce(working_us_before + least(working_us, greatest(0, epoch_us(instant) - epoch_us(start_at))), 0);
