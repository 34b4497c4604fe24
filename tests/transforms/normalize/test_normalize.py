"""normalize_channel (transforms/normalize/__init__.py): hand-computed cases per rule."""

import random
from datetime import UTC, datetime
from typing import Any

import polars as pl
import pytest

from transforms.channels.registry import Channel, get_channel
from transforms.normalize import NormalizeResult, normalize_channel
from transforms.privacy import EMAIL_TOKEN, PHONE_TOKEN, customer_key
from transforms.schemas import CUSTOMER_CONTACT_COLUMNS, ENTITY_SCHEMAS, REJECT_COLUMNS, VERSION_COLUMNS

KEY = b"test-pii-key"
AS_OF = datetime(2026, 11, 1, tzinfo=UTC)


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def run(channel: Channel | str, frame: pl.DataFrame, as_of: datetime = AS_OF) -> NormalizeResult:
    channel = get_channel(channel) if isinstance(channel, str) else channel
    result = normalize_channel(frame, channel, pii_key=KEY, as_of=as_of)
    assert result.rows.schema == pl.Schema(ENTITY_SCHEMAS[channel.entity].columns)
    assert result.rejects.schema == pl.Schema(REJECT_COLUMNS)
    assert result.history.schema == pl.Schema({**ENTITY_SCHEMAS[channel.entity].columns, **VERSION_COLUMNS})
    assert result.contacts.schema == pl.Schema(CUSTOMER_CONTACT_COLUMNS)
    assert result.rows.height + result.history.height + result.rejects.height == frame.height
    return result


def channel(**overrides: Any) -> Channel:
    """A feedback channel with ISO timestamps unless overridden."""
    spec: dict[str, Any] = {
        "id": "test_channel",
        "display_name": "Test",
        "format": "jsonl",
        "fields": {"source_item_id": "id", "received_at": "at", "score": "score", "body_text": "text"},
        "score_scale": "0-10",
        "question_type": "nps",
    }
    spec.update(overrides)
    return Channel.model_validate(spec)


def ivr(**record: str) -> dict[str, str]:
    base = {"ИД звонка": "call-1", "Дата": "05.10.2026", "Время": "14:03:27", "Оценка": "4"}
    return base | record


def reasons(result: NormalizeResult) -> list[tuple[str | None, str]]:
    return list(zip(result.rejects["source_item_id"].to_list(), result.rejects["reason"].to_list(), strict=True))


# --- timestamps ---------------------------------------------------------------------------------


def test_moscow_wall_clock_in_two_columns_becomes_utc(payloads) -> None:
    result = run("ivr_post_call_survey", payloads([ivr()]))
    assert result.rows["received_at"].to_list() == [utc(2026, 10, 5, 11, 3, 27)]
    assert result.rows["feedback_id"].to_list() == ["ivr_post_call_survey:call-1"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-10-05T14:03:27+03:00", utc(2026, 10, 5, 11, 3, 27)),
        ("2026-10-05T14:03:27.250+0300", utc(2026, 10, 5, 11, 3, 27, 250000)),
        ("2026-10-05T11:03:27Z", utc(2026, 10, 5, 11, 3, 27)),
        ("2026-10-05 11:03:27z", utc(2026, 10, 5, 11, 3, 27)),
        ("2026-10-05T14:03+03", utc(2026, 10, 5, 11, 3)),
        ("2026-10-05T14:03:27", utc(2026, 10, 5, 11, 3, 27)),  # naive: channel timezone (Moscow)
        ("2026-10-05", utc(2026, 10, 4, 21, 0)),
    ],
)
def test_iso_8601_variants(payloads, text: str, expected: datetime) -> None:
    moscow = channel(timezone="Europe/Moscow")
    result = run(moscow, payloads([{"id": 1, "at": text, "score": "7"}]))
    assert result.rows["received_at"].to_list() == [expected]


def test_epoch_seconds(payloads) -> None:
    update = {"update_id": 7, "message": {"date": 1684984664, "text": "Ciao", "from": {"id": 456}}}
    result = run("telegram_bot", payloads([update]))
    assert result.rows["received_at"].to_list() == [utc(2023, 5, 25, 3, 17, 44)]
    assert result.rows["source_item_id"].to_list() == ["7"]
    assert result.rows["body_text"].to_list() == ["Ciao"]


def test_rfc2822_dates_for_eml(payloads) -> None:
    record = {
        "message_id": "m1",
        "date": "Sun, 27 May 2001 21:23:35 +0100",
        "subject": "Тема",
        "body": "Текст",
    }
    result = run("email_inbox", payloads([record]))
    assert result.rows["received_at"].to_list() == [utc(2001, 5, 27, 20, 23, 35)]
    assert result.rows["body_text"].to_list() == ["Тема\nТекст"]


