"""Unix mailboxes (.mbox): many RFC 5322 messages in one file, one record per message.

A message starts at a ``From `` envelope line ("From ivanov@mail.ru Mon Oct  5 14:03:27 2026")
that opens the file or follows an empty line; a ``From `` line inside a paragraph is body text (a
writer that forgot to quote it, mboxo). Body lines that start with ``>From `` (``>>From `` ...)
were quoted by the writer and lose one ``>`` (mboxrd; for mboxo the same rule is the best guess).
LF and CRLF files are both read; the empty line that separates two messages is not part of either.

Each message is parsed exactly like one .eml file (``transforms.readers.eml.parse_message``), so a
record has the same fields (``message_id``, ``date``, ``from_address``, ``from_name``, ``subject``,
``body``, ``attachments_count``) and the same charset handling (the declared charset, then
``reader.fallback_encodings``, only plausible text kept; 8-bit headers); a message whose body no
charset decodes plausibly is a RecordError (``undecodable_text``), the others still load. A
message without a Message-ID gets ``"sha256:<32 hex of the message's bytes>"``, which is stable
however the mailbox around it grows. A message that is not an e-mail is a RecordError,
the others still load. A file whose first non-blank line is not a ``From `` line is not an mbox.
"""

import re

from transforms.channels.registry import ReaderOptions
from transforms.readers.base import ReadResult, RecordError, UnreadableFile, excerpt
from transforms.readers.eml import parse_message

_ENVELOPE = b"From "
_QUOTED_FROM = re.compile(rb"^>(>*From )")


def read(data: bytes, options: ReaderOptions) -> ReadResult:
    result = ReadResult()
    for index, message in enumerate(split_messages(data)):
        try:
            record = parse_message(message, options.fallback_encodings)
        except UnreadableFile as exc:
            text = message.decode("utf-8", "replace")
            result.errors.append(RecordError(index, excerpt(text), exc.reason, f"message {index + 1}: {exc.detail}"))
            continue
        result.add(index, record)
        result.attachments_count += record["attachments_count"]
    return result


def split_messages(data: bytes) -> list[bytes]:
    """The messages of a mailbox, envelope lines dropped and ``>From`` lines unquoted."""
    lines = data.splitlines(keepends=True)
    first = next((i for i, line in enumerate(lines) if line.strip()), None)
    if first is None:
        raise UnreadableFile("not_an_mbox", "the file is empty")
    if not lines[first].startswith(_ENVELOPE):
        raise UnreadableFile(
            "not_an_mbox",
            f"the first line is not a 'From ' envelope line: {lines[first][:80].decode('utf-8', 'replace')!r}",
        )
    messages: list[list[bytes]] = []
    for i in range(first, len(lines)):
        line = lines[i]
        if line.startswith(_ENVELOPE) and (i == first or not lines[i - 1].strip()):
            if messages:
                _drop_separator(messages[-1])
            messages.append([])
            continue
        messages[-1].append(_QUOTED_FROM.sub(rb"\1", line))
    _drop_separator(messages[-1])
    return [b"".join(message) for message in messages]


def _drop_separator(message: list[bytes]) -> None:
    """The blank line a writer puts before the next envelope line belongs to no message."""
    if message and not message[-1].strip():
        message.pop()
