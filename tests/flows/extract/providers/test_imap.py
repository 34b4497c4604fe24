"""The mailbox channels (email_inbox, claims_mailbox) pulled as shipped from a real IMAP server.

The server is pymap (tests/flows/extract/imap_server.py) on loopback, started once for the module;
each test works in its own folder, so the folders' UIDs and UIDVALIDITY are the test's own.
"""

import email.policy
import json
import logging
from collections.abc import Iterator
from email.message import EmailMessage
from pathlib import Path

import duckdb
import pytest

from flows.extract import PullError, pull_channel
from flows.extract.imap_pull import mailbox_from_url, mboxrd
from tests.flows.extract.imap_server import ImapServer, pymap_server, self_signed_certificate
from tests.flows.extract.providers.conftest import cursor_chain, pull_as_shipped, shipped
from transforms.channels import Channel
from transforms.readers.mbox import split_messages

PASSWORD = "Kp4-imap-Zx81qLw"  # planted: must appear nowhere the pull writes


@pytest.fixture(scope="module")
def imap() -> Iterator[ImapServer]:
    with pymap_server("support@otklik.example", PASSWORD) as server:
        yield server


def letter(n: int, subject: str, body: str, charset: str = "utf-8") -> bytes:
    """A customer's e-mail as a mail client writes it: 8-bit body in ``charset``, CRLF lines."""
    message = EmailMessage(policy=email.policy.SMTP)
    message["From"] = f"Клиент {n} <client{n}@mail.ru>"
    message["To"] = "support@otklik.example"
    message["Subject"] = subject
    message["Date"] = f"Mon, 05 Oct 2026 14:{n % 60:02d}:27 +0300"
    message["Message-ID"] = f"<{n}.letter@mail.ru>"
    message.set_content(body, charset=charset, cte="8bit")
    return message.as_bytes()


KOI8 = letter(2, "Жалоба на доставку", "Заказ 48213 привезли с опозданием на три дня, коробка мятая.\n", "koi8-r")
CP1251 = letter(3, "Спасибо курьеру", "Курьер Алексей вежливый, всё привёз вовремя. Спасибо!\n", "windows-1251")
UTF8 = letter(1, "Вопрос по возврату", "Как вернуть товар, если чек потерян?\n")


def pull(wh: duckdb.DuckDBPyConnection, channel_id: str, archive: Path, url: str, secret: str = PASSWORD):
    return pull_as_shipped(wh, channel_id, archive, url, secret=secret)


def landed(wh: duckdb.DuckDBPyConnection, channel_id: str) -> list[dict]:
    """The raw records of ``channel_id`` in landing order (batch_seq), bodies with LF line ends."""
    rows = wh.execute(
        "select p.payload from raw.channel_payloads p join raw.batches b on b.batch_id = p._batch_id"
        " where p.channel_id = ? order by b.batch_seq, p._record_index",
        [channel_id],
    ).fetchall()
    records = [json.loads(payload) for (payload,) in rows]
    return [{**r, "body": r["body"].replace("\r\n", "\n") if r.get("body") else r.get("body")} for r in records]


def payload_ids(wh: duckdb.DuckDBPyConnection, channel_id: str) -> list[str]:
    return [p["message_id"] for p in landed(wh, channel_id)]


