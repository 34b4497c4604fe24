"""Canonical entities that channels map onto, and the staging tables they become.

Every reader returns plain records (dicts); a channel's ``fields`` map maps the entity's
*mappable* fields onto source paths; the normalizer turns mapped records into frames with
exactly the ``staging`` columns below (names and dtypes), in this order.
"""

from dataclasses import dataclass

import polars as pl

UTC_TIMESTAMP = pl.Datetime("us", "UTC")

LOAD_METADATA: dict[str, pl.DataType] = {
    "_batch_id": pl.String(),
    "_source_file": pl.String(),
    "_record_index": pl.Int64(),
}


@dataclass(frozen=True)
class EntitySchema:
    name: str
    staging_table: str
    mappable: tuple[str, ...]
    required: tuple[str, ...]
    columns: dict[str, pl.DataType]


FEEDBACK = EntitySchema(
    name="feedback",
    staging_table="staging.stg_channels__feedback",
    mappable=(
        "source_item_id",  # the item's id in its source system
        "received_at",  # when the customer said it
        "body_text",  # free text (may be several source fields joined)
        "score",  # the answer on the channel's score_scale
        "customer_ref",  # any stable customer identifier; stored only as a keyed hash
        "contact_phone",
        "contact_email",
        "contact_requested",  # "I want a specialist to contact me"
        "store_id",
        "order_ref",
        "segment",  # b2b / b2c / vip ...
        "device",  # browser or app version, for root-cause slicing
        "licence_ref",  # the licence or subscription the feedback is about
        "manager_ref",  # the account manager named by the source (B2B notes, CRM)
        "case_ref",  # the CRM / helpdesk case the item belongs to
        "issue_solved",  # the answer to "Was your issue solved?" (да/нет/yes/no/1/0/true/false)
        "self_service_outcome",  # how a chat-bot or FAQ session ended: resolved / escalated / abandoned
        "customer_name",  # personal data: kept only in the restricted contacts table
        "updated_at",  # when the source last edited the item (a later edit replaces the earlier one)
    ),
    required=("source_item_id", "received_at"),
    columns={
        "feedback_id": pl.String(),  # "<channel_id>:<source_item_id>", unique
        "channel_id": pl.String(),
        "source_item_id": pl.String(),
        "received_at": UTC_TIMESTAMP,
        "body_text": pl.String(),  # NFC, HTML stripped, phones, e-mails and card numbers masked
        # the text held control or bidi characters, replaced by a space or removed (transforms.normalize.text)
        "text_cleaned": pl.Boolean(),
        "language": pl.String(),  # ru / en / other by letter counts (transforms.normalize.text); null without text
        "score_raw": pl.Float64(),  # as received, on score_scale
        "score_scale": pl.String(),
        "score_10": pl.Float64(),  # 0-10 where the scale's meaning allows it, else null
        "question_type": pl.String(),
        "has_contact_request": pl.Boolean(),
        "has_contact": pl.Boolean(),  # a phone or an e-mail was left
        "customer_key": pl.String(),  # HMAC-SHA256 of the normalized customer_ref (or contact)
        "store_id": pl.String(),
        "order_ref": pl.String(),
        "segment": pl.String(),
        "device": pl.String(),
        "licence_ref": pl.String(),
        "manager_ref": pl.String(),
        "case_ref": pl.String(),
        "is_issue_solved": pl.Boolean(),  # "Was your issue solved?": true / false; null when not asked or not answered
        # a chat-bot / FAQ session's end (SELF_SERVICE_OUTCOMES); null for every item that is no such session
        "self_service_outcome": pl.String(),
        "is_edited": pl.Boolean(),  # a later version of the item replaced an earlier one (see _versions)
        **LOAD_METADATA,
    },
)

# How a self-service session (the website/app chat bot, the FAQ widget) ended: the customer said the
# answer helped; the bot handed the customer over to an operator in the chat; neither.
SELF_SERVICE_OUTCOMES = ("resolved", "escalated", "abandoned")
# Feedback fields that say who the customer is or what they bought: an employee channel (audience
# employee, e.g. the anonymous eNPS pulse survey) may map none of them.
CUSTOMER_FIELDS = (
    "customer_ref",
    "contact_phone",
    "contact_email",
    "contact_requested",
    "customer_name",
    "order_ref",
    "store_id",
    "case_ref",
)

