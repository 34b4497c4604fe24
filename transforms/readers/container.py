"""Checks of a workbook's ZIP container before any reader loads it (``check_workbook``).

An .xlsx (or .ods) file is a ZIP of XML parts, and a small file can make a reader allocate without
bound: cells at A1 and XFD1048576 make calamine allocate the whole 17-billion-cell rectangle
(512 GiB), a shared-strings part of 600 MB compresses into 613 KB, a deflate stream inflates
about 1000-fold. So before the reader runs, this module reads the archive with the stdlib
``zipfile`` (nothing is extracted to disk, every part is streamed in bounded chunks) and refuses:

- ``too_large``: a central directory over MAX_DIRECTORY_BYTES or MAX_PARTS parts (read from the
  end record before ``zipfile`` builds its list), a shared-strings part over
  MAX_SHARED_STRINGS_BYTES uncompressed (the reader holds the whole table in memory), or parts
  over MAX_UNCOMPRESSED_BYTES together;
- ``zip_bomb``: a part over RATIO_CHECK_FROM_BYTES that inflates more than MAX_COMPRESSION_RATIO
  times (real workbooks stay under ~20: text XML compresses about 10-fold);
- ``too_many_cells``: a worksheet whose ``<dimension ref="...">`` (read from the first
  HEAD_BYTES of the part) or whose cell references (``<c r="XFD1048576">``, every one, streamed)
  span more than ``reader.max_cells`` cells as a rectangle (rows x columns), which is what the
  reader allocates;
- ``xml_entities``: a ``<!DOCTYPE`` or ``<!ENTITY`` in any XML part (a workbook has no DTD;
  entity expansion is the billion-laughs attack); nothing here parses XML, the raw bytes are
  searched (UTF-8 and UTF-16);
- ``broken_xlsx``: not a ZIP, an encrypted part, a compression method other than stored or
  deflate (bzip2 and LZMA inflate without an output bound in ``zipfile``), or a part whose bytes do
  not match its declared size and checksum (a lying header).

Every part is inflated once, in 1 MiB chunks: ``zipfile`` stops at the declared size and checks
the CRC, so declared sizes cannot lie. Cells without an ``r`` attribute (rare; Excel, 1C and the
Python writers always write it) are placed by the reader itself: they are covered by the
dimension and by the reader's child process limits (``transforms.readers.guard``), as are .xls
(OLE2) files, which have no ZIP to check.
"""

import io
import re
import struct
import zipfile

from transforms.readers.base import UnreadableFile

MAX_PARTS = 10_000
MAX_DIRECTORY_BYTES = 4 * 2**20
MAX_UNCOMPRESSED_BYTES = 2**30
MAX_SHARED_STRINGS_BYTES = 256 * 2**20
MAX_COMPRESSION_RATIO = 100
RATIO_CHECK_FROM_BYTES = 2**20
HEAD_BYTES = 64 * 2**10
CHUNK_BYTES = 2**20
_MAX_TAG_BYTES = 64 * 2**10  # an unfinished tag carried over a chunk boundary; longer ones are no cell

_ZIP_MAGIC = b"PK"
_END_RECORD = b"PK\x05\x06"
_ZIP64_LOCATOR = b"PK\x06\x07"
_ZIP64_END_RECORD = b"PK\x06\x06"
_XML_SUFFIXES = (".xml", ".rels", ".vml")

_DTD_WORDS = (b"<!DOCTYPE", b"<!ENTITY")
_DTD = re.compile(
    b"|".join(
        re.escape(word.decode("ascii").encode(encoding))
        for word in _DTD_WORDS
        for encoding in ("utf-8", "utf-16-le", "utf-16-be")
    ),
    re.IGNORECASE,
)
_DTD_OVERLAP = 2 * max(len(word) for word in _DTD_WORDS)
_DIMENSION = re.compile(rb"<(?:[A-Za-z_][\w.\-]*:)?dimension\s[^>]*?\bref\s*=\s*[\"']([A-Za-z0-9$:]{1,40})[\"']")
_WORKSHEET_ROOT = re.compile(rb"<(?:[A-Za-z_][\w.\-]*:)?worksheet[\s>]")
# A cell as every common writer spells it; anything else falls back to _ANY_CELL (slower). Row
# numbers past Excel's 1,048,576 are counted as written: the reader would place them there.
_PLAIN_ROW = re.compile(rb'<c r="[A-Z]{1,3}([0-9]{1,10})"')
_PLAIN_COLUMN = re.compile(rb'<c r="([A-Z]{1,3})[0-9]')
_ANY_CELL = re.compile(rb"<(?:[A-Za-z_][\w.\-]*:)?c(?=[\s/>])([^<>]{0,4096})>")
_R_ATTRIBUTE = re.compile(rb"""(?:^|\s)(?:[A-Za-z_][\w.\-]*:)?r\s*=\s*["']\$?([A-Za-z]{1,3})\$?([0-9]{1,10})["']""")
_REF = re.compile(r"\$?([A-Za-z]{1,3})\$?([0-9]{1,10})")


