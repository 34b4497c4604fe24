"""Expectations for core.fct_feedback (one row per feedback item, grain feedback_id).

Allowed values come from the same config the transforms use (channels.yaml, org.yaml), so adding a
channel or a directorate cannot make the pipeline fail its own checks. ``received_at`` is judged
against the run's ``as_of`` (the suite parameter ``$as_of`` that ``validate_layer`` passes), never
the wall clock, so a replay of an old run gives the same verdict.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING

from expectations.severity import critical, warning
from transforms.channels import load_channels
from transforms.classify.kind_rules import KINDS
from transforms.org import MISSING_DIRECTORATE_ID, load_org

if TYPE_CHECKING:
    import great_expectations as gx

TABLE = "core.fct_feedback"
KEY_COLUMNS = ("feedback_id",)  # shown with every sample of bad values

NPS_GROUPS = ("promoter", "passive", "detractor")

# No channel in the registry has data this old: an earlier timestamp is a parsing bug (an epoch of
# 0, a two-digit year), not a real item.
EARLIEST_RECEIVED_AT = datetime(2000, 1, 1, tzinfo=UTC)

# Above this share of texts left 'unclassified' the rules, not the data, need attention. 20% is the
# level of the first rule set on sample data; lower it as the taxonomy matures. Items without text
# cannot be classified by rules, so they are left out of the share.
UNCLASSIFIED_SHARE_MAX = 0.20


def feedback_channel_ids() -> list[str]:
    return sorted(c.id for c in load_channels() if c.entity == "feedback")


def directorate_ids() -> list[str]:
    return sorted([d.id for d in load_org().directorates] + [MISSING_DIRECTORATE_ID])


def build_suite() -> gx.ExpectationSuite:
    import great_expectations as gx
    import great_expectations.expectations as gxe
    from great_expectations.expectations.row_conditions import Column

    return gx.ExpectationSuite(
        name=TABLE,
        expectations=[
            # grain
            gxe.ExpectColumnValuesToNotBeNull(
                column="feedback_id", meta=critical("feedback_id is the grain; a null key cannot be traced")
            ),
            gxe.ExpectColumnValuesToBeUnique(
                column="feedback_id", meta=critical("a duplicate feedback_id is counted twice in every mart")
            ),
            # timestamps
            gxe.ExpectColumnValuesToNotBeNull(
                column="received_at", meta=critical("an item without received_at falls out of every month")
            ),
            gxe.ExpectColumnValuesToBeBetween(
                column="received_at",
                max_value={"$PARAMETER": "latest_allowed_at"},
                meta=critical("received after the run's as_of (+10 min skew): a timezone bug in the channel's reader"),
            ),
            gxe.ExpectColumnValuesToBeBetween(
                column="received_at",
                min_value=EARLIEST_RECEIVED_AT,
                meta=critical("received before 2000: a timestamp parsing bug (epoch 0, two-digit year)"),
            ),
            # scores
            gxe.ExpectColumnValuesToBeBetween(
                column="score_10",
                min_value=0,
                max_value=10,
                meta=critical("score_10 is the 0-10 rescaled score; outside it the scale mapping is wrong"),
            ),
            gxe.ExpectColumnValuesToBeInSet(
                column="nps_group",
                value_set=list(NPS_GROUPS),
                meta=critical("nps_group feeds the NPS formula; null means not an NPS answer"),
            ),
            # registry and org keys
            gxe.ExpectColumnValuesToNotBeNull(column="channel_id", meta=critical("every item comes from a channel")),
            gxe.ExpectColumnValuesToBeInSet(
                column="channel_id",
                value_set=feedback_channel_ids(),
                meta=critical("channel_id must be a feedback channel of transforms/channels/channels.yaml"),
            ),
            gxe.ExpectColumnValuesToNotBeNull(
                column="directorate_id",
                meta=critical("unknown owners map to 'unassigned', never to null"),
            ),
            gxe.ExpectColumnValuesToBeInSet(
                column="directorate_id",
                value_set=directorate_ids(),
                meta=critical("directorate_id must be in transforms/org/org.yaml or 'unassigned'"),
            ),
            # conversations across channels
            gxe.ExpectColumnValuesToNotBeNull(
                column="conversation_id", meta=critical("every item belongs to a conversation (its own, at least)")
            ),
            gxe.ExpectColumnValuesToNotBeNull(
                column="is_conversation_repeat",
                meta=critical("the marts count an item once unless it repeats its conversation; null counts neither"),
            ),
            # classification
            gxe.ExpectColumnValuesToNotBeNull(
                column="kind", meta=critical("items without text carry kind 'unclassified', never null")
            ),
            gxe.ExpectColumnValuesToBeInSet(
                column="kind",
                value_set=list(KINDS),
                meta=critical("the marts count exactly these kinds; another value drops out of every total"),
            ),
            gxe.ExpectColumnValuesToNotBeInSet(
                column="kind",
                value_set=["unclassified"],
                mostly=1 - UNCLASSIFIED_SHARE_MAX,
                row_condition=Column("has_text") == True,  # noqa: E712 (a GX condition, not a comparison)
                meta=warning(f"more than {UNCLASSIFIED_SHARE_MAX:.0%} of texts unclassified: the rules need attention"),
            ),
            # A text whose hints name no type of the taxonomy reaches no owner but the channel default.
            gxe.ExpectColumnValuesToNotBeInSet(
                column="feedback_type_id",
                value_set=["unclassified"],
                mostly=1 - UNCLASSIFIED_SHARE_MAX,
                row_condition=Column("has_text") == True,  # noqa: E712 (a GX condition, not a comparison)
                meta=warning(
                    f"more than {UNCLASSIFIED_SHARE_MAX:.0%} of texts have no feedback type: the taxonomy's hints"
                    " need attention (see `otklik classify review-queue`)"
                ),
            ),
        ],
    )
