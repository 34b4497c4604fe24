-- table: core.fct_cases
-- severity: warning
-- why: every case event must come after the case's opening; an earlier one is a CRM clock or export error
-- per_key: case_id
-- Reported, not blocking: the SLA clock starts at the opening anyway (core/fct_case_sla.sql), and the
-- source data cannot be corrected here. Returns the events that precede their case's opening.

select
    events.case_id,
    events.event_type,
    events.event_at,
    fct_cases.opened_at
from staging.stg_crm__case_events as events
inner join core.fct_cases
    on events.case_id = fct_cases.case_id
where
    events.event_type <> 'opened'
    and events.event_at < fct_cases.opened_at
order by events.case_id, events.event_at
