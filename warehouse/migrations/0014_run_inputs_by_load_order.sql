-- A build's inputs as a load-order bound instead of a row per batch. audit.run_inputs held every
-- batch of raw.batches again for every build: a 1M-item history has ~135k batches, so hourly builds
-- would add ~1.2 billion rows a year, and recording them cost what the history holds, not what is new.
--
-- raw.batches is never deleted from, and a batch's batch_seq (its load order) is taken when it is
-- committed, in increasing order, while no build runs (a build holds the warehouse exclusively). So the
-- batches a build read are exactly those with batch_seq <= the highest it saw. The run records that
-- bound, how many batches it covered and the sha256 of their ids (sorted, one per line: the digest a
-- published review records as its provenance), and `otklik replay` checks both before it re-lands.
-- Runs recorded before this migration keep their rows in audit.run_inputs and are read from there.
alter table audit.runs add column input_batch_seq bigint;
alter table audit.runs add column input_batch_count bigint;
alter table audit.runs add column input_batches_sha256 varchar;

comment on column audit.runs.input_batch_seq is 'build-warehouse: it read every raw.batches row with batch_seq up to this (null before migration 0014: see audit.run_inputs).';
comment on column audit.runs.input_batch_count is 'build-warehouse: how many batches it read.';
comment on column audit.runs.input_batches_sha256 is 'build-warehouse: sha256 of the ids of the batches it read, sorted, one per line.';
comment on table audit.run_inputs is 'The raw.batches a build-warehouse run read, for runs recorded before migration 0014 (later runs record a load-order bound in audit.runs).';
