"""A republished month, built step by step on the last build, equals a build from nothing, row for row.

A month reaches the warehouse again in two ways:

- **A channel that exports a whole period delivers the month's export again, corrected.** The Play
  Console re-exports the month's reviews CSV (an edited review carries a later last-update time);
  the survey platform exports the month's subscription survey as one CSV (no edit time: a corrected
  answer keeps its time and customer). Staging reads every landed record (warehouse/staging.py):
  a re-delivered unchanged item is a ``duplicate``, a changed one a new version, one whose time moved
  without an edit time an ``id_collision`` while the earlier item stays (docs/adding-a-channel.md);
  an item re-sent with content it had before is a ``duplicate`` of that version, not a new one
  (transforms/normalize). Nothing records a deletion: an item absent from a re-delivery stays as it
  was last delivered.
- **The ERP restates an earlier month's order counts in a later batch.** Order counts are versioned
  by load order (transforms/normalize ``_deliveries``: the pull carries no edit time): the count of a
  (month, directorate) loaded last is current, one delivered again unchanged is a ``duplicate``, and
  each earlier count it replaced is kept in quarantine as ``restated``, naming the record that
  restated it. ``core.fct_orders_monthly`` and ``marts.management_monthly`` show the latest counts.

Each step lands batches and builds on the last build (staging from the new batches, the models of
``transforms.incremental.SCOPES`` by key); a copy of its raw tables is then built from nothing, and every
table of staging, core, marts, restricted and quarantine must be equal, every fingerprint taken by
difference the table's (the helpers of tests/warehouse/test_scoped_build.py).
"""

import csv
import io
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import duckdb
import pytest

from otklik.sample.generate import generate_landing
from otklik.sample.marketplaces import PLAY_HEADER
from otklik.sample.surveys import LICENCE_HEADER
from otklik.sample.writers import csv_bytes
from tests.warehouse.test_scoped_build import Land, built_both_ways
from tests.warehouse.test_staging_incremental import _land
from transforms.channels import get_channel, load_channels
from warehouse import scoped_build
from warehouse.ingest import ingest_landing

PLAY, SURVEY, NPS, ERP = "google_play_reviews", "licence_expiry_survey", "nps_email_survey", "erp_orders_monthly"
MOSCOW = ZoneInfo("Europe/Moscow")
PLAY_FILE = "reviews_ru.instrumentmarket.app_202609.csv"  # the Play Console's object for September
# The month republished is September; October is a later month landed and built before the republishing.
OCTOBER_BUILT = datetime(2026, 11, 1, 6, tzinfo=UTC)

# The items of a channel received in September (Moscow), one row each
SEPTEMBER_ITEMS = (
    "select source_item_id from staging.stg_channels__feedback where channel_id = ?"
    " and received_at < timestamptz '2026-10-01 00:00:00+03'"
)
# What staging rejected of the re-exports (landed by tests/warehouse/test_staging_incremental.py's _land)
REJECTED_AGAIN = (
    "select reason, count(*) from quarantine.staging_rejects where channel_id = ?"
    " and _batch_id in (select batch_id from raw.batches where run_id = 'test') group by reason order by reason"
)
# What staging rejected of a channel's records, whichever batch landed them
ERP_REJECTS = (
    "select reason, count(*) from quarantine.staging_rejects where channel_id = ? group by reason order by reason"
)

Row = tuple[str, ...]


