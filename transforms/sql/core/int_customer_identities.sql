-- int_customer_identities: which CRM customer an identity belongs to. An identity is a keyed hash as
-- staging keeps it (staging.stg_channels__feedback.customer_key): of the CRM customer id, or of a
-- phone or an e-mail the CRM holds for the customer. A feedback channel that knows its customers only
-- by phone (the IVR survey) or by e-mail (the mailbox) finds the CRM customer through this table.
-- An identity the CRM gives to two customers (a shared family phone, a company's common mailbox) is
-- left out: its items stay without a CRM customer rather than be given to the wrong one.
-- Grain: identity_key.

with

statuses as (
    select * from staging.stg_crm__customer_statuses
),

claims as (
    select
        customer_key as identity_key,
        customer_key
    from statuses
    union
    select
        phone_key as identity_key,
        customer_key
    from statuses
    where phone_key is not null
    union
    select
        email_key as identity_key,
        customer_key
    from statuses
    where email_key is not null
),

final as (
    select
        identity_key,
        min(customer_key) as customer_key
    from claims
    group by identity_key
    having count(distinct customer_key) = 1
)

select * from final
