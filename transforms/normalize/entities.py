"""One plan per canonical entity: which columns to compute, which checks reject a record.

A plan is expressions only (no data): ``raw`` pulls the mapped fields out of the payload,
``derived`` computes the staging columns from them (``late`` the few computed from those),
``checks`` are (condition, reason, detail) in priority order (the first that holds is the reject
reason), ``key`` is the duplicate key. A plan with ``content`` is versioned: records with the key
and other content are versions of one item, ordered by ``version_order`` and then load order; with
``versions_by_load_order`` the load order alone is the edit order (a source that restates a record by
delivering it again, with no edit time: the ERP's order counts), and ``superseded_reason`` sends the
superseded versions of an entity without a versions table to the rejects under that reason.
``contacts`` are the restricted contact columns, for the items where ``has_contacts`` holds.
``transforms.normalize.normalize_channel`` runs a plan over a frame of payloads.
"""

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

import polars as pl

from transforms.channels.registry import Channel
from transforms.normalize import scores
from transforms.normalize.fields import describe_source, field_value, raw_value, sources
from transforms.normalize.text import cap_text_expr, clean_text_flagged_expr, language_expr
from transforms.normalize.timestamps import expected_form, parse_strptime, parse_timestamp
from transforms.privacy import customer_keys, mask_pii_expr, normalize_email_expr, normalize_phones
from transforms.schemas import (
    CASE_EVENT_TYPES,
    CUSTOMER_STATUSES,
    FEEDBACK,
    LOAD_METADATA,
    ORDER_COUNT,
    SELF_SERVICE_OUTCOMES,
    UTC_TIMESTAMP,
)

EARLIEST = datetime.fromisoformat("2000-01-01T00:00:00+00:00")
FUTURE_TOLERANCE_MINUTES = 10
TIMESTAMP_TEXT = "%Y-%m-%dT%H:%M:%SZ"


@dataclass(frozen=True)
class Check:
    condition: pl.Expr
    reason: str
    detail: pl.Expr


@dataclass
class EntityPlan:
    raw: dict[str, pl.Expr]
    derived: dict[str, pl.Expr]
    checks: list[Check]
    key: list[str]
    key_text: pl.Expr  # the duplicate key as text, for the reject detail
    reject_id: pl.Expr  # what lands in staging_rejects.source_item_id
    sort: list[str]
    late: dict[str, pl.Expr] = field(default_factory=dict)
    content: list[str] | None = None  # None: a second record with the key is always a duplicate
    version_order: list[str] = field(default_factory=list)
    # Versioned plans: the edit marker (a column; null when the source gives none) and the columns an
    # edit never changes (when and by whom the item was first said). See normalize._collisions.
    edit_marker: str | None = None
    origin: list[str] = field(default_factory=list)
    # Versioned plans whose source restates a record by delivering it again: the record of a key
    # loaded last is current, each delivery (batch) says one thing of a key (normalize._deliveries).
    versions_by_load_order: bool = False
    # None: superseded versions are history (the entity's versions table). A reason: the entity has no
    # versions table, and they are rejects with this reason, the detail naming what superseded them.
    superseded_reason: str | None = None
    contacts: dict[str, pl.Expr] = field(default_factory=dict)  # CUSTOMER_CONTACT_COLUMNS
    has_contacts: pl.Expr = field(default_factory=lambda: pl.lit(False))


PlanBuilder = Callable[[Channel, bytes, datetime], EntityPlan]
ANSWER_WORDS = "/".join(word for pair in zip(scores.ANSWER_YES, scores.ANSWER_NO, strict=True) for word in pair)


def _col(name: str) -> pl.Expr:
    return pl.col(f"_raw_{name}")


def _missing(channel: Channel, names: tuple[str, ...]) -> list[Check]:
    return [
        Check(
            _col(name).is_null(),
            "missing_field",
            pl.lit(f"{name} is missing or blank (source {describe_source(channel, name)})"),
        )
        for name in names
    ]


