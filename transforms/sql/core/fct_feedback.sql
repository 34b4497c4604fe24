-- fct_feedback: one row per feedback item from any channel, classified, routed to its owner and
-- flagged for every metric it feeds. The is_* metric flags are the only place where a threshold of
-- docs/metrics.md lives (promoter 9-10, CSI high 8-10, CSAT 4-5, ...): the monthly facts sum them
-- and the marts never look at a score again.
-- Grain: feedback_id (unique; expectations). received_month is the month in the reporting
-- timezone, not UTC: an item at 23:30 Moscow on the 31st belongs to that month.
-- Owner: an item that names a CRM case (case_ref, e.g. a final-survey answer) belongs to that
-- case's owner, the people it judges; any other item to the owner its type and store route it to.
-- Counted items (is_counted_item) are the customers' items that start a conversation: a repeat of
-- the same customer's item on another channel (core.int_feedback_conversations), an employee's
-- answer (audience 'employee', which has eNPS of its own) and a self-service session (a bot or FAQ
-- session, counted as an issue, not as feedback) stay here but are not counted as items.
-- Customer: crm_customer_key is the CRM customer the item's customer_key identifies (by customer id,
-- phone or e-mail: core.int_customer_identities), null when the CRM does not know it; segment is the
-- CRM's segment for that customer, else what the channel said.

with

feedback as (
    select * from core.int_feedback_classified
),

channels as (
    select * from core.dim_channels
),

directorates as (
    select * from core.dim_directorates
),

departments as (
    select * from core.dim_departments
),

managers as (
    select * from core.dim_managers
),

cases as (
    select * from core.fct_cases
),

conversations as (
    select * from core.int_feedback_conversations
),

identities as (
    select * from core.int_customer_identities
),

customers as (
    select * from core.dim_customers
),

joined as (
    select
        feedback.*,
        coalesce(channels.channel_id, 'unknown') as known_channel_id,
        coalesce(channels.audience, 'customer') as audience,
        cases.case_id,
        -- the case's owner for an item about a case; the routed owner otherwise
        coalesce(cases.directorate_id, directorates.directorate_id, 'unassigned') as owner_directorate_id,
        case
            when cases.case_id is not null then cases.department_id
            else coalesce(departments.department_id, 'unassigned')
        end as owner_department_id,
        case
            when cases.case_id is not null then cases.manager_id
            else coalesce(managers.manager_id, 'unassigned')
        end as owner_manager_id,
        coalesce(conversations.conversation_id, feedback.feedback_id) as known_conversation_id,
        coalesce(conversations.is_conversation_repeat, false) as is_repeat,
        feedback.self_service_outcome is not null as is_session,
        identities.customer_key as crm_customer_key,
        customers.segment as crm_segment
    from feedback
    left join channels
        on feedback.channel_id = channels.channel_id
    left join directorates
        on feedback.directorate_id = directorates.directorate_id
    left join departments
        on feedback.department_id = departments.department_id
    left join managers
        on feedback.manager_id = managers.manager_id
    left join cases
        on feedback.case_ref = cases.case_id
    left join conversations
        on feedback.feedback_id = conversations.feedback_id
    left join identities
        on feedback.customer_key = identities.identity_key
    left join customers
        on identities.customer_key = customers.customer_key
),

scored as (
    select
        *,
        coalesce(audience = 'customer' and not is_repeat and not is_session, false) as is_counted,
        -- a 0-10 answer to a recommend question: its NPS group
        case
            when question_type not in ('nps', 'tnps', 'enps') or score_scale <> '0-10' or score_raw is null then null
            when score_raw >= 9 then 'promoter'
            when score_raw >= 7 then 'passive'
            when score_raw >= 0 then 'detractor'
        end as recommend_group
    from joined
),

-- whose recommend answer it is: a counted customer item (NPS, CSI), any customer's final-survey
-- answer (tNPS), an employee's (eNPS)
grouped as (
    select
        *,
        case when is_counted and question_type = 'nps' then recommend_group end as nps_answer_group,
        case when audience = 'customer' and question_type = 'tnps' then recommend_group end as tnps_answer_group,
        case when audience = 'employee' and question_type = 'enps' then recommend_group end as enps_answer_group
    from scored
),