def test_first_pull_lands_every_message_with_the_cursor_chain(wh, archive, imap) -> None:
    imap.append("first", UTF8, KOI8, CP1251)

    summary = pull(wh, "email_inbox", archive, imap.url("first"))

    payloads = landed(wh, "email_inbox")
    assert [p["message_id"] for p in payloads] == ["1.letter@mail.ru", "2.letter@mail.ru", "3.letter@mail.ru"]
    koi8, cp1251 = payloads[1], payloads[2]
    assert koi8["subject"] == "Жалоба на доставку"
    assert koi8["body"].startswith("Заказ 48213 привезли с опозданием")
    assert cp1251["body"].startswith("Курьер Алексей вежливый, всё привёз вовремя")
    assert payloads[0]["from_address"] == "client1@mail.ru"
    validity = summary.last_cursor.split(":")[0]
    assert cursor_chain(wh, "email_inbox") == [
        (None, f"{validity}:101"),
        (f"{validity}:101", f"{validity}:102"),
        (f"{validity}:102", f"{validity}:103"),
    ]
    assert summary.pages_landed == 3 and summary.records == 3
    files = wh.execute("select source_file, source_uri from raw.batches order by batch_seq").fetchall()
    assert files[0] == (
        f"email_inbox/pull-uid-{validity}-101.eml",
        f"imap://support@otklik.example@127.0.0.1:{imap.port}/first;UIDVALIDITY={validity}/;UID=101",
    )
    # EXAMINE + BODY.PEEK[]: nothing was marked read
    assert all(b"\\Seen" not in line for line in imap.flags("first"))


def test_the_next_pull_lands_only_the_new_messages(wh, archive, imap) -> None:
    imap.append("incremental", UTF8, KOI8)
    first = pull(wh, "email_inbox", archive, imap.url("incremental"))
    imap.append("incremental", CP1251, letter(4, "Ещё вопрос", "Когда будет скидка?\n"))

    second = pull(wh, "email_inbox", archive, imap.url("incremental"))
    third = pull(wh, "email_inbox", archive, imap.url("incremental"))

    validity = first.last_cursor.split(":")[0]
    assert (second.cursor_start, second.last_cursor) == (f"{validity}:102", f"{validity}:104")
    assert second.pages_fetched == 2 and second.pages_landed == 2
    # "UID 105:*" matches the last message (UID 104) too: it is not fetched again
    assert (third.pages_fetched, third.pages_landed, third.last_cursor) == (0, 0, f"{validity}:104")
    assert payload_ids(wh, "email_inbox") == [f"{n}.letter@mail.ru" for n in (1, 2, 3, 4)]
    assert [after for _, after in cursor_chain(wh, "email_inbox")] == [f"{validity}:{u}" for u in (101, 102, 103, 104)]


def test_claims_mailbox_lands_pages_of_mboxrd(wh, archive, imap) -> None:
    quoting = letter(60, "Претензия", "Пересылаю письмо магазина:\n\nFrom the shop: ответа нет.\n>From me: жду.\n")
    messages = [letter(n, f"Претензия {n}", f"Прошу вернуть деньги за заказ {n}.\n", "koi8-r") for n in range(5, 26)]
    imap.append("claims", *messages, quoting)

    summary = pull(wh, "claims_mailbox", archive, imap.url("claims"))

    validity = summary.last_cursor.split(":")[0]
    assert cursor_chain(wh, "claims_mailbox") == [(None, f"{validity}:120"), (f"{validity}:120", f"{validity}:122")]
    payloads = landed(wh, "claims_mailbox")
    assert len(payloads) == 22 and payloads[0]["body"] == "Прошу вернуть деньги за заказ 5.\n"
    assert payloads[-1]["body"] == "Пересылаю письмо магазина:\n\nFrom the shop: ответа нет.\n>From me: жду.\n"
    files = [Path(f) for (f,) in wh.execute("select archive_path from raw.batches order by batch_seq").fetchall()]
    assert [len(split_messages(f.read_bytes())) for f in files] == [20, 2]
    assert b"\n>From the shop" in files[1].read_bytes() and b"\n>>From me" in files[1].read_bytes()


def test_mboxrd_pages_are_the_same_bytes_for_the_same_messages() -> None:
    assert mboxrd([UTF8, KOI8]) == mboxrd([UTF8, KOI8])
    assert split_messages(mboxrd([UTF8, KOI8])) == [UTF8, KOI8]
    assert mboxrd([UTF8]).startswith(b"From client1@mail.ru Mon Oct  5 11:01:27 2026\n")


