"""email_inbox: one .eml per message, as a mailbox export keeps them (RFC 5322, CRLF); and
claims_mailbox: the same kind of messages many to a file, as a daily Unix mbox (mboxrd, LF).

A mix as a Russian mailbox sees it: UTF-8 and windows-1251 from webmail and Outlook, KOI8-R
from old clients; subjects and names in RFC 2047 encoded words of the body's charset; bodies in
base64, quoted-printable or 8bit; some multipart/alternative with an HTML part, a few with an
attachment; Date headers with the sender's own offset. The stdlib ``email`` package (compat32,
which keeps the encoded words of the charset given) builds them; MIME boundaries are fixed
strings, never the package's random ones.
"""

import html
import random
import re
import uuid
from email.charset import BASE64, QP, Charset
from email.header import Header
from email.message import Message
from email.mime.application import MIMEApplication
from email.mime.image import MIMEImage
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from email.policy import compat32
from email.utils import format_datetime, formataddr
from zoneinfo import ZoneInfo

from otklik.sample import texts
from otklik.sample.items import item_slots, make_items
from otklik.sample.model import BadRecord, ChannelResult, Context, Item
from otklik.sample.people import Customer
from transforms.channels import Channel

MAILBOX = ("Инструмент-Маркет", "care@instrument-market.ru")
CLAIMS_MAILBOX = ("Инструмент-Маркет: претензии", "pretenzii@instrument-market.ru")
POLICY = compat32.clone(linesep="\r\n")
MBOX_POLICY = compat32.clone(linesep="\n")  # a Unix mailbox file has LF line ends
CHARSETS = (("utf-8", 70), ("windows-1251", 22), ("koi8-r", 8))
# body transfer encodings per charset, with weights
ENCODINGS = {
    "utf-8": ((BASE64, 55), (QP, 30), (None, 15)),
    "windows-1251": ((BASE64, 50), (None, 30), (QP, 20)),
    "koi8-r": ((None, 70), (BASE64, 30)),
}
MAILERS = {
    "gmail": None,
    "yandex": None,
    "mailru": None,
    "outlook": "Microsoft Outlook 16.0",
    "thunderbird": "Mozilla Thunderbird",
    "apple": "Apple Mail (2.3776.700.51)",
}
SIGN_OFFS = ("С уважением,", "Спасибо.", "--", "С уважением", "Жду ответа.")


def write_email(ctx: Context, channel: Channel, n: int, bad: dict[str, int]) -> ChannelResult:
    rng = ctx.rng(channel.id)
    items = make_items(ctx, channel.id, channel.score_scale, n, rng)
    planted = make_items(ctx, channel.id, channel.score_scale, bad.get("missing_id", 0), ctx.rng(channel.id, "bad"))
    planted_ids = {id(item) for item in planted}
    result = ChannelResult(channel.id, items=items)
    folder = ctx.landing_dir / channel.id
    folder.mkdir(parents=True, exist_ok=True)
    used: set[str] = set()
    charsets, charset_weights = zip(*CHARSETS, strict=True)
    for number, item in enumerate(sorted(items + planted, key=lambda i: i.at), start=1):
        charset = (
            "utf-8" if item.topic == "corporate" and rng.random() < 0.5 else rng.choices(charsets, charset_weights)[0]
        )
        client = _client(item.customer.email)
        message_id = _message_id(client, item, rng, used)
        missing = id(item) in planted_ids
        item.source_item_id = "" if missing else message_id
        message = _message(ctx, item, charset, client, rng, number)
        if not missing:
            message["Message-ID"] = message_id
        _mime_headers_last(message)
        local = item.at.astimezone(ctx.month.tz)
        path = folder / f"{local:%Y%m%d_%H%M%S}_{number:05d}.eml"
        path.write_bytes(message.as_bytes(policy=POLICY))
        result.files.append(path)
        result.records += 1
        if missing:
            result.bad.append(
                BadRecord(
                    channel.id,
                    "missing_id",
                    ctx.relative(path),
                    "",
                    "no Message-ID header (transforms.readers.eml gives such a file a content-hash id)",
                )
            )
    return result