final as (
    select
        -- ids
        feedback_id,
        known_channel_id as channel_id,
        source_item_id,
        feedback_type_id,
        owner_directorate_id as directorate_id,
        owner_department_id as department_id,
        owner_manager_id as manager_id,
        store_id,
        case_id,
        customer_key,
        crm_customer_key,
        known_conversation_id as conversation_id,
        audience,

        -- timestamps (UTC) and the reporting month
        received_at,
        date_trunc('month', received_at at time zone getvariable('reporting_timezone'))::date as received_month,

        -- classification
        kind,
        has_text,
        body_text,
        language,
        classifier_version,
        sentiment,
        confidence as classification_confidence,
        method as classification_method,
        needs_review,
        taxonomy_version,
        model_version,

        -- scores as received
        score_raw,
        score_scale,
        score_10,
        question_type,
        recommend_group as nps_group,
        is_issue_solved,
        self_service_outcome,

        -- contact and slicing attributes
        has_contact_request,
        has_contact,
        coalesce(crm_segment, segment) as segment,
        device,

        -- conversations and edits
        is_repeat as is_conversation_repeat,
        is_edited,

        -- metric flags: counted items
        is_counted as is_counted_item,

        -- NPS and CSI over the customers' 0-10 recommend question; a 0 counts with the CSI low group
        nps_answer_group is not null as is_nps_answer,
        coalesce(nps_answer_group = 'promoter', false) as is_nps_promoter,
        coalesce(nps_answer_group = 'passive', false) as is_nps_passive,
        coalesce(nps_answer_group = 'detractor', false) as is_nps_detractor,
        coalesce(nps_answer_group is not null and score_raw >= 8, false) as is_csi_high,
        coalesce(nps_answer_group is not null and score_raw <= 3, false) as is_csi_low,

        -- CSAT: 4-5 on 1-5 satisfaction answers
        coalesce(
            is_counted and question_type = 'csat' and score_scale = '1-5' and score_raw between 1 and 5, false
        ) as is_csat_answer,
        coalesce(
            is_counted and question_type = 'csat' and score_scale = '1-5' and score_raw between 4 and 5, false
        ) as is_csat_satisfied,

        -- customer effort (1-7, "the company made it easy for me"): 5-7 is low effort
        coalesce(
            is_counted and question_type = 'ces_effort' and score_scale = '1-7' and score_raw between 1 and 7, false
        ) as is_effort_answer,
        coalesce(
            is_counted and question_type = 'ces_effort' and score_scale = '1-7' and score_raw between 5 and 7, false
        ) as is_low_effort,

        -- review ratings (1-5 stars on maps, marketplaces, app stores), kept as received
        coalesce(
            is_counted and question_type = 'rating' and score_scale = '1-5' and score_raw between 1 and 5, false
        ) as is_rating_answer,

        -- tNPS and CES over every final close-the-loop answer (a customer's answer about a closed case,
        -- whether or not its comment repeats an earlier item)
        tnps_answer_group is not null as is_tnps_answer,
        coalesce(tnps_answer_group = 'promoter', false) as is_tnps_promoter,
        coalesce(tnps_answer_group = 'passive', false) as is_tnps_passive,
        coalesce(tnps_answer_group = 'detractor', false) as is_tnps_detractor,
        coalesce(
            audience = 'customer'
            and (is_issue_solved is not null or (question_type = 'ces_solved' and score_raw is not null)),
            false
        ) as is_ces_answer,
        coalesce(
            audience = 'customer'
            and coalesce(is_issue_solved, question_type = 'ces_solved' and score_raw = 1),
            false
        ) as is_ces_solved,

        -- eNPS over the employees' answers
        enps_answer_group is not null as is_enps_answer,
        coalesce(enps_answer_group = 'promoter', false) as is_enps_promoter,
        coalesce(enps_answer_group = 'passive', false) as is_enps_passive,
        coalesce(enps_answer_group = 'detractor', false) as is_enps_detractor,

        -- self-service: a bot or FAQ session, and whether it resolved the issue before any contact
        is_session as is_self_service_session,
        coalesce(self_service_outcome = 'resolved', false) as is_self_service_resolved,

        -- lineage
        _batch_id,
        _source_file,
        _record_index

    from grouped
)

select * from final
