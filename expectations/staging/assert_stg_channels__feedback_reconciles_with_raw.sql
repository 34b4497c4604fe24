-- table: staging.stg_channels__feedback
-- severity: critical
-- why: every record read from a feedback batch must be staged, kept as an earlier version or rejected with a reason
-- Per batch: records read (raw.batches record_count + rejected_count, i.e. landed payloads and the
-- records the reader sent to quarantine.records) = current rows in staging + earlier versions in
-- staging.stg_channels__feedback_versions + quarantine.staging_rejects + quarantine.records.
-- Feedback batches are those of feedback channels and of channels no longer in the registry, whose
-- payloads are rejected as unknown_channel under the feedback entity. A row here is a record lost
-- or counted twice by normalization. Returns one row per batch whose counts differ.

with

batches as (
    select * from raw.batches
),

channels as (
    select * from staging.stg_config__channels
),

feedback_batches as (
    select
        batches.batch_id,
        batches.channel_id,
        batches.record_count + batches.rejected_count as read_count
    from batches
    left join channels
        on batches.channel_id = channels.channel_id
    where coalesce(channels.entity, 'feedback') = 'feedback'
),

outcomes as (
    select
        _batch_id as batch_id,
        'staged' as outcome
    from staging.stg_channels__feedback
    union all
    select
        _batch_id,
        'earlier_version'
    from staging.stg_channels__feedback_versions
    union all
    select
        _batch_id,
        'staging_reject'
    from quarantine.staging_rejects
    where entity = 'feedback'
    union all
    select
        batch_id,
        'reader_reject'
    from quarantine.records
),

outcome_counts as (
    select
        batch_id,
        count(*) filter (where outcome = 'staged') as staged_count,
        count(*) filter (where outcome = 'earlier_version') as earlier_version_count,
        count(*) filter (where outcome = 'staging_reject') as staging_reject_count,
        count(*) filter (where outcome = 'reader_reject') as reader_reject_count,
        count(*) as accounted_count
    from outcomes
    group by all
),

final as (
    select
        coalesce(feedback_batches.batch_id, outcome_counts.batch_id) as batch_id,
        feedback_batches.channel_id,
        coalesce(feedback_batches.read_count, 0) as read_count,
        coalesce(outcome_counts.staged_count, 0) as staged_count,
        coalesce(outcome_counts.earlier_version_count, 0) as earlier_version_count,
        coalesce(outcome_counts.staging_reject_count, 0) as staging_reject_count,
        coalesce(outcome_counts.reader_reject_count, 0) as reader_reject_count,
        coalesce(outcome_counts.accounted_count, 0) as accounted_count
    from feedback_batches
    full outer join outcome_counts
        on feedback_batches.batch_id = outcome_counts.batch_id
    -- reader rejects of case-event and order batches are theirs to reconcile, not feedback's
    where
        feedback_batches.batch_id is not null
        or outcome_counts.accounted_count > outcome_counts.reader_reject_count
)

select * from final
where read_count <> accounted_count
order by batch_id
