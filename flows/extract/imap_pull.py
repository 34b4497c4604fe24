"""Pull a mailbox over IMAP: the messages after the committed ``<UIDVALIDITY>:<last UID>`` cursor.

Follows IMAP4rev1, RFC 3501 (https://www.rfc-editor.org/rfc/rfc3501): the mailbox is opened with
``EXAMINE`` (read-only, §6.3.2), new messages are found with ``UID SEARCH UID <n+1>:*`` and read
with ``UID FETCH <uids> (UID BODY.PEEK[])`` (§6.4.8, §6.4.5: ``.PEEK`` does not set ``\\Seen``), so a
pull marks nothing read and changes nothing in the mailbox. The standard library's ``imaplib``
speaks the protocol.

- **Where**: ``extraction.base_url_env`` names a variable holding an IMAP URL (RFC 5092 shape):
  ``imaps://support@mail.example.ru:993/INBOX`` (TLS from the first byte, port 993 by default) or
  ``imap://user@host:143/Claims`` (plain; ``options.starttls: true`` upgrades it with STARTTLS,
  RFC 3501 §6.2.1, before the password is sent; the certificate is verified, against
  ``options.ca_file`` for a private CA; a server that announces LOGINDISABLED is not sent the
  password in the clear). User and folder are URL-decoded; a folder with
  non-ASCII letters is sent in modified UTF-7 (§5.1.3). The password is the channel's secret
  (``credentials_env``), never part of the URL: a URL that carries one is refused.
- **Cursor**: ``"<UIDVALIDITY>:<UID>"`` of the last landed message. A UID is only meaningful with
  the mailbox's UIDVALIDITY (§2.3.1.1): when the server reports another one, the UIDs were
  reassigned, and the pull starts again from UID 1 with a warning. Messages landed before are
  then skipped by their content hash (the same bytes make the same batch), so nothing doubles.
  For ``mbox`` that holds page by page: a page is the same bytes only when it holds the same
  messages. When the folder changed besides the renumbering (messages removed, or new ones that
  now share a page with old ones: a last page that was not full), the regrouped old messages land
  again in raw, and staging keeps one copy per Message-ID (the others are ``duplicate`` rejects).
- **The ``*`` quirk** (§6.4.4, §9 "seq-range"): ``UID n+1:*`` always matches the last message,
  even when its UID is ≤ n; UIDs not above the cursor are dropped.
- **Pages**: ``format: eml`` lands one message per page (``pull-uid-<validity>-<uid>.eml``);
  ``format: mbox`` lands up to ``batch_messages`` messages per page as one mboxrd file (the layout
  transforms/readers/mbox.py reads: a ``From `` envelope line per message, ``From `` body lines
  quoted with ``>``, an empty line between messages), with a deterministic envelope line so that
  the same messages make the same bytes. Each page commits the cursor of its last message.
- **Not MIME**: a message that is not an e-mail still lands; an .eml page goes to quarantine with
  the reader's reason (``not_an_email``), an mbox page keeps it as a quarantined record, and the
  pull goes on with the next message (a quarantined page does not stop an IMAP pull). The cursor
  passes it with the next landed message, or, when it was the last one, on the next pull, which
  finds it already quarantined.
- **Failures**: a refused login is a PullError naming the secret to renew (nothing landed, the
  cursor unchanged); connection errors and dropped connections are retried ``max_retries`` times
  with exponential backoff (``sleep``), then a PullError. The password never reaches a log line,
  a message or the warehouse (``flows.extract.pages.drive`` redacts everything leaving the pull).
"""

import base64
import contextlib
import email.utils
import imaplib
import logging
import re
import ssl
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from typing import Any
from urllib.parse import unquote, urlsplit

from pydantic import Field
from tenacity import Retrying, retry_if_exception, stop_after_attempt, wait_exponential

from flows.extract.http_fetch import PullError, RetryOptions, secret_name
from flows.extract.http_pull import Land, PullRun, PullSummary
from flows.extract.pages import Page, drive
from transforms.channels import Channel
from warehouse.ingest import BatchOutcome

__all__ = ["Mailbox", "Options", "mailbox_from_url", "mboxrd", "parse_cursor", "pull"]

_UID = re.compile(rb"\bUID (\d+)")
_QUOTED_FROM = re.compile(rb"^(>*From )", re.MULTILINE)


class Options(RetryOptions):
    """``extraction.options`` of an ``imap`` channel."""

    batch_messages: int = Field(default=50, ge=1, le=1000)  # per UID FETCH; an mbox page holds as many
    starttls: bool = False  # imap:// only: upgrade with STARTTLS before LOGIN
    ca_file: str | None = None  # a private CA's certificate (PEM) to verify the server with


