-- fct_cases_monthly: cases per month of opening and owner, additive counts only.
-- Grain: (report_month, directorate_id, department_id, manager_id). report_month is the case's
-- opened_month (reporting timezone); a case without an 'opened' event has no month and is not here
-- (core.fct_cases keeps it). The owner is the case's latest one.

with

cases as (
    select * from core.fct_cases
),

case_sla as (
    select * from core.fct_case_sla
),

-- a case with any SLA clock breached, first cycle or later, stopped late or still running past due
breached_cases as (
    select distinct case_id from case_sla
    where is_breached
),

final as (
    select
        -- grain
        cases.opened_month as report_month,
        cases.directorate_id,
        cases.department_id,
        cases.manager_id,

        -- cases opened in the month, and what became of them
        count(*) as cases_count,
        count(*) filter (where cases.closed_at is not null) as cases_closed_count,
        -- reopened after closing (a failed QA check also puts a case under additional control, but it
        -- is counted in marts.qa_results_monthly, not here)
        count(*) filter (where cases.closed_at is not null and cases.reopened_count > 0) as cases_reopened_count,
        count(*) filter (where cases.first_contact_at >= cases.opened_at) as cases_contacted_count,
        count(*) filter (where cases.under_review_at is not null) as cases_under_review_count,
        count(breached_cases.case_id) as cases_breached_count

    from cases
    left join breached_cases
        on cases.case_id = breached_cases.case_id
    where cases.opened_month is not null
    group by all
)

select * from final
