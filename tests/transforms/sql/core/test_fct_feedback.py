"""core.fct_feedback: conversations, language and edits carried from their models (given/expect, tests/helpers.py)."""

from datetime import UTC, datetime

import duckdb
import polars as pl

from tests.helpers import given, given_org, run_model
from transforms.conversations import OUTPUT_COLUMNS
from transforms.schemas import FEEDBACK


def classified(feedback_ids: list[str]) -> pl.DataFrame:
    """core.int_feedback_classified: staged feedback plus the classifier's columns."""
    n = len(feedback_ids)
    staged = pl.DataFrame(
        {name: [None] * n for name in FEEDBACK.columns} | {"feedback_id": feedback_ids}, schema=FEEDBACK.columns
    )
    return staged.with_columns(
        channel_id=pl.Series(["web_form", "telegram_bot", "web_form"][:n]),
        received_at=pl.lit(datetime(2026, 10, 31, 22, tzinfo=UTC)),  # 1 November in Moscow
        body_text=pl.lit("Курьер опоздал"),
        language=pl.lit("ru"),
        is_edited=pl.Series([False, True, False][:n]),
        kind=pl.lit("complaint"),
        feedback_type_id=pl.lit("delivery_late"),
        directorate_id=pl.lit("logistics"),
        department_id=pl.lit(None, pl.String),
        manager_id=pl.lit(None, pl.String),
        has_text=pl.lit(True),
        classifier_version=pl.lit("rules-test"),
        sentiment=pl.lit("negative"),
        confidence=pl.lit(0.9),
        method=pl.lit("rule"),
        needs_review=pl.lit(False),
        taxonomy_version=pl.lit("tax-test"),
        model_version=pl.lit("model-test"),
    )


def test_conversation_language_and_edit_columns(con: duckdb.DuckDBPyConnection) -> None:
    given(con, "core.int_feedback_classified", classified(["web_form:1", "telegram_bot:1", "web_form:2"]))
    given_core_inputs(con)
    conversations = pl.DataFrame(
        {
            "feedback_id": ["web_form:1", "telegram_bot:1"],  # web_form:2 is missing: it counts on its own
            "conversation_id": ["web_form:1", "web_form:1"],
            "is_conversation_repeat": [False, True],
            "repeat_of_feedback_id": [None, "web_form:1"],
        },
        schema=OUTPUT_COLUMNS,
    )
    given(con, "core.int_feedback_conversations", conversations)
    fct = run_model(con, "core", "fct_feedback").sort("feedback_id")
    assert fct.select("feedback_id", "conversation_id", "is_conversation_repeat", "language", "is_edited").rows() == [
        ("telegram_bot:1", "web_form:1", True, "ru", True),
        ("web_form:1", "web_form:1", False, "ru", False),
        ("web_form:2", "web_form:2", False, "ru", False),
    ]
    assert fct["received_month"].unique().to_list() == [datetime(2026, 11, 1).date()]


def given_core_inputs(con: duckdb.DuckDBPyConnection) -> None:
    """The dimensions of org.yaml, three channels (one of employees), no case and no CRM customer."""
    given_org(con)
    given(
        con, "core.int_customer_identities", pl.DataFrame(schema={"identity_key": pl.String, "customer_key": pl.String})
    )
    given(con, "core.dim_customers", pl.DataFrame(schema={"customer_key": pl.String, "segment": pl.String}))
    given(
        con,
        "core.dim_channels",
        pl.DataFrame(
            {
                "channel_id": ["web_form", "telegram_bot", "employee_pulse_survey"],
                "audience": ["customer", "customer", "employee"],
            }
        ),
    )
    given(con, "core.fct_cases", pl.DataFrame(schema={name: pl.String() for name in CASE_OWNER_COLUMNS}))


CASE_OWNER_COLUMNS = ("case_id", "directorate_id", "department_id", "manager_id")