def test_xlsx_date_cells_and_typed_dates_both_parse(payloads) -> None:
    records = [
        {"№ записи": "1", "Дата": "2026-10-05", "Текст обращения": "а"},  # a real date cell, ISO from the reader
        {"№ записи": "2", "Дата": "06.10.2026", "Текст обращения": "б"},  # typed as text
        {"№ записи": "3", "Дата": "2026-10-07T13:45:12", "Текст обращения": "в"},
    ]
    result = run("store_complaint_book", payloads(records))
    assert result.rows["received_at"].to_list() == [
        utc(2026, 10, 4, 21),
        utc(2026, 10, 5, 21),
        utc(2026, 10, 7, 10, 45, 12),
    ]


def test_dst_ambiguous_hour_takes_the_earlier_instant_and_the_gap_is_rejected(payloads) -> None:
    berlin = channel(timestamp_format="%Y-%m-%d %H:%M", timezone="Europe/Berlin")
    records = [
        {"id": "fall", "at": "2026-10-25 02:30", "score": "7"},  # twice: 00:30 UTC (CEST) and 01:30 UTC
        {"id": "gap", "at": "2026-03-29 02:30", "score": "7"},  # does not exist
        {"id": "summer", "at": "2026-07-01 12:00", "score": "7"},
    ]
    result = run(berlin, payloads(records))
    assert dict(zip(result.rows["source_item_id"], result.rows["received_at"], strict=True)) == {
        "fall": utc(2026, 10, 25, 0, 30),
        "summer": utc(2026, 7, 1, 10, 0),
    }
    assert reasons(result) == [("gap", "bad_timestamp")]


def test_bad_future_and_ancient_timestamps_are_rejected(payloads) -> None:
    records = [
        ivr(**{"ИД звонка": "bad", "Дата": "31.02.2026"}),
        ivr(**{"ИД звонка": "future", "Дата": "01.11.2026", "Время": "03:11:00"}),  # 00:11 UTC: 11 min late
        ivr(**{"ИД звонка": "almost", "Дата": "01.11.2026", "Время": "03:09:00"}),  # within 10 minutes
        ivr(**{"ИД звонка": "ancient", "Дата": "31.12.1999", "Время": "23:00:00"}),
        ivr(**{"ИД звонка": "missing", "Дата": ""}),
    ]
    result = run("ivr_post_call_survey", payloads(records))
    assert result.rows["source_item_id"].to_list() == ["almost"]
    assert reasons(result) == [
        ("bad", "bad_timestamp"),
        ("future", "future_date"),
        ("ancient", "bad_timestamp"),
        ("missing", "bad_timestamp"),  # the time alone does not match the format
    ]
    details = result.rejects["detail"].to_list()
    assert "'31.02.2026 14:03:27'" in details[0] and "%d.%m.%Y %H:%M:%S" in details[0]
    assert "2026-11-01T00:11:00Z" in details[1]
    assert "before 2000-01-01" in details[2]


def test_as_of_must_be_aware(payloads) -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        normalize_channel(payloads([]), get_channel("web_form"), pii_key=KEY, as_of=datetime(2026, 11, 1))


# --- ids, payloads ------------------------------------------------------------------------------


def test_missing_or_blank_id_is_missing_field(payloads) -> None:
    records = [ivr(**{"ИД звонка": "  "}), {k: v for k, v in ivr().items() if k != "ИД звонка"}, ivr()]
    result = run("ivr_post_call_survey", payloads(records))
    assert result.rows.height == 1
    assert result.rejects["reason"].to_list() == ["missing_field", "missing_field"]
    assert result.rejects["detail"][0] == "source_item_id is missing or blank (source 'ИД звонка')"


def test_garbage_payloads_are_rejected_as_bad_payload(payloads) -> None:
    result = run("web_form", payloads(["not json", "[1, 2]", '"text"', None, "{broken"]))
    assert result.rows.height == 0
    assert set(result.rejects["reason"]) == {"bad_payload"}


def test_numeric_ids_and_nested_paths(payloads) -> None:
    page_item = {
        "feedbackId": 1001,
        "createdAt": "2026-10-05T14:03:27+03:00",
        "identifiers": {"orderId": 555111},
        "author": "Иван П.",
        "description": {"advantages": "Мощная", "disadvantages": "", "comment": "Звоните 8 916 123 45 67"},
        "statistics": {"rating": 4},
    }
    result = run("yandex_market_reviews", payloads([page_item]))
    row = result.rows.row(0, named=True)
    assert row["feedback_id"] == "yandex_market_reviews:1001"
    assert row["order_ref"] == "555111"
    assert row["body_text"] == "Мощная\nЗвоните [телефон]"  # empty part skipped, phone masked
    assert (row["score_raw"], row["score_10"], row["score_scale"], row["question_type"]) == (
        4.0,
        7.5,
        "1-5",
        "rating",
    )
    # the author is a display name, not an id: channels.yaml maps no customer_ref for this channel
    assert row["customer_key"] is None


