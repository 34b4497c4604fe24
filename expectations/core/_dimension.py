"""The expectations every dimension shares: a unique, non-null key that includes the missing member."""

from __future__ import annotations

from typing import TYPE_CHECKING

from expectations.severity import critical

if TYPE_CHECKING:
    import great_expectations as gx


def dimension_suite(table: str, key: str, missing_member: str) -> gx.ExpectationSuite:
    import great_expectations as gx
    import great_expectations.expectations as gxe

    return gx.ExpectationSuite(
        name=table,
        expectations=[
            gxe.ExpectColumnValuesToNotBeNull(column=key, meta=critical(f"{key} is the dimension's key")),
            gxe.ExpectColumnValuesToBeUnique(column=key, meta=critical("a duplicated key fans out every join")),
            gxe.ExpectColumnDistinctValuesToContainSet(
                column=key,
                value_set=[missing_member],
                meta=critical(f"facts map unknown keys to '{missing_member}'; without it they drop out of joins"),
            ),
        ],
    )
