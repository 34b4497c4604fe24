from datetime import date

import polars as pl
import pytest

from transforms.classify.rules import compile_type_rules, match_types
from transforms.classify.text import Lemmatizer, english_stem, normalize, normalize_one
from transforms.org import load_org
from transforms.taxonomy import load_feedback_types, parse_feedback_types


@pytest.mark.parametrize(
    ("text", "norm"),
    [
        ("Курьеры опоздали с доставкой", "курьер опоздать с доставка"),
        ("Приложение не работает", "приложение не_работать"),
        ("Так и не привезли, ни разу!", "так и не_привезти ни_раз"),
        ("I haven't received the parcels", "i have not_receiv the parcel"),
        ("Ёлка", "елка"),
        ("", ""),
    ],
)
def test_normalize(text: str, norm: str) -> None:
    assert normalize_one(text) == norm


def test_lemmas_are_computed_once_per_distinct_token() -> None:
    lemmatizer = Lemmatizer()
    normalize(pl.Series(["курьер опоздал", "курьер опоздал снова", None]), lemmatizer)
    assert set(lemmatizer.cache) == {"курьер", "опоздал", "снова"}


def test_english_stem_meets_word_forms() -> None:
    assert english_stem("delivered") == english_stem("delivering") == english_stem("deliver")
    assert english_stem("charges") == english_stem("charged") == english_stem("charge")


HEADER = (
    "feedback_type_id,name_ru,name_en,default_kind,directorate_id,department_id,sla_class,valid_from,valid_to,"
    "hints_ru,hints_en"
)


def _types(rows: list[str]):
    return parse_feedback_types("\n".join([HEADER, *rows]), load_org())


def test_hint_words_match_in_any_order_and_more_words_win() -> None:
    types = _types(
        [
            "pay_double,Двойное,Double,complaint,finance,payments,urgent,2020-01-01,,списать дважды,charg* twice",
            "pay,Оплата,Payment,complaint,finance,payments,standard,2020-01-01,,деньги|оплата,payment",
            "late,Опоздание,Late,complaint,logistics,delivery,standard,2020-01-01,,опоздать,late",
        ]
    )
    texts = pl.Series(
        ["Деньги дважды списали", "Оплата прошла", "They charged me twice", "Опоздали, деньги вернули", "Ок"]
    )
    out = match_types(normalize(texts), compile_type_rules(types))
    # a tie goes to the type earlier in the file
    assert out["rule_type"].to_list() == ["pay_double", "pay", "pay_double", "pay", None]
    # a tie between owners halves the share: 1 point of 2 is 0.5, times 1 - 0.5**1
    assert out["rule_confidence"].to_list()[3] == pytest.approx(0.25)
    assert out["rule_confidence"].to_list()[0] == pytest.approx(1 - 0.5**3)


def test_a_type_out_of_its_validity_is_not_chosen() -> None:
    types = _types(
        [
            "new_site,Новый сайт,New site,complaint,ecommerce,website,standard,2025-01-01,,сайт,site",
            "old_site,Старый сайт,Old site,complaint,ecommerce,website,standard,2020-01-01,2024-12-31,сайт,site",
        ]
    )
    days = pl.Series([date(2024, 6, 1), date(2025, 6, 1), None])
    out = match_types(normalize(pl.Series(["сайт"] * 3)), compile_type_rules(types), days)
    assert out["rule_type"].to_list() == ["old_site", "new_site", "new_site"]


def test_the_shipped_taxonomy_routes_everyday_complaints() -> None:
    texts = pl.Series(
        [
            "Деньги списали дважды, верните",
            "Курьер так и не привёз заказ",
            "Не могу дозвониться на горячую линию",
            "Бонусы за покупку не начислили",
            "Не пришли закрывающие документы",
            "Приложение вылетает после обновления",
        ]
    )
    out = match_types(normalize(texts), compile_type_rules(load_feedback_types()))
    assert out["rule_type"].to_list() == [
        "payment_double_charge",
        "delivery_not_delivered",
        "cc_wait_time",
        "loyalty_points",
        "corporate_documents",
        "app_update",  # «после обновления» (2 words) outweighs «вылетает» (1): the same owner either way
    ]
