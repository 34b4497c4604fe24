-- The batch ledger and the landing table. A batch is one landed file, identified by its channel
-- and the SHA-256 of its bytes: the same file landed twice (or under another name) is loaded once.
create table raw.batches (
    batch_id        varchar     primary key,   -- '<channel_id>:<first 20 hex of sha256>'
    channel_id      varchar     not null,
    source_file     varchar     not null,      -- path relative to the landing folder
    content_sha256  varchar     not null,
    size_bytes      bigint      not null,
    record_count    bigint      not null,      -- records landed in raw.channel_payloads
    rejected_count  bigint      not null,      -- records sent to quarantine.records
    status          varchar     not null,      -- loaded | quarantined (the whole file)
    run_id          varchar,
    loaded_at       timestamptz not null default current_timestamp
);

create table raw.channel_payloads (
    channel_id      varchar     not null,
    payload         json        not null,      -- one parsed record exactly as the reader saw it
    _batch_id       varchar     not null,
    _source_file    varchar     not null,
    _record_index   bigint      not null,      -- 0-based position of the record in its file
    _loaded_at      timestamptz not null default current_timestamp
);

comment on table raw.batches is 'Ledger of landed files; a (channel, content hash) is loaded at most once.';
comment on table raw.channel_payloads is 'Append-only landing table for all channels; see transforms/channels/channels.yaml.';
