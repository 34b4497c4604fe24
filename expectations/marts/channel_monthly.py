"""Expectations for marts.channel_monthly (grain: report_month × channel_id).

Channels are those of the registry or 'unknown'; counts, shares and money possible at all; a
channel's contacts are its items plus its repeats. That the contacts add up to core.fct_feedback
is checked by ``assert_channel_monthly_contacts_match_fct_feedback.sql``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from expectations.marts import _metrics
from expectations.severity import critical
from transforms.channels import load_channels

if TYPE_CHECKING:
    import great_expectations as gx

TABLE = "marts.channel_monthly"
KEY_COLUMNS = ("report_month", "channel_id")

COUNT_COLUMNS = (
    "contacts_count",
    "items_count",
    "conversation_repeats_count",
    "complaints_count",
    "wishes_count",
    "thanks_count",
    "questions_count",
    "unclassified_count",
)


def build_suite() -> gx.ExpectationSuite:
    import great_expectations as gx
    import great_expectations.expectations as gxe

    return gx.ExpectationSuite(
        name=TABLE,
        expectations=[
            *_metrics.grain(KEY_COLUMNS, "month and channel"),
            gxe.ExpectColumnValuesToBeInSet(
                column="channel_id",
                value_set=sorted([c.id for c in load_channels()] + ["unknown"]),
                meta=critical("channel_id must be in channels.yaml or the missing member 'unknown'"),
            ),
            *_metrics.counts(COUNT_COLUMNS),
            *_metrics.shares(["contact_share"]),
            *_metrics.not_negative(["monthly_cost_rub", "cost_per_contact_rub"], "a cost is never negative"),
            gxe.UnexpectedRowsExpectation(
                unexpected_rows_query=(
                    "select * from {batch} where contacts_count <> items_count + conversation_repeats_count"
                ),
                description="contacts = items + conversation repeats",
                meta=critical("a contact either starts a conversation or repeats one"),
            ),
        ],
    )
