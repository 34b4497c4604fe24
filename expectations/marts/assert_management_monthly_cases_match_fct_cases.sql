-- table: marts.management_monthly
-- severity: critical
-- why: the directorate rows of a month must add up to the cases core.fct_cases opened that month, and the company row to the same
-- Every case with an opening is counted once, under the month it opened (reporting timezone), as are
-- its close, its reopen and a resolution without contact. A lost case (a missing directorate member)
-- or a doubled one (a fan-out join) shows as a month whose totals differ. Returns one row per
-- (month, figure) that differs, with the core count, the directorate sum and the company row.

with

cases as (
    select * from core.fct_cases
    where opened_month is not null
),

mart as (
    select * from marts.management_monthly
),

core_months as (
    select
        opened_month as report_month,
        count(*) as cases_count,
        count(*) filter (where closed_at is not null) as cases_closed_count,
        count(*) filter (where closed_at is not null and reopened_count > 0) as cases_reopened_count
    from cases
    group by all
),

mart_months as (
    select
        report_month,
        sum(cases_count) filter (where directorate_id <> 'all') as cases_count,
        sum(cases_closed_count) filter (where directorate_id <> 'all') as cases_closed_count,
        sum(cases_reopened_count) filter (where directorate_id <> 'all') as cases_reopened_count,
        sum(cases_count) filter (where directorate_id = 'all') as company_cases_count,
        sum(cases_closed_count) filter (where directorate_id = 'all') as company_cases_closed_count,
        sum(cases_reopened_count) filter (where directorate_id = 'all') as company_cases_reopened_count
    from mart
    group by all
),

compared as (
    select
        coalesce(mart_months.report_month, core_months.report_month) as report_month,
        figures.figure,
        figures.core_value,
        figures.directorates_value,
        figures.company_value
    from mart_months
    full outer join core_months
        on mart_months.report_month = core_months.report_month
    cross join lateral (
        values
        ('cases_count', core_months.cases_count, mart_months.cases_count, mart_months.company_cases_count),
        (
            'cases_closed_count',
            core_months.cases_closed_count,
            mart_months.cases_closed_count,
            mart_months.company_cases_closed_count
        ),
        (
            'cases_reopened_count',
            core_months.cases_reopened_count,
            mart_months.cases_reopened_count,
            mart_months.company_cases_reopened_count
        )
    ) as figures (figure, core_value, directorates_value, company_value)
)

select * from compared
where
    coalesce(core_value, 0) <> coalesce(directorates_value, 0)
    or coalesce(core_value, 0) <> coalesce(company_value, 0)
order by report_month, figure
