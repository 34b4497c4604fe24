-- What a replay needs besides the archived batches: the configuration a run used, stored
-- content-addressed (audit.runs.config_hashes points here), and the exact input batches a build saw.
create table audit.config_versions (
    sha256          varchar     primary key,   -- of the file's bytes (UTF-8 text)
    name            varchar     not null,      -- the file it was first seen as, e.g. transforms/org/org.yaml
    content         varchar     not null,
    first_seen_at   timestamptz not null default current_timestamp
);

create table audit.run_inputs (
    run_id          varchar     not null,
    batch_id        varchar     not null,      -- a raw.batches row present when the build started
    primary key (run_id, batch_id)
);

comment on table audit.config_versions is 'Every configuration file content a run used, by sha256.';
comment on table audit.run_inputs is 'The raw.batches a build-warehouse run read: what `otklik replay` re-lands.';