# --- scores -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("scale", "raw", "score_raw", "score_10"),
    [
        ("0-10", "7", 7.0, 7.0),
        ("0-10", "7.0", 7.0, 7.0),
        ("0-10", 10, 10.0, 10.0),
        ("0-10", 0, 0.0, 0.0),
        ("1-5", "4", 4.0, 7.5),
        ("1-5", "4,5", 4.5, 8.75),
        ("1-5", 1, 1.0, 0.0),
        ("1-7", "4", 4.0, 5.0),
        ("1-7", "7", 7.0, 10.0),
        ("yes_no", "да", 1.0, None),
        ("yes_no", "Нет", 0.0, None),
        ("yes_no", "yes", 1.0, None),
        ("yes_no", "0", 0.0, None),
        ("yes_no", True, 1.0, None),
        ("yes_no", "false", 0.0, None),
    ],
)
def test_scores_and_their_0_10_form(
    payloads, scale: str, raw: object, score_raw: float, score_10: float | None
) -> None:
    question = {"0-10": "nps", "1-5": "csat", "1-7": "ces_effort", "yes_no": "ces_solved"}[scale]
    result = run(
        channel(score_scale=scale, question_type=question),
        payloads([{"id": 1, "at": "2026-10-05", "score": raw}]),
    )
    row = result.rows.row(0, named=True)
    assert row["score_raw"] == pytest.approx(score_raw)
    assert row["score_10"] == (pytest.approx(score_10) if score_10 is not None else None)
    assert (row["score_scale"], row["question_type"]) == (scale, question)


@pytest.mark.parametrize(
    ("scale", "raw", "reason"),
    [
        ("0-10", "11", "score_out_of_range"),
        ("0-10", "-1", "score_out_of_range"),
        ("1-5", "0", "score_out_of_range"),
        ("1-5", "5.5", "score_out_of_range"),
        ("1-7", "8", "score_out_of_range"),
        ("yes_no", "2", "score_out_of_range"),
        ("0-10", "abc", "bad_score"),
        ("0-10", "nan", "bad_score"),
        ("0-10", "inf", "bad_score"),
        ("yes_no", "может быть", "bad_score"),
    ],
)
def test_bad_scores_are_rejected(payloads, scale: str, raw: str, reason: str) -> None:
    question = "ces_solved" if scale == "yes_no" else "nps"
    result = run(
        channel(score_scale=scale, question_type=question),
        payloads([{"id": 1, "at": "2026-10-05", "score": raw}]),
    )
    assert result.rejects["reason"].to_list() == [reason]
    assert raw in result.rejects["detail"][0]
    assert scale in result.rejects["detail"][0] or scale == "yes_no"


def test_a_reject_detail_quoting_a_phone_or_an_e_mail_masks_them(payloads) -> None:
    """The detail quotes the rejected value; a contact typed into the score field must not reach quarantine."""
    result = run(
        channel(score_scale="0-10", question_type="nps"),
        payloads(
            [
                {"id": 1, "at": "2026-10-05", "score": "+7 916 123-45-67"},
                {"id": 2, "at": "2026-10-05", "score": "ivan.petrov@example.ru"},
            ]
        ),
    )
    details = result.rejects.sort("source_item_id")["detail"].to_list()
    assert result.rejects["reason"].to_list() == ["bad_score", "bad_score"]
    assert "916" not in details[0] and PHONE_TOKEN in details[0]
    assert "petrov" not in details[1] and EMAIL_TOKEN in details[1]


def test_an_empty_score_is_no_score(payloads) -> None:
    result = run("ivr_post_call_survey", payloads([ivr(**{"Оценка": "", "Комментарий оператора": "перезвонить"})]))
    row = result.rows.row(0, named=True)
    assert (row["score_raw"], row["score_10"], row["score_scale"], row["question_type"]) == (
        None,
        None,
        "none",
        "none",
    )


def test_a_channel_without_a_score(payloads) -> None:
    result = run("web_form", payloads([{"id": "w1", "created_at": "2026-10-05 14:03:27", "message": "hi"}]))
    row = result.rows.row(0, named=True)
    assert (row["score_raw"], row["score_scale"], row["question_type"]) == (None, "none", "none")
    assert row["received_at"] == utc(2026, 10, 5, 11, 3, 27)


