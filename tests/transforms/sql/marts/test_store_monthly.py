"""marts.store_monthly: feedback naming each store, with its configured manager and directorate."""

import duckdb

from tests.transforms.sql.marts.core_frames import NOV, OCT, given_core, item, run_mart, scored


def test_store_items_with_owner_unknown_store_and_ratings(con: duckdb.DuckDBPyConnection) -> None:
    feedback = [
        item("complaint", store_id="MSK-001"),
        item("complaint", "logistics", store_id="MSK-001"),  # routed to logistics, still the store's
        scored(9, store_id="MSK-001"),
        item("thanks", store_id="MSK-001", question_type="rating", score_scale="1-5", score_raw=5.0),
        item("thanks", store_id="MSK-001", question_type="rating", score_scale="1-5", score_raw=4.0),
        item("complaint", store_id="XYZ-999"),  # not in org.yaml
        item("complaint"),  # names no store: not store feedback
        item("thanks", month=NOV),
    ]
    given_core(con, feedback=feedback)
    rows = run_mart(con, "store_monthly", "report_month", "store_id")
    assert sorted(rows) == [(OCT, "MSK-001"), (OCT, "unknown"), (NOV, "MSK-001")]
    store = rows[(OCT, "MSK-001")]
    assert (store["manager_id"], store["department_id"], store["directorate_id"]) == (
        "m_orlov",
        "stores_moscow",
        "retail",
    )
    # 5 items: 2 complaints → 0.4; one NPS promoter → NPS 100; ratings 5 and 4 → mean 4.5
    assert (store["items_count"], store["complaints_count"], store["complaint_share"]) == (5, 2, 0.4)
    assert (store["nps_answers_count"], store["nps"], store["is_nps_small_sample"]) == (1, 100.0, True)
    assert (store["rating_answers_count"], store["rating_mean"]) == (2, 4.5)
    unknown = rows[(OCT, "unknown")]
    assert (unknown["items_count"], unknown["directorate_id"], unknown["manager_id"]) == (1, "unassigned", "unassigned")
    assert (rows[(NOV, "MSK-001")]["items_count"], rows[(NOV, "MSK-001")]["complaint_share"]) == (0, None)
