"""E-mail messages (transforms/readers/eml.py)."""

import hashlib
from collections.abc import Callable
from email import policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from transforms.channels.registry import ReaderOptions, get_channel
from transforms.readers import UnreadableFile, read_file
from transforms.readers.eml import _parsed_header, parse_message, read


def test_thunderbird_cp1251_sample(real_samples: Path) -> None:
    data = (real_samples / "email_eml/thunderbird_sample05_cp1251.eml").read_bytes()
    result = read_file(data, get_channel("email_inbox"))
    assert result.errors == []
    assert result.records == [
        {
            "message_id": "05.eml@mime.sample",
            "date": "Sun, 27 May 2001 21:23:35 +0100",
            "from_address": "new@thunderbird.bug",
            "from_name": "Bug Reporter",
            "subject": "Алфавит",
            "body": "Вопрос\n",
            "attachments_count": 0,
        }
    ]


def _message(**headers: str) -> EmailMessage:
    message = EmailMessage()
    for name, value in headers.items():
        message[name.replace("_", "-")] = value
    return message


def test_html_only_body_becomes_text_without_script_or_style() -> None:
    message = _message(From="Покупатель <buyer@example.ru>", Subject="Жалоба", Date="Mon, 05 Oct 2026 14:03:27 +0300")
    message.set_content(
        "<html><head><style>p{color:red}</style></head><body><p>Товар&nbsp;сломан</p>"
        "<script>alert(1)</script><p>Верните деньги</p></body></html>",
        subtype="html",
        charset="koi8-r",
        cte="quoted-printable",
    )
    record = parse_message(message.as_bytes())
    assert record["subject"] == "Жалоба"
    assert record["from_name"] == "Покупатель"
    assert "Товар\u00a0сломан" in record["body"]
    assert "Верните деньги" in record["body"]
    assert "alert" not in record["body"]
    assert "color" not in record["body"]


def test_plain_text_is_preferred_and_attachments_are_counted() -> None:
    message = _message(From="a@example.ru", Subject="=?utf-8?b?0J/RgNC40LLQtdGC?=", Message_ID="<x1@example.ru>")
    message.set_content("Текст письма", charset="utf-8")
    message.add_alternative("<p>HTML версия</p>", subtype="html")
    message.add_attachment(b"%PDF-1.4", maintype="application", subtype="pdf", filename="чек.pdf")
    message.add_attachment(b"\x89PNG", maintype="image", subtype="png", filename="photo.png")
    result = read(message.as_bytes(), ReaderOptions())
    record = result.records[0]
    assert record["body"].strip() == "Текст письма"
    assert record["subject"] == "Привет"
    assert record["message_id"] == "x1@example.ru"
    assert record["attachments_count"] == 2
    assert result.attachments_count == 2


def test_rfc2047_cp1251_and_koi8_headers_decode() -> None:
    data = (
        b"From: =?koi8-r?B?7snLz8zByg==?= <n@example.ru>\r\n"
        b"Subject: =?windows-1251?Q?=CF=F0=E8=E2=E5=F2?=\r\n"
        b"Date: Mon, 05 Oct 2026 14:03:27 +0300\r\n"
        b"Content-Type: text/plain; charset=koi8-r\r\n\r\n" + "Привет из KOI8".encode("koi8-r")
    )
    record = parse_message(data)
    assert record["subject"] == "Привет"
    assert record["from_name"] == "Николай"
    assert record["body"] == "Привет из KOI8"


def test_raw_8bit_cp1251_header_and_body_without_charset() -> None:
    data = (
        "From: a@example.ru\r\nSubject: Где мой заказ\r\nDate: Mon, 05 Oct 2026 14:03:27 +0300\r\n\r\n"
        "Заказ не пришёл, прошу разобраться"
    ).encode("cp1251")
    record = parse_message(data)
    assert record["subject"] == "Где мой заказ"
    assert record["body"] == "Заказ не пришёл, прошу разобраться"


def test_without_message_id_the_id_is_a_stable_content_hash() -> None:
    data = b"From: a@example.ru\r\nSubject: hi\r\n\r\nbody"
    record = parse_message(data)
    assert record["message_id"] == f"sha256:{hashlib.sha256(data).hexdigest()[:32]}"
    assert parse_message(data)["message_id"] == record["message_id"]


def test_missing_headers_are_none() -> None:
    record = parse_message(b"Subject: only a subject\r\n\r\n")
    assert record["date"] is None
    assert record["from_address"] is None
    assert record["body"] is None or record["body"] == ""


@pytest.mark.parametrize(
    "data", [b"", b"   \r\n", b"\x00\x01binary junk without headers"], ids=["empty", "blank", "junk"]
)
def test_not_an_email(data: bytes) -> None:
    with pytest.raises(UnreadableFile) as caught:
        parse_message(data)
    assert caught.value.reason == "not_an_email"


def test_raw_8bit_display_name_is_recovered() -> None:
    data = "From: Пётр Иванов <p@example.ru>\r\nSubject: x\r\n\r\nbody".encode("cp1251")
    record = parse_message(data)
    assert (record["from_name"], record["from_address"]) == ("Пётр Иванов", "p@example.ru")


HEADER_PIECES = [
    "=?windows-1251?b?3vDo6SDM5eTi5eTl4g==?=",
    "=?utf-8?q?=D0=9F=D1=80=D0=B8=D0=B2=D0=B5=D1=82?=",
    "=?koi8-r?B?8NLJ18XU?=",
    "=?unknown-8bit?q?=E9?=",
    "=?utf-8?b?broken",
    "Иван",
    "Ivan Petrov",
    '"Petrov, Ivan"',
    "<ivan@example.ru>",
    "ivan@example.ru",
    "undisclosed-recipients:;",
    "(comment)",
    ",",
    " ",
    "\r\n ",
    "\n\t",
    "Thu, 01 Jan 2026 02:12:04 +0500",
    "31 Feb 2026 25:61:00 GMT",
    "<BC46648D@EXCH08.example.ru>",
    "<",
    "\x00",
]


@settings(max_examples=300)
@given(
    st.sampled_from(["From", "Date", "Subject", "Message-ID"]),
    st.lists(st.sampled_from(HEADER_PIECES), max_size=6).map("".join),
)
def test_a_header_parses_as_the_default_policy_parses_it(name: str, raw: str) -> None:
    """``_parsed_header`` composes each header's class once: the header, its text and its addresses are
    what ``policy.default.header_fetch_parse`` gives, or both fail alike."""

    def parse(function: Callable[[str, str], Any]) -> tuple[Any, ...]:
        try:
            header = function(name, raw)
        except Exception as exc:  # the registry's parsers raise on some broken headers; so must the copy
            return ("raised", type(exc))
        return (str(header), type(header).__mro__[1:], getattr(header, "addresses", None), header.defects)

    def repr_defects(parsed: tuple[Any, ...]) -> tuple[Any, ...]:
        if parsed[0] == "raised":
            return parsed
        return (*parsed[:3], [type(defect) for defect in parsed[3]])

    assert repr_defects(parse(_parsed_header)) == repr_defects(parse(policy.default.header_fetch_parse))