# --- contacts, keys, text -----------------------------------------------------------------------


def nps(**record: object) -> dict[str, object]:
    base: dict[str, object] = {
        "response_id": "r1",
        "submitted_at": "2026-10-05T14:03:27+03:00",
        "recommend_score": "9",
    }
    return base | record


@pytest.mark.parametrize(
    ("value", "expected"),
    [("yes", True), ("Да", True), ("1", True), ("true", True), ("on", True), ("checked", True), (1, True),
     ("no", False), ("нет", False), ("0", False), ("", False), (None, False), ("maybe", False)],
)  # fmt: skip
def test_contact_requested(payloads, value: object, expected: bool) -> None:
    result = run("nps_email_survey", payloads([nps(contact_me=value)]))
    assert result.rows["has_contact_request"].to_list() == [expected]


def test_has_contact_and_no_raw_contacts_in_staging(payloads) -> None:
    records = [
        nps(response_id="phone", phone="+7 916 123-45-67"),
        nps(response_id="email", email="Ivan@Example.ru"),
        nps(response_id="none", phone="нет", email="-"),
    ]
    result = run("nps_email_survey", payloads(records))
    assert dict(zip(result.rows["source_item_id"], result.rows["has_contact"], strict=True)) == {
        "phone": True,
        "email": True,
        "none": False,
    }
    text = result.rows.write_csv()
    assert "916" not in text
    assert "Ivan" not in text and "ivan" not in text


def test_contacts_go_to_the_restricted_frame_only(payloads) -> None:
    named = get_channel("nps_email_survey").model_copy(
        update={"fields": get_channel("nps_email_survey").fields | {"customer_name": "name"}}
    )
    records = [
        nps(
            response_id="a",
            customer_id="CUST-1",
            phone="8 (916) 123-45-67",
            email=" Ivan@Example.RU",
            name="Иван  Петров",
        ),
        nps(response_id="b", name="Мари\u0438\u0306ка"),  # a name only: no key, still personal data
        nps(response_id="c", phone="нет"),  # nothing that is a contact
    ]
    result = run(named, payloads(records))
    assert result.contacts.select("feedback_id", "phone_normalized", "email_normalized", "customer_name").rows() == [
        ("nps_email_survey:a", "79161234567", "ivan@example.ru", "Иван Петров"),
        ("nps_email_survey:b", None, None, "Марийка"),
    ]
    first = result.contacts.row(0, named=True)
    assert first["customer_key"] == customer_key("cust-1", KEY) == result.rows["customer_key"][0]
    assert first["first_seen_at"] == result.rows["received_at"][0] and first["channel_id"] == "nps_email_survey"
    staged = result.rows.write_csv()
    assert "916" not in staged and "ivan" not in staged.lower() and "Петров" not in staged


def test_language_nfc_and_card_masking_in_body_text(payloads) -> None:
    records = [
        nps(response_id="ru", comment="Списали дважды с карты 4111 1111 1111 1111, верните"),
        nps(response_id="en", comment="Promo code did not work"),
        nps(response_id="nfc", comment="Промо\u0438\u0306 не сработал"),
        nps(response_id="none"),
    ]
    result = run("nps_email_survey", payloads(records))
    assert result.rows.select("source_item_id", "body_text", "language").rows() == [
        ("en", "Promo code did not work", "en"),
        ("nfc", "Промой не сработал", "ru"),
        ("none", None, None),
        ("ru", "Списали дважды с карты [карта], верните", "ru"),
    ]


def test_customer_key_falls_back_from_ref_to_email_to_phone(payloads) -> None:
    records = [
        nps(response_id="a", customer_id="CUST-1", email="x@example.ru", phone="89161234567"),
        nps(response_id="b", email="X@Example.ru ", phone="89161234567"),
        nps(response_id="c", phone="+7 (916) 123-45-67"),
        nps(response_id="d"),
    ]
    result = run("nps_email_survey", payloads(records))
    assert result.rows["customer_key"].to_list() == [
        customer_key("cust-1", KEY),
        customer_key("x@example.ru", KEY),
        customer_key("79161234567", KEY),
        None,
    ]


def test_body_text_is_cleaned_masked_and_capped(payloads) -> None:
    comment = "<p>Курьер&nbsp;опоздал</p>\x07 пишите a@b.ru или 8 (916) 123-45-67 " + "я" * 6000
    result = run("nps_email_survey", payloads([nps(comment=comment)]))
    body = result.rows["body_text"][0]
    assert body.startswith("Курьер опоздал\nпишите [email] или [телефон] яяя")
    assert len(body) == 5000 and body.endswith("…")


