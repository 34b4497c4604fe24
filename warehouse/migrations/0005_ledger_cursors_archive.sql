-- The batch ledger records where a batch came from (a landed file or a pulled page), when it was
-- fetched, the channel cursor before and after it, and where its bytes are archived (content-
-- addressed by sha256). batch_seq orders batches by load, so a later edit of an item wins.
-- raw.channel_cursors holds each pulled channel's watermark, written in the batch's transaction.
alter table raw.batches add column source_uri varchar;
alter table raw.batches add column fetched_at timestamptz;
alter table raw.batches add column cursor_before varchar;
alter table raw.batches add column cursor_after varchar;
alter table raw.batches add column archive_path varchar;
alter table raw.batches add column batch_seq bigint;

create sequence raw.batch_seq_numbers start 1;

update raw.batches set batch_seq = seq.n
from (select batch_id, row_number() over (order by loaded_at, batch_id) as n from raw.batches) as seq
where seq.batch_id = raw.batches.batch_id;

create table raw.channel_cursors (
    channel_id      varchar     primary key,
    cursor          varchar     not null,      -- opaque to the warehouse: a page, an offset, a token
    batch_id        varchar     not null,      -- the batch whose commit advanced it
    updated_at      timestamptz not null default current_timestamp
);

alter table quarantine.files add column archive_path varchar;
alter table quarantine.files add column resolved_at timestamptz;       -- set by `otklik quarantine retry`
alter table quarantine.files add column resolved_batch_id varchar;

comment on table raw.channel_cursors is 'Per-channel pull watermark, committed in the same transaction as the page it follows.';
