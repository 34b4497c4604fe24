"""`otklik explain --causes`: the root causes of any figure, by the rule of growth_point_causes_monthly."""

import duckdb
import pytest

from tests.transforms.sql.marts.core_frames import OCT, build_core, given_core, item
from tests.transforms.sql.marts.test_growth_point_causes import AUG, CHROME, IE11, JUL, LATE, SEP, late
from warehouse.lineage import LineageError
from warehouse.root_causes import explain_causes
from warehouse.sql_models import materialize_sql

TZ = "Europe/Moscow"


def warehouse(con: duckdb.DuckDBPyConnection, feedback: list[dict]) -> None:
    given_core(con, feedback=feedback)
    build_core(con)
    con.execute("create schema if not exists marts")
    for mart in ("feedback_type_monthly", "management_monthly", "growth_point_causes_monthly"):
        materialize_sql(con, "marts", mart)


FEEDBACK = [
    # before: 1 of 4 from IE 11; October: 6 of 9 (the second case of test_growth_point_causes.py)
    late(JUL, IE11),
    late(AUG, CHROME),
    late(SEP, CHROME),
    late(SEP, CHROME),
    *(late(OCT, IE11) for _ in range(6)),
    *(late(OCT, CHROME) for _ in range(3)),
    # retail's October complaints, all from Chrome: nothing stands out there
    *(item("complaint", "retail", month, feedback_type_id="store_staff", device=CHROME) for month in (SEP, OCT)
      for _ in range(6)),
]  # fmt: skip


def test_a_growth_points_causes_are_the_marts_findings(con: duckdb.DuckDBPyConnection) -> None:
    warehouse(con, FEEDBACK)
    root = explain_causes(
        con,
        "feedback_type_monthly",
        month="2026-10",
        metric="complaints_count",
        key={"feedback_type_id": LATE, "directorate_id": "logistics"},
        reporting_timezone=TZ,
    )
    assert root.baseline_months == ("2026-07", "2026-08", "2026-09")
    assert (root.figure.items.height, root.baseline_items) == (9, 4)
    mart = con.execute(
        "select attribute, attribute_value, complaints_count, baseline_complaints_count, lift, excess_complaints "
        "from marts.growth_point_causes_monthly where feedback_type_id = ? and report_month = ? order by cause_rank",
        [LATE, OCT],
    ).fetchall()
    found = root.findings.select(
        "attribute", "attribute_value", "items_count", "baseline_items_count", "lift", "excess_items"
    ).rows()
    assert found == mart
    ie = root.findings.row(0, named=True)
    # 6/9 now against 1/4 before: lift 8/3, 3.75 complaints beyond the earlier share
    assert (ie["attribute_value"], ie["lift"], ie["excess_items"]) == (
        "Internet Explorer 11",
        pytest.approx(8 / 3),
        3.75,
    )


def test_any_figure_of_any_mart_a_directorates_complaints(con: duckdb.DuckDBPyConnection) -> None:
    warehouse(con, FEEDBACK)
    root = explain_causes(
        con,
        "management_monthly",
        month="2026-10",
        metric="complaints_count",
        key={"directorate_id": "retail"},
        reporting_timezone=TZ,
    )
    # retail: 6 in October, 6 in September, all from Chrome and the web form: the same shares
    assert (root.figure.items.height, root.baseline_items) == (6, 6)
    assert root.findings.is_empty()
    # the company: IE 11 is 6 of 15 in October against 1 of 10 before: lift 4
    company = explain_causes(
        con,
        "management_monthly",
        month="2026-10",
        metric="complaints_count",
        key={"directorate_id": "all"},
        reporting_timezone=TZ,
    )
    browser = company.findings.filter(attribute="browser").row(0, named=True)
    assert (browser["attribute_value"], browser["items_count"], browser["items_total"]) == (
        "Internet Explorer 11",
        6,
        15,
    )
    assert browser["lift"] == pytest.approx((6 / 15) / (1 / 10))


def test_a_month_before_the_data_is_an_empty_baseline_and_an_unknown_row_an_error(
    con: duckdb.DuckDBPyConnection,
) -> None:
    warehouse(con, [*(late(OCT, IE11) for _ in range(5))])
    root = explain_causes(
        con,
        "management_monthly",
        month="2026-10",
        metric="complaints_count",
        key={"directorate_id": "logistics"},
        reporting_timezone=TZ,
    )
    assert root.baseline_items == 0
    assert set(root.findings["attribute"]) == {"browser", "os", "channel"}  # all new, 5 each
    assert root.findings["is_new_slice"].all()
    with pytest.raises(LineageError):
        explain_causes(
            con, "management_monthly", month="2026-10", metric="complaints_count", key={"directorate_id": "nobody"},
            reporting_timezone=TZ,
        )  # fmt: skip
