-- raw.batches without its primary key. The key (batch_id) was an index over every batch ever landed, and
-- a checkpoint after new rows cost about 0.2 s with it against 0.01 s without, whatever the ledger's size
-- (82,000 and 195,000 batch ids of the bench, and 1.19 M made from them, alike), at every run that lands
-- anything; the index also held half of the ledger's bytes (BENCHMARKS.md, 2026-12-07 (seventeenth)).
-- What it guaranteed, that a file is loaded at most once, is kept as on a DuckLake, which never had it: a
-- group of batches is committed in one transaction that first refuses any batch id already in the ledger
-- or twice in the group (warehouse/ingest.py, BatchGroup._commit), under the writer's lock (one writer
-- per file; one per channel on a lake), and the raw layer's critical expectation still requires unique
-- batch ids (expectations/raw/raw_batches.py).
create table raw.batches_v2 (
    batch_id        varchar     not null,      -- '<channel_id>:<first 20 hex of sha256>'
    channel_id      varchar     not null,
    source_file     varchar     not null,      -- path relative to the landing folder
    content_sha256  varchar     not null,
    size_bytes      bigint      not null,
    record_count    bigint      not null,      -- records landed in raw.channel_payloads
    rejected_count  bigint      not null,      -- records sent to quarantine.records
    status          varchar     not null,      -- loaded | quarantined (the whole file)
    run_id          varchar,
    loaded_at       timestamptz not null default current_timestamp,
    source_uri      varchar,
    fetched_at      timestamptz,
    cursor_before   varchar,
    cursor_after    varchar,
    archive_path    varchar,
    batch_seq       bigint
);
insert into raw.batches_v2 by name
select * from raw.batches
order by batch_seq, batch_id;
drop table raw.batches;
alter table raw.batches_v2 rename to batches;

comment on table raw.batches is 'Ledger of landed files; a (channel, content hash) is loaded at most once (by warehouse/ingest.py: no key since migration 0016).';
