"""JSON pages (transforms/readers/json_pages.py) on the sample payloads in tests/fixtures (real, and written
from the providers' documentation where the real one may not be redistributed)."""

import json
from pathlib import Path

import pytest

from transforms.channels.registry import ReaderOptions, get_channel
from transforms.readers import UnreadableFile, read_file
from transforms.readers.json_pages import read


def _read(path: Path, records_path: str | None) -> list[dict]:
    result = read(path.read_bytes(), ReaderOptions(records_path=records_path))
    assert result.errors == []
    return result.records


@pytest.mark.parametrize(
    ("relative", "records_path", "count", "first_key", "first_value"),
    [
        ("real/freshdesk/python-freshdesk_v2_all_tickets.json", None, 1, "subject", "This is a sample ticket"),
        ("real/freshdesk/python-freshdesk_v2_conversations.json", None, 2, "body_text", "This is a private note"),
        ("real/freshdesk/python-freshdesk_v2_ticket_1.json", None, 1, "description_text", None),
        (
            "real/ozon/ozon-api-client_v1_review_list_response.json",
            "reviews",
            1,
            "published_at",
            "2019-08-24T14:15:22Z",
        ),
        ("real/ozon/ozon-api-client_v1_review_comment_list_response.json", "comments", 1, "text", "string"),
        ("documented/wildberries/feedbacks_page.json", "data.feedbacks", 2, "id", "Xq7mTn31kPLgWc5aRzHd"),
        ("documented/app_store/customer_reviews_page1.json", "data", 3, "type", "customerReviews"),
        ("real/bitrix24/b24-rest-docs_crm.activity.list_response_example.json", "result", 1, "SUBJECT", None),
    ],
    ids=[
        "freshdesk-list",
        "freshdesk-conversations",
        "freshdesk-one-ticket",
        "ozon",
        "ozon-comments",
        "wb",
        "app-store",
        "bitrix24",
    ],
)
def test_samples(
    real_samples: Path,
    relative: str,
    records_path: str | None,
    count: int | None,
    first_key: str,
    first_value: object,
) -> None:
    records = _read(real_samples.parent / relative, records_path)  # relative to tests/fixtures
    if count is not None:
        assert len(records) == count
    assert records, "a sample page has records"
    assert first_key in records[0]
    if first_value is not None:
        assert records[0][first_key] == first_value
    json.dumps(records)  # every value is JSON-serialisable


def test_app_store_values_keep_their_nesting(documented_samples: Path) -> None:
    records = _read(documented_samples / "app_store/customer_reviews_page1.json", "data")
    assert records[0]["attributes"]["rating"] == 3  # a number, as JSON:API gives it
    assert records[0]["id"] == "00000028-b08c-0014-9e3a-5c1f00000003"  # newest first
    assert records[2]["attributes"]["title"] == "Вылетает при оплате"


def test_bitrix24_cyrillic_subject(real_samples: Path) -> None:
    path = real_samples / "bitrix24/b24-rest-docs_crm.activity.list_response_example.json"
    assert _read(path, "result")[0]["SUBJECT"] == "Исходящий звонок Андрей Николаев"


def test_bitrix24_jsonc_with_comments_is_broken_json(real_samples: Path) -> None:
    path = real_samples / "bitrix24/b24-rest-docs_crm.activity.list_response_example.jsonc"
    with pytest.raises(UnreadableFile) as caught:
        read(path.read_bytes(), ReaderOptions(records_path="result"))
    assert caught.value.reason == "broken_json"


def yandex_market_page() -> dict:
    """A goods-feedback page built from GoodsFeedbackListDTO / GoodsFeedbackDTO (the yaml has no example)."""
    return {
        "status": "OK",
        "result": {
            "feedbacks": [
                {
                    "feedbackId": 1001,
                    "createdAt": "2026-10-05T14:03:27+03:00",
                    "needReaction": True,
                    "identifiers": {"orderId": 555111, "offerId": "SKU-1"},
                    "author": "Иван П.",
                    "description": {
                        "advantages": "Мощная",
                        "disadvantages": "Шумная",
                        "comment": "В целом доволен",
                    },
                    "media": {"photos": ["https://example.org/1.jpg"]},
                    "statistics": {"rating": 4, "commentsCount": 0, "recommended": True},
                },
                {
                    "feedbackId": 1002,
                    "createdAt": "2026-10-06T09:00:00+03:00",
                    "needReaction": False,
                    "identifiers": {"orderId": 555112},
                    "statistics": {"rating": 1, "commentsCount": 2},
                },
            ],
            "paging": {"nextPageToken": "abc"},
        },
    }


def test_yandex_market_page_through_its_channel() -> None:
    data = json.dumps(yandex_market_page(), ensure_ascii=False).encode("utf-8")
    result = read_file(data, get_channel("yandex_market_reviews"))
    assert [r["feedbackId"] for r in result.records] == [1001, 1002]
    assert result.records[0]["description"]["comment"] == "В целом доволен"


def test_broken_json_names_line_and_column() -> None:
    with pytest.raises(UnreadableFile) as caught:
        read(b'{"result": {\n  "feedbacks": [1,,]\n}}', ReaderOptions(records_path="result.feedbacks"))
    assert caught.value.reason == "broken_json"
    assert caught.value.detail.startswith("line 2 col ")


def test_nan_is_not_json() -> None:
    with pytest.raises(UnreadableFile) as caught:
        read(b'[{"a": NaN}]', ReaderOptions())
    assert caught.value.reason == "broken_json"


def test_missing_records_path_names_the_keys_present() -> None:
    with pytest.raises(UnreadableFile) as caught:
        read(b'{"result": {"items": []}}', ReaderOptions(records_path="result.feedbacks"))
    assert caught.value.reason == "missing_records_path"
    assert "'feedbacks'" in caught.value.detail
    assert "items" in caught.value.detail


def test_records_path_through_a_scalar_is_missing() -> None:
    with pytest.raises(UnreadableFile) as caught:
        read(b'{"result": 5}', ReaderOptions(records_path="result.feedbacks"))
    assert caught.value.reason == "missing_records_path"


def test_null_page_is_empty_and_non_objects_are_record_errors() -> None:
    assert read(b'{"result": null}', ReaderOptions(records_path="result")).records == []
    result = read(b'[{"a": 1}, 2, "x", {"b": 2}]', ReaderOptions())
    assert result.records == [{"a": 1}, {"b": 2}]
    assert result.record_indexes == [0, 3]
    assert [(e.record_index, e.reason) for e in result.errors] == [(1, "not_an_object"), (2, "not_an_object")]
