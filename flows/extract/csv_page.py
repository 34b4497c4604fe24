"""A pulled page written as the channel's own CSV export, so that its reader parses it like a dropped file.

Pullers of csv channels (a survey tool's responses, a telephony report) turn an API's answer into
the export layout the channel already declares: its ``reader.delimiter`` and ``reader.encoding``,
the header the channel's ``fields`` name, the line ends and byte-order mark of the export. The
stdlib ``csv`` module writes it (quoting cells that hold the delimiter, a quote or a new line).
"""

import csv
import io
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from transforms.channels import Channel

__all__ = ["csv_page", "export_timestamp"]


def csv_page(
    channel: Channel,
    header: Sequence[str],
    rows: Iterable[Sequence[object]],
    *,
    line_terminator: str = "\n",
    bom: bool = False,
) -> bytes:
    """``header`` and ``rows`` as bytes in ``channel``'s delimiter and encoding.

    A character the channel's encoding lacks (an emoji in a cp1251 export) is written as ``?``,
    as the export tools of such systems do; the rest of the row lands.
    """
    buffer = io.StringIO(newline="")
    writer = csv.writer(
        buffer, delimiter=channel.reader.delimiter or ",", lineterminator=line_terminator, quoting=csv.QUOTE_MINIMAL
    )
    writer.writerow(header)
    writer.writerows(rows)
    text = ("\ufeff" if bom else "") + buffer.getvalue()
    return text.encode(channel.reader.encoding or "utf-8", errors="replace")


def export_timestamp(moment: datetime, channel: Channel, fmt: str | None = None) -> str:
    """``moment`` as the channel's exports write it: in its timezone, in ``fmt`` or its timestamp_format.

    None (the channel reads ISO 8601) gives ISO 8601 with the offset, to the second; "epoch" and
    "epoch_ms" give Unix seconds and milliseconds.
    """
    fmt = fmt if fmt is not None else channel.timestamp_format
    moment = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    if fmt == "epoch":
        return str(int(moment.timestamp()))
    if fmt == "epoch_ms":
        return str(int(moment.timestamp() * 1000))
    local = moment.astimezone(ZoneInfo(channel.timezone))
    return local.isoformat(timespec="seconds") if fmt is None else local.strftime(fmt)
