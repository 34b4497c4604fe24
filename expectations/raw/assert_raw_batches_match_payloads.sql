-- table: raw.batches
-- severity: critical
-- why: the ledger's record_count must equal the payloads landed under each batch (nothing lost or doubled)
-- A batch and its payloads are written in one transaction (warehouse/ingest.py); a difference means
-- a half-written batch, payloads inserted outside the ingest, or a batch deleted by hand. Payloads
-- whose batch is not in the ledger at all show up with ledger_record_count null.
-- Returns one row per batch whose counts differ.

with

ledger as (
    select
        batch_id,
        record_count
    from raw.batches
),

landed as (
    select
        _batch_id as batch_id,
        count(*) as payload_count
    from raw.channel_payloads
    group by all
),

final as (
    select
        coalesce(ledger.batch_id, landed.batch_id) as batch_id,
        ledger.record_count as ledger_record_count,
        coalesce(landed.payload_count, 0) as payload_count
    from ledger
    full outer join landed
        on ledger.batch_id = landed.batch_id
)

select * from final
where ledger_record_count is null or ledger_record_count <> payload_count
order by batch_id