def check_workbook(data: bytes, max_cells: int) -> None:
    """Raise UnreadableFile when the workbook must not reach a reader; return when it may."""
    if not data.startswith(_ZIP_MAGIC):
        return  # an .xls (OLE2) or not a workbook at all: the reader decides, inside its limits
    parts, directory_bytes = _directory_size(data)
    if parts > MAX_PARTS or directory_bytes > MAX_DIRECTORY_BYTES:
        raise UnreadableFile(
            "too_large",
            f"the archive lists {parts:,} parts in {directory_bytes:,} bytes; a workbook has at most "
            f"{MAX_PARTS:,} parts in {MAX_DIRECTORY_BYTES:,} bytes",
        )
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        infos = [info for info in archive.infolist() if not info.is_dir()]
    except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, EOFError, struct.error) as exc:
        raise UnreadableFile("broken_xlsx", f"not a readable workbook: {exc}") from exc
    _check_declared_sizes(infos)
    for info in infos:
        if _is_xml(info.filename):
            head = _read_head(archive, info)
            if _WORKSHEET_ROOT.search(head) or "worksheets/" in info.filename.lower():
                _check_dimension(info.filename, head, max_cells)
    for info in infos:
        _stream_part(archive, info, max_cells)


def _directory_size(data: bytes) -> tuple[int, int]:
    """(parts, bytes) of the central directory from the end record (ZIP64 too), before zipfile lists it."""
    start = data.rfind(_END_RECORD, max(0, len(data) - 22 - 0xFFFF))
    if start < 0 or len(data) - start < 22:
        raise UnreadableFile("broken_xlsx", "not a readable workbook: no ZIP end-of-directory record")
    _, _, _, _, parts, size, offset, _ = struct.unpack("<IHHHHIIH", data[start : start + 22])
    if parts != 0xFFFF and size != 0xFFFFFFFF and offset != 0xFFFFFFFF:
        return parts, size
    locator, record = start - 20, start - 20 - 56
    if record < 0 or data[locator : locator + 4] != _ZIP64_LOCATOR or data[record : record + 4] != _ZIP64_END_RECORD:
        raise UnreadableFile("broken_xlsx", "not a readable workbook: a broken ZIP64 end-of-directory record")
    fields = struct.unpack("<IQHHIIQQQQ", data[record : record + 56])
    return fields[7], fields[8]


def _check_declared_sizes(infos: list[zipfile.ZipInfo]) -> None:
    for info in infos:
        name = info.filename
        if info.flag_bits & 0x1:
            raise UnreadableFile("broken_xlsx", f"part {name} is encrypted")
        if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
            raise UnreadableFile(
                "broken_xlsx", f"part {name} uses compression method {info.compress_type}; workbooks use deflate"
            )
        if name.lower().rsplit("/", 1)[-1] == "sharedstrings.xml" and info.file_size > MAX_SHARED_STRINGS_BYTES:
            raise UnreadableFile(
                "too_large",
                f"the shared-strings table {name} is {info.file_size:,} bytes uncompressed, over the "
                f"{MAX_SHARED_STRINGS_BYTES:,} a reader may hold in memory",
            )
        if info.file_size > RATIO_CHECK_FROM_BYTES and info.file_size > MAX_COMPRESSION_RATIO * info.compress_size:
            ratio = info.file_size / max(info.compress_size, 1)
            raise UnreadableFile(
                "zip_bomb",
                f"part {name} inflates from {info.compress_size:,} to {info.file_size:,} bytes "
                f"({ratio:,.0f}:1; a workbook stays under {MAX_COMPRESSION_RATIO}:1)",
            )
    total = sum(info.file_size for info in infos)
    if total > MAX_UNCOMPRESSED_BYTES:
        raise UnreadableFile(
            "too_large", f"the parts inflate to {total:,} bytes together, over {MAX_UNCOMPRESSED_BYTES:,}"
        )


def _is_xml(name: str) -> bool:
    return name.lower().endswith(_XML_SUFFIXES)


def _read_head(archive: zipfile.ZipFile, info: zipfile.ZipInfo) -> bytes:
    try:
        with archive.open(info) as stream:
            return stream.read(HEAD_BYTES)
    except (zipfile.BadZipFile, ValueError, EOFError, OSError, NotImplementedError) as exc:
        raise UnreadableFile("broken_xlsx", f"part {info.filename} cannot be read: {exc}") from exc


