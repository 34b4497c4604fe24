-- table: raw.batches
-- severity: warning
-- why: a file where under 95% of records parsed is probably in a changed format; see quarantine.records
-- The threshold matches PARSE_RATE_MIN in expectations/raw/raw_batches.py. Returns the batches below it.

select
    batch_id,
    channel_id,
    source_file,
    record_count,
    rejected_count,
    round(record_count / (record_count + rejected_count), 4) as parse_rate
from raw.batches
where
    rejected_count > 0
    and record_count / (record_count + rejected_count) < 0.95
order by parse_rate, batch_id
