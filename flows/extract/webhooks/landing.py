"""Land one delivery atomically in the landing folder, named by the SHA-256 of its bytes.

``<landing>/<channel id>/webhook/<YYYY-MM-DD>/<sha256>.<ext>``: the date is the receiver's UTC day,
the extension the one the channel's ``reader.file_glob`` takes (``*.jsonl`` → ``jsonl``). The bytes
go to a dot-file in the same folder (the ingest walker skips names starting with ``.``), are
fsynced, and ``os.replace`` gives them their name, so ingest never sees half a file. A delivery the
sender repeats has the same bytes and so the same name: when that file is already there, nothing is
written. (A repeat on another day lands a second file with the same bytes; the warehouse keys a
batch by its content hash, so it loads once.)
"""

import contextlib
import hashlib
import os
import re
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from fnmatch import fnmatch
from pathlib import Path

from transforms.channels import Channel

WEBHOOK_FOLDER = "webhook"
_FORMAT_EXTENSIONS = {"jsonl": "jsonl", "csv": "csv", "json_pages": "json"}


@dataclass(frozen=True)
class Landed:
    path: Path
    created: bool  # False: the same bytes were already landed under this name

    def relative_to(self, landing_dir: Path) -> str:
        return self.path.relative_to(landing_dir).as_posix()


def extension_for(channel: Channel) -> str:
    """The file extension ``channel.reader.file_glob`` takes; ValueError when it takes none we can write."""
    glob = channel.reader.file_glob
    literal = re.fullmatch(r"\*\.([A-Za-z0-9]+(?:\.[A-Za-z0-9]+)*)", glob)
    extension = literal.group(1) if literal else _FORMAT_EXTENSIONS.get(channel.format, "")
    if not extension or not fnmatch(f"x.{extension}", glob):
        raise ValueError(f"{channel.id}: reader.file_glob {glob!r} takes no file name the receiver can write")
    return extension


def land_delivery(landing_dir: Path, channel: Channel, data: bytes, *, now: datetime | None = None) -> Landed:
    """Write ``data`` to the channel's webhook folder of the day, atomically and once."""
    day = (now or datetime.now(UTC)).astimezone(UTC).date().isoformat()
    folder = landing_dir / channel.id / WEBHOOK_FOLDER / day
    target = folder / f"{hashlib.sha256(data).hexdigest()}.{extension_for(channel)}"
    if target.exists():
        return Landed(target, created=False)
    folder.mkdir(parents=True, exist_ok=True)
    temporary = folder / f".{target.name}.{secrets.token_hex(6)}.part"
    try:
        _write_synced(temporary, data)
        os.replace(temporary, target)  # the same name twice at once: the same bytes either way
    finally:
        with contextlib.suppress(FileNotFoundError):
            temporary.unlink()
    _sync_folder(folder)
    return Landed(target, created=True)


def _write_synced(path: Path, data: bytes) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o644)
    try:
        view = memoryview(data)
        while view:
            written = os.write(fd, view)
            view = view[written:]
        os.fsync(fd)
    finally:
        os.close(fd)


def _sync_folder(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
