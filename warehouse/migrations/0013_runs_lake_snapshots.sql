-- On a DuckLake warehouse (warehouse/lake.py) every commit is a snapshot, and a run records two:
-- input_snapshot, the one a build read its inputs at (`otklik replay` reads raw.batches and what people
-- entered as of it), and output_snapshot, the one a completed build left its tables at (readers attach
-- the lake pinned to the last completed build's: the lake's readers' copy). Null on a DuckDB file,
-- whose readers read the readers' copy (warehouse/reader_copy.py).
alter table audit.runs add column input_snapshot bigint;
alter table audit.runs add column output_snapshot bigint;

comment on column audit.runs.input_snapshot is 'DuckLake only: the snapshot the run read its inputs at; null on a DuckDB file.';
comment on column audit.runs.output_snapshot is 'DuckLake only: the snapshot a completed build left its tables at; null on a DuckDB file.';
