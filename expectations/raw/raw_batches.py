"""Expectations for raw.batches, the batch ledger (one row per landed file, grain batch_id).

Raw is state: a bad batch cannot be rebuilt away. So what is critical here is what would make
every downstream count wrong (a batch without a channel, an empty file taken as a batch, a ledger
that disagrees with the payloads); a poor parse rate is a warning that points at the file.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from expectations.severity import critical, warning
from transforms.channels import load_channels

if TYPE_CHECKING:
    import great_expectations as gx

TABLE = "raw.batches"
KEY_COLUMNS = ("batch_id",)

# Below this share of records parsed, a file is probably in a changed format (a new export layout,
# another encoding). A few broken lines are normal for chat and JSONL feeds, so it warns.
PARSE_RATE_MIN = 0.95


def build_suite() -> gx.ExpectationSuite:
    import great_expectations as gx
    import great_expectations.expectations as gxe

    return gx.ExpectationSuite(
        name=TABLE,
        expectations=[
            gxe.ExpectColumnValuesToNotBeNull(column="batch_id", meta=critical("the batch id is the ledger's key")),
            gxe.ExpectColumnValuesToBeUnique(
                column="batch_id", meta=critical("a file loaded twice would count every item twice")
            ),
            gxe.ExpectColumnValuesToNotBeNull(
                column="channel_id", meta=critical("a batch without a channel cannot be normalized or routed")
            ),
            gxe.ExpectColumnValuesToBeInSet(
                column="channel_id",
                value_set=sorted(c.id for c in load_channels()),
                meta=warning("a channel removed from channels.yaml: its records are rejected as unknown_channel"),
            ),
            gxe.ExpectColumnValuesToBeBetween(
                column="size_bytes", min_value=1, meta=critical("an empty file is quarantined, never a batch")
            ),
            gxe.ExpectColumnValuesToBeBetween(
                column="record_count", min_value=0, meta=critical("a negative record count is a ledger bug")
            ),
            gxe.ExpectColumnValuesToBeInSet(
                column="status", value_set=["loaded"], meta=critical("unreadable files go to quarantine.files")
            ),
        ],
    )