def write_mbox(ctx: Context, channel: Channel, n: int, bad: dict[str, int]) -> ChannelResult:
    """One mbox per day: an envelope line per message, ">From " quoting (mboxrd), LF line ends."""
    rng = ctx.rng(channel.id)
    items = make_items(ctx, channel.id, channel.score_scale, n, rng)
    result = ChannelResult(channel.id, items=items)
    used: set[str] = set()
    charsets, charset_weights = zip(*CHARSETS, strict=True)
    days: dict[str, list[bytes]] = {}
    for number, item in enumerate(items, start=1):
        charset = rng.choices(charsets, charset_weights)[0]
        client = _client(item.customer.email)
        message_id = _message_id(client, item, rng, used)
        item.source_item_id = message_id.strip("<>")  # as transforms.readers.eml reads it
        message = _message(ctx, item, charset, client, rng, number, mailbox=CLAIMS_MAILBOX)
        message["Message-ID"] = message_id
        _mime_headers_last(message)
        local = item.at.astimezone(ZoneInfo(item.customer.region_tz))
        envelope = f"From {item.customer.email} {local:%a %b} {local.day:2d} {local:%H:%M:%S %Y}\n".encode()
        body = re.sub(rb"(?m)^(>*From )", rb">\1", message.as_bytes(policy=MBOX_POLICY))
        days.setdefault(item.at.date().isoformat(), []).append(envelope + body.rstrip(b"\n") + b"\n\n")
    for day, messages in sorted(days.items()):
        path = ctx.landing_dir / channel.id / f"claims_{day}.mbox"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"".join(messages))
        result.files.append(path)
        result.records += len(messages)
    return result


def _client(address: str) -> str:
    domain = address.rsplit("@", 1)[1]
    if domain == "gmail.com":
        return "gmail"
    if domain in ("yandex.ru", "ya.ru"):
        return "yandex"
    if domain in ("mail.ru", "bk.ru", "list.ru", "inbox.ru"):
        return "mailru"
    if domain == "icloud.com":
        return "apple"
    if domain == "rambler.ru":
        return "thunderbird"
    return "outlook"


_ALNUM = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"


def _message_id(client: str, item: Item, rng: random.Random, used: set[str]) -> str:
    """A Message-ID in the style of the sender's mail service, unique in the mailbox."""
    epoch = int(item.at.timestamp())
    domain = item.customer.email.rsplit("@", 1)[1]
    while True:
        if client == "gmail":
            local = "".join(rng.choices(_ALNUM, k=30)) + rng.choice(("", "_", "-")) + "".join(rng.choices(_ALNUM, k=8))
            value = f"<CA{local}@mail.gmail.com>"
        elif client == "yandex":
            value = f"<{rng.randint(100_000, 999_999)}{epoch}@mail.yandex.ru>"
        elif client == "mailru":
            value = f"<{epoch}.{rng.getrandbits(32):08x}@f{rng.randint(100, 999)}.i.mail.ru>"
        elif client == "apple":
            value = f"<{str(uuid.UUID(int=rng.getrandbits(128), version=4)).upper()}@icloud.com>"
        elif client == "thunderbird":
            value = f"<{uuid.UUID(int=rng.getrandbits(128), version=4)}@{domain}>"
        else:
            value = f"<{rng.getrandbits(128):032X}@EXCH{rng.randint(1, 9):02d}.{domain}>"
        if value not in used:
            used.add(value)
            return value


