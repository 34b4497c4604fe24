"""Expectations for staging.stg_channels__feedback (one row per feedback item, grain feedback_id).

Normalization rejects bad records into quarantine.staging_rejects; these expectations check that
what it let through is what it promises, so a bug in a reader or a normalizer stops here, before
classification and the marts.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from expectations.severity import critical, warning
from transforms.channels import load_channels
from transforms.schemas import SELF_SERVICE_OUTCOMES

if TYPE_CHECKING:
    import great_expectations as gx

TABLE = "staging.stg_channels__feedback"
KEY_COLUMNS = ("feedback_id",)

QUESTION_TYPES = ("nps", "tnps", "enps", "csat", "ces_effort", "ces_solved", "rating", "none")
SCORE_SCALES = ("0-10", "1-5", "1-7", "yes_no", "none")
LANGUAGES = ("ru", "en", "other")  # transforms.normalize.text.language_expr


def build_suite() -> gx.ExpectationSuite:
    import great_expectations as gx
    import great_expectations.expectations as gxe
    from great_expectations.expectations.row_conditions import Column

    from expectations.core.fct_feedback import EARLIEST_RECEIVED_AT

    return gx.ExpectationSuite(
        name=TABLE,
        expectations=[
            gxe.ExpectColumnValuesToNotBeNull(column="feedback_id", meta=critical("feedback_id is the grain")),
            gxe.ExpectColumnValuesToBeUnique(
                column="feedback_id", meta=critical("normalization must drop duplicates into the quarantine")
            ),
            gxe.ExpectColumnValuesToNotBeNull(
                column="received_at", meta=critical("an item without a time belongs to no month")
            ),
            gxe.ExpectColumnValuesToBeBetween(
                column="received_at",
                min_value=EARLIEST_RECEIVED_AT,
                max_value={"$PARAMETER": "latest_allowed_at"},
                meta=critical("future or pre-2000 times must have been rejected as future_date / bad_timestamp"),
            ),
            gxe.ExpectColumnValuesToBeBetween(
                column="score_10", min_value=0, max_value=10, meta=critical("score_10 is a 0-10 rescaling")
            ),
            gxe.ExpectColumnValuesToBeInSet(
                column="channel_id",
                value_set=sorted(c.id for c in load_channels() if c.entity == "feedback"),
                meta=critical("every item comes from a feedback channel of channels.yaml"),
            ),
            gxe.ExpectColumnValuesToBeInSet(
                column="question_type", value_set=list(QUESTION_TYPES), meta=critical("metrics select on it")
            ),
            gxe.ExpectColumnValuesToBeInSet(
                column="score_scale", value_set=list(SCORE_SCALES), meta=critical("metrics select on it")
            ),
            gxe.ExpectColumnValuesToBeInSet(
                column="language",
                value_set=list(LANGUAGES),
                meta=critical("the language heuristic labels ru, en or other (null only without text)"),
            ),
            gxe.ExpectColumnValuesToNotBeNull(
                column="is_edited", meta=critical("every item is either an original or the latest edit")
            ),
            gxe.ExpectColumnValuesToNotBeNull(
                column="text_cleaned",
                meta=critical("whether cleaning replaced a control or removed a bidi character, for every item"),
            ),
            # is_issue_solved needs no check of its own: any Boolean or null is an answer (or none).
            gxe.ExpectColumnValuesToBeInSet(
                column="self_service_outcome",
                value_set=list(SELF_SERVICE_OUTCOMES),
                meta=critical("self-service share counts resolved sessions; null on every other item"),
            ),
            gxe.ExpectColumnValuesToBeInSet(
                column="has_contact",
                value_set=[True],
                row_condition=Column("has_contact_request") == True,  # noqa: E712 (a GX condition)
                meta=warning("customers asked to be contacted but left no phone or e-mail: the case cannot start"),
            ),
        ],
    )
