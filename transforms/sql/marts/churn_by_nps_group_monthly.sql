-- churn_by_nps_group_monthly: do the customers who would not recommend us leave more often? The
-- customers current at the month's first instant, grouped by their last answer to the recommend
-- question (NPS: promoter 9-10, passive 7-8, detractor 0-6) in the twelve months before the month,
-- or 'no_answer'; how many of them the CRM records as lost (refused or churned) during the month,
-- the churn rate (macro churn_rate) and its ratio to the promoters' churn rate of the same month;
-- and the same pooled over the twelve months up to the month (a month's losses per group are few).
-- An answer counts for the CRM customer its channel identifies (core.fct_feedback.crm_customer_key).
-- Grain: (report_month, nps_group), for the groups present at the month's start.
-- Columns: transforms/sql/marts/churn_by_nps_group_monthly.yml.

with

feedback as (
    select * from core.fct_feedback
),

spans as (
    select * from core.fct_customer_status_spans
),

months as (
    select distinct received_month as report_month
    from feedback
    where is_counted_item
),

answers as (
    select
        crm_customer_key as customer_key,
        received_at,
        timezone(getvariable('reporting_timezone'), received_at) as received_local,
        nps_group
    from feedback
    where is_nps_answer and crm_customer_key is not null
),

at_start as (
    select distinct
        months.report_month,
        spans.customer_key
    from months
    inner join spans
        on
            spans.status = 'current'
            and spans.valid_from_local < months.report_month::timestamp
            and (spans.valid_to_local is null or spans.valid_to_local >= months.report_month::timestamp)
),

last_answer as (
    select
        at_start.report_month,
        at_start.customer_key,
        arg_max(answers.nps_group, answers.received_at) as nps_group
    from at_start
    inner join answers
        on
            at_start.customer_key = answers.customer_key
            and answers.received_local < at_start.report_month::timestamp
            and answers.received_local >= (at_start.report_month - interval 12 month)
    group by at_start.report_month, at_start.customer_key
),

lost as (
    select distinct
        months.report_month,
        spans.customer_key
    from months
    inner join spans
        on
            spans.is_loss
            and spans.valid_from_local >= months.report_month::timestamp
            and spans.valid_from_local < (months.report_month + interval 1 month)
),

grouped as (
    select
        at_start.report_month,
        coalesce(last_answer.nps_group, 'no_answer') as nps_group,
        count(*) as customers_at_start_count,
        count(lost.customer_key) as customers_lost_count
    from at_start
    left join last_answer
        on at_start.report_month = last_answer.report_month and at_start.customer_key = last_answer.customer_key
    left join lost
        on at_start.report_month = lost.report_month and at_start.customer_key = lost.customer_key
    group by all
),

-- the twelve months up to this one pooled: a month's losses per group are few, a year's are not
rolling as (
    select
        *,
        sum(customers_at_start_count) over last_year as customers_at_start_12m_count,
        sum(customers_lost_count) over last_year as customers_lost_12m_count
    from grouped
    window last_year as (
        partition by nps_group order by report_month range between interval 11 month preceding and current row
    )
),

rated as (
    select
        *,
        churn_rate(customers_lost_count, customers_at_start_count) as churn_rate,
        churn_rate(customers_lost_12m_count, customers_at_start_12m_count) as churn_rate_12m
    from rolling
),

final as (
    select
        -- grain
        rated.report_month,
        rated.nps_group,

        -- the group's customers and their losses
        rated.customers_at_start_count,
        rated.customers_lost_count,
        rated.churn_rate,
        is_small_sample(rated.customers_at_start_count) as is_churn_rate_small_sample,
        rated.churn_rate / nullif(promoters.churn_rate, 0) as churn_rate_to_promoters,

        -- the same over the twelve months up to this one (customer-months at the start of each month)
        rated.customers_at_start_12m_count::bigint as customers_at_start_12m_count,
        rated.customers_lost_12m_count::bigint as customers_lost_12m_count,
        rated.churn_rate_12m,
        is_small_sample(rated.customers_at_start_12m_count) as is_churn_rate_12m_small_sample,
        rated.churn_rate_12m / nullif(promoters.churn_rate_12m, 0) as churn_rate_12m_to_promoters
    from rated
    left join rated as promoters
        on rated.report_month = promoters.report_month and promoters.nps_group = 'promoter'
)

select * from final
order by report_month, nps_group