def _timestamp_checks(channel: Channel, name: str, as_of: datetime) -> list[Check]:
    """Unparseable or before 2000 → bad_timestamp; after as_of + 10 minutes → future_date."""
    raw, parsed = _col(name), pl.col(name)
    latest = pl.lit(as_of + timedelta(minutes=FUTURE_TOLERANCE_MINUTES))
    return [
        Check(
            parsed.is_null(),
            "bad_timestamp",
            pl.format(f"{name} '{{}}' is not {expected_form(channel)} (timezone {channel.timezone})", raw),
        ),
        Check(
            parsed < pl.lit(EARLIEST),
            "bad_timestamp",
            pl.format(f"{name} '{{}}' is before 2000-01-01", raw),
        ),
        Check(
            parsed > latest,
            "future_date",
            pl.format(
                f"{name} {{}} (from '{{}}') is later than as_of {as_of.strftime(TIMESTAMP_TEXT)} "
                f"+ {FUTURE_TOLERANCE_MINUTES} minutes",
                parsed.dt.strftime(TIMESTAMP_TEXT),
                raw,
            ),
        ),
    ]


def feedback_plan(channel: Channel, pii_key: bytes, as_of: datetime) -> EntityPlan:
    """stg_channels__feedback. Booleans are never null: an unmapped contact_requested is False,
    and has_contact needs a phone with 6+ digits or something@something. Raw contacts do not
    reach the staging columns; only has_contact and the keyed customer_key (ref, else e-mail, else
    phone; always null for an employee channel). The contacts themselves (phone, e-mail, name) go
    to the restricted contacts frame. ``is_issue_solved`` is the one nullable Boolean: null when
    the question was not asked (unmapped) or not answered (blank); any other word is bad_answer.
    ``self_service_outcome`` is lower-cased; a channel that maps it must say one of
    SELF_SERVICE_OUTCOMES for every record (blank: missing_field, else bad_outcome), so that a
    non-null outcome marks exactly the self-service sessions.
    Versioned: the same feedback_id with other content is an edit (the later one wins) when an edit
    marker says so (updated_at differs) or, without one, when it keeps the item's received_at and
    customer; otherwise it is another item under the same id (``id_collision``, quarantined).
    """
    names = ("source_item_id", "received_at", "score", "customer_ref", "contact_phone", "contact_email")
    names += (
        "contact_requested",
        "store_id",
        "order_ref",
        "segment",
        "device",
        "licence_ref",
        "manager_ref",
        "case_ref",
        "issue_solved",
        "self_service_outcome",
        "customer_name",
        "updated_at",
    )
    raw = {f"_raw_{name}": field_value(channel, name) for name in names}
    body_parts = _body_parts(channel)
    raw |= body_parts
    scale = channel.score_scale
    scored = scale != "none" and "score" in channel.fields
    score_present = _col("score").is_not_null() if scored else pl.lit(False)
    score_raw = scores.parse_score(_col("score"), scale) if scored else pl.lit(None, dtype=pl.Float64)
    score_10 = scores.score_10(score_raw, scale) if scored else pl.lit(None, dtype=pl.Float64)
    contact_ref = pl.coalesce(_col("customer_ref"), _col("contact_email"), _col("contact_phone"))
    if channel.audience == "employee":  # the registry maps no customer field for them; and if it did
        contact_ref = pl.lit(None, dtype=pl.String)
    derived = {
        "feedback_id": pl.lit(f"{channel.id}:") + _col("source_item_id"),
        "channel_id": pl.lit(channel.id),
        "source_item_id": _col("source_item_id"),
        "received_at": parse_timestamp(_col("received_at"), channel),
        "body_text": _finish_body(_body_joined(list(body_parts))),
        "text_cleaned": _text_cleaned(list(body_parts)),
        "score_raw": pl.when(score_present).then(score_raw),
        "score_scale": pl.when(score_present).then(pl.lit(scale)).otherwise(pl.lit("none")),
        "score_10": pl.when(score_present).then(score_10),
        "question_type": pl.when(score_present).then(pl.lit(channel.question_type)).otherwise(pl.lit("none")),
        "has_contact_request": scores.is_yes(_col("contact_requested")),
        "has_contact": (
            (_col("contact_phone").str.count_matches(r"[0-9]") >= 6)
            | _col("contact_email").str.contains(r"[^@\s]@[^@\s]")
        ).fill_null(False),
        "customer_key": contact_ref.map_batches(lambda refs: customer_keys(refs, pii_key), return_dtype=pl.String),
        "store_id": _col("store_id"),
        "order_ref": _col("order_ref"),
        "segment": _col("segment"),
        "device": _col("device"),
        "licence_ref": _col("licence_ref"),
        "manager_ref": _col("manager_ref"),
        "case_ref": _col("case_ref"),
        "is_issue_solved": scores.parse_answer(_col("issue_solved")),
        "self_service_outcome": _col("self_service_outcome").str.to_lowercase(),
        "_updated_at": (
            parse_timestamp(_col("updated_at"), channel)
            if "updated_at" in channel.fields
            else pl.lit(None, dtype=UTC_TIMESTAMP)
        ),
        **_contact_values(channel),
    }
    required = ("source_item_id", "received_at")
    if "self_service_outcome" in channel.fields:  # every session ends somehow
        required += ("self_service_outcome",)
    checks = _missing(channel, required)
    checks += _timestamp_checks(channel, "received_at", as_of)
    # An edit time that does not parse would order the versions at random: the record says so.
    checks.append(
        Check(
            _col("updated_at").is_not_null() & pl.col("_updated_at").is_null(),
            "bad_timestamp",
            pl.format(
                f"updated_at '{{}}' is not {expected_form(channel)} (timezone {channel.timezone})", _col("updated_at")
            ),
        )
    )
    if scored:
        not_a_score = "a yes/no answer" if scale == "yes_no" else f"a number on the {scale} scale"
        checks += [
            Check(
                score_present & pl.col("score_raw").is_null(),
                "bad_score",
                pl.format(f"score '{{}}' is not {not_a_score}", _col("score")),
            ),
            Check(
                score_present & ~scores.in_range(pl.col("score_raw"), scale),
                "score_out_of_range",
                pl.format(f"score '{{}}' is outside the {scale} scale", _col("score")),
            ),
        ]
    checks += [
        Check(
            _col("issue_solved").is_not_null() & pl.col("is_issue_solved").is_null(),
            "bad_answer",
            pl.format(
                f"issue_solved '{{}}' is not a yes/no answer ({ANSWER_WORDS})",
                _col("issue_solved"),
            ),
        ),
        Check(
            ~pl.col("self_service_outcome").is_in(SELF_SERVICE_OUTCOMES),
            "bad_outcome",
            pl.format(
                f"self_service_outcome '{{}}' is not one of {', '.join(SELF_SERVICE_OUTCOMES)}",
                _col("self_service_outcome"),
            ),
        ),
    ]
    # An item with neither text nor a score says nothing: it would count as volume with no content.
    # (A yes/no answer or a session's outcome alone does not save it: the staging check
    # assert_stg_channels__feedback_has_text_or_score holds the same rule.)
    checks.append(
        Check(
            # a "was your issue solved?" answer or a session's outcome is content of its own
            pl.col("body_text").fill_null("").str.len_chars().eq(0)
            & pl.col("score_raw").is_null()
            & pl.col("is_issue_solved").is_null()
            & pl.col("self_service_outcome").is_null(),
            "empty_item",
            pl.lit("neither text, a score, an answer nor a session outcome"),
        )
    )
    return EntityPlan(
        raw=raw,
        derived=derived,
        checks=checks,
        key=["feedback_id"],
        key_text=pl.col("feedback_id"),
        reject_id=_col("source_item_id"),
        sort=["feedback_id"],
        late={"language": language_expr(pl.col("body_text"))},
        # What the item says and who said it; not when it was edited, nor derived labels.
        content=[c for c in FEEDBACK.columns if c not in (*LOAD_METADATA, *DERIVED_LABELS)] + CONTACT_VALUES,
        version_order=["_updated_at"],
        edit_marker="_updated_at",
        origin=["received_at", "customer_key"],
        contacts={
            "customer_key": pl.col("customer_key"),
            "channel_id": pl.col("channel_id"),
            "feedback_id": pl.col("feedback_id"),
            "phone_normalized": pl.col("_phone_normalized"),
            "email_normalized": pl.col("_email_normalized"),
            "customer_name": pl.col("_customer_name"),
            "first_seen_at": pl.col("received_at"),
        },
        has_contacts=pl.any_horizontal(pl.col(c).is_not_null() for c in CONTACT_VALUES),
    )