@dataclass(frozen=True)
class Mailbox:
    """Where to read: from the URL in ``extraction.base_url_env`` (the password is not in it)."""

    tls: bool  # imaps://
    host: str
    port: int
    user: str
    folder: str

    @property
    def public_url(self) -> str:
        scheme = "imaps" if self.tls else "imap"
        return f"{scheme}://{self.user}@{self.host}:{self.port}/{self.folder}"


def mailbox_from_url(url: str, channel_id: str) -> Mailbox:
    """Parse ``imaps://user@host:993/INBOX``; PullError for another scheme, no user or a password."""
    parts = urlsplit(url)
    if parts.scheme not in ("imap", "imaps"):
        raise PullError(f"{channel_id}: the mailbox URL must start with imaps:// or imap://, not {parts.scheme!r}")
    if parts.password is not None:
        raise PullError(
            f"{channel_id}: the mailbox URL carries a password; remove it and put it in the channel's secret"
        )
    if not parts.username or not parts.hostname:
        raise PullError(f"{channel_id}: the mailbox URL needs a user and a host (imaps://user@host:993/INBOX)")
    tls = parts.scheme == "imaps"
    return Mailbox(
        tls=tls,
        host=parts.hostname,
        port=parts.port or (993 if tls else 143),
        user=unquote(parts.username),
        folder=unquote(parts.path.lstrip("/")) or "INBOX",
    )


def parse_cursor(cursor: str | None, channel_id: str) -> tuple[int, int] | None:
    """``"<UIDVALIDITY>:<UID>"`` → (validity, uid); None before the first pull."""
    if cursor is None:
        return None
    validity, sep, uid = cursor.partition(":")
    if not (sep and validity.isdigit() and uid.isdigit()):
        raise PullError(f"{channel_id}: the committed cursor {cursor!r} is not <UIDVALIDITY>:<UID>")
    return int(validity), int(uid)


def mboxrd(messages: list[bytes]) -> bytes:
    """Messages as one mboxrd file: envelope line, ``From `` lines quoted, an empty line after each."""
    out = bytearray()
    for message in messages:
        out += _envelope(message)
        body = _QUOTED_FROM.sub(rb">\1", message)
        out += body if body.endswith(b"\n") else body + b"\r\n"
        out += b"\n"
    return bytes(out)


def pull(channel: Channel, run: PullRun) -> PullSummary:
    """Land the messages after ``cursor`` from the mailbox at ``base_url``; PullError when stuck.

    ``run.client`` is unused (the contract's HTTP client); ``sleep`` is how connection retries wait.
    """
    base_url, cursor, land, secret, _client, sleep, log = run.parts()
    log = log or logging.getLogger(__name__)
    options = Options.model_validate(channel.how_extracted.options)
    mailbox = mailbox_from_url(base_url, channel.id)
    if not secret:
        raise PullError(f"{channel.id}: no password for {mailbox.public_url}: set {secret_name(channel)}")
    reader = _MailboxReader(channel, mailbox, options, secret, sleep, log)
    try:
        return drive(
            channel,
            cursor=cursor,
            land=_going_on_after_quarantine(land, channel.id, log),
            pages=reader.pages,
            secret=secret,
            log=log,
        )
    finally:
        reader.close()


def _going_on_after_quarantine(land: Land, channel_id: str, log: logging.Logger | logging.LoggerAdapter) -> Land:
    """``land`` for which a quarantined message is a landed page with one rejected record.

    ``drive`` stops at a quarantined page (an API answering garbage is broken); a mailbox holding
    one message that is not MIME is not, and the pull goes on with the next message.
    """

    def landing(
        data: bytes, *, source_uri: str, source_file: str, cursor_before: str | None, cursor_after: str | None
    ) -> BatchOutcome:
        outcome = land(
            data,
            source_uri=source_uri,
            source_file=source_file,
            cursor_before=cursor_before,
            cursor_after=cursor_after,
        )
        if outcome.status != "quarantined":
            return outcome
        log.warning(
            "%s: %s went to quarantine (%s: %s); the pull goes on with the next message",
            channel_id,
            source_file,
            outcome.reason,
            outcome.detail,
        )
        return replace(outcome, status="loaded", records=0, rejected=1)

    return landing


