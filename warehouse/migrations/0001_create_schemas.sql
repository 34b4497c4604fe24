-- One schema per layer (docs/development.md). raw, audit and quarantine hold state and change only
-- through these migrations; staging, core and marts are rebuilt from transforms/ by warehouse/build.py.
create schema if not exists raw;
create schema if not exists staging;
create schema if not exists core;
create schema if not exists marts;
create schema if not exists audit;
create schema if not exists quarantine;
