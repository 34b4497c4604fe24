-- Manual labels: what a person decided about an item, kept as state (it cannot be rebuilt).
-- Append-only: a correction is a new row; the latest row per feedback_id (labelled_at, then
-- label_seq) wins. Null in kind / sentiment / feedback_type_id means "this label says nothing
-- about it", so a reviewer may fix only the type. The build's classifier applies them
-- (method 'manual') and `otklik classify train --with-manual` learns from them.
create sequence raw.manual_label_seq start 1;

create table raw.manual_labels (
    label_seq         bigint      not null default nextval('raw.manual_label_seq') primary key,
    feedback_id       varchar     not null,
    kind              varchar,                   -- complaint / wish / thanks / question / other
    sentiment         varchar,                   -- negative / neutral / positive
    feedback_type_id  varchar,                   -- a code of transforms/taxonomy/feedback_types.csv
    labelled_by       varchar     not null,
    labelled_at       timestamptz not null default current_timestamp,
    source            varchar     not null,      -- the imported file (or 'crm:<field>')
    note              varchar
);

comment on table raw.manual_labels is 'Append-only manual classification labels; latest per feedback_id overrides the classifier.';
