from datetime import UTC, datetime

import polars as pl
import pytest

from tests.transforms.classify.staged import STAGED_SCHEMA
from transforms.channels import load_channels
from transforms.classify import KINDS, SENTIMENTS, classifier_version, classify
from transforms.classify.engine import REVIEW_THRESHOLD, default_classifier
from transforms.org import load_org
from transforms.taxonomy import load_feedback_types


def _classify(rows: list[dict], manual: pl.DataFrame | None = None) -> pl.DataFrame:
    frame = pl.DataFrame(rows, schema=STAGED_SCHEMA)
    out = classify(
        frame.lazy(), types=load_feedback_types(), org=load_org(), channels=load_channels(), manual_labels=manual
    )
    return out.collect().sort("feedback_id")


def _row(text: str | None, *, fid: str = "1", channel: str = "web_form", store: str | None = None, **extra) -> dict:
    return {"feedback_id": fid, "channel_id": channel, "body_text": text, "store_id": store, **extra}


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("Курьер опоздал на три часа, ужасно", "complaint"),
        ("Спасибо за быструю доставку!", "thanks"),
        ("Хотелось бы, чтобы в приложении был тёмный режим", "wish"),
        ("Подскажите, когда будет в наличии перфоратор?", "question"),
        ("Спасибо, но курьер опоздал", "complaint"),
        ("Не работает приложение, не могу войти", "complaint"),
        ("The courier never came and nobody answers", "complaint"),
        ("", "unclassified"),
        (None, "unclassified"),
    ],
    ids=["complaint", "thanks", "wish", "question", "thanks-but-complaint", "negation", "english", "empty", "null"],
)
def test_kind(text: str | None, kind: str) -> None:
    assert _classify([_row(text)])["kind"].to_list() == [kind]


def test_negation_flips_what_a_word_says() -> None:
    out = _classify([_row("Понравилось обслуживание", fid="a"), _row("Не понравилось обслуживание", fid="b")])
    assert out["sentiment"].to_list() == ["positive", "negative"]


def test_every_output_is_known_and_one_row_in_one_row_out() -> None:
    texts = ["a", "Спасибо", "Ужасно", "?", None, "Хотелось бы", "Продам гараж"]
    out = _classify([_row(t, fid=str(i)) for i, t in enumerate(texts)])
    assert out.height == len(texts)
    assert set(out["kind"]) <= set(KINDS)
    assert set(out["sentiment"]) <= set(SENTIMENTS)
    assert set(out["method"]) <= {"rule", "model", "manual"}
    assert out["confidence"].is_between(0, 1).all()
    assert (out["needs_review"] == (out["confidence"] < REVIEW_THRESHOLD)).all()
    assert out["model_version"].str.starts_with("model-").all()
    assert out["taxonomy_version"].str.starts_with("tax-").all()


def test_score_only_item_keeps_the_no_text_kind_and_reads_sentiment_from_the_score() -> None:
    out = _classify([_row(None, fid="a", score_10=2.0), _row("", fid="b", score_10=10.0), _row(None, fid="c")])
    assert out.select("kind", "sentiment", "method").rows() == [
        ("unclassified", "negative", "rule"),
        ("unclassified", "positive", "rule"),
        ("unclassified", "neutral", "rule"),
    ]


def test_score_is_one_feature_not_the_verdict() -> None:
    # A clear complaint stays a complaint with a top score, and a clear thanks with a low one.
    out = _classify(
        [
            _row("Курьер нахамил и бросил коробку", fid="a", score_10=10.0),
            _row("Огромное спасибо консультанту, всё подобрал", fid="b", score_10=0.0),
        ]
    )
    assert out["kind"].to_list() == ["complaint", "thanks"]


def test_type_routes_to_its_department_and_a_store_to_its_manager() -> None:
    out = _classify(
        [
            _row("Сайт тормозит, страница грузится по минуте", fid="a"),
            _row("Продавец нахамил", fid="b", store="SPB-001"),
            _row("Без слов", fid="c", channel="store_complaint_book", store="MSK-002"),
            _row("Списали деньги дважды за заказ", fid="d"),
        ]
    )
    assert out.select("feedback_type_id", "directorate_id", "department_id", "manager_id").rows() == [
        ("website_slow", "ecommerce", "website", None),
        ("store_staff", "retail", "stores_regions", "m_belov"),
        ("unclassified", "retail", "stores_moscow", "m_zaitseva"),
        ("payment_double_charge", "finance", "payments", None),
    ]


def test_a_store_item_goes_to_the_manager_of_its_day() -> None:
    # org.yaml: EKB-001 was Belov's until 2024-12-31 and is Gromova's since 2025-01-01.
    out = _classify(
        [
            _row("Продавец нахамил", fid="a", store="EKB-001", received_at=datetime(2024, 6, 1, tzinfo=UTC)),
            _row("Продавец нахамил", fid="b", store="EKB-001", received_at=datetime(2025, 6, 1, tzinfo=UTC)),
        ]
    )
    assert out["manager_id"].to_list() == ["m_belov", "m_gromova"]


def test_channel_default_type_applies_when_the_text_names_no_type() -> None:
    out = _classify([_row("Норм", channel="ivr_post_call_survey")])
    assert out.select("feedback_type_id", "directorate_id").row(0) == ("call_centre", "customer_service")


def test_unmatched_text_joins_the_missing_members_and_waits_for_review() -> None:
    out = _classify([_row("Ну такое")])
    assert out.select("feedback_type_id", "directorate_id", "needs_review").row(0) == (
        "unclassified",
        "unassigned",
        True,
    )


def test_manual_label_overrides_the_prediction() -> None:
    manual = pl.DataFrame(
        {"feedback_id": ["1"], "kind": ["wish"], "sentiment": [None], "feedback_type_id": ["delivery_interval"]},
        schema={c: pl.String for c in ("feedback_id", "kind", "sentiment", "feedback_type_id")},
    )
    out = _classify([_row("Курьер опоздал", fid="1"), _row("Курьер опоздал", fid="2")], manual)
    assert out.select("kind", "feedback_type_id", "method", "confidence").rows() == [
        ("wish", "delivery_interval", "manual", 1.0),
        ("complaint", "delivery_late", "rule", out["confidence"][1]),
    ]
    assert out["sentiment"].to_list() == ["negative", "negative"]  # the label said nothing about sentiment


def test_versions_change_with_the_taxonomy() -> None:
    types = load_feedback_types()
    assert classifier_version(types) == classifier_version(types)
    assert classifier_version(types) != classifier_version(types[1:])
    assert classifier_version(types).endswith(default_classifier().model_version)