CONTACT_VALUES = ["_phone_normalized", "_email_normalized", "_customer_name"]
# Feedback columns that are not part of what an item says: an item re-sent with only these changed
# is a duplicate, not an edit.
DERIVED_LABELS = ("language", "is_edited", "text_cleaned")


def _contact_values(channel: Channel) -> dict[str, pl.Expr]:
    """The contacts as restricted.customer_contacts keeps them; they never become staging columns."""
    phone = _col("contact_phone")
    return {
        "_phone_normalized": (
            phone.map_batches(normalize_phones, return_dtype=pl.String, is_elementwise=True)
            if "contact_phone" in channel.fields
            else pl.lit(None, dtype=pl.String)
        ),
        "_email_normalized": normalize_email_expr(_col("contact_email")),
        "_customer_name": _col("customer_name").str.normalize("NFC").str.replace_all(r"\s+", " "),
    }


def _body_parts(channel: Channel) -> dict[str, pl.Expr]:
    """Each body source cleaned once: a Struct {text, cleaned} column per source (``clean_text_flagged``)."""
    return {
        f"_body_part_{n}": clean_text_flagged_expr(raw_value(source), max_chars=None)
        for n, source in enumerate(sources(channel, "body_text"))
    }


def _body_joined(parts: list[str]) -> pl.Expr:
    """The cleaned body parts joined with new lines (empty parts skipped)."""
    texts = [pl.col(part).struct.field("text") for part in parts]
    if not texts:
        return pl.lit(None, dtype=pl.String)
    return texts[0] if len(texts) == 1 else pl.concat_str(texts, separator="\n", ignore_nulls=True)