def test_optional_fields_are_copied(payloads) -> None:
    result = run("nps_email_survey", payloads([nps(order_number=" ORD-1 ", store_code="S001", segment="b2b")]))
    row = result.rows.row(0, named=True)
    assert (row["order_ref"], row["store_id"], row["segment"], row["device"]) == (
        "ORD-1",
        "S001",
        "b2b",
        None,
    )
    assert (row["channel_id"], row["_batch_id"], row["_source_file"], row["_record_index"]) == (
        "nps_email_survey",
        "batch-1",
        "landing/file-1.jsonl",
        0,
    )


# --- duplicates and determinism -----------------------------------------------------------------


def test_an_identical_copy_is_a_duplicate_of_the_first_by_file_and_index(payloads) -> None:
    late = payloads([nps(response_id="r1", recommend_score="10")], source_file="landing/b.csv")
    early = payloads([nps(response_id="r2"), nps(response_id="r1", recommend_score="10")], source_file="landing/a.csv")
    result = run("nps_email_survey", pl.concat([late, early]))
    assert result.rows.select("source_item_id", "score_raw", "_source_file").rows() == [
        ("r1", 10.0, "landing/a.csv"),
        ("r2", 9.0, "landing/a.csv"),
    ]
    assert reasons(result) == [("r1", "duplicate")]
    assert result.rejects["detail"][0] == "duplicate of nps_email_survey:r1 first seen at landing/a.csv#1"
    assert result.history.height == 0 and result.rows["is_edited"].to_list() == [False, False]


def with_seq(frame: pl.DataFrame, batch_seq: int) -> pl.DataFrame:
    return frame.with_columns(_batch_seq=pl.lit(batch_seq, pl.Int64))


def test_an_edit_replaces_the_earlier_version_by_load_order(payloads) -> None:
    # Batch 2 was loaded before batch 1's file name would sort: load order is batch_seq, not the name.
    first = with_seq(payloads([nps(comment="Доставка опоздала", recommend_score="3")], "z.csv", "b-first"), 1)
    edit = with_seq(
        payloads([nps(comment="Доставка опоздала, но курьер извинился", recommend_score="6")], "a.csv", "b-edit"), 2
    )
    again = with_seq(payloads([nps(comment="Доставка опоздала", recommend_score="3")], "m.csv", "b-again"), 3)
    result = run("nps_email_survey", pl.concat([again, edit, first]))
    current = result.rows.row(0, named=True)
    assert (current["score_raw"], current["_batch_id"], current["is_edited"]) == (6.0, "b-edit", True)
    assert result.history.select(
        "score_raw", "_batch_id", "version_number", "superseded_by_batch_id", "is_edited"
    ).rows() == [(3.0, "b-first", 1, "b-edit", False)]
    # the original delivered again later is the same content: a duplicate, it does not undo the edit
    assert reasons(result) == [("r1", "duplicate")]
    assert result.rejects["detail"][0] == "duplicate of nps_email_survey:r1 first seen at z.csv#0"


def test_updated_at_orders_versions_before_load_order(payloads) -> None:
    edited = channel(
        fields={"source_item_id": "id", "received_at": "at", "body_text": "text", "updated_at": "edited"},
        score_scale="none",
        question_type="none",
    )
    records = [
        {"id": "x", "at": "2026-10-05T10:00:00Z", "text": "v3", "edited": "2026-10-07T10:00:00Z"},
        {"id": "x", "at": "2026-10-05T10:00:00Z", "text": "v1"},  # never edited: the original
        {"id": "x", "at": "2026-10-05T10:00:00Z", "text": "v2", "edited": "2026-10-06T10:00:00Z"},
        {"id": "y", "at": "2026-10-05T10:00:00Z", "text": "y", "edited": "вчера"},
    ]
    result = run(edited, payloads(records))
    assert result.rows.select("body_text", "is_edited").rows() == [("v3", True)]
    assert result.history.select("body_text", "version_number", "superseded_by_batch_id", "is_edited").rows() == [
        ("v1", 1, "batch-1", False),
        ("v2", 2, "batch-1", True),
    ]
    assert reasons(result) == [("y", "bad_timestamp")]
    assert "updated_at 'вчера'" in result.rejects["detail"][0]


def test_an_edit_that_fails_a_check_does_not_replace_the_good_version(payloads) -> None:
    records = [nps(recommend_score="8"), nps(recommend_score="12")]
    result = run("nps_email_survey", payloads(records))
    assert result.rows.select("score_raw", "is_edited").rows() == [(8.0, False)]
    assert reasons(result) == [("r1", "score_out_of_range")]


