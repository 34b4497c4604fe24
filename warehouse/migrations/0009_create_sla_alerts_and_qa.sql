-- Placeholder reserved for a migration being written; replaced before it ships.
select 1;
