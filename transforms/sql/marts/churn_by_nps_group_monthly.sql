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

-- How it counts: a row per customer and month at the start (~5M on a 1M-item history), joined to the
-- answers and the losses, costs seconds. The customers with an answer in the twelve months before a
-- month are far fewer, so only they are grouped one by one; the rest of the month's customers at the
-- start (and of its losses) are no_answer.

-- every customer with a current span, numbered (the joins below go by the number, not the 64-character
-- key)
current_customers as materialized (
    select
        customer_key,
        row_number() over () as customer_number
    from spans
    where status = 'current'
    group by customer_key
),

current_spans as (
    select
        current_customers.customer_number,
        spans.valid_from_local,
        spans.valid_to_local
    from spans
    inner join current_customers
        on spans.customer_key = current_customers.customer_key
    where spans.status = 'current'
),

-- the customers current at the month's first instant (reporting timezone), counted once each: the
-- segments' counts summed (every CRM customer has one row in core.dim_customers, so one segment)
at_start_counts as (
    select
        report_month,
        sum(customers_at_start_count)::bigint as customers_count
    from core.fct_customers_at_month_start
    group by report_month
),

-- a customer without a current span is at no month's start: their answers and losses count nowhere
answers as (
    select
        current_customers.customer_number,
        feedback.received_at,
        timezone(getvariable('reporting_timezone'), feedback.received_at) as received_local,
        feedback.nps_group
    from feedback
    inner join current_customers
        on feedback.crm_customer_key = current_customers.customer_key
    where feedback.is_nps_answer
),

lost as (
    select distinct
        months.report_month,
        current_customers.customer_number
    from months
    inner join spans
        on spans.is_loss and months.report_month = date_trunc('month', spans.valid_from_local)::date
    inner join current_customers
        on spans.customer_key = current_customers.customer_key
),

-- each customer's last answer in the twelve months before the month, whether at its start or not
last_answer as (
    select
        months.report_month,
        answers.customer_number,
        arg_max(answers.nps_group, answers.received_at) as nps_group
    from months
    inner join answers
        on
            answers.received_local < months.report_month::timestamp
            and answers.received_local >= (months.report_month - interval 12 month)
    group by months.report_month, answers.customer_number
),

-- of them, the customers at the month's start, and whether they were lost during it
answered as (
    select
        last_answer.report_month,
        coalesce(last_answer.nps_group, 'no_answer') as nps_group,
        lost.customer_number is not null as is_lost
    from last_answer
    left join lost
        on last_answer.report_month = lost.report_month and last_answer.customer_number = lost.customer_number
    where exists (
        select 1 from current_spans
        where
            current_spans.customer_number = last_answer.customer_number
            and current_spans.valid_from_local < last_answer.report_month::timestamp
            and (
                current_spans.valid_to_local is null
                or current_spans.valid_to_local >= last_answer.report_month::timestamp
            )
    )
),

-- the losses during the month of customers at its start
lost_counts as (
    select
        report_month,
        count(*) as customers_count
    from lost
    where
        exists (
            select 1 from current_spans
            where
                current_spans.customer_number = lost.customer_number
                and current_spans.valid_from_local < lost.report_month::timestamp
                and (
                    current_spans.valid_to_local is null
                    or current_spans.valid_to_local >= lost.report_month::timestamp
                )
        )
    group by report_month
),

answered_counts as (
    select
        report_month,
        nps_group,
        count(*) as customers_count,
        count(*) filter (where is_lost) as lost_count
    from answered
    group by all
),

-- the answered customers by group; every other customer at the start is no_answer (the month's
-- customers and losses less the answered ones); a group with nobody at the start has no row
grouped as (
    select
        report_month,
        nps_group,
        sum(customers_count)::bigint as customers_at_start_count,
        sum(lost_count)::bigint as customers_lost_count
    from (
        select * from answered_counts
        union all
        select
            at_start_counts.report_month,
            'no_answer' as nps_group,
            at_start_counts.customers_count,
            coalesce(lost_counts.customers_count, 0) as lost_count
        from at_start_counts
        left join lost_counts
            on at_start_counts.report_month = lost_counts.report_month
        union all
        select
            report_month,
            'no_answer' as nps_group,
            -sum(customers_count) as customers_count,
            -sum(lost_count) as lost_count
        from answered_counts
        group by report_month
    ) as parts
    group by report_month, nps_group
    having sum(customers_count) > 0
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
