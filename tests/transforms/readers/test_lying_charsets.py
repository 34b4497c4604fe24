"""An e-mail whose charset label lies (transforms/readers/encoding.py decode_declared; eml and mbox).

Real Russian text encoded in KOI8-R, cp1251 and UTF-8, sent with every label: the declared charset
is tried, then the channel's reader.fallback_encodings, and only a plausible decoding is kept
(the KOI8-R vs cp1251 letter-frequency and case test among them); when none is, the message is
quarantined as undecodable_text, never staged as mojibake.
"""

import base64

import pytest

from transforms.channels.registry import Channel, ReaderOptions, get_channel
from transforms.readers import UnreadableFile, read_file
from transforms.readers.eml import read as read_eml
from transforms.readers.encoding import decode_declared, implausible
from transforms.readers.mbox import read as read_mbox

COMPLAINT = (
    "Здравствуйте! Заказ 4512 привезли с опозданием на три дня, коробка была мятая, "
    "а курьер даже не извинился. Прошу вернуть деньги за доставку."
)
SHORT = ["Спасибо!", "Всё хорошо", "Курьер хамил", "Товар пришёл мятый", "Верните деньги"]
ENCODINGS = ("koi8-r", "cp1251", "utf-8")
LABELS = ("utf-8", "koi8-r", "windows-1251", None)
FALLBACKS = ReaderOptions().fallback_encodings


@pytest.mark.parametrize("label", LABELS, ids=lambda label: f"labelled-{label}")
@pytest.mark.parametrize("encoding", ENCODINGS)
def test_russian_text_reads_right_whatever_the_label_says(encoding: str, label: str | None) -> None:
    for text in [COMPLAINT, *SHORT]:
        assert decode_declared(text.encode(encoding), label, FALLBACKS) == text, (text, encoding, label)


@pytest.mark.parametrize(
    ("encoding", "read_as"),
    [("koi8-r", "cp1251"), ("cp1251", "koi8-r"), ("utf-8", "cp1251"), ("utf-8", "koi8-r"), ("koi8-r", "latin-1")],
)
def test_mojibake_is_not_plausible_text_or_loses_to_its_rival(encoding: str, read_as: str) -> None:
    """Read with the wrong code page the text is either implausible alone or reads less Russian."""
    data = COMPLAINT.encode(encoding)
    with pytest.raises(UnreadableFile) as caught:
        decode_declared(data, read_as, ())  # no fallbacks: the label is all there is
    assert caught.value.reason == "undecodable_text"
    assert read_as in caught.value.detail and "reader.fallback_encodings" in caught.value.detail


def test_what_makes_a_decoding_implausible() -> None:
    assert implausible(COMPLAINT) is None
    assert implausible("Hello, café crème") is None
    assert "U+FFFD" in implausible("Привет \ufffd")
    assert "control" in implausible("Привет \x85 мир")
    assert "box-drawing" in implausible(COMPLAINT.encode("utf-8").decode("koi8-r"))
    assert "no Russian letters" in implausible(COMPLAINT.encode("utf-8").decode("cp1251"))
    assert "accented" in implausible(COMPLAINT.encode("koi8-r").decode("latin-1"))


def eml(body: str, encoding: str, label: str, message_id: str = "<m1@example.ru>") -> bytes:
    encoded = base64.encodebytes(body.encode(encoding)).decode("ascii")
    return (
        f"From: =?utf-8?b?0JjQstCw0L0=?= <ivan@example.ru>\r\nSubject: =?utf-8?b?0JbQsNC70L7QsdCw?=\r\n"
        f"Date: Mon, 05 Oct 2026 14:03:27 +0300\r\nMessage-ID: {message_id}\r\nMIME-Version: 1.0\r\n"
        f'Content-Type: text/plain; charset="{label}"\r\nContent-Transfer-Encoding: base64\r\n\r\n{encoded}'
    ).encode("ascii")


def mail_channel(format_: str = "eml", **reader: object) -> Channel:
    return Channel.model_validate(
        {
            "id": "mail",
            "display_name": "Mail",
            "format": format_,
            "reader": reader,
            "fields": {"source_item_id": "message_id", "received_at": "date", "body_text": ["subject", "body"]},
        }
    )


def test_an_eml_labelled_utf8_with_a_koi8r_body_is_read_as_koi8r() -> None:
    """The issue's case: it was staged as cp1251 mojibake and classified from its subject alone."""
    result = read_file(eml(COMPLAINT, "koi8-r", "utf-8"), get_channel("email_inbox"))
    (record,) = result.records
    assert record["body"] == COMPLAINT and record["subject"] == "Жалоба"


@pytest.mark.parametrize(("encoding", "label"), [("koi8-r", "windows-1251"), ("cp1251", "koi8-r"), ("utf-8", "koi8-r")])
def test_an_eml_whose_label_names_another_code_page_is_read_right(encoding: str, label: str) -> None:
    (record,) = read_eml(eml(COMPLAINT, encoding, label), ReaderOptions()).records
    assert record["body"] == COMPLAINT


def test_without_a_fitting_fallback_the_eml_is_quarantined_as_undecodable_text() -> None:
    channel = mail_channel(fallback_encodings=["utf-8"])
    with pytest.raises(UnreadableFile) as caught:
        read_file(eml(COMPLAINT, "koi8-r", "utf-8"), channel)
    assert caught.value.reason == "undecodable_text"
    assert caught.value.detail.startswith("the body (text/plain): the text is labelled utf-8")
    assert read_file(eml(COMPLAINT, "koi8-r", "utf-8"), mail_channel())  # the default fallbacks know KOI8-R


def test_in_a_mailbox_only_the_undecodable_message_is_quarantined() -> None:
    messages = [
        eml("Всё пришло вовремя, спасибо!", "utf-8", "utf-8", "<ok1@example.ru>"),
        eml(COMPLAINT, "koi8-r", "utf-8", "<lying@example.ru>"),
        eml("Курьер был вежлив", "cp1251", "windows-1251", "<ok2@example.ru>"),
    ]
    box = b"".join(
        b"From sender@example.ru Mon Oct  5 14:03:27 2026\n" + m.replace(b"\r\n", b"\n") + b"\n" for m in messages
    )
    strict = read_mbox(box, ReaderOptions(fallback_encodings=("utf-8", "cp1251")))
    assert [r["message_id"] for r in strict.records] == ["ok1@example.ru", "ok2@example.ru"]
    assert [(e.record_index, e.reason) for e in strict.errors] == [(1, "undecodable_text")]
    assert "it reads as koi8-r" in strict.errors[0].detail  # cp1251 was tried and lost the letter test
    lenient = read_mbox(box, ReaderOptions())
    assert [r["body"] for r in lenient.records][1] == COMPLAINT and lenient.errors == []


def test_reader_encoding_on_an_email_channel_is_refused_not_ignored() -> None:
    with pytest.raises(ValueError, match=r"reader\.encoding is not used by eml.*reader\.fallback_encodings"):
        mail_channel(encoding="koi8-r")
    with pytest.raises(ValueError, match="unknown encoding 'klingon'"):
        mail_channel(fallback_encodings=["utf-8", "klingon"])
    with pytest.raises(ValueError, match="fallback_encodings is for eml and mbox channels only"):
        Channel.model_validate(
            {
                "id": "c",
                "display_name": "C",
                "format": "csv",
                "reader": {"fallback_encodings": ["koi8-r"]},
                "fields": {"source_item_id": "id", "received_at": "at"},
            }
        )
