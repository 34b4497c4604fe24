"""Encoding detection and configured encodings (transforms/readers/encoding.py)."""

import codecs

import pytest

from transforms.readers import UnreadableFile, decode_text
from transforms.readers.encoding import looks_like_russian

RUSSIAN = "Оценка;Комментарий\n5;Спасибо, всё отлично, курьер приехал вовремя\n"


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (codecs.BOM_UTF8 + RUSSIAN.encode("utf-8"), RUSSIAN),
        (RUSSIAN.encode("utf-16"), RUSSIAN),  # BOM + native order
        (codecs.BOM_UTF16_LE + RUSSIAN.encode("utf-16-le"), RUSSIAN),
        (codecs.BOM_UTF16_BE + RUSSIAN.encode("utf-16-be"), RUSSIAN),
        (codecs.BOM_UTF32_LE + RUSSIAN.encode("utf-32-le"), RUSSIAN),
        (RUSSIAN.encode("utf-8"), RUSSIAN),
        (RUSSIAN.encode("cp1251"), RUSSIAN),
        (b"plain ascii", "plain ascii"),
        (b"", ""),
    ],
    ids=[
        "utf8-bom",
        "utf16",
        "utf16le-bom",
        "utf16be-bom",
        "utf32le-bom",
        "utf8",
        "cp1251",
        "ascii",
        "empty",
    ],
)
def test_detection_without_configured_encoding(data: bytes, expected: str) -> None:
    assert decode_text(data) == expected


def test_bom_is_not_part_of_the_text() -> None:
    assert not decode_text(codecs.BOM_UTF8 + b"a,b").startswith("\ufeff")


def test_koi8r_is_not_mistaken_for_cp1251() -> None:
    data = ("Доставка задержалась на три дня, очень недоволен качеством " * 2).encode("koi8-r")
    with pytest.raises(UnreadableFile) as caught:
        decode_text(data)
    assert caught.value.reason == "unreadable_encoding"


def test_binary_garbage_is_unreadable_with_a_detail() -> None:
    with pytest.raises(UnreadableFile) as caught:
        decode_text(bytes(range(128, 256)) * 4)
    assert caught.value.reason == "unreadable_encoding"
    assert "not UTF-8" in caught.value.detail


def test_configured_encoding_is_used() -> None:
    assert decode_text(RUSSIAN.encode("cp1251"), "cp1251") == RUSSIAN
    assert decode_text(RUSSIAN.encode("koi8-r"), "koi8-r") == RUSSIAN


def test_configured_utf8_on_a_cp1251_file_names_both() -> None:
    with pytest.raises(UnreadableFile) as caught:
        decode_text(RUSSIAN.encode("cp1251"), "utf-8")
    assert caught.value.reason == "encoding_mismatch"
    assert "cp1251" in caught.value.detail
    assert "utf-8" in caught.value.detail


def test_configured_cp1251_on_a_utf8_file_is_not_silently_mojibake() -> None:
    with pytest.raises(UnreadableFile) as caught:
        decode_text(RUSSIAN.encode("utf-8"), "cp1251")
    assert caught.value.reason == "encoding_mismatch"
    assert "UTF-8" in caught.value.detail


def test_configured_utf8_tolerates_its_own_bom() -> None:
    assert decode_text(codecs.BOM_UTF8 + b"a,b", "utf-8") == "a,b"


def test_configured_utf8_on_a_utf16_file_is_a_mismatch() -> None:
    with pytest.raises(UnreadableFile) as caught:
        decode_text("a,b".encode("utf-16"), "utf-8")
    assert "utf-16" in caught.value.detail


def test_unknown_configured_encoding() -> None:
    with pytest.raises(UnreadableFile) as caught:
        decode_text(b"a", "no-such-codec")
    assert caught.value.reason == "encoding_mismatch"


def test_looks_like_russian() -> None:
    assert looks_like_russian("Привет, мир — №5 «ok»")
    assert not looks_like_russian("ÀÁÂÃÄÅÆÇÈÉ")
    assert looks_like_russian("ascii only")