def _check_dimension(name: str, head: bytes, max_cells: int) -> None:
    found = _DIMENSION.search(head)
    if found is None:
        return
    corners = [_position(m.group(1), m.group(2)) for m in _REF.finditer(found.group(1).decode("ascii"))]
    if not corners:
        return
    box = _Box()
    for row, column in corners:
        box.add(row, column)
    if box.cells > max_cells:
        raise UnreadableFile(
            "too_many_cells",
            f"sheet {name} declares the range {found.group(1).decode('ascii')} ({box.cells:,} cells), "
            f"over reader.max_cells {max_cells:,}",
        )


def _stream_part(archive: zipfile.ZipFile, info: zipfile.ZipInfo, max_cells: int) -> None:
    """Inflate one part in chunks: its real size and CRC, DTDs in XML, the cells of a worksheet."""
    name = info.filename
    xml: bool | None = None
    box: _Box | None = None
    dtd_tail = carry = b""
    try:
        with archive.open(info) as stream:
            while chunk := stream.read(CHUNK_BYTES):
                if xml is None:  # by its name, or by its first bytes when a part is named otherwise
                    xml = _is_xml(name) or chunk.lstrip(b"\xef\xbb\xbf\xff\xfe\x00 \t\r\n").startswith(b"<")
                if not xml:
                    continue
                edge = dtd_tail + chunk[:_DTD_OVERLAP]  # a word split over two chunks
                found = None
                if b"<!" in chunk or b"\x00" in chunk or b"<!" in edge:  # rare (comments, CDATA, UTF-16)
                    found = _DTD.search(edge) or _DTD.search(chunk)
                if found is not None:
                    raise UnreadableFile(
                        "xml_entities",
                        f"part {name} declares a DTD or entities ({found.group(0).decode('latin-1')!r}); "
                        "workbooks have none, and expanding entities is the billion-laughs attack",
                    )
                first, dtd_tail = not dtd_tail, chunk[-_DTD_OVERLAP:]
                if first and (_WORKSHEET_ROOT.search(chunk) or "worksheets/" in name.lower()):
                    box = _Box()
                if box is not None:
                    text = carry + chunk
                    cut = text.rfind(b"<")
                    body, carry = (text[:cut], text[cut:]) if cut >= 0 else (text, b"")
                    if len(carry) > _MAX_TAG_BYTES:
                        carry = b""
                    _add_cells(box, body)
                    if box.cells > max_cells:
                        raise UnreadableFile(
                            "too_many_cells",
                            f"sheet {name} has cells spanning {box.range} ({box.cells:,} cells), "
                            f"over reader.max_cells {max_cells:,}",
                        )
    except UnreadableFile:
        raise
    except (zipfile.BadZipFile, ValueError, EOFError, OSError, NotImplementedError) as exc:
        raise UnreadableFile("broken_xlsx", f"part {name} does not match its declared size or checksum: {exc}") from exc


def _add_cells(box: "_Box", body: bytes) -> None:
    # Two flat findall passes and their distinct values (a 1 MiB chunk has ~1000 rows, ~20 columns):
    # about 0.6 s per million cells, a third of what one (column, row) pair per cell costs.
    rows = _PLAIN_ROW.findall(body)
    if rows:
        numbers = [int(row) for row in set(rows)]
        letters = [_column_number(column) for column in set(_PLAIN_COLUMN.findall(body))]
        box.add(min(numbers), min(letters))
        box.add(max(numbers), max(letters))
    if body.count(b"<c ") == len(rows) and b":c " not in body:
        return
    for attributes in _ANY_CELL.findall(body):  # other attribute orders, quotes, namespace prefixes
        ref = _R_ATTRIBUTE.search(attributes)
        if ref is not None:
            box.add(int(ref.group(2)), _column_number(ref.group(1).upper()))


class _Box:
    """The rectangle that holds every cell seen, as the reader allocates it."""

    def __init__(self) -> None:
        self.top = self.left = 1 << 40
        self.bottom = self.right = 0

    def add(self, row: int, column: int) -> None:
        self.top, self.bottom = min(self.top, row), max(self.bottom, row)
        self.left, self.right = min(self.left, column), max(self.right, column)

    @property
    def cells(self) -> int:
        if self.bottom == 0:
            return 0
        return (self.bottom - self.top + 1) * (self.right - self.left + 1)

    @property
    def range(self) -> str:
        return f"{_column_name(self.left)}{self.top}:{_column_name(self.right)}{self.bottom}"


def _position(column: str, row: str) -> tuple[int, int]:
    return int(row), _column_number(column.upper().encode("ascii"))


def _column_number(letters: bytes) -> int:
    number = 0
    for letter in letters:
        number = number * 26 + (letter - 64)
    return number


def _column_name(number: int) -> str:
    letters = ""
    while number > 0:
        number, remainder = divmod(number - 1, 26)
        letters = chr(65 + remainder) + letters
    return letters
