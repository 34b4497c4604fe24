import polars as pl
import pytest

from transforms.channels import load_channels
from transforms.classify import KINDS, classifier_version, classify
from transforms.org import load_org
from transforms.taxonomy import load_feedback_types


def _classify(rows: list[dict]) -> pl.DataFrame:
    frame = pl.DataFrame(
        rows,
        schema={
            "feedback_id": pl.String,
            "channel_id": pl.String,
            "body_text": pl.String,
            "store_id": pl.String,
        },
    )
    out = classify(frame.lazy(), types=load_feedback_types(), org=load_org(), channels=load_channels())
    return out.collect().sort("feedback_id")


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("Курьер опоздал на три часа, ужасно", "complaint"),
        ("Спасибо за быструю доставку!", "thanks"),
        ("Хотелось бы, чтобы в приложении был тёмный режим", "wish"),
        ("Подскажите, когда будет в наличии перфоратор?", "question"),
        ("Спасибо, но курьер опоздал", "complaint"),
        ("Хотелось бы, чтобы курьер не опаздывал и не хамил", "complaint"),
        ("", "unclassified"),
        (None, "unclassified"),
    ],
    ids=[
        "complaint",
        "thanks",
        "wish",
        "question",
        "thanks-but-complaint",
        "wish-with-two-complaints",
        "empty",
        "null",
    ],
)
def test_kind_rules(text: str | None, kind: str) -> None:
    out = _classify([{"feedback_id": "1", "channel_id": "web_form", "body_text": text, "store_id": None}])
    assert out["kind"].to_list() == [kind]


def test_one_row_in_one_row_out_and_every_kind_is_known() -> None:
    rows = [
        {"feedback_id": str(i), "channel_id": "web_form", "body_text": t, "store_id": None}
        for i, t in enumerate(["a", "Спасибо", "Ужасно", "?", None, "Хотелось бы"])
    ]
    out = _classify(rows)
    assert out.height == len(rows)
    assert set(out["kind"]) <= set(KINDS)


def test_type_routes_to_its_directorate_and_a_store_to_its_manager() -> None:
    out = _classify(
        [
            {"feedback_id": "a", "channel_id": "web_form", "body_text": "Сайт тормозит", "store_id": None},
            {
                "feedback_id": "b",
                "channel_id": "web_form",
                "body_text": "Продавец нахамил",
                "store_id": "SPB-001",
            },
            {
                "feedback_id": "c",
                "channel_id": "store_complaint_book",
                "body_text": "Без слов",
                "store_id": "MSK-002",
            },
        ]
    )
    assert out.select("feedback_type_id", "directorate_id", "manager_id").rows() == [
        ("website_bug", "ecommerce", None),
        ("store_staff", "retail", "m_belov"),
        ("unclassified", "retail", "m_zaitseva"),
    ]


def test_channel_default_type_applies_when_the_text_names_no_type() -> None:
    out = _classify([{"feedback_id": "1", "channel_id": "ivr_post_call_survey", "body_text": "Норм", "store_id": None}])
    assert out.select("feedback_type_id", "directorate_id").row(0) == ("call_centre", "customer_service")


def test_unmatched_text_joins_the_missing_members() -> None:
    out = _classify([{"feedback_id": "1", "channel_id": "web_form", "body_text": "Ну такое", "store_id": None}])
    assert out.select("feedback_type_id", "directorate_id").row(0) == ("unclassified", "unassigned")


def test_classifier_version_changes_with_the_rules() -> None:
    types = load_feedback_types()
    assert classifier_version(types) == classifier_version(types)
    assert classifier_version(types) != classifier_version(types[1:])
