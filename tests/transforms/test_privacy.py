"""PII masking and customer keys (transforms/privacy.py)."""

import hashlib
import hmac

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from transforms.privacy import customer_key, customer_keys, mask_pii, mask_pii_expr, normalize_ref

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


@settings(max_examples=400, deadline=None)
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
