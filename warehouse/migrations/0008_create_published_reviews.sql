-- Published reviews: a frozen copy of every figure a review showed, the feedback items behind each
-- figure, and what the figures were built from. State, not a model: late data and rebuilds never
-- touch a published version; republishing adds a new version (warehouse/publish.py).
create table audit.published_reviews (
    review_id           varchar     primary key,   -- e.g. 'monthly:2026-10:all:v2'
    review_kind         varchar     not null,      -- monthly | weekly
    period              varchar     not null,      -- '2026-10' or '2026-W45'
    scope               varchar     not null,      -- 'all' (company) or a directorate id
    version             integer     not null,      -- 1, 2, ... per (review_kind, period, scope)
    period_start        date        not null,      -- first day, reporting timezone
    period_end          date        not null,      -- first day after the period
    published_at        timestamptz not null,
    build_run_id        varchar     not null,      -- the completed build-warehouse run it froze
    input_batches_hash  varchar     not null,      -- sha256 of the build's sorted input batch ids
    input_batch_ids     json        not null,      -- ["channel:hash", ...] (audit.run_inputs of the build)
    config_hashes       json,                      -- {"transforms/org/org.yaml": sha256, ...} of the build
    code_version        varchar,                   -- git commit of the code that published it
    restatement         json,                      -- version > 1: what changed since the previous version, and why
    unique (review_kind, period, scope, version)
);

create table audit.published_tables (
    review_id       varchar     not null,
    table_name      varchar     not null,          -- e.g. marts.management_monthly, weekly.top_types
    position        integer     not null,          -- sheet / section order
    column_types    json        not null,          -- {"column": "DUCKDB TYPE", ...} in column order
    key_columns     json        not null,          -- the grain columns a restatement diff matches rows on
    row_count       bigint      not null,
    primary key (review_id, table_name)
);

create table audit.published_table_rows (
    review_id       varchar     not null,
    table_name      varchar     not null,
    row_number      bigint      not null,
    row_data        json        not null,          -- the row as to_json() wrote it
    primary key (review_id, table_name, row_number)
);

create table audit.published_figure_items (
    review_id       varchar     not null,
    figure_id       varchar     not null,          -- '<table>|<row key>|<column>'
    item_kind       varchar     not null,          -- feedback | sla_clock
    item_id         varchar     not null,          -- feedback_id, or '<case_id>|<sla_policy_id>'
    primary key (review_id, figure_id, item_kind, item_id)
);

create table audit.published_items (
    review_id       varchar     not null,
    item_kind       varchar     not null,
    item_id         varchar     not null,
    row_data        json        not null,          -- the item as it was (texts PII-masked)
    primary key (review_id, item_kind, item_id)
);

comment on table audit.published_reviews is 'One row per published review version; never updated.';
comment on table audit.published_table_rows is 'Frozen rows of every table a published review shows.';
comment on table audit.published_figure_items is 'Drill-through: the items behind each published figure.';
