"""PII masking and customer keys (transforms/privacy.py)."""

import hashlib
import hmac

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from transforms.privacy import (
    customer_key,
    customer_keys,
    luhn_valid,
    mask_cards,
    mask_pii,
    mask_pii_expr,
    normalize_email_expr,
    normalize_phone,
    normalize_phones,
    normalize_ref,
)

KEY = b"test-key"


@pytest.mark.parametrize(
    "phone",
    [
        "+7 (916) 123-45-67",
        "+7(916)1234567",
        "+79161234567",
        "+7 916 123 45 67",
        "+7-916-123-45-67",
        "8 (916) 123-45-67",
        "8(916)123-45-67",
        "8 916 123 45 67",
        "8-916-123-45-67",
        "89161234567",
        "79161234567",
        "8 (495) 123-45-67",
        "8 800 555-35-35",
        "(916) 123-45-67",
        "916 123-45-67",
        "+44 20 7946 0958",
        "+1 (212) 555-1234",
        "+49 30 123456",
    ],
)
def test_phones_are_masked(phone: str) -> None:
    assert mask_pii(f"звоните {phone}, спасибо") == "звоните [телефон], спасибо"
    assert mask_pii(f"тел.{phone}") == "тел.[телефон]"


@pytest.mark.parametrize(
    "text",
    [
        "заказ № 123456789 от 05.10.2026",
        "заказ 4500123456",
        "дата 2026-10-05 14:03:27",
        "сумма 1 234 567,89 руб",
        "итого 15 000 ₽, скидка 8 %",
        "артикул 8-800-555",
        "ИНН 7701234567",
        "трек RA123456789RU",
        "номер 891612345678901",
        "+20% к цене",
        "версия 8.916.123",
    ],
)
def test_non_phones_stay(text: str) -> None:
    assert mask_pii(text) == text


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        ("пишите на Ivan.Petrov+shop@mail.example.ru.", "пишите на [email]."),
        ("почта: иван@почта.рф", "почта: [email]"),
        ("89161234567@mail.ru", "[email]"),
        ("a@b", "a@b"),
        ("@username в телеграме", "@username в телеграме"),
    ],
)
def test_emails_are_masked(text: str, masked: str) -> None:
    assert mask_pii(text) == masked


def test_mask_expr_on_a_column() -> None:
    frame = pl.DataFrame({"t": ["a@b.ru и +7 916 123 45 67", None]})
    assert frame.select(mask_pii_expr(pl.col("t"))).to_series().to_list() == ["[email] и [телефон]", None]


PIECES = [*"0123456789 -()+.@abzЯя_", "+7", "8 (", "916", "123-45-67", "@mail.ru", "ivan", "\n", ","]
# cards (Luhn-valid, grouped and not), near misses, and digit groups to glue onto them
PIECES += ["4111 1111 1111 1111", "4111-1111-1111-1111", "5500000000000004", "4111 1111 1111 1112", "1234", "12"]


@settings(max_examples=600, deadline=None)
@given(st.lists(st.lists(st.sampled_from(PIECES), max_size=25).map("".join), max_size=6))
def test_polars_masking_equals_python_masking(texts: list[str]) -> None:
    frame = pl.DataFrame({"t": texts}, schema={"t": pl.String})
    assert frame.select(mask_pii_expr(pl.col("t"))).to_series().to_list() == [mask_pii(t) for t in texts]


@pytest.mark.parametrize(
    ("ref", "normalized"),
    [
        ("+7 (916) 123-45-67", "79161234567"),
        ("8 916 123 45 67", "79161234567"),
        ("89161234567", "79161234567"),
        ("79161234567", "79161234567"),
        ("(916) 123-45-67", "79161234567"),
        ("+44 20 7946 0958", "442079460958"),
        ("  Ivan@Example.RU ", "ivan@example.ru"),
        ("CUST-0042", "cust-0042"),
        ("5004272351", "5004272351"),
        (321654, "321654"),
        ("2026-10-05", "2026-10-05"),
        ("   ", None),
        (None, None),
    ],
)
def test_normalize_ref(ref: str | int | None, normalized: str | None) -> None:
    assert normalize_ref(ref) == normalized


def test_customer_key_is_hmac_sha256_of_the_normalized_ref() -> None:
    expected = hmac.new(KEY, b"79161234567", hashlib.sha256).hexdigest()
    assert customer_key("+7 (916) 123-45-67", KEY) == expected
    assert customer_key("8 916 123 45 67", KEY) == expected
    assert customer_key("+7 (916) 123-45-67", b"other-key") != expected
    assert customer_key(None, KEY) is None
    assert customer_key(" ", KEY) is None