class _MailboxReader:
    """One IMAP session of a pull: connects on the first page, logs out in ``close``."""

    def __init__(
        self,
        channel: Channel,
        mailbox: Mailbox,
        options: Options,
        secret: str,
        sleep: Callable[[float], None],
        log: logging.Logger | logging.LoggerAdapter,
    ) -> None:
        self.channel, self.mailbox, self.options = channel, mailbox, options
        self._secret, self._sleep, self._log = secret, sleep, log
        self._imap: imaplib.IMAP4 | None = None

    def pages(self, cursor: str | None) -> Iterator[Page]:
        """The pages after ``cursor`` in UID order (``flows.extract.pages.Pages``)."""
        after = parse_cursor(cursor, self.channel.id)
        self._imap = self._connect()
        validity = self._examine()
        last_uid = self._resume_from(after, validity)
        uids = self._uids_after(last_uid)
        size = self.options.batch_messages
        for start in range(0, len(uids), size):
            chunk = uids[start : start + size]
            messages = self._fetch(chunk)
            if self.channel.format == "mbox":
                yield self._mbox_page(validity, messages)
            else:
                yield from (self._eml_page(validity, uid, data) for uid, data in messages)

    def close(self) -> None:
        if self._imap is None:
            return
        with contextlib.suppress(imaplib.IMAP4.error, OSError):
            self._imap.logout()
        self._imap = None

    # -- the session ------------------------------------------------------------------------------

    def _connect(self) -> imaplib.IMAP4:
        box, options = self.mailbox, self.options
        where = f"{self.channel.id}: {box.public_url}"

        def before_sleep(state: Any) -> None:
            error = state.outcome.exception() if state.outcome else None
            self._log.warning(
                "%s: %s: %s; retry %d of %d",
                where,
                type(error).__name__,
                error,
                state.attempt_number,
                options.max_retries,
            )

        retrying = Retrying(
            stop=stop_after_attempt(options.max_retries + 1),
            wait=wait_exponential(multiplier=1, max=60),
            retry=retry_if_exception(_transient),
            sleep=self._sleep,
            before_sleep=before_sleep,
            reraise=True,
        )
        try:
            return retrying(self._open_and_login)
        except imaplib.IMAP4.abort as exc:
            raise PullError(f"{where}: the server dropped the connection on every attempt ({exc})") from None
        except imaplib.IMAP4.error as exc:
            raise PullError(
                f"{where}: the server refused the login ({_text(exc)}); renew {secret_name(self.channel)}, "
                "the cursor has not moved"
            ) from None
        except ssl.SSLError as exc:
            raise PullError(f"{where}: TLS failed ({exc}); not retried") from None
        except OSError as exc:
            raise PullError(
                f"{where}: cannot connect after {options.max_retries + 1} attempt(s): {type(exc).__name__}: {exc}",
                retryable=True,
            ) from None

    def _open_and_login(self) -> imaplib.IMAP4:
        box, options = self.mailbox, self.options
        context = ssl.create_default_context(cafile=options.ca_file)
        if box.tls:
            imap: imaplib.IMAP4 = imaplib.IMAP4_SSL(
                box.host, box.port, ssl_context=context, timeout=options.timeout_seconds
            )
        else:
            imap = imaplib.IMAP4(box.host, box.port, timeout=options.timeout_seconds)
        try:
            if options.starttls and not box.tls:
                imap.starttls(ssl_context=context)
            if "LOGINDISABLED" in imap.capabilities:  # RFC 3501 §6.2.3: no LOGIN before TLS
                raise PullError(
                    f"{self.channel.id}: {box.public_url} accepts no password in the clear: use imaps:// "
                    "or extraction.options.starttls: true"
                )
            imap.login(box.user, self._secret)
        except BaseException:
            with contextlib.suppress(OSError):  # a socket TLS gave up on: keep the first error
                imap.shutdown()
            raise
        return imap

    def _examine(self) -> int:
        """EXAMINE the folder (read-only); its UIDVALIDITY."""
        imap = self._session()
        status, detail = imap.select(_quoted(_modified_utf7(self.mailbox.folder)), readonly=True)
        if status != "OK":
            raise PullError(
                f"{self.channel.id}: cannot open folder {self.mailbox.folder!r} of {self.mailbox.public_url}: "
                f"{_text(detail)}"
            )
        _, values = imap.response("UIDVALIDITY")
        if not values or values[0] is None:
            raise PullError(f"{self.channel.id}: {self.mailbox.public_url} reports no UIDVALIDITY")
        return int(values[0])

    def _resume_from(self, after: tuple[int, int] | None, validity: int) -> int:
        if after is None:
            return 0
        cursor_validity, last_uid = after
        if cursor_validity == validity:
            return last_uid
        self._log.warning(
            "%s: the UIDVALIDITY of %s changed from %d to %d (RFC 3501 §2.3.1.1: the server reassigned its "
            "UIDs); reading it again from UID 1: messages already landed are skipped by their content hash, "
            "nothing is duplicated",
            self.channel.id,
            self.mailbox.public_url,
            cursor_validity,
            validity,
        )
        return 0

    def _uids_after(self, last_uid: int) -> list[int]:
        status, data = self._session().uid("SEARCH", "UID", f"{last_uid + 1}:*")
        if status != "OK":
            raise PullError(f"{self.channel.id}: UID SEARCH failed on {self.mailbox.public_url}: {_text(data)}")
        found = {int(uid) for line in data if line for uid in line.split()}
        return sorted(uid for uid in found if uid > last_uid)  # "n+1:*" also matches the last UID ≤ n

    def _fetch(self, uids: list[int]) -> list[tuple[int, bytes]]:
        """(uid, message bytes) in UID order; a message expunged meanwhile is simply absent."""
        status, data = self._session().uid("FETCH", ",".join(map(str, uids)), "(UID BODY.PEEK[])")
        if status != "OK":
            raise PullError(f"{self.channel.id}: UID FETCH failed on {self.mailbox.public_url}: {_text(data)}")
        messages: dict[int, bytes] = {}
        pending: bytes | None = None
        for item in data:
            if isinstance(item, tuple):
                head, body = item
                match = _UID.search(head)
                if match:
                    messages[int(match.group(1))] = body
                else:  # some servers send UID after the literal: "* 1 (BODY[] {n}" ... " UID 7)"
                    pending = body
            elif isinstance(item, bytes) and pending is not None:
                match = _UID.search(item)
                if match:
                    messages[int(match.group(1))] = pending
                pending = None
        wanted = set(uids)
        return sorted((uid, body) for uid, body in messages.items() if uid in wanted)

    def _session(self) -> imaplib.IMAP4:
        if self._imap is None:
            raise PullError(f"{self.channel.id}: not connected")
        return self._imap

    # -- pages ------------------------------------------------------------------------------------

    def _message_uri(self, validity: int, uid: int) -> str:
        return f"{self.mailbox.public_url};UIDVALIDITY={validity}/;UID={uid}"  # RFC 5092 §6

    def _eml_page(self, validity: int, uid: int, data: bytes) -> Page:
        return Page(
            data=data,
            source_uri=self._message_uri(validity, uid),
            label=f"uid-{validity}-{uid}",
            records=1,
            cursor_after=f"{validity}:{uid}",
            extension="eml",
        )

    def _mbox_page(self, validity: int, messages: list[tuple[int, bytes]]) -> Page:
        if not messages:
            return Page(b"", self.mailbox.public_url, f"uid-{validity}-none", 0, None, "mbox")
        first, last = messages[0][0], messages[-1][0]
        return Page(
            data=mboxrd([data for _, data in messages]),
            source_uri=f"{self._message_uri(validity, first)}:{last}",
            label=f"uid-{validity}-{first}-{last}",
            records=len(messages),
            cursor_after=f"{validity}:{last}",
            extension="mbox",
        )


