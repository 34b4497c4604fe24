"""Unix mailboxes (transforms/readers/mbox.py): one record per message, parsed like an .eml."""

import hashlib
import mailbox
from email.charset import BASE64, QP, Charset
from email.header import Header
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from email.utils import formataddr
from pathlib import Path

import pytest

from transforms.channels.registry import ReaderOptions, load_channels
from transforms.readers import READERS, UnreadableFile, read_file
from transforms.readers.eml import parse_message
from transforms.readers.mbox import read, split_messages

OPTIONS = ReaderOptions(file_glob="*.mbox")


def _russian(message_id: str, charset: str, subject: str, body: str, encoding: object = None) -> bytes:
    """A message the way a Russian mail client writes it: encoded words and body in ``charset``."""
    cs = Charset(charset)
    cs.body_encoding = encoding  # type: ignore[assignment]
    message = MIMEText(body, "plain", cs)  # type: ignore[arg-type]
    message["From"] = formataddr(("Иван Петров", "ivan.petrov@mail.ru"), charset=charset)
    message["Subject"] = Header(subject, charset)
    message["Date"] = "Mon, 05 Oct 2026 14:03:27 +0300"
    message["Message-ID"] = message_id
    return message.as_bytes()


def _mbox(*messages: bytes, newline: bytes = b"\n") -> bytes:
    parts = []
    for number, message in enumerate(messages):
        envelope = f"From sender{number}@example.ru Mon Oct  5 14:03:27 2026".encode()
        body = newline.join(message.replace(b"\r\n", b"\n").split(b"\n"))
        parts.append(envelope + newline + body.rstrip(newline) + newline + newline)
    return b"".join(parts)


UTF8 = _russian("<a1@mail.ru>", "utf-8", "Жалоба на доставку", "Курьер опоздал на 3 часа.", BASE64)
CP1251 = _russian("<b2@yandex.ru>", "windows-1251", "Вопрос по заказу", "Где мой заказ 4512?", QP)
KOI8R = _russian("<c3@rambler.ru>", "koi8-r", "Спасибо", "Всё пришло вовремя, спасибо!")


def test_every_message_is_a_record_with_its_own_charset() -> None:
    result = read(_mbox(UTF8, CP1251, KOI8R), OPTIONS)
    assert result.errors == []
    assert [r["message_id"] for r in result.records] == ["a1@mail.ru", "b2@yandex.ru", "c3@rambler.ru"]
    assert [r["subject"] for r in result.records] == ["Жалоба на доставку", "Вопрос по заказу", "Спасибо"]
    assert [r["body"].strip() for r in result.records] == [
        "Курьер опоздал на 3 часа.",
        "Где мой заказ 4512?",
        "Всё пришло вовремя, спасибо!",
    ]
    assert {r["from_name"] for r in result.records} == {"Иван Петров"}
    assert result.indexed_records()[2][0] == 2


def test_records_have_the_shape_of_an_eml_record() -> None:
    (record,) = read(_mbox(CP1251), OPTIONS).records
    alone = parse_message(CP1251)
    assert record.keys() == alone.keys()
    assert {**record, "body": record["body"].strip()} == {**alone, "body": alone["body"].strip()}


def test_crlf_mailbox_reads_the_same() -> None:
    lf = read(_mbox(UTF8, KOI8R), OPTIONS).records
    crlf = read(_mbox(UTF8, KOI8R, newline=b"\r\n"), OPTIONS).records
    assert [r["message_id"] for r in crlf] == [r["message_id"] for r in lf]
    assert [r["body"].strip() for r in crlf] == [r["body"].strip() for r in lf]


def test_quoted_from_lines_are_unquoted_and_a_from_inside_a_paragraph_stays_text() -> None:
    body = (
        b"From: ivan@mail.ru\nSubject: test\nMessage-ID: <q@x>\n\n"
        b"First line\n>From the shop I got nothing.\n>>From here on, twice quoted.\n"
        b"From my side: still text, no blank line before it.\n"
    )
    data = b"From ivan@mail.ru Mon Oct  5 14:03:27 2026\n" + body + b"\n"
    (record,) = read(data, OPTIONS).records
    assert record["body"] == (
        "First line\nFrom the shop I got nothing.\n>From here on, twice quoted.\n"
        "From my side: still text, no blank line before it.\n"
    )


def test_a_message_without_message_id_gets_a_hash_of_its_own_bytes() -> None:
    bare = b"From: a@b.ru\nSubject: no id\nDate: Mon, 05 Oct 2026 14:03:27 +0300\n\nText\n"
    alone = read(_mbox(bare), OPTIONS).records[0]["message_id"]
    grown = read(_mbox(UTF8, bare, KOI8R), OPTIONS).records[1]["message_id"]
    assert alone == grown == f"sha256:{hashlib.sha256(split_messages(_mbox(bare))[0]).hexdigest()[:32]}"


def test_a_message_that_is_not_an_email_is_a_record_error_and_the_others_load() -> None:
    junk = b"\x00\x01 binary junk without headers"
    result = read(_mbox(UTF8, junk, KOI8R), OPTIONS)
    assert [index for index, _ in result.indexed_records()] == [0, 2]
    (error,) = result.errors
    assert (error.record_index, error.reason) == (1, "not_an_email")
    assert "message 2" in error.detail


def test_attachments_are_counted_over_the_mailbox() -> None:
    message = MIMEMultipart("mixed", boundary="b1")
    message["From"] = "a@b.ru"
    message["Message-ID"] = "<att@b.ru>"
    message.attach(MIMEText("Фото брака во вложении", "plain", "utf-8"))
    message.attach(MIMEText("x", "plain", "utf-8"))
    message.get_payload()[1].add_header("Content-Disposition", "attachment", filename="photo.txt")
    result = read(_mbox(UTF8, message.as_bytes()), OPTIONS)
    assert [r["attachments_count"] for r in result.records] == [0, 1]
    assert result.attachments_count == 1


@pytest.mark.parametrize(
    "data", [b"", b"\n\n", b"Subject: an .eml, not a mailbox\n\nText\n"], ids=["empty", "blank", "eml"]
)
def test_not_an_mbox(data: bytes) -> None:
    with pytest.raises(UnreadableFile) as raised:
        read(data, OPTIONS)
    assert raised.value.reason == "not_an_mbox"


def test_a_mailbox_written_by_the_stdlib_reads_back(tmp_path: Path) -> None:
    path = tmp_path / "inbox.mbox"
    box = mailbox.mbox(str(path))
    quoted = b"From: a@b.ru\nMessage-ID: <m3@b.ru>\nSubject: from line\n\nFrom the start.\n"
    for message in (UTF8, CP1251, quoted):
        box.add(mailbox.mboxMessage(message))
    box.flush()
    box.close()
    result = read(path.read_bytes(), OPTIONS)
    assert [r["message_id"] for r in result.records] == ["a1@mail.ru", "b2@yandex.ru", "m3@b.ru"]
    assert result.records[2]["body"] == "From the start.\n"


def test_mbox_is_a_registered_format_with_a_channel() -> None:
    assert READERS["mbox"] is read
    (channel,) = [c for c in load_channels() if c.format == "mbox"]
    result = read_file(_mbox(UTF8, KOI8R), channel)
    assert len(result.records) == 2
