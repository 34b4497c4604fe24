"""Expectation builders the metric marts share: a grain, counts, rates, NPS-type scores, durations.

Suite modules stay declarative: each lists its columns and calls these. Every builder says why in
its ``meta`` (severity ``critical``: a mart figure that cannot be true must not reach the review).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from expectations.severity import critical
from transforms.org import MISSING_DIRECTORATE_ID, load_org

if TYPE_CHECKING:
    import great_expectations.expectations as gxe

# The company row of a month in the marts that have one (the sum over directorates).
COMPANY_TOTAL_ID = "all"

# Count columns the feedback marts share, by the figure they feed (same names, same meaning in each).
ITEM_COUNT_COLUMNS = (
    "items_count",
    "complaints_count",
    "wishes_count",
    "thanks_count",
    "questions_count",
    "unclassified_count",
    "conversation_repeats_count",
)
NPS_COUNT_COLUMNS = (
    "nps_answers_count",
    "promoters_count",
    "passives_count",
    "detractors_count",
)
CSI_COUNT_COLUMNS = (
    "csi_answers_count",
    "csi_high_count",
    "csi_low_count",
)
CSAT_COUNT_COLUMNS = (
    "csat_answers_count",
    "csat_satisfied_count",
)


def directorate_ids(*, company_row: bool) -> list[str]:
    ids = [d.id for d in load_org().directorates] + [MISSING_DIRECTORATE_ID]
    return sorted([*ids, COMPANY_TOTAL_ID] if company_row else ids)


def grain(columns: Iterable[str], what: str) -> list[gxe.Expectation]:
    import great_expectations.expectations as gxe

    columns = list(columns)
    return [
        *(
            gxe.ExpectColumnValuesToNotBeNull(column=c, meta=critical(f"every row has its {c} ({what})"))
            for c in columns
        ),
        gxe.ExpectCompoundColumnsToBeUnique(
            column_list=columns, meta=critical(f"one row per {what}; a duplicate doubles the review's figures")
        ),
    ]


def directorate_in_org(*, company_row: bool) -> gxe.Expectation:
    import great_expectations.expectations as gxe

    extra = ", 'unassigned' or the company row 'all'" if company_row else " or 'unassigned'"
    return gxe.ExpectColumnValuesToBeInSet(
        column="directorate_id",
        value_set=directorate_ids(company_row=company_row),
        meta=critical(f"directorate_id must be in org.yaml{extra}"),
    )


def counts(columns: Iterable[str]) -> list[gxe.Expectation]:
    import great_expectations.expectations as gxe

    return [
        gxe.ExpectColumnValuesToBeBetween(
            column=c, min_value=0, meta=critical("a count cannot be negative: a broken join or sum")
        )
        for c in columns
    ]


def shares(columns: Iterable[str]) -> list[gxe.Expectation]:
    import great_expectations.expectations as gxe

    return [
        gxe.ExpectColumnValuesToBeBetween(
            column=c,
            min_value=0,
            max_value=1,
            meta=critical("a share or rate is a part of its whole, 0-1; null when the whole is empty"),
        )
        for c in columns
    ]


def nps_scores(columns: Iterable[str]) -> list[gxe.Expectation]:
    import great_expectations.expectations as gxe

    return [
        gxe.ExpectColumnValuesToBeBetween(
            column=c,
            min_value=-100,
            max_value=100,
            meta=critical("NPS-type scores and their interval = 100 × (promoters − detractors) / answers, ±100"),
        )
        for c in columns
    ]


def not_negative(columns: Iterable[str], why: str) -> list[gxe.Expectation]:
    import great_expectations.expectations as gxe

    return [gxe.ExpectColumnValuesToBeBetween(column=c, min_value=0, meta=critical(why)) for c in columns]