def _transient(error: BaseException) -> bool:
    """Worth another attempt: the network or a dropped connection, not a refusal or bad TLS."""
    if isinstance(error, imaplib.IMAP4.abort):
        return True
    return isinstance(error, OSError) and not isinstance(error, ssl.SSLError)


def _envelope(message: bytes) -> bytes:
    """``From <sender> <asctime of Date>``: from the message itself, so the same message, same line."""
    head = message.split(b"\r\n\r\n", 1)[0].split(b"\n\n", 1)[0].decode("ascii", "replace")
    headers = email.message_from_string(head + "\n\n")
    sender = email.utils.parseaddr(str(headers.get("From", "")))[1]
    if not sender or not sender.isascii() or any(ch.isspace() for ch in sender):
        sender = "MAILER-DAEMON"
    try:
        when = email.utils.parsedate_to_datetime(str(headers.get("Date", "")))
        stamp = time.asctime(when.utctimetuple())
    except (TypeError, ValueError, IndexError):
        stamp = "Thu Jan  1 00:00:00 1970"
    return f"From {sender} {stamp}\n".encode("ascii")


def _modified_utf7(name: str) -> str:
    """A folder name in IMAP's modified UTF-7 (RFC 3501 §5.1.3): ``Претензии`` → ``&BB8EQAQ1BEIENQQ9BDcEOAQ4-``."""
    out: list[str] = []
    wide: list[str] = []

    def flush() -> None:
        if wide:
            encoded = base64.b64encode("".join(wide).encode("utf-16-be")).rstrip(b"=").replace(b"/", b",")
            out.append("&" + encoded.decode("ascii") + "-")
            wide.clear()

    for ch in name:
        if 0x20 <= ord(ch) <= 0x7E:
            flush()
            out.append("&-" if ch == "&" else ch)
        else:
            wide.append(ch)
    flush()
    return "".join(out)


def _quoted(name: str) -> str:
    return '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _text(detail: Any) -> str:
    if isinstance(detail, BaseException):
        detail = detail.args[0] if detail.args else str(detail)
    if isinstance(detail, list):
        detail = b" ".join(d for d in detail if isinstance(d, bytes))
    if isinstance(detail, bytes):
        return detail.decode("utf-8", "replace")
    return str(detail)
