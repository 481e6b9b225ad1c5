"""Zip bomb guard for every archive-based upload (DOCX, XLSX, ODT): bounded time and memory.

:func:`check_archive` refuses an archive with too many entries, an entry or a total that unpacks beyond
the limits, or an entry compressed suspiciously well, first from the central directory (cheap), then
while actually inflating every entry in small chunks, since a central directory can lie. Once it has
passed, any reader (zipfile, python-docx, openpyxl) stays within the limits: the stdlib ``zipfile`` never
returns more bytes than an entry declares. Refusals are domain errors (:class:`core.errors.ArchiveRejected`);
a file that is not a readable zip at all raises :class:`zipfile.BadZipFile`, as ``zipfile`` would.

:func:`check_sheet_rows` counts a workbook's rows while streaming its XML, and stops at the limit:
openpyxl, even in read-only mode, parses a whole sheet that lacks a ``<dimension>`` when it opens it.
"""

from __future__ import annotations

import io
import struct
import zipfile
import zlib
from dataclasses import dataclass
from typing import IO, TYPE_CHECKING
from xml.parsers import expat

from core import errors

if TYPE_CHECKING:
    from core.config import Settings

MIB = 1024 * 1024
#: the compression ratio is only judged on entries that unpack to more than this
RATIO_FLOOR = MIB
CHUNK = 256 * 1024
_CENTRAL_SIGNATURE = b"PK\x01\x02"
_LOCAL_HEADER = struct.Struct("<4s5H3L2H")  # zipfile's structFileHeader: 30 bytes
_LOCAL_SIGNATURE = b"PK\x03\x04"


@dataclass(frozen=True)
class ArchiveLimits:
    """How far an uploaded archive may unpack (see the ``GOPY_ARCHIVE_*`` settings)."""

    max_entries: int = 1000
    max_entry_bytes: int = 64 * MIB
    max_total_bytes: int = 256 * MIB
    max_ratio: int = 100

    @classmethod
    def from_settings(cls, settings: Settings) -> ArchiveLimits:
        return cls(
            max_entries=settings.archive_max_entries,
            max_entry_bytes=settings.archive_max_entry_mb * MIB,
            max_total_bytes=settings.archive_max_total_mb * MIB,
            max_ratio=settings.archive_max_ratio,
        )


def check_archive(content: bytes, limits: ArchiveLimits) -> None:
    """Refuse a zip bomb (``ArchiveRejected``); ``BadZipFile`` when ``content`` is no readable zip."""
    # every central directory record starts with this signature, so their count bounds the entries
    # zipfile would parse: refuse a huge directory before zipfile builds an object per entry
    if content.count(_CENTRAL_SIGNATURE) > limits.max_entries:
        raise errors.ArchiveTooManyEntries(max_entries=limits.max_entries)
    with zipfile.ZipFile(io.BytesIO(content)) as archive:
        entries = archive.infolist()
        _check_declared(entries, limits)
        for info in entries:
            _inflate(content, info)


def _check_declared(entries: list[zipfile.ZipInfo], limits: ArchiveLimits) -> None:
    if len(entries) > limits.max_entries:
        raise errors.ArchiveTooManyEntries(max_entries=limits.max_entries)
    total = 0
    for info in entries:
        if info.file_size > limits.max_entry_bytes:
            raise errors.ArchiveTooLarge(max_mb=limits.max_entry_bytes // MIB)
        total += info.file_size
        if total > limits.max_total_bytes:
            raise errors.ArchiveTooLarge(max_mb=limits.max_total_bytes // MIB)
        if _too_compressed(info.file_size, info.compress_size, limits):
            raise errors.ArchiveRatio(max_ratio=limits.max_ratio)


def _too_compressed(unpacked: int, packed: int, limits: ArchiveLimits) -> bool:
    return unpacked > RATIO_FLOOR and unpacked > limits.max_ratio * max(packed, 1)


def _inflate(content: bytes, info: zipfile.ZipInfo) -> None:
    """Inflate one entry in chunks, discarding the output; refuse it as soon as it outgrows its declared
    size (which :func:`_check_declared` bounded), or when it ends short of it."""
    if info.flag_bits & 0x1 or info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
        raise errors.ArchiveInconsistent()  # encrypted, or a method no Office or ODF file uses
    start = info.header_offset
    header = content[start : start + _LOCAL_HEADER.size]
    if len(header) != _LOCAL_HEADER.size or header[:4] != _LOCAL_SIGNATURE:
        raise zipfile.BadZipFile("bad local file header")
    *_, name_length, extra_length = _LOCAL_HEADER.unpack(header)
    data_start = start + _LOCAL_HEADER.size + name_length + extra_length
    data = memoryview(content)[data_start : data_start + info.compress_size]
    if len(data) != info.compress_size:
        raise zipfile.BadZipFile("truncated entry")
    if info.compress_type == zipfile.ZIP_STORED:
        produced = len(data)
    else:
        produced = _inflated_size(data, limit=info.file_size)
    if produced != info.file_size:
        raise errors.ArchiveInconsistent()  # the central directory misstates the entry's size


def _inflated_size(data: memoryview, *, limit: int) -> int:
    """The size a raw deflate stream inflates to, or ``limit + 1`` as soon as it exceeds ``limit``."""
    inflater = zlib.decompressobj(-zlib.MAX_WBITS)
    produced = 0
    try:
        for offset in range(0, len(data), CHUNK):
            pending = bytes(data[offset : offset + CHUNK])
            while True:
                out = inflater.decompress(pending, CHUNK)
                produced += len(out)
                if produced > limit:
                    return limit + 1
                pending = inflater.unconsumed_tail
                if inflater.eof or (not pending and len(out) < CHUNK):
                    break
            if inflater.eof:
                break
    except zlib.error as exc:
        raise zipfile.BadZipFile("corrupt deflate stream") from exc
    if not inflater.eof:
        raise zipfile.BadZipFile("truncated deflate stream")
    return produced


class _Stop(Exception):
    pass


def check_sheet_rows(content: bytes, *, max_rows: int) -> None:
    """Refuse (``TooManyRows``) a workbook with a sheet of more than ``max_rows`` rows after its header.

    Every XML part is streamed through expat, counting ``row`` elements; parsing stops at the limit.
    Call it after :func:`check_archive`. A part with a DTD is refused (``ArchiveInconsistent``).
    """
    with zipfile.ZipFile(io.BytesIO(content)) as archive:
        for info in archive.infolist():
            if info.filename.lower().endswith(".xml"):
                with archive.open(info) as part:
                    _count_rows(part, limit=max_rows + 1)


def _count_rows(part: IO[bytes], *, limit: int) -> None:
    parser = expat.ParserCreate(namespace_separator=" ")
    rows = 0

    def start(name: str, _attributes: object) -> None:
        nonlocal rows
        if name.rpartition(" ")[2] == "row":
            rows += 1
            if rows > limit:
                raise _Stop

    def doctype(*_args: object) -> None:
        raise errors.ArchiveInconsistent()  # no office file has a DTD; entity tricks start there

    parser.StartElementHandler = start
    parser.StartDoctypeDeclHandler = doctype
    try:
        while chunk := part.read(CHUNK):
            parser.Parse(chunk, False)
        parser.Parse(b"", True)
    except _Stop:
        raise errors.TooManyRows(max_rows=limit - 1) from None
    except expat.ExpatError as exc:
        raise zipfile.BadZipFile("malformed XML part") from exc