def test_a_rejected_first_copy_does_not_shadow_a_good_second(payloads) -> None:
    records = [nps(response_id="r1", submitted_at="garbage"), nps(response_id="r1")]
    result = run("nps_email_survey", payloads(records))
    assert result.rows["_record_index"].to_list() == [1]
    assert reasons(result) == [("r1", "bad_timestamp")]


def test_output_is_deterministic_whatever_the_input_order(payloads) -> None:
    records = [nps(response_id=f"r{i % 7}", recommend_score=str(i % 11)) for i in range(30)] + ["junk"]
    frame = payloads(records)
    first = run("nps_email_survey", frame)
    shuffled = frame.sample(fraction=1.0, shuffle=True, seed=random.randint(0, 10**6))
    second = run("nps_email_survey", shuffled)
    assert first.rows.equals(second.rows)
    assert first.rejects.equals(second.rejects)
    assert first.history.equals(second.history)
    assert first.rows["feedback_id"].is_sorted()
    assert first.history.height == 30 - 7 and first.rows["is_edited"].all()


def test_empty_input_gives_empty_frames_with_the_schema(payloads) -> None:
    for channel_id in (
        "nps_email_survey",
        "crm_case_events",
        "erp_orders_monthly",
        "crm_customer_statuses",
        "email_inbox",
    ):
        result = run(channel_id, payloads([]))
        assert result.rows.height == result.rejects.height == result.history.height == result.contacts.height == 0


# --- case events --------------------------------------------------------------------------------


def event(**record: str) -> dict[str, str]:
    base = {
        "case_id": "K-1",
        "event": "opened",
        "event_at": "2026-10-05T14:03:27+03:00",
        "feedback_id": "web_form:w1",
    }
    return base | record


def test_case_events(payloads) -> None:
    records = [
        event(event="Opened", directorate="D-01", department="DEP-1", manager="m.ivanova", priority="high"),
        event(event="First contact", event_at="2026-10-05T14:30:00+03:00"),
        event(event="under-review", event_at="2026-10-05T15:00:00+03:00"),
        event(event="escalated", event_at="2026-10-05T16:00:00+03:00"),
        event(event="opened"),  # same case, type and instant as the first
        event(case_id="", event="closed"),
    ]
    result = run("crm_case_events", payloads(records))
    assert result.rows.select("case_id", "event_type", "event_at").rows() == [
        ("K-1", "opened", utc(2026, 10, 5, 11, 3, 27)),
        ("K-1", "first_contact", utc(2026, 10, 5, 11, 30)),
        ("K-1", "under_review", utc(2026, 10, 5, 12, 0)),
    ]
    first = result.rows.row(0, named=True)
    assert (first["feedback_id"], first["directorate_id"], first["department_id"]) == (
        "web_form:w1",
        "D-01",
        "DEP-1",
    )
    assert (first["manager_id"], first["priority"]) == ("m.ivanova", "high")
    assert reasons(result) == [("K-1", "unknown_event_type"), ("K-1", "duplicate"), (None, "missing_field")]
    assert "escalated" in result.rejects["detail"][0]
    assert (
        result.rejects["detail"][1]
        == "duplicate of case K-1 opened at 2026-10-05T11:03:27Z first seen at landing/file-1.jsonl#0"
    )


# --- order counts -------------------------------------------------------------------------------


def test_order_counts(payloads) -> None:
    records = [
        {"month": "2026-10", "directorate": "D-01", "orders": "1234"},
        {"month": "2026-09-01", "directorate": "D-01", "orders": "1 200"},
        {"month": "2026-08-15", "directorate": "D-01", "orders": 1100},
        {"month": "2026-07", "directorate": "D-01", "orders": "-5"},
        {"month": "2026-06", "directorate": "D-01", "orders": "12.5"},
        {"month": "июль", "directorate": "D-01", "orders": "1"},
        {"month": "2026-12", "directorate": "D-01", "orders": "1"},
        {"month": "2026-10-01", "directorate": "D-01", "orders": "999"},  # another count in the same file
        {"month": "2026-05", "directorate": "", "orders": "1"},
    ]
    result = run("erp_orders_monthly", payloads(records))
    assert result.rows.select("report_month", "directorate_id", "orders_count").rows() == [
        (datetime(2026, 8, 1).date(), "D-01", 1100),
        (datetime(2026, 9, 1).date(), "D-01", 1200),
        (datetime(2026, 10, 1).date(), "D-01", 1234),
    ]
    assert result.rejects["reason"].to_list() == [
        "bad_count",
        "bad_count",
        "bad_timestamp",
        "future_date",
        "id_collision",  # one delivery says one count of a key: the first in the file stays
        "missing_field",
    ]
    assert result.rejects["source_item_id"].to_list()[0] == "2026-07:D-01"