@pytest.fixture(scope="module")
def months(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    """September with enough Play reviews and survey answers to correct, and a whole October after it."""
    root = tmp_path_factory.mktemp("months")
    september = [get_channel(c) for c in (PLAY, SURVEY, NPS, "crm_case_events", ERP, "crm_customer_statuses")]
    generate_landing(root / "2026-09", month="2026-09", items=150, seed=7, channels=september)
    generate_landing(root / "2026-10", month="2026-10", items=100, seed=8)
    return [root / "2026-09", root / "2026-10"]


def _ingest(folders: list[Path]) -> Land:
    """Ingest the months' landing folders, one after the other."""

    def land(con: duckdb.DuckDBPyConnection, archive: Path) -> None:
        for folder in folders:
            ingest_landing(con, folder, load_channels(), archive_dir=archive)

    return land


def _read_csv(paths: list[Path], encoding: str, delimiter: str) -> list[Row]:
    """The data rows of a channel's CSV files, header left out."""
    rows = []
    for path in sorted(paths):
        rows += [
            tuple(r) for r in list(csv.reader(io.StringIO(path.read_bytes().decode(encoding)), delimiter=delimiter))[1:]
        ]
    return rows


# ------------------------------------------------------------------ the month's exports, corrected


def _play_edit(row: Row, text: str, stars: str, updated: datetime) -> Row:
    """A review its author edited: other words and stars, a later last-update time."""
    edited = dict(zip(PLAY_HEADER, row, strict=True))
    edited |= {
        "Review Text": text,
        "Star Rating": stars,
        "Review Last Update Date and Time": updated.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "Review Last Update Millis Since Epoch": str(int(updated.timestamp() * 1000)),
    }
    return tuple(edited[c] for c in PLAY_HEADER)


def _play_new(like: Row, submitted: datetime, text: str) -> Row:
    """A review written after the first export (its id: submit millis, device, language)."""
    new = dict(zip(PLAY_HEADER, like, strict=True))
    stamp, millis = submitted.strftime("%Y-%m-%dT%H:%M:%SZ"), str(int(submitted.timestamp() * 1000))
    new |= {
        "Review Submit Date and Time": stamp,
        "Review Submit Millis Since Epoch": millis,
        "Review Last Update Date and Time": stamp,
        "Review Last Update Millis Since Epoch": millis,
        "Review Text": text,
        "Star Rating": "4",
        "Developer Reply Date and Time": "",
        "Developer Reply Millis Since Epoch": "",
        "Developer Reply Text": "",
    }
    return tuple(new[c] for c in PLAY_HEADER)


def _play_id(row: Row) -> str:
    value = dict(zip(PLAY_HEADER, row, strict=True))
    return " ".join(value[c] for c in ("Review Submit Millis Since Epoch", "Device", "Reviewer Language"))


def _play_exports(first: list[Row]) -> tuple[list[Row], list[Row]]:
    """Two later exports of the month: reviews 0 and 1 edited (0 twice), 2 absent from the first
    re-export and back unchanged in the second, 3 absent from both, two reviews new in the first."""
    rows = sorted(first, key=lambda r: int(dict(zip(PLAY_HEADER, r, strict=True))["Review Submit Millis Since Epoch"]))
    late = datetime(2026, 9, 30, 20, tzinfo=UTC)
    edit_0 = _play_edit(rows[0], "Исправил отзыв: курьер всё-таки привёз", "4", late)
    edit_1 = _play_edit(rows[1], "После обновления приложение работает", "5", late)
    new = [_play_new(rows[4], late + timedelta(minutes=m), f"Новый отзыв номер {m}") for m in (1, 2)]
    again = [edit_0, edit_1, *rows[4:], *new]
    edit_0_again = _play_edit(rows[0], "Второе исправление: всё хорошо", "5", late + timedelta(hours=2))
    return again, [edit_0_again, edit_1, rows[2], *rows[4:], *new]


def _answer(row: Row, **values: str) -> Row:
    """A subscription survey answer with some of its columns changed."""
    out = list(row)
    for name, value in values.items():
        out[LICENCE_HEADER.index(name)] = value
    return tuple(out)


def _said_before(nps: dict[str, str], like: Row) -> Row:
    """An answer the first export lacked: an hour before a customer's e-mail survey response, in its
    words, so that the response becomes a repeat of it (transforms/conversations.py)."""
    at = datetime.fromisoformat(nps["submitted_at"]).astimezone(MOSCOW) - timedelta(hours=1)
    answer = {"Дата заполнения": at.strftime("%d.%m.%Y %H:%M"), "Что нам улучшить?": nps["comment"]}
    return _answer(like, **answer, **{"ID ответа": str(int(like[0]) + 1), "ID клиента": nps["customer_id"]})


def _survey_exports(first: list[Row], new: Row) -> tuple[list[Row], list[Row]]:
    """Two exports of the whole month: answer 0 corrected (another score and words, same time and
    customer) and restored to what it was in the second, answer 1's e-mail corrected, answer 2 with its
    time moved a minute (no edit time: another item under the same id), answer 3 absent from the first
    re-export and back in the second, ``new`` new in the first."""
    rows = sorted(first, key=lambda r: int(r[0]))
    score = "10" if rows[0][LICENCE_HEADER.index("Оценка")] != "10" else "9"
    corrected = _answer(rows[0], **{"Оценка": score, "Что нам улучшить?": "Исправленный ответ: всё устроило"})
    email = _answer(rows[1], **{"E-mail": "corrected.address@example.com"})
    at = datetime.strptime(rows[2][LICENCE_HEADER.index("Дата заполнения")], "%d.%m.%Y %H:%M")
    moved = _answer(rows[2], **{"Дата заполнения": (at + timedelta(minutes=1)).strftime("%d.%m.%Y %H:%M")})
    again = [corrected, email, moved, *rows[4:], new]
    return again, [rows[0], email, moved, rows[3], *rows[4:], new]


def _play_bytes(rows: list[Row]) -> bytes:
    return csv_bytes(PLAY_HEADER, rows, delimiter=",", encoding="utf-16")


def _survey_bytes(rows: list[Row]) -> bytes:
    return csv_bytes(LICENCE_HEADER, rows, delimiter=";", lineterminator="\r\n", encoding="utf-8-sig")


def _current(con: duckdb.DuckDBPyConnection, channel: str, source_id: str) -> tuple:
    return con.execute(
        "select body_text, score_raw, received_at, is_edited from staging.stg_channels__feedback"
        " where channel_id = ? and source_item_id = ?",
        [channel, source_id],
    ).fetchone()


def _count(con: duckdb.DuckDBPyConnection, sql: str, params: list) -> int:
    return con.execute(f"select count(*) from ({sql})", params).fetchone()[0]


def test_a_month_exported_again_builds_as_from_nothing(months: list[Path], tmp_path: Path) -> None:
    september = months[0]
    play = _read_csv(list((september / PLAY).glob("*.csv")), "utf-16", ",")
    survey = _read_csv(list((september / SURVEY).glob("*.csv")), "utf-8-sig", ";")
    assert len(play) >= 6 and len(survey) >= 6, "the month has reviews and answers to correct"
    nps_files = sorted((september / NPS).glob("*.csv"))
    header = nps_files[0].read_text().splitlines()[0].split(",")
    responses = [dict(zip(header, r, strict=True)) for r in _read_csv(nps_files, "utf-8", ",")]
    nps = next(r for r in responses if r["customer_id"] and len(r["comment"]) > 20 and r["submitted_at"] > "2026-09-02")
    new_answer = _said_before(nps, max(survey, key=lambda r: int(r[0])))
    play_exports, survey_exports = _play_exports(play), _survey_exports(survey, new_answer)

    def republish(number: int) -> Land:
        batches = [
            (PLAY, PLAY_FILE, _play_bytes(play_exports[number])),
            (SURVEY, "subscription_survey_2026-09.csv", _survey_bytes(survey_exports[number])),
        ]
        return lambda con, archive: _land(con, archive, batches)

    steps = [
        (OCTOBER_BUILT, _ingest(months)),
        (OCTOBER_BUILT + timedelta(days=1), republish(0)),
        (OCTOBER_BUILT + timedelta(days=2), republish(1)),
    ]
    con = built_both_ways(steps, tmp_path / "archive")
    # the last build re-staged only what the re-export touched, by key
    changes = f"select key_name from {scoped_build.CHANGES} where table_name = 'staging.stg_channels__feedback'"
    assert {r[0] for r in con.execute(changes).fetchall()} == {"feedback_id", "customer_key"}

    # Every item ever delivered is staged once, those absent from a re-delivery too (nothing deletes).
    for channel, deliveries, item_id, collisions in [
        (PLAY, [play, *play_exports], _play_id, []),
        (SURVEY, [survey, *survey_exports], lambda r: r[0], [("id_collision", 1)]),  # the answer whose time moved
    ]:
        staged = con.execute(SEPTEMBER_ITEMS, [channel]).fetchall()
        assert sorted(r[0] for r in staged) == sorted({item_id(r) for rows in deliveries for r in rows}), channel
        # a row of a re-export that was delivered before, as it was then, is a duplicate of it
        delivered, expected = set(deliveries[0]), 0
        for rows in deliveries[1:]:
            expected += sum(r in delivered for r in rows)
            delivered |= set(rows)
        rejected = con.execute(REJECTED_AGAIN, [channel]).fetchall()
        assert rejected == sorted([("duplicate", expected), *collisions]), channel

    rows = sorted(play, key=lambda r: int(_play_id(r).split()[0]))
    text, stars, _, edited = _current(con, PLAY, _play_id(rows[0]))
    assert ("Второе исправление" in text, stars, edited) == (True, 5.0, True)  # the latest edit is current
    versions = "select 1 from staging.stg_channels__feedback_versions where channel_id = ? and source_item_id = ?"
    assert _count(con, versions, [PLAY, _play_id(rows[0])]) == 2
    assert _count(con, versions, [PLAY, _play_id(rows[1])]) == 1
    absent = _current(con, PLAY, _play_id(rows[3]))  # absent from both re-exports: as first delivered
    assert absent[3] is False and _count(con, versions, [PLAY, _play_id(rows[3])]) == 0

    answers = sorted(survey, key=lambda r: int(r[0]))
    corrected = _current(con, SURVEY, answers[0][0])
    # restored to the first answer in the second re-export: a duplicate of version 1, the correction stays current
    score = float(survey_exports[0][0][LICENCE_HEADER.index("Оценка")])
    assert ("Исправленный ответ" in corrected[0], corrected[1], corrected[3]) == (True, score, True)
    assert _count(con, versions, [SURVEY, answers[0][0]]) == 1
    email = con.execute(
        "select email_normalized from restricted.customer_contacts where feedback_id = ?", [f"{SURVEY}:{answers[1][0]}"]
    ).fetchone()
    assert email == ("corrected.address@example.com",)
    collision = "select reason from quarantine.staging_rejects where reason = 'id_collision' and source_item_id = ?"
    assert con.execute(collision, [answers[2][0]]).fetchall() == [("id_collision",)]
    moved = _current(con, SURVEY, answers[2][0])  # the first item stays, at its first time
    first_at = datetime.strptime(answers[2][LICENCE_HEADER.index("Дата заполнения")], "%d.%m.%Y %H:%M")
    assert (moved[2], moved[3]) == (first_at.replace(tzinfo=MOSCOW), False)
    # the e-mail survey response landed in the first delivery now repeats the answer new in the re-export
    conversation = "select is_conversation_repeat, conversation_id from core.fct_feedback where feedback_id = ?"
    assert con.execute(conversation, [f"{NPS}:{nps['response_id']}"]).fetchone() == (True, f"{SURVEY}:{new_answer[0]}")


# ------------------------------------------------------------------ the ERP's order counts, restated


def _orders(rows: list[Row]) -> bytes:
    return csv_bytes(("month", "directorate", "orders"), rows)


def _by_month(con: duckdb.DuckDBPyConnection, sql: str) -> dict[tuple[str, str], int]:
    """{(month as 2026-09, directorate): orders} of a select of (month, directorate, orders)."""
    return {(f"{m:%Y-%m}", d): n for m, d, n in con.execute(sql).fetchall()}


def test_a_restated_month_of_orders_builds_as_from_nothing(months: list[Path], tmp_path: Path) -> None:
    september = _read_csv(list((months[0] / ERP).glob("*.csv")), "utf-8", ",")
    october = _read_csv(list((months[1] / ERP).glob("*.csv")), "utf-8", ",")
    assert len(september) >= 3, "the month has directorates to restate"
    first = {(m, d): int(n) for m, d, n in september + october}
    # September restated: every directorate's count but the last one's (sent again unchanged), and a
    # directorate the first load lacked (unknown to the org: it counts under 'unassigned'); then, with
    # October restated whole in one page, September's first row restated again, its second row back
    # at its first count, and the added directorate restated too.
    restated = [(m, d, str(int(n) + 10)) for m, d, n in september[:-1]] + [
        september[-1],
        ("2026-09", "wholesale", "25"),
    ]
    again = [(september[0][0], september[0][1], str(int(september[0][2]) + 20)), september[1]]
    again += [("2026-09", "wholesale", "30"), *[(m, d, str(int(n) + 5)) for m, d, n in october]]

    def restate(name: str, rows: list[Row]) -> Land:
        return lambda con, archive: _land(con, archive, [(ERP, name, _orders(rows))])

    steps = [
        (OCTOBER_BUILT, _ingest(months)),
        (OCTOBER_BUILT + timedelta(days=1), restate("orders_2026-09_restated.csv", restated)),
        (OCTOBER_BUILT + timedelta(days=2), restate("orders_page_0001.csv", again)),
    ]
    con = built_both_ways(steps, tmp_path / "archive")

    # The count loaded last is current, the directorate the first load lacked too.
    latest = first | {(m, d): int(n) for m, d, n in restated + again}
    staged = _by_month(con, "select report_month, directorate_id, orders_count from staging.stg_erp__orders_monthly")
    assert staged == latest
    assert staged[("2026-09", september[1][1])] == int(september[1][2])  # back at the first count: the latest word
    # Nothing lost: every earlier count a later one replaced is kept, as restated; the row sent again
    # unchanged is a duplicate of the first load.
    rejected = con.execute(ERP_REJECTS, [ERP]).fetchall()
    replaced = (len(september) - 1) + 2 + 1 + len(october)  # restated file, September's first two rows, wholesale
    assert rejected == [("duplicate", 1), ("restated", replaced)]
    history = con.execute(
        "select _source_file, detail from quarantine.staging_rejects where channel_id = ? and source_item_id = ?"
        " and reason = 'restated' order by _source_file",
        [ERP, f"2026-09:{september[0][1]}"],
    ).fetchall()
    assert [(source, detail.split(" (batch")[0].split(", ")[1]) for source, detail in history] == [
        (f"{ERP}/orders_2026-09.csv", f"superseded by {ERP}/orders_2026-09_restated.csv#0"),
        (f"{ERP}/orders_2026-09_restated.csv", f"superseded by {ERP}/orders_page_0001.csv#0"),
    ]
    duplicate = (
        "select _source_file, detail from quarantine.staging_rejects where channel_id = ? and reason = 'duplicate'"
    )
    ((source, detail),) = con.execute(duplicate, [ERP]).fetchall()
    assert source == f"{ERP}/orders_2026-09_restated.csv" and detail.endswith(
        f"first seen at {ERP}/orders_2026-09.csv#{len(september) - 1}"
    )
    # The monthly facts and the management mart sum the latest counts.
    facts = _by_month(con, "select report_month, directorate_id, orders_count from core.fct_orders_monthly")
    assert facts == {key: n for key, n in latest.items() if key[1] != "wholesale"} | {("2026-09", "unassigned"): 30}
    mart = _by_month(
        con,
        "select report_month, directorate_id, orders_count from marts.management_monthly"
        " where orders_count is not null",
    )
    totals = {(m, "all"): sum(n for (month, _), n in facts.items() if month == m) for m, _ in facts}
    assert mart == facts | totals