def test_customer_keys_equals_customer_key() -> None:
    refs = pl.Series("ref", ["a@b.ru", "A@B.RU ", None, "89161234567", "x"])
    assert customer_keys(refs, KEY).to_list() == [customer_key(ref, KEY) for ref in refs.to_list()]
    assert customer_keys(pl.Series("ref", [None, None], dtype=pl.String), KEY).to_list() == [None, None]


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        ("карта 4111 1111 1111 1111, спасибо", "карта [карта], спасибо"),
        ("4111-1111-1111-1111", "[карта]"),
        ("5500000000000004", "[карта]"),
        ("amex 3782 822463 10005", "amex [карта]"),  # 15 digits in 4-6-5
        ("4111 1111 1111 1111 12/27", "[карта] 12/27"),  # the expiry stays
        ("12 4111 1111 1111 1111", "12 [карта]"),
        ("карта4111111111111111", "карта[карта]"),  # Cyrillic is not a word character for the boundary
        ("a 4111111111111111@mail.ru", "a [email]"),  # an address first
        ("звоните 8 916 123 45 67, карта 4111 1111 1111 1111", "звоните [телефон], карта [карта]"),
    ],
)
def test_card_numbers_are_masked(text: str, masked: str) -> None:
    assert mask_pii(text) == masked


@pytest.mark.parametrize(
    "text",
    [
        "4111 1111 1111 1112",  # Luhn fails
        "заказ 1234 5678 9012",  # 12 digits
        "ИНН 7701234567, ОГРН 1027700132195",  # 13 digits but Luhn fails
        "номер 41111111111111111111111",  # 23 digits in one group: not a card
        "x4111111111111111",  # glued to a Latin letter: an identifier
        "дата 2026-10-05, сумма 1 234 567",
    ],
)
def test_numbers_that_are_not_cards_stay(text: str) -> None:
    assert mask_cards(text) == text


def test_luhn() -> None:
    assert luhn_valid("4111111111111111") and luhn_valid("79927398713")
    assert not luhn_valid("4111111111111112") and not luhn_valid("79927398710")


@pytest.mark.parametrize(
    ("phone", "normalized"),
    [
        ("+7 (916) 123-45-67", "79161234567"),
        ("8 916 123 45 67", "79161234567"),
        ("(916) 123-45-67", "79161234567"),
        ("+44 20 7946 0958", "442079460958"),
        ("123-45-67", "1234567"),  # a local number: digits as they are
        ("12-34", None),  # not a phone
        ("нет", None),
        (None, None),
    ],
)
def test_normalize_phone(phone: str | None, normalized: str | None) -> None:
    assert normalize_phone(phone) == normalized
    assert normalize_phones(pl.Series([phone], dtype=pl.String)).to_list() == [normalized]


def test_normalize_email() -> None:
    frame = pl.DataFrame({"e": [" Ivan@Example.RU ", "нет", "a@", None]})
    assert frame.select(normalize_email_expr(pl.col("e"))).to_series().to_list() == [
        "ivan@example.ru",
        None,
        None,
        None,
    ]


REF_PIECES = ["+7", "8", " (916) ", "123-45-67", "9161234567", "Ivan", "@Example.RU", "cust-", "42", " ", "\u00a0", "ё"]


@settings(max_examples=200)
@given(st.lists(st.one_of(st.none(), st.lists(st.sampled_from(REF_PIECES), max_size=5).map("".join)), max_size=40))
def test_customer_keys_equals_customer_key_on_any_column(refs: list[str | None]) -> None:
    """Repeats, blanks, nulls and several spellings of one phone: each row gets its own customer_key, in
    order, and the Series keeps its name."""
    column = pl.Series("contact", refs, dtype=pl.String)
    keys = customer_keys(column, KEY)
    assert keys.name == "contact"
    assert keys.dtype == pl.String
    assert keys.to_list() == [customer_key(ref, KEY) for ref in refs]


def test_customer_keys_over_a_frame_column_in_one_call() -> None:
    """As the normalizers call it: a whole column, its rows in their order, a literal null column too."""
    frame = pl.DataFrame({"ref": ["8 916 123 45 67", None, "+79161234567", "x", "8 916 123 45 67"] * 3000})
    keyed = frame.lazy().select(
        key=pl.col("ref").map_batches(lambda refs: customer_keys(refs, KEY), return_dtype=pl.String),
        none=pl.lit(None, dtype=pl.String).map_batches(lambda refs: customer_keys(refs, KEY), return_dtype=pl.String),
    )
    result = keyed.collect()
    assert result["key"].to_list() == [customer_key(ref, KEY) for ref in frame["ref"].to_list()]
    assert result["none"].to_list() == [None] * frame.height
