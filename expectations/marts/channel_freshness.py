"""Expectations for marts.channel_freshness: every enabled channel delivered within its cadence."""

from __future__ import annotations

from typing import TYPE_CHECKING

from expectations.severity import warning

if TYPE_CHECKING:
    import great_expectations as gx

TABLE = "marts.channel_freshness"
# Shown with every stale channel: which one, when its last item came, how long it has been silent.
KEY_COLUMNS = ("channel_id", "last_item_at", "silent_hours", "expected_cadence_hours")


def build_suite() -> gx.ExpectationSuite:
    import great_expectations as gx
    import great_expectations.expectations as gxe

    return gx.ExpectationSuite(
        name=TABLE,
        expectations=[
            gxe.ExpectColumnValuesToBeInSet(
                column="is_stale",
                value_set=[False],
                # A silent channel is news for the data engineer (an expired token, a changed export),
                # not a reason to hold back the figures of the channels that did deliver.
                meta=warning("the channel has been silent for longer than its expected_cadence_hours"),
            ),
        ],
    )