def _text_cleaned(parts: list[str]) -> pl.Expr:
    """True when cleaning replaced or removed a control or invisible character in any body part."""
    if not parts:
        return pl.lit(False)
    return pl.any_horizontal(pl.col(part).struct.field("cleaned") for part in parts).fill_null(False)


def _finish_body(joined: pl.Expr) -> pl.Expr:
    """Masked, then capped (masking first, so that the cut never leaves half a phone number)."""
    return cap_text_expr(mask_pii_expr(pl.when(joined != "").then(joined)))


def case_event_plan(channel: Channel, pii_key: bytes, as_of: datetime) -> EntityPlan:
    names = ("case_id", "event_type", "event_at", "feedback_ref", "directorate_id", "department_id")
    names += ("manager_id", "priority")
    raw = {f"_raw_{name}": field_value(channel, name) for name in names}
    event_type = _col("event_type").str.to_lowercase().str.replace_all(r"[ \-]+", "_")
    derived = {
        "case_id": _col("case_id"),
        "event_type": event_type,
        "event_at": parse_timestamp(_col("event_at"), channel),
        "feedback_id": _col("feedback_ref"),
        "directorate_id": _col("directorate_id"),
        "department_id": _col("department_id"),
        "manager_id": _col("manager_id"),
        "priority": _col("priority"),
    }
    checks = _missing(channel, ("case_id", "event_type", "event_at"))
    checks.append(
        Check(
            ~pl.col("event_type").is_in(CASE_EVENT_TYPES),
            "unknown_event_type",
            pl.format(f"event_type '{{}}' is not one of {', '.join(CASE_EVENT_TYPES)}", _col("event_type")),
        )
    )
    checks += _timestamp_checks(channel, "event_at", as_of)
    return EntityPlan(
        raw=raw,
        derived=derived,
        checks=checks,
        key=["case_id", "event_type", "event_at"],
        key_text=pl.format(
            "case {} {} at {}",
            pl.col("case_id"),
            pl.col("event_type"),
            pl.col("event_at").dt.strftime(TIMESTAMP_TEXT),
        ),
        reject_id=_col("case_id"),
        sort=["case_id", "event_at", "event_type"],
    )


def order_count_plan(channel: Channel, pii_key: bytes, as_of: datetime) -> EntityPlan:
    """stg_erp__orders_monthly: the ERP's orders of a month and directorate. The ERP restates a month
    by delivering its rows again (the pull re-reads a row the ERP updated; a corrected export is
    dropped again) and its pull carries no edit time, so the load order is the edit order: the count
    of a (month, directorate) loaded last is current, one delivered again unchanged is a
    ``duplicate``, and the earlier counts it replaced are ``restated`` rejects (staging has no versions
    table for order counts; quarantine keeps them, each naming the record that restated it). Two
    counts of one key in one delivery contradict each other: the first in the file is kept, the
    other is an ``id_collision``.
    """
    raw = {f"_raw_{name}": field_value(channel, name) for name in ("report_month", "directorate_id", "orders_count")}
    count = scores.parse_number(_col("orders_count"))
    derived = {
        "report_month": parse_month(_col("report_month"), channel),
        "directorate_id": _col("directorate_id"),
        "orders_count": pl.when((count >= 0) & (count == count.floor()) & (count < 2**53)).then(count).cast(pl.Int64),
    }
    this_month = date(as_of.year, as_of.month, 1)
    checks = _missing(channel, ("report_month", "directorate_id", "orders_count"))
    checks += [
        Check(
            pl.col("report_month").is_null() | (pl.col("report_month") < pl.lit(date(2000, 1, 1))),
            "bad_timestamp",
            pl.format("report_month '{}' is not a month (2026-10 or 2026-10-01) from 2000 on", _col("report_month")),
        ),
        Check(
            pl.col("report_month") > pl.lit(this_month),
            "future_date",
            pl.format(f"report_month '{{}}' is after the month of as_of ({this_month:%Y-%m})", _col("report_month")),
        ),
        Check(
            pl.col("orders_count").is_null(),
            "bad_count",
            pl.format("orders_count '{}' is not a non-negative whole number", _col("orders_count")),
        ),
    ]
    return EntityPlan(
        raw=raw,
        derived=derived,
        checks=checks,
        key=["report_month", "directorate_id"],
        key_text=pl.format("month {} directorate {}", pl.col("report_month"), pl.col("directorate_id")),
        reject_id=pl.concat_str([_col("report_month"), _col("directorate_id")], separator=":", ignore_nulls=True),
        sort=["report_month", "directorate_id"],
        content=[c for c in ORDER_COUNT.columns if c not in LOAD_METADATA],
        versions_by_load_order=True,
        superseded_reason="restated",
    )