def _message(
    ctx: Context,
    item: Item,
    charset: str,
    client: str,
    rng: random.Random,
    number: int,
    mailbox: tuple[str, str] = MAILBOX,
) -> Message:
    customer = item.customer
    text = texts.fit_charset(item.text, charset)
    subject = texts.fit_charset(
        texts.email_subject(item.kind, item.topic, rng, item_slots(ctx, item, rng)) if rng.random() > 0.03 else "",
        charset,
    )
    reply = rng.random() < 0.1
    if reply:
        subject = f"Re: Ваш заказ {item.order_ref} передан в доставку"
    signature = texts.fit_charset(_signature(customer, rng), charset)
    item.text = text
    plain = f"{text}\n\n{signature}\n"
    if reply:
        plain += f"\n> Ваш заказ {item.order_ref} передан в службу доставки.\n> Служба заботы Инструмент-Маркет\n"
    plain = texts.fit_charset(plain, charset)
    shape = rng.random()
    if shape < 0.30:
        message: Message = MIMEMultipart("alternative", boundary=f"----=_Part_{number}_{rng.getrandbits(40):010x}")
        message.attach(_text_part(plain, "plain", charset, rng))
        message.attach(_text_part(_html(text, signature, charset), "html", charset, rng))
    elif shape < 0.33:
        message = _text_part(_html(text, signature, charset), "html", charset, rng)
    else:
        message = _text_part(plain, "plain", charset, rng)
    if rng.random() < 0.04:
        body = message
        message = MIMEMultipart("mixed", boundary=f"----=_NextPart_{number:06d}_{rng.getrandbits(32):08X}")
        message.attach(body)
        message.attach(_attachment(item, rng))
    message["From"] = formataddr((texts.fit_charset(customer.full_name, charset), customer.email), charset=charset)
    message["To"] = formataddr(mailbox, charset=charset)
    message["Subject"] = Header(subject, charset) if subject else ""
    message["Date"] = format_datetime(item.at.astimezone(ZoneInfo(customer.region_tz)))
    if reply:
        notification = f"<order-{item.order_ref}.notify@instrument-market.ru>"
        message["In-Reply-To"] = notification
        message["References"] = notification
    mailer = MAILERS[client]
    if mailer:
        message["X-Mailer" if client == "outlook" else "User-Agent"] = mailer
    return message


def _mime_headers_last(message: Message) -> None:
    """Put the MIME headers after the envelope headers, the order mail clients write them in."""
    for name in ("MIME-Version", "Content-Type", "Content-Transfer-Encoding"):
        value = message[name]
        if value is not None:
            del message[name]
            message[name] = value


def _text_part(body: str, subtype: str, charset: str, rng: random.Random) -> MIMEText:
    encodings, weights = zip(*ENCODINGS[charset], strict=True)
    cs = Charset(charset)
    cs.body_encoding = rng.choices(encodings, weights)[0]
    return MIMEText(body, subtype, cs)  # type: ignore[arg-type]  # a Charset is accepted


def _html(text: str, signature: str, charset: str) -> str:
    escaped = html.escape(text).replace("\n", "<br>")
    sig = html.escape(signature).replace("\n", "<br>")
    return (
        f'<html><head><meta http-equiv="Content-Type" content="text/html; charset={charset}"></head>'
        f'<body><div dir="ltr"><p>{escaped}</p><p>{sig}</p></div></body></html>\n'
    )


def _signature(customer: Customer, rng: random.Random) -> str:
    lines = [rng.choice(SIGN_OFFS), customer.full_name if rng.random() < 0.7 else customer.first_name]
    if customer.company:
        lines.append(customer.company)
    if rng.random() < 0.4:
        lines.append(f"тел. {texts.phone_as_typed(customer.phone_digits, rng)}")
    return "\n".join(lines)


def _attachment(item: Item, rng: random.Random) -> Message:
    local = item.at
    if rng.random() < 0.6:
        data = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00" + rng.randbytes(
            rng.randint(800, 3000)
        )
        part: Message = MIMEImage(data + b"\xff\xd9", "jpeg")
        filename = rng.choice((f"IMG_{local:%Y%m%d_%H%M%S}.jpg", "фото.jpg", "брак.jpg"))
    else:
        data = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n" + rng.randbytes(rng.randint(800, 3000)) + b"\n%%EOF\n"
        part = MIMEApplication(data, "pdf")
        filename = rng.choice(("чек.pdf", f"Претензия_{item.order_ref}.pdf", "scan0001.pdf"))
    part.add_header("Content-Disposition", "attachment", filename=("utf-8", "", filename))
    return part