# (what the item is, its fields, the flags that must be true; every other flag is false)
FLAG_CASES = [
    ("nps 10", {"question_type": "nps", "score_scale": "0-10", "score_raw": 10.0},
     {"is_counted_item", "is_nps_answer", "is_nps_promoter", "is_csi_high"}),
    ("nps 9: a promoter", {"question_type": "nps", "score_scale": "0-10", "score_raw": 9.0},
     {"is_counted_item", "is_nps_answer", "is_nps_promoter", "is_csi_high"}),
    ("nps 8: passive, CSI high", {"question_type": "nps", "score_scale": "0-10", "score_raw": 8.0},
     {"is_counted_item", "is_nps_answer", "is_nps_passive", "is_csi_high"}),
    ("nps 7: passive", {"question_type": "nps", "score_scale": "0-10", "score_raw": 7.0},
     {"is_counted_item", "is_nps_answer", "is_nps_passive"}),
    ("nps 6: detractor", {"question_type": "nps", "score_scale": "0-10", "score_raw": 6.0},
     {"is_counted_item", "is_nps_answer", "is_nps_detractor"}),
    ("nps 3: CSI low", {"question_type": "nps", "score_scale": "0-10", "score_raw": 3.0},
     {"is_counted_item", "is_nps_answer", "is_nps_detractor", "is_csi_low"}),
    ("nps 0: CSI low too", {"question_type": "nps", "score_scale": "0-10", "score_raw": 0.0},
     {"is_counted_item", "is_nps_answer", "is_nps_detractor", "is_csi_low"}),
    ("nps on 1-5: no NPS answer", {"question_type": "nps", "score_scale": "1-5", "score_raw": 5.0},
     {"is_counted_item"}),
    ("csat 4: satisfied", {"question_type": "csat", "score_scale": "1-5", "score_raw": 4.0},
     {"is_counted_item", "is_csat_answer", "is_csat_satisfied"}),
    ("csat 3", {"question_type": "csat", "score_scale": "1-5", "score_raw": 3.0},
     {"is_counted_item", "is_csat_answer"}),
    ("effort 5: low effort", {"question_type": "ces_effort", "score_scale": "1-7", "score_raw": 5.0},
     {"is_counted_item", "is_effort_answer", "is_low_effort"}),
    ("effort 4", {"question_type": "ces_effort", "score_scale": "1-7", "score_raw": 4.0},
     {"is_counted_item", "is_effort_answer"}),
    ("rating 2", {"question_type": "rating", "score_scale": "1-5", "score_raw": 2.0},
     {"is_counted_item", "is_rating_answer"}),
    ("final survey 9, solved", {"question_type": "tnps", "score_scale": "0-10", "score_raw": 9.0,
                                "is_issue_solved": True},
     {"is_counted_item", "is_tnps_answer", "is_tnps_promoter", "is_ces_answer", "is_ces_solved"}),
    ("final survey 5, not solved", {"question_type": "tnps", "score_scale": "0-10", "score_raw": 5.0,
                                    "is_issue_solved": False},
     {"is_counted_item", "is_tnps_answer", "is_tnps_detractor", "is_ces_answer"}),
    ("a yes/no CES question alone", {"question_type": "ces_solved", "score_scale": "yes_no", "score_raw": 1.0},
     {"is_counted_item", "is_ces_answer", "is_ces_solved"}),
    ("an employee's 10", {"channel_id": "employee_pulse_survey", "question_type": "enps", "score_scale": "0-10",
                          "score_raw": 10.0},
     {"is_enps_answer", "is_enps_promoter"}),
    ("an employee's complaint", {"channel_id": "employee_pulse_survey", "kind": "complaint"}, set()),
    ("an enps answer on a customer channel", {"question_type": "enps", "score_scale": "0-10", "score_raw": 2.0},
     {"is_counted_item"}),
    ("a bot session that helped", {"self_service_outcome": "resolved"},
     {"is_self_service_session", "is_self_service_resolved"}),
    ("a bot session handed to a person", {"self_service_outcome": "escalated"}, {"is_self_service_session"}),
]  # fmt: skip
FLAGS = sorted({flag for _, _, flags in FLAG_CASES for flag in flags} | {"is_csat_satisfied", "is_enps_passive"})