def test_an_item_with_neither_text_nor_score_is_rejected_as_empty(payloads) -> None:
    result = run(channel(), payloads([{"id": "e1", "at": "2026-10-05T10:00:00Z", "score": "", "text": "  <p></p> "}]))
    assert reasons(result) == [("e1", "empty_item")]


# --- the final survey's "Was your issue solved?" and self-service sessions -----------------------


def final(**record: object) -> dict[str, object]:
    base: dict[str, object] = {
        "response_id": "FS-2610-000001",
        "survey": "close_the_loop_final",
        "case_id": "CS-2610-000001",
        "customer_id": "CUST-1",
        "answered_at": "2026-10-05T18:00:00+03:00",
        "tnps": 9,
        "solved": "Да",
        "comment": "Спасибо, вопрос решили быстро.",
    }
    return base | record


def test_one_final_survey_response_is_one_item_with_both_answers(payloads) -> None:
    result = run("ctl_final_survey", payloads([final()]))
    row = result.rows.row(0, named=True)
    assert row["feedback_id"] == "ctl_final_survey:FS-2610-000001"
    assert (row["score_raw"], row["score_scale"], row["question_type"]) == (9.0, "0-10", "tnps")
    assert (row["is_issue_solved"], row["case_ref"]) == (True, "CS-2610-000001")
    assert row["customer_key"] == customer_key("cust-1", KEY)
    assert row["body_text"] == "Спасибо, вопрос решили быстро." and row["self_service_outcome"] is None


@pytest.mark.parametrize(
    ("value", "expected"),
    [("Да", True), ("ДА", True), (" да ", True), ("yes", True), ("Yes", True), ("1", True), (1, True),
     ("true", True), (True, True), ("Нет", False), ("no", False), ("NO", False), ("0", False), (0, False),
     ("false", False), (False, False), ("", None), ("  ", None), (None, None)],
)  # fmt: skip
def test_issue_solved_answers(payloads, value: object, expected: bool | None) -> None:
    result = run("ctl_final_survey", payloads([final(solved=value)]))
    assert result.rows["is_issue_solved"].to_list() == [expected]


@pytest.mark.parametrize("value", ["может быть", "д", "y", "2", "1.0", "решён"])
def test_an_answer_that_is_not_yes_or_no_is_bad_answer(payloads, value: str) -> None:
    result = run("ctl_final_survey", payloads([final(solved=value)]))
    assert reasons(result) == [("FS-2610-000001", "bad_answer")]
    assert result.rejects["detail"][0] == (
        f"issue_solved '{value}' is not a yes/no answer (да/нет/yes/no/1/0/true/false)"
    )


def test_a_response_that_skipped_a_question_keeps_the_other(payloads) -> None:
    records = [
        final(response_id="no-tnps", tnps=""),
        final(response_id="no-solved", solved=""),
        final(response_id="solved-only", tnps="", comment=""),  # the "solved?" answer alone: still CES
        final(response_id="nothing", tnps="", solved="", comment=""),  # says nothing a staging row may hold
    ]
    result = run("ctl_final_survey", payloads(records))
    assert result.rows.select("source_item_id", "score_raw", "question_type", "is_issue_solved").rows() == [
        ("no-solved", 9.0, "tnps", None),
        ("no-tnps", None, "none", True),
        ("solved-only", None, "none", True),
    ]
    assert reasons(result) == [("nothing", "empty_item")]


def test_a_channel_without_the_question_has_no_answer(payloads) -> None:
    result = run("nps_email_survey", payloads([nps()]))
    assert result.rows.select("is_issue_solved", "self_service_outcome").rows() == [(None, None)]


def test_an_edited_answer_is_a_new_version(payloads) -> None:
    result = run("ctl_final_survey", payloads([final(solved="Нет"), final(solved="Да")]))
    assert result.rows.select("is_issue_solved", "is_edited").rows() == [(True, True)]
    assert result.history["is_issue_solved"].to_list() == [False]


def session(**record: object) -> dict[str, object]:
    base: dict[str, object] = {
        "session_id": "5d0f3b1e-0c1a-4c55-9d7e-0a4c2f1b9e01",
        "tool": "bot",
        "started_at": "2026-10-05T20:14:03+03:00",
        "ended_at": "2026-10-05T20:17:41+03:00",
        "customer_id": "CUST-1",
        "question": "Когда придёт мой заказ 41234567?",
        "outcome": "escalated",
        "escalated_to": "chat",
    }
    return base | record


