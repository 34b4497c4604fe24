"""expectations/staging/stg_channels__feedback.py on staged rows: the final survey's answer and the
self-service sessions' outcome pass the suite; an outcome the normalizer would refuse fails it."""

import json
from datetime import UTC, datetime

import duckdb
import polars as pl
import pytest
from helpers import given

from expectations.gx_run import run_suites
from expectations.severity import CRITICAL
from expectations.staging import stg_channels__feedback as suite
from transforms.channels import get_channel
from transforms.normalize import normalize_channel

AS_OF = datetime(2026, 11, 1, tzinfo=UTC)
RECORDS = {
    "ctl_final_survey": [
        {"response_id": "FS-1", "answered_at": "2026-10-05T18:00:00+03:00", "tnps": 9, "solved": "Да",
         "comment": "", "customer_id": "C1", "case_id": "CS-1"},
        {"response_id": "FS-2", "answered_at": "2026-10-06T18:00:00+03:00", "tnps": 2, "solved": "Нет",
         "comment": "Так и не решили", "customer_id": "C2", "case_id": "CS-2"},
        {"response_id": "FS-3", "answered_at": "2026-10-07T18:00:00+03:00", "tnps": 7, "solved": "",
         "comment": "", "customer_id": "C3", "case_id": "CS-3"},
    ],
    "self_service_sessions": [
        {"session_id": f"s{n}", "tool": tool, "started_at": "2026-10-05T20:00:00+03:00", "customer_id": customer,
         "question": "Сколько ждать деньги за возврат?", "outcome": outcome, "escalated_to": ""}
        for n, (tool, customer, outcome) in enumerate(
            [("bot", "C1", "escalated"), ("faq", "", "resolved"), ("bot", "C4", "abandoned")]
        )
    ],
    "web_form": [{"id": "1", "created_at": "2026-10-05 14:03:27", "message": "Спасибо!"}],
}  # fmt: skip


def staged() -> pl.DataFrame:
    frames = []
    for channel_id, records in RECORDS.items():
        payloads = pl.DataFrame(
            {
                "payload": [json.dumps(r, ensure_ascii=False) for r in records],
                "_batch_id": "b",
                "_source_file": channel_id,
                "_record_index": list(range(len(records))),
            },
            schema={"payload": pl.String, "_batch_id": pl.String, "_source_file": pl.String, "_record_index": pl.Int64},
        )
        result = normalize_channel(payloads, get_channel(channel_id), pii_key=b"k", as_of=AS_OF)
        assert result.rejects.height == 0
        frames.append(result.rows)
    return pl.concat(frames)


def failed(con: duckdb.DuckDBPyConnection) -> list[tuple[str, str | None]]:
    results, _ = run_suites(con, [suite], as_of=AS_OF, run_id=None, docs_dir=None)
    return [(r.expectation, r.column) for r in results if not r.success and r.severity == CRITICAL]


@pytest.fixture(scope="module")
def rows() -> pl.DataFrame:
    frame = staged()
    assert frame["is_issue_solved"].to_list() == [True, False, None, None, None, None, None]
    assert frame["self_service_outcome"].to_list() == [None, None, None, "escalated", "resolved", "abandoned", None]
    return frame


def test_staged_answers_and_outcomes_pass(con: duckdb.DuckDBPyConnection, rows: pl.DataFrame) -> None:
    given(con, suite.TABLE, rows)
    assert failed(con) == []


def test_an_outcome_outside_the_set_fails(con: duckdb.DuckDBPyConnection, rows: pl.DataFrame) -> None:
    given(
        con,
        suite.TABLE,
        rows.with_columns(self_service_outcome=pl.col("self_service_outcome").replace("resolved", "timeout")),
    )
    assert failed(con) == [("expect_column_values_to_be_in_set", "self_service_outcome")]
