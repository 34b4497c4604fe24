-- Everything that did not reach the warehouse, with a reason. Nothing is dropped silently:
-- raw records = staging rows + staging rejects; landed files = loaded batches + quarantined files.
create table quarantine.files (
    batch_id        varchar     primary key,
    channel_id      varchar     not null,      -- the folder it landed in (may be an unknown channel)
    source_file     varchar     not null,
    content_sha256  varchar     not null,
    reason          varchar     not null,      -- unknown_channel | unreadable_encoding | broken_json | ...
    detail          varchar     not null,
    run_id          varchar,
    quarantined_at  timestamptz not null default current_timestamp
);

create table quarantine.records (
    batch_id        varchar     not null,
    channel_id      varchar     not null,
    source_file     varchar     not null,
    record_index    bigint      not null,
    raw_excerpt     varchar,                   -- the first 500 characters of what could not be parsed
    reason          varchar     not null,
    detail          varchar     not null,
    run_id          varchar,
    quarantined_at  timestamptz not null default current_timestamp
);

-- Rebuilt together with staging (rows of the batches being rebuilt are replaced in one transaction).
create table quarantine.staging_rejects (
    channel_id      varchar     not null,
    entity          varchar     not null,
    reason          varchar     not null,      -- missing_field | bad_timestamp | future_date | score_out_of_range | duplicate | ...
    detail          varchar     not null,
    source_item_id  varchar,
    _batch_id       varchar     not null,
    _source_file    varchar     not null,
    _record_index   bigint      not null
);

comment on table quarantine.files is 'Landed files that could not be read at all, with the reason.';
comment on table quarantine.records is 'Single records of a readable file that could not be parsed (e.g. one broken JSONL line).';
comment on table quarantine.staging_rejects is 'Raw records that normalization refused (missing id, bad date, out-of-range score, duplicate).';