@pytest.mark.parametrize("channel_id", ["email_inbox", "claims_mailbox"])
def test_a_new_uidvalidity_reads_the_folder_again_and_duplicates_nothing(wh, archive, imap, caplog, channel_id) -> None:
    folder = f"renumbered-{channel_id}"
    imap.append(folder, UTF8, KOI8, CP1251)
    first = pull(wh, channel_id, archive, imap.url(folder))
    imap.recreate(folder)  # the server reassigns UIDs: the same messages, a new UIDVALIDITY
    imap.append(folder, UTF8, KOI8, CP1251)

    with caplog.at_level(logging.WARNING):
        again = pull(wh, channel_id, archive, imap.url(folder))
    imap.append(folder, letter(4, "Новое", "Новое письмо после переиндексации.\n"))
    after = pull(wh, channel_id, archive, imap.url(folder))

    old, new = first.last_cursor.split(":")[0], again.last_cursor.split(":")[0]
    assert old != new and again.last_cursor == f"{new}:103"
    assert "UIDVALIDITY" in caplog.text and "nothing is duplicated" in caplog.text
    assert again.pages_landed == 0 and again.records == 0  # every page already landed, by content hash
    assert after.last_cursor == f"{new}:104" and after.records == 1
    assert payload_ids(wh, channel_id) == [f"{n}.letter@mail.ru" for n in (1, 2, 3, 4)]


def test_a_wrong_password_names_the_secret_and_keeps_the_cursor(wh, archive, imap) -> None:
    imap.append("refused", UTF8)
    first = pull(wh, "email_inbox", archive, imap.url("refused"))
    imap.append("refused", KOI8)

    with pytest.raises(PullError) as refused:
        pull(wh, "email_inbox", archive, imap.url("refused"), secret="Wr0ng-Zq7x")

    assert "OTKLIK_IMAP_PASSWORD" in str(refused.value) and "refused the login" in str(refused.value)
    assert "Wr0ng-Zq7x" not in str(refused.value)
    assert wh.execute("select cursor from raw.channel_cursors").fetchone()[0] == first.last_cursor
    assert payload_ids(wh, "email_inbox") == ["1.letter@mail.ru"]


GARBAGE = b"\x00\x17\x9c\xffPK\x03\x04 not a message at all \xd0\xd1\r\n" * 3


def test_a_message_that_is_not_mime_is_quarantined_and_the_pull_goes_on(wh, archive, imap, caplog) -> None:
    imap.append("garbage", UTF8, GARBAGE, KOI8, GARBAGE + b"again")

    with caplog.at_level(logging.WARNING):
        summary = pull(wh, "email_inbox", archive, imap.url("garbage"))
    again = pull(wh, "email_inbox", archive, imap.url("garbage"))

    assert payload_ids(wh, "email_inbox") == ["1.letter@mail.ru", "2.letter@mail.ru"]
    quarantined = wh.execute("select source_file, reason from quarantine.files order by source_file").fetchall()
    validity = summary.last_cursor.split(":")[0]
    assert quarantined == [
        (f"email_inbox/pull-uid-{validity}-102.eml", "not_an_email"),
        (f"email_inbox/pull-uid-{validity}-104.eml", "not_an_email"),
    ]
    assert "went to quarantine" in caplog.text
    # the last message was quarantined: its cursor is committed by the next pull, which skips it
    assert (again.pages_landed, again.pages_skipped, again.last_cursor) == (0, 1, f"{validity}:104")
    assert wh.execute("select cursor from raw.channel_cursors").fetchone()[0] == f"{validity}:104"


def test_a_message_that_is_not_mime_in_an_mbox_page_is_a_quarantined_record(wh, archive, imap) -> None:
    imap.append("claims-garbage", UTF8, GARBAGE, CP1251)

    summary = pull(wh, "claims_mailbox", archive, imap.url("claims-garbage"))

    assert payload_ids(wh, "claims_mailbox") == ["1.letter@mail.ru", "3.letter@mail.ru"]
    assert wh.execute("select record_index, reason from quarantine.records").fetchall() == [(1, "not_an_email")]
    assert summary.rejected == 1 and summary.last_cursor.endswith(":103")