# Earlier versions of edited feedback items: staging.stg_channels__feedback_versions. A version is
# superseded by the next one (by updated_at, else by load order); the current one is in staging.
FEEDBACK_VERSIONS_TABLE = "staging.stg_channels__feedback_versions"
VERSION_COLUMNS: dict[str, pl.DataType] = {
    "version_number": pl.Int64(),  # 1 = the earliest version; the current one (in staging) comes after the last
    "superseded_by_batch_id": pl.String(),  # the batch that delivered the next version
}
FEEDBACK_VERSION_COLUMNS: dict[str, pl.DataType] = {**FEEDBACK.columns, **VERSION_COLUMNS}

# Raw contact values, which never reach staging: restricted.customer_contacts, one row per current
# feedback item that left any of them, rebuilt with staging. Kept apart so that staging, core, the
# marts and whatever is exported from them carry no contact; only the close-the-loop work reads it.
CUSTOMER_CONTACTS_TABLE = "restricted.customer_contacts"
CUSTOMER_CONTACT_COLUMNS: dict[str, pl.DataType] = {
    "customer_key": pl.String(),  # the same keyed hash as in staging (null when only a name was left)
    "channel_id": pl.String(),
    "feedback_id": pl.String(),
    "phone_normalized": pl.String(),  # digits, Russian 8/9xx forms as 7xxxxxxxxxx (transforms.privacy)
    "email_normalized": pl.String(),  # trimmed, lower-cased
    "customer_name": pl.String(),  # as written (NFC, white space collapsed)
    "first_seen_at": UTC_TIMESTAMP,  # received_at of the item that carries the contact
}

CASE_EVENT_TYPES = (
    "opened",
    "first_contact",
    "under_review",
    "waiting_customer",
    "resumed",
    "resolved",
    "closed",
    "reopened",
)

CASE_EVENT = EntitySchema(
    name="case_event",
    staging_table="staging.stg_crm__case_events",
    mappable=(
        "case_id",
        "event_type",
        "event_at",
        "feedback_ref",  # the feedback_id ("<channel_id>:<source_item_id>") that opened the case
        "directorate_id",
        "department_id",
        "manager_id",
        "priority",
    ),
    required=("case_id", "event_type", "event_at"),
    columns={
        "case_id": pl.String(),
        "event_type": pl.String(),  # one of CASE_EVENT_TYPES
        "event_at": UTC_TIMESTAMP,
        "feedback_id": pl.String(),
        "directorate_id": pl.String(),
        "department_id": pl.String(),
        "manager_id": pl.String(),
        "priority": pl.String(),
        **LOAD_METADATA,
    },
)

ORDER_COUNT = EntitySchema(
    name="order_count",
    staging_table="staging.stg_erp__orders_monthly",
    mappable=("report_month", "directorate_id", "orders_count"),
    required=("report_month", "directorate_id", "orders_count"),
    columns={
        "report_month": pl.Date(),  # first day of the month
        "directorate_id": pl.String(),
        "orders_count": pl.Int64(),
        **LOAD_METADATA,
    },
)

# A customer's status in the CRM: current (a customer now), refused (said no: cancelled, declined
# the renewal or the offer) or churned (stopped buying without saying so). One row per change; a
# customer's first row is the day the card was opened. Identities are kept only as keyed hashes,
# the same as staging's customer_key, so that a feedback item finds its CRM customer by whichever
# of customer id, phone or e-mail its channel carries (core.int_customer_identities).
CUSTOMER_STATUSES = ("current", "refused", "churned")

CUSTOMER_STATUS = EntitySchema(
    name="customer_status",
    staging_table="staging.stg_crm__customer_statuses",
    mappable=("customer_ref", "contact_phone", "contact_email", "segment", "status", "status_at"),
    required=("customer_ref", "status", "status_at"),
    columns={
        "customer_key": pl.String(),  # keyed hash of the CRM customer id (transforms.privacy.customer_key)
        "phone_key": pl.String(),  # keyed hash of the phone, as a channel that identifies by phone hashes it
        "email_key": pl.String(),  # keyed hash of the e-mail
        "segment": pl.String(),
        "status": pl.String(),  # one of CUSTOMER_STATUSES
        "status_at": UTC_TIMESTAMP,  # when the customer entered the status
        **LOAD_METADATA,
    },
)

ENTITY_SCHEMAS: dict[str, EntitySchema] = {s.name: s for s in (FEEDBACK, CASE_EVENT, ORDER_COUNT, CUSTOMER_STATUS)}

# Staging rejects: every raw record that does not reach a staging table lands here with a reason.
REJECT_COLUMNS: dict[str, pl.DataType] = {
    "channel_id": pl.String(),
    "entity": pl.String(),
    "reason": pl.String(),  # short machine code: missing_field, bad_timestamp, future_date, ...
    "detail": pl.String(),  # human sentence: which field, what value
    "source_item_id": pl.String(),
    **LOAD_METADATA,
}
