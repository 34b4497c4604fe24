-- audit.published_figure_items without its primary key. The key (review_id, figure_id, item_kind,
-- item_id) was an index over every drill-through row of every published review: a month of a
-- 1M-item history adds 3.2 M rows, and keeping the index up to date cost ~7 s of each publication
-- (inserting 3.2 M rows took 8.5 s with it, 1.7 s without). What it guaranteed is kept as on a
-- DuckLake, which never had it: a publication writes the distinct items of its figures once, in one
-- insert, under a review id that is new (the version after the last, written while the build holds the
-- warehouse), and audit.published_reviews keeps its key on review_id, so a second publication of the
-- same version fails as a whole (warehouse/publish.py).
create table audit.published_figure_items_v2 (
    review_id       varchar     not null,
    figure_id       varchar     not null,          -- '<table>|<row key>|<column>'
    item_kind       varchar     not null,          -- feedback | sla_clock
    item_id         varchar     not null           -- feedback_id, or '<case_id>|<sla_policy_id>'
);
insert into audit.published_figure_items_v2
select review_id, figure_id, item_kind, item_id from audit.published_figure_items;
drop table audit.published_figure_items;
alter table audit.published_figure_items_v2 rename to published_figure_items;

comment on table audit.published_figure_items is 'Drill-through: the items behind each published figure (each once per review, written by warehouse/publish.py in one insert; no key since migration 0015).';