def test_the_password_never_leaves_the_pull(wh, archive, imap, caplog) -> None:
    echo = letter(7, "Мой пароль", f"Вот мой пароль от почты: {PASSWORD}\n")
    imap.append("leak", UTF8, echo)
    caplog.set_level(logging.DEBUG)

    pull(wh, "email_inbox", archive, imap.url("leak"))
    with pytest.raises(PullError) as missing:
        pull(wh, "email_inbox", archive, imap.url("no-such-folder"))
    with pytest.raises(PullError) as in_url:
        pull(wh, "email_inbox", archive, f"imap://support:{PASSWORD}@127.0.0.1:{imap.port}/leak")

    assert "cannot open folder" in str(missing.value)
    assert "carries a password" in str(in_url.value)
    texts = [caplog.text, str(missing.value), str(in_url.value)]
    for table in ("raw.batches", "raw.channel_payloads", "raw.channel_cursors", "quarantine.files"):
        texts.append(str(wh.execute(f"select * from {table}").fetchall()))
    texts += [p.read_bytes().decode("utf-8", "replace") for p in archive.rglob("*") if p.is_file()]
    assert all(PASSWORD not in text for text in texts)
    assert "Вот мой пароль от почты: ***" in landed(wh, "email_inbox")[1]["body"]


def test_the_mailbox_url() -> None:
    box = mailbox_from_url("imaps://support%40mail.example.ru@mail.example.ru/%D0%9F%D1%80%D0%B5%D1%82", "c")
    assert (box.tls, box.host, box.port, box.user, box.folder) == (
        True,
        "mail.example.ru",
        993,
        "support@mail.example.ru",
        "Прет",
    )
    assert mailbox_from_url("imap://u@h", "c").port == 143
    with pytest.raises(PullError, match="imaps:// or imap://"):
        mailbox_from_url("https://u@h/INBOX", "c")


def test_an_unreachable_server_is_retried_then_fails(wh, archive) -> None:
    from tests.flows.extract.imap_server import free_port

    waits: list[float] = []
    with pytest.raises(PullError, match="cannot connect after 6 attempt") as down:
        pull_as_shipped(
            wh, "email_inbox", archive, f"imap://u@127.0.0.1:{free_port()}/INBOX", secret=PASSWORD, sleep=waits.append
        )
    assert len(waits) == 5 and down.value.retryable
    assert cursor_chain(wh, "email_inbox") == []


def test_starttls_verifies_the_server_before_the_password_is_sent(wh, archive, tmp_path) -> None:
    """The shipped entries use imaps:// in production; ``options.starttls`` upgrades an imap:// URL."""
    certificate = self_signed_certificate(tmp_path)
    inbox = shipped("email_inbox")
    options = {**inbox.how_extracted.options, "starttls": True}

    def with_options(**extra: object) -> Channel:
        extraction = inbox.how_extracted.model_copy(update={"options": {**options, **extra}})
        return inbox.model_copy(update={"extraction": extraction})

    waits: list[float] = []
    with pymap_server("support@otklik.example", PASSWORD, certificate) as tls:
        tls.append("INBOX", UTF8)
        url = tls.url("INBOX")
        with pytest.raises(PullError, match="TLS failed"):  # an unknown CA: the password is not sent
            pull_channel(
                wh, with_options(), archive_dir=archive, run_id="t", secret=PASSWORD, base_url=url, sleep=waits.append
            )
        summary = pull_channel(
            wh,
            with_options(ca_file=str(certificate[0])),
            archive_dir=archive,
            run_id="t",
            secret=PASSWORD,
            base_url=url,
        )

    assert summary.records == 1 and payload_ids(wh, "email_inbox") == ["1.letter@mail.ru"]
