-- SLA alerts and the head's sample checks (QA): state that cannot be rebuilt from the channels.
-- audit.sla_alerts is the alert log: one row per (case, policy, cycle, transition) ever alerted, so a
-- transition is alerted once; audit.sla_alert_deliveries holds each alert's sends (one per webhook
-- and per e-mail route), pending until the receiver accepted it. raw.qa_samples is the monthly
-- sample as drawn (frozen: a later draw must not change what reviewers were given) and
-- raw.qa_verdicts the reviewers' verdicts as imported; a re-import that changes a case's verdict
-- appends a row and stamps the earlier one superseded_at (warehouse/qa.py).
create table audit.sla_alerts (
    alert_id        varchar     primary key,   -- '<case_id>|<sla_policy_id>|<cycle_number>|<transition>'
    case_id         varchar     not null,
    sla_policy_id   varchar     not null,
    cycle_number    integer     not null,      -- 1 unless the SLA engine counts cycles (reopens)
    transition      varchar     not null,      -- at_risk | breached
    sla_state       varchar     not null,      -- the core.fct_case_sla state that raised it
    directorate_id  varchar     not null,
    department_id   varchar     not null,
    manager_id      varchar     not null,
    due_at          timestamptz,
    detected_at     timestamptz not null,      -- the watch's as_of
    run_id          varchar,
    unique (case_id, sla_policy_id, cycle_number, transition)
);

create table audit.sla_alert_deliveries (
    alert_id        varchar     not null,
    channel         varchar     not null,      -- webhook | email
    target          varchar     not null,      -- the webhook id or the comma-joined addresses
    status          varchar     not null,      -- pending | sent
    attempts        integer     not null default 0,   -- watch runs that tried it
    last_error      varchar,
    last_attempt_at timestamptz,
    sent_at         timestamptz,
    primary key (alert_id, channel, target)
);

create table raw.qa_samples (
    sample_month    date        not null,      -- first day of the month the cases closed in (reporting zone)
    case_id         varchar     not null,
    directorate_id  varchar     not null,      -- the owner when the sample was drawn
    department_id   varchar     not null,
    manager_id      varchar     not null,
    sample_reason   varchar     not null,      -- new_owner | failed_last_check | rate
    sample_key      varchar     not null,      -- sha256 of seed|month|case_id: the draw order
    drawn_at        timestamptz not null default current_timestamp,
    primary key (sample_month, case_id)
);

create table raw.qa_verdicts (
    sample_month    date        not null,
    case_id         varchar     not null,
    verdict         varchar     not null,      -- pass | fail
    reviewer        varchar,
    comment         varchar,
    checked_at      timestamptz not null,      -- from the file, else the import time
    import_id       varchar     not null,      -- '<file name>:<sha256 prefix of its bytes>'
    imported_at     timestamptz not null default current_timestamp,
    superseded_at   timestamptz                -- set when a later import changed this case's verdict
);

comment on table audit.sla_alerts is 'Every SLA transition alerted (at_risk, breached), once per case, policy, cycle and transition.';
comment on table audit.sla_alert_deliveries is 'Webhook and e-mail sends of each alert; pending ones are retried by the next sla-watch run.';
comment on table raw.qa_samples is 'The monthly QA sample of closed cases per owner, as drawn (never redrawn).';
comment on table raw.qa_verdicts is 'Reviewers'' verdicts on sampled cases, as imported; the row without superseded_at is current.';
