"""marts.growth_point_causes_monthly: what changed behind a growth point, worked out by hand."""

from datetime import date

import duckdb
import pytest

from tests.helpers import run_model
from tests.transforms.sql.marts.core_frames import build_core, given_core, item
from warehouse.sql_models import materialize_sql

JUL, AUG, SEP, OCT = date(2026, 7, 1), date(2026, 8, 1), date(2026, 9, 1), date(2026, 10, 1)
LATE = "delivery_late"
IE11 = "Mozilla/5.0 (Windows NT 6.1; WOW64; Trident/7.0; rv:11.0) like Gecko"
CHROME = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/129.0.0.0 Safari/537.36"
)


def late(month: date, device: str, channel_id: str = "web_form") -> dict:
    return item("complaint", "logistics", month, feedback_type_id=LATE, device=device, channel_id=channel_id)


def causes(con: duckdb.DuckDBPyConnection, feedback: list[dict]) -> list[dict]:
    given_core(con, feedback=feedback)
    build_core(con)
    con.execute("create schema if not exists marts")
    materialize_sql(con, "marts", "feedback_type_monthly")
    return run_model(con, "marts", "growth_point_causes_monthly").to_dicts()


def test_a_browser_new_among_the_complaints_explains_the_growth(con: duckdb.DuckDBPyConnection) -> None:
    feedback = [
        # two a month from Chrome on the web form before: 6 complaints in the three months before
        *(late(month, CHROME) for month in (JUL, AUG, SEP) for _ in range(2)),
        # October: 8 (+6 and ×4 on September: a growth point); 6 from Internet Explorer 11, of which 4
        # by Telegram and 2 by the web form, and 2 from Chrome on the web form
        *(late(OCT, IE11, "telegram_bot") for _ in range(4)),
        *(late(OCT, IE11) for _ in range(2)),
        *(late(OCT, CHROME) for _ in range(2)),
    ]
    rows = causes(con, feedback)
    found = [(r["attribute"], r["attribute_value"], r["complaints_count"], r["cause_rank"]) for r in rows]
    # browser: IE 11 is 6 of 8 now and 0 of 6 before: new, 6 complaints beyond its earlier share;
    # os: Windows 7 the same (ties go by attribute name). Telegram is new too but holds only 4 (< 5);
    # the web form is 4 of 8 now against 6 of 6 before; Chrome 2 of 8 against 6 of 6: neither grew.
    assert found == [("browser", "Internet Explorer 11", 6, 1), ("os", "Windows 7", 6, 2)]
    ie = rows[0]
    assert (ie["complaints_total"], ie["complaints_share"]) == (8, pytest.approx(0.75))
    assert (ie["baseline_complaints_count"], ie["baseline_complaints_total"], ie["baseline_share"]) == (0, 6, 0.0)
    assert (ie["is_new_slice"], ie["lift"], ie["excess_complaints"]) == (True, None, pytest.approx(6.0))
    assert (ie["feedback_type_id"], ie["directorate_id"], ie["report_month"]) == (LATE, "logistics", OCT)


def test_lift_against_the_months_before_and_no_row_without_a_growth_point(con: duckdb.DuckDBPyConnection) -> None:
    feedback = [
        # before: 1 of 4 from IE 11; October: 6 of 9 (+5 on September's 1... a growth point)
        late(JUL, IE11),
        late(AUG, CHROME),
        late(SEP, CHROME),
        late(SEP, CHROME),
        *(late(OCT, IE11) for _ in range(6)),
        *(late(OCT, CHROME) for _ in range(3)),
        # August of another type: 5 complaints, flat on July's 5: no growth point, so no row
        *(item("complaint", "retail", month, feedback_type_id="store_staff", device=IE11) for month in (JUL, AUG)
          for _ in range(5)),
    ]  # fmt: skip
    rows = causes(con, feedback)
    assert {(r["feedback_type_id"], r["report_month"]) for r in rows} == {(LATE, OCT)}
    ie = next(r for r in rows if r["attribute_value"] == "Internet Explorer 11")
    # 6/9 now against 1/4 before: lift (2/3) / (1/4) = 8/3; beyond 9 × 1/4 = 2.25 expected: 3.75
    assert ie["lift"] == pytest.approx(8 / 3)
    assert ie["excess_complaints"] == pytest.approx(3.75)
    assert ie["is_new_slice"] is False


def test_a_stores_region_is_an_attribute_too(con: duckdb.DuckDBPyConnection) -> None:
    feedback = [
        *(late(month, CHROME) for month in (JUL, AUG, SEP) for _ in range(2)),
        # October: 8, of which 5 about the Moscow store (org's region Москва), none before
        *(item("complaint", "logistics", OCT, feedback_type_id=LATE, store_id="MSK-001") for _ in range(5)),
        *(late(OCT, CHROME) for _ in range(3)),
    ]
    rows = causes(con, feedback)
    found = {(r["attribute"], r["attribute_value"]): r for r in rows}
    region = found[("region", "Москва")]
    assert (region["complaints_count"], region["complaints_total"], region["is_new_slice"]) == (5, 5, True)
    assert ("store", "Москва, Варшавское ш.") in found
