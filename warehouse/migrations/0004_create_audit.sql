-- Run ledger, table fingerprints and data-quality results: what an auditor needs to replay a run.
create table audit.runs (
    run_id          varchar     primary key,
    flow            varchar     not null,
    parameters      json,
    state           varchar     not null,      -- running | completed | failed
    started_at      timestamptz not null,
    ended_at        timestamptz,
    as_of           timestamptz,               -- the clock the run computed SLAs against
    code_version    varchar,
    lock_sha256     varchar,
    config_hashes   json,                      -- {"channels.yaml": sha256, ...}
    message         varchar
);

create table audit.table_fingerprints (
    run_id          varchar     not null,
    table_name      varchar     not null,
    row_count       bigint      not null,
    content_hash    varchar     not null,      -- order-independent hash of every row
    built_at        timestamptz not null default current_timestamp
);

create table audit.validation_results (
    run_id          varchar,
    validated_at    timestamptz not null default current_timestamp,
    layer           varchar     not null,
    suite           varchar     not null,      -- the checked table, e.g. core.fct_feedback
    expectation     varchar     not null,
    column_name     varchar,
    severity        varchar     not null,      -- critical | warning
    success         boolean     not null,
    observed_value  varchar,
    unexpected_count bigint,
    element_count   bigint,
    sample          json,                      -- a few offending values or rows
    message         varchar
);
