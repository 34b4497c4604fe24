-- The process behind each run, so that the next run can tell a run whose process died (kill -9, a
-- crashed host) from one still working, and mark it 'abandoned' instead of leaving it 'running'
-- (audit.runs.state is now running | completed | failed | abandoned).
alter table audit.runs add column pid integer;
alter table audit.runs add column host varchar;
