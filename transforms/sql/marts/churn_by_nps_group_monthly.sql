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
-- answers and the losses, costs seconds; so does a row per answer and month of its window (~0.8M). Each
-- answer instead groups its customer over a range of months, and the months of that range at whose start
-- the customer is count by running sums; the rest of the month's customers at the start (and of its
-- losses) are no_answer.

-- every customer with a current span, numbered (the joins below go by the number, not the 64-character
-- key); a one-span customer is at the start of the months [first_month, end_month)
-- (core.int_customer_start_months), any other is looked at month by month
current_customers as materialized (
    select
        customer_key,
        is_one_span,
        first_month,
        end_month,
        row_number() over () as customer_number
    from core.int_customer_start_months
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
        current_customers.is_one_span,
        current_customers.first_month,
        current_customers.end_month,
        feedback.nps_group,
        date_trunc('month', timezone(getvariable('reporting_timezone'), feedback.received_at)) as received_month,
        date_trunc(
            'month', timezone(getvariable('reporting_timezone'), lead(feedback.received_at) over later_answers)
        ) as next_received_month
    from feedback
    inner join current_customers
        on feedback.crm_customer_key = current_customers.customer_key
    where feedback.is_nps_answer
    -- two answers of one instant are ordered by their group, so that every build takes the same as the last
    window later_answers as (
        partition by current_customers.customer_number order by feedback.received_at, feedback.nps_group
    )
),

-- The months [from_month, to_month) for which an answer is its customer's last in the twelve months before
-- the month's first instant: from the first month after it, up to the first month after the customer's next
-- answer, and no further than twelve months on (a month's window reaches back to the first instant of the
-- same month a year before, so an answer of month M counts up to M + 12).
answer_ranges as (
    select
        customer_number,
        is_one_span,
        first_month,
        end_month,
        nps_group,
        received_month + interval 1 month as from_month,
        least(
            received_month + interval 13 month,
            coalesce(next_received_month + interval 1 month, received_month + interval 13 month)
        ) as to_month
    from answers
),

-- of a customer with one current span, the months where both ranges meet
one_span_ranges as (
    select
        nps_group,
        greatest(from_month, first_month) as from_month,
        least(to_month, coalesce(end_month, to_month)) as to_month
    from answer_ranges
    where is_one_span
),

-- counted by running sums over the months: +1 from a range's first month, -1 from the month after its last
one_span_bounds as (
    select
        nps_group,
        bound_month,
        sum(customers_count) as customers_count
    from (
        select
            nps_group,
            from_month as bound_month,
            1 as customers_count
        from one_span_ranges
        where from_month < to_month
        union all
        select
            nps_group,
            to_month as bound_month,
            -1 as customers_count
        from one_span_ranges
        where from_month < to_month
    ) as bounds
    group by nps_group, bound_month
),

-- every other customer month by month: at the month's start and in an answer's range
other_answered as (
    select
        months.report_month,
        answer_ranges.nps_group,
        answer_ranges.customer_number
    from months
    inner join answer_ranges
        on
            not answer_ranges.is_one_span
            and months.report_month::timestamp >= answer_ranges.from_month
            and months.report_month::timestamp < answer_ranges.to_month
    where exists (
        select 1 from current_spans
        where
            current_spans.customer_number = answer_ranges.customer_number
            and current_spans.valid_from_local < months.report_month::timestamp
            and (
                current_spans.valid_to_local is null
                or current_spans.valid_to_local >= months.report_month::timestamp
            )
    )
),

-- the customers at the month's start by the group of their last answer
answered_at_start as (
    select
        months.report_month,
        one_span_bounds.nps_group,
        sum(one_span_bounds.customers_count) as customers_count
    from months
    inner join one_span_bounds
        on one_span_bounds.bound_month <= months.report_month::timestamp
    group by months.report_month, one_span_bounds.nps_group
    union all
    select
        report_month,
        nps_group,
        count(*) as customers_count
    from other_answered
    group by report_month, nps_group
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

-- the losses during the month of customers at its start
lost_at_start as (
    select * from lost
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
),

lost_counts as (
    select
        report_month,
        count(*) as customers_count
    from lost_at_start
    group by report_month
),

-- of them, by the group of their last answer
answered_lost as (
    select
        lost_at_start.report_month,
        answer_ranges.nps_group,
        count(*) as lost_count
    from lost_at_start
    inner join answer_ranges
        on
            lost_at_start.customer_number = answer_ranges.customer_number
            and lost_at_start.report_month::timestamp >= answer_ranges.from_month
            and lost_at_start.report_month::timestamp < answer_ranges.to_month
    group by lost_at_start.report_month, answer_ranges.nps_group
),

answered_counts as (
    select
        report_month,
        nps_group,
        sum(customers_count) as customers_count,
        sum(lost_count) as lost_count
    from (
        select
            report_month,
            nps_group,
            customers_count,
            0 as lost_count
        from answered_at_start
        union all
        select
            report_month,
            nps_group,
            0 as customers_count,
            lost_count
        from answered_lost
    ) as parts
    group by report_month, nps_group
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
