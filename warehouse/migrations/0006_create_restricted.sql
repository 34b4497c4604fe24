-- restricted: personal data that must not travel with the analytical layers. It holds
-- restricted.customer_contacts (raw phone, e-mail and name per feedback item, keyed by the same
-- customer_key as staging), which warehouse/staging.py rebuilds with staging.stg_channels__feedback;
-- staging, core and marts carry only the keyed hash. Access to this schema is what a deployment
-- restricts (a separate export, file permissions): the close-the-loop work reads it, reports do not.
-- DuckDB 1.5 cannot comment on a schema, so this header is its documentation.
create schema if not exists restricted;