def test_a_self_service_session_is_an_item_with_its_outcome(payloads) -> None:
    records = [
        session(),
        session(session_id="faq-1", tool="faq", outcome="Resolved ", escalated_to=""),
        session(session_id="anon", customer_id="", outcome="ABANDONED", escalated_to=""),
    ]
    result = run("self_service_sessions", payloads(records))
    rows = {r["source_item_id"]: r for r in result.rows.to_dicts()}
    assert {k: r["self_service_outcome"] for k, r in rows.items()} == {
        "5d0f3b1e-0c1a-4c55-9d7e-0a4c2f1b9e01": "escalated",
        "faq-1": "resolved",
        "anon": "abandoned",
    }
    first = rows["5d0f3b1e-0c1a-4c55-9d7e-0a4c2f1b9e01"]
    assert first["received_at"] == utc(2026, 10, 5, 17, 14, 3)
    assert first["body_text"] == "Когда придёт мой заказ 41234567?"
    assert (first["score_scale"], first["question_type"], first["is_issue_solved"]) == ("none", "none", None)
    assert first["customer_key"] == customer_key("cust-1", KEY) and rows["anon"]["customer_key"] is None


def test_an_unknown_or_missing_outcome_is_rejected(payloads) -> None:
    records = [session(session_id="t", outcome="timeout"), session(session_id="m", outcome="")]
    result = run("self_service_sessions", payloads(records))
    assert result.rows.height == 0
    assert sorted(reasons(result)) == [("m", "missing_field"), ("t", "bad_outcome")]
    details = dict(zip(result.rejects["source_item_id"], result.rejects["detail"], strict=True))
    assert details["t"] == "self_service_outcome 'timeout' is not one of resolved, escalated, abandoned"
    assert details["m"] == "self_service_outcome is missing or blank (source 'outcome')"


def test_an_employee_answer_has_no_customer_key_even_if_a_customer_field_slipped_in(payloads) -> None:
    pulse = get_channel("employee_pulse_survey")
    # the registry refuses this; the normalizer does not rely on it
    leaky = pulse.model_construct(**(dict(pulse) | {"fields": pulse.fields | {"customer_ref": "ID анкеты"}}))
    record = {
        "ID анкеты": "0A1B2C3D",
        "Дата и время": "2026-10-05T10:00:00",
        "Порекомендуете ли вы компанию как работодателя? (0-10)": 9,
        "Комментарий": "Хорошая команда",
    }
    for channel_ in (pulse, leaky):
        result = run(channel_, payloads([record]))
        assert result.rows.select("question_type", "score_raw", "customer_key").rows() == [("enps", 9.0, None)]


# --- the CRM's customer statuses ----------------------------------------------------------------


def status_row(**record: str) -> dict[str, str]:
    base = {
        "ID клиента": "C1000007",
        "Телефон": "+7 (916) 123-45-67",
        "E-mail": "Ivan.Petrov@Mail.ru",
        "Сегмент": "VIP",
        "Статус": "current",
        "Дата изменения статуса": "2026-10-05 14:03:27",
    }
    return base | record


def test_customer_statuses_keep_identities_only_as_the_channels_keyed_hashes(payloads) -> None:
    records = [
        status_row(),
        status_row(**{"Статус": " Churned ", "Дата изменения статуса": "2026-10-20 09:00:00"}),
        status_row(**{"Статус": "ушёл", "Дата изменения статуса": "2026-10-21 09:00:00"}),
        status_row(**{"Дата изменения статуса": "2026-12-01 09:00:00"}),
        status_row(**{"ID клиента": ""}),
        status_row(),  # the same change exported twice
    ]
    result = run("crm_customer_statuses", payloads(records))
    rows = result.rows
    assert rows.select("status", "status_at", "segment").rows() == [
        ("current", utc(2026, 10, 5, 11, 3, 27), "vip"),  # Moscow wall-clock
        ("churned", utc(2026, 10, 20, 6), "vip"),
    ]
    # the same hashes a feedback channel gives the id, the phone written another way, the e-mail
    assert set(rows["customer_key"]) == {customer_key("C1000007", KEY)}
    assert set(rows["phone_key"]) == {customer_key("89161234567", KEY)}
    assert set(rows["email_key"]) == {customer_key("ivan.petrov@mail.ru", KEY)}
    assert not any("C1000007" in str(v) or "916" in str(v) for row in rows.rows() for v in row)
    assert sorted(result.rejects["reason"].to_list()) == ["duplicate", "future_date", "missing_field", "unknown_status"]
    assert "ушёл" in result.rejects.filter(pl.col("reason") == "unknown_status")["detail"][0]