def test_metric_flags_hold_the_thresholds_of_the_metric_contract(con: duckdb.DuckDBPyConnection) -> None:
    ids = [f"web_form:{i}" for i in range(len(FLAG_CASES))]
    frame = (
        classified(ids[:1])
        .clear()
        .vstack(pl.concat([classified([i]).with_columns(channel_id=pl.lit("web_form")) for i in ids]))
    )
    rows = []
    for (_, fields, _), row in zip(FLAG_CASES, frame.to_dicts(), strict=True):
        rows.append(row | fields)
    given(con, "core.int_feedback_classified", pl.DataFrame(rows, schema=frame.schema))
    given_core_inputs(con)
    given(con, "core.int_feedback_conversations", pl.DataFrame(schema=OUTPUT_COLUMNS))
    fct = {r["feedback_id"]: r for r in run_model(con, "core", "fct_feedback").to_dicts()}
    flags = [c for c in next(iter(fct.values())) if c.startswith("is_") and c not in NOT_METRIC_FLAGS]
    assert set(FLAGS) <= set(flags)
    for feedback_id, (what, _, expected) in zip(ids, FLAG_CASES, strict=True):
        row = fct[feedback_id]
        assert {f for f in flags if row[f]} == expected, what
        assert all(row[f] is not None for f in flags), what


NOT_METRIC_FLAGS = {"is_issue_solved", "is_conversation_repeat", "is_edited"}


def test_a_repeat_is_not_counted_again_but_its_final_answer_is(con: duckdb.DuckDBPyConnection) -> None:
    frame = classified(["web_form:1", "telegram_bot:1"]).with_columns(
        question_type=pl.lit("tnps"), score_scale=pl.lit("0-10"), score_raw=pl.lit(10.0)
    )
    given(con, "core.int_feedback_classified", frame)
    given_core_inputs(con)
    conversations = pl.DataFrame(
        {
            "feedback_id": ["web_form:1", "telegram_bot:1"],
            "conversation_id": ["web_form:1", "web_form:1"],
            "is_conversation_repeat": [False, True],
            "repeat_of_feedback_id": [None, "web_form:1"],
        },
        schema=OUTPUT_COLUMNS,
    )
    given(con, "core.int_feedback_conversations", conversations)
    fct = run_model(con, "core", "fct_feedback").sort("feedback_id")
    # the repeated comment is one conversation, but both are answers about a closed case
    assert fct.select("feedback_id", "is_counted_item", "is_tnps_answer").rows() == [
        ("telegram_bot:1", False, True),
        ("web_form:1", True, True),
    ]


def test_an_answer_about_a_case_belongs_to_the_cases_owner(con: duckdb.DuckDBPyConnection) -> None:
    frame = classified(["web_form:1", "web_form:2"]).with_columns(
        case_ref=pl.Series(["CASE-9", "CASE-404"]), department_id=pl.lit("delivery"), manager_id=pl.lit("m_fedorov")
    )
    given(con, "core.int_feedback_classified", frame)
    given_core_inputs(con)
    given(
        con,
        "core.fct_cases",
        pl.DataFrame({"case_id": ["CASE-9"], "directorate_id": ["retail"], "department_id": ["stores_moscow"],
                      "manager_id": ["m_orlov"]}),
    )  # fmt: skip
    given(con, "core.int_feedback_conversations", pl.DataFrame(schema=OUTPUT_COLUMNS))
    fct = run_model(con, "core", "fct_feedback").sort("feedback_id")
    assert fct.select("feedback_id", "case_id", "directorate_id", "department_id", "manager_id").rows() == [
        ("web_form:1", "CASE-9", "retail", "stores_moscow", "m_orlov"),
        ("web_form:2", None, "logistics", "delivery", "m_fedorov"),  # no such case: the item's own routing
    ]