def customer_status_plan(channel: Channel, pii_key: bytes, as_of: datetime) -> EntityPlan:
    """stg_crm__customer_statuses: one row per status change of a CRM customer. The customer id,
    phone and e-mail reach staging only as keyed hashes (each hashed as a feedback channel that
    identifies customers by it would hash it), never as values. The status is lower-cased and must
    be one of CUSTOMER_STATUSES; the segment is kept as the CRM writes it, lower-cased.
    """
    names = ("customer_ref", "contact_phone", "contact_email", "segment", "status", "status_at")
    raw = {f"_raw_{name}": field_value(channel, name) for name in names}

    def keyed(name: str) -> pl.Expr:
        return _col(name).map_batches(lambda refs: customer_keys(refs, pii_key), return_dtype=pl.String)

    derived = {
        "customer_key": keyed("customer_ref"),
        "phone_key": keyed("contact_phone"),
        "email_key": keyed("contact_email"),
        "segment": _col("segment").str.strip_chars().str.to_lowercase(),
        "status": _col("status").str.strip_chars().str.to_lowercase(),
        "status_at": parse_timestamp(_col("status_at"), channel),
    }
    checks = _missing(channel, ("customer_ref", "status", "status_at"))
    checks.append(
        Check(
            ~pl.col("status").is_in(CUSTOMER_STATUSES),
            "unknown_status",
            pl.format(f"status '{{}}' is not one of {', '.join(CUSTOMER_STATUSES)}", _col("status")),
        )
    )
    checks += _timestamp_checks(channel, "status_at", as_of)
    return EntityPlan(
        raw=raw,
        derived=derived,
        checks=checks,
        key=["customer_key", "status_at", "status"],
        key_text=pl.format(
            "customer {} {} at {}",
            pl.col("customer_key").str.slice(0, 12),
            pl.col("status"),
            pl.col("status_at").dt.strftime(TIMESTAMP_TEXT),
        ),
        reject_id=keyed("customer_ref"),
        sort=["customer_key", "status_at", "status"],
    )


def parse_month(raw: pl.Expr, channel: Channel) -> pl.Expr:
    """First day of the month from "2026-10", "2026-10-01" (any day), "10.2026", "01.10.2026"."""
    iso = (
        raw.str.replace(r"^(\d{4})-(\d{2})$", "${1}-${2}-01")
        .str.replace(r"^(\d{2})\.(\d{4})$", "${2}-${1}-01")
        .str.replace(r"^(\d{2})\.(\d{2})\.(\d{4})$", "${3}-${2}-${1}")
        .str.replace(r"^(\d{4}-\d{2}-\d{2})[T ].*$", "${1}")
    )
    parsed = iso.str.to_date("%Y-%m-%d", strict=False)
    fmt = channel.timestamp_format
    if fmt and fmt not in ("epoch", "epoch_ms"):
        parsed = pl.coalesce(parsed, parse_strptime(raw, fmt, "UTC").dt.date())
    return parsed.dt.month_start()


PLANS: dict[str, PlanBuilder] = {
    "feedback": feedback_plan,
    "case_event": case_event_plan,
    "order_count": order_count_plan,
    "customer_status": customer_status_plan,
}
