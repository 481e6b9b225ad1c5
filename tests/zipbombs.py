"""Real zip bombs, built cheaply and small in memory: zip files written by hand around raw deflate streams.

A deflate block of 1 MiB of zeros ends with a full flush, so nothing after it refers back into it: the
same block repeated n times is a valid stream of n MiB of zeros (about 1 KB compressed per MiB). The
central directory can tell the truth about the sizes or lie (declare a tiny entry).
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Iterable
from dataclasses import dataclass

MIB = 1024 * 1024
DOCX_MAIN = "application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"
XLSX_MAIN = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"
STRINGS_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"
SHEET_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"
REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
PKG_REL = "http://schemas.openxmlformats.org/package/2006/relationships"


@dataclass(frozen=True)
class Entry:
    name: str
    data: bytes  # what is stored: a raw deflate stream (method 8) or the bytes themselves (method 0)
    size: int  # the uncompressed size the headers declare
    crc: int
    method: int = 8


def deflated(name: str, content: bytes) -> Entry:
    packer = zlib.compressobj(6, zlib.DEFLATED, -zlib.MAX_WBITS)
    return Entry(name, packer.compress(content) + packer.flush(), len(content), zlib.crc32(content))


def repeated(name: str, unit: bytes, times: int, *, head: bytes = b"", tail: bytes = b"") -> Entry:
    """``head + unit * times + tail``, compressed once per block of units: a block ending with a full flush
    refers to nothing before it, so its compressed form can be repeated as is."""
    per_block = max(1, MIB // len(unit))
    blocks, rest = divmod(times, per_block)
    packer = zlib.compressobj(9, zlib.DEFLATED, -zlib.MAX_WBITS)
    start = packer.compress(head) + packer.flush(zlib.Z_FULL_FLUSH)
    block = packer.compress(unit * per_block) + packer.flush(zlib.Z_FULL_FLUSH)
    end = packer.compress(unit * rest + tail) + packer.flush()
    crc = zlib.crc32(head)
    chunk = unit * per_block
    for _ in range(blocks):
        crc = zlib.crc32(chunk, crc)
    crc = zlib.crc32(unit * rest + tail, crc)
    size = len(head) + len(unit) * times + len(tail)
    return Entry(name, start + block * blocks + end, size, crc)


def zeros(name: str, mib: int, *, declared: int | None = None) -> Entry:
    """``mib`` MiB of zeros; ``declared`` makes the headers lie about the size."""
    entry = repeated(name, bytes(1024), mib * 1024)
    return entry if declared is None else Entry(name, entry.data, declared, 0)


def build_zip(entries: Iterable[Entry]) -> bytes:
    out, central, count = bytearray(), bytearray(), 0
    for e in entries:
        name = e.name.encode()
        offset = len(out)
        fields = (e.method, 0, 0x21, e.crc, len(e.data), e.size, len(name))
        out += struct.pack("<4s5H3L2H", b"PK\x03\x04", 20, 0, *fields, 0) + name + e.data
        central += struct.pack("<4s6H3L5H2L", b"PK\x01\x02", 20, 20, 0, *fields, 0, 0, 0, 0, 0, offset) + name
        count += 1
    end = struct.pack("<4s4H2LH", b"PK\x05\x06", 0, 0, count, count, len(central), len(out), 0)
    return bytes(out + central + end)


def _types(main: str, part: str, extra: str = "") -> Entry:
    return deflated(
        "[Content_Types].xml",
        (
            '<?xml version="1.0" encoding="UTF-8"?>'
            '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
            '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
            '<Default Extension="xml" ContentType="application/xml"/>'
            f'<Override PartName="/{part}" ContentType="{main}"/>{extra}</Types>'
        ).encode(),
    )


def _rels(target: str) -> Entry:
    return deflated(
        "_rels/.rels",
        (
            f'<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="{PKG_REL}">'
            f'<Relationship Id="rId1" Type="{REL}/officeDocument" Target="{target}"/></Relationships>'
        ).encode(),
    )


def docx_bomb(mib: int = 1024, *, declared: int | None = None) -> bytes:
    """A DOCX whose ``word/document.xml`` inflates to ``mib`` MiB of zeros (1 GiB: a 1 MB file)."""
    return build_zip(
        [
            _types(DOCX_MAIN, "word/document.xml"),
            _rels("word/document.xml"),
            zeros("word/document.xml", mib, declared=declared),
        ]
    )


def _sheet(rows: int) -> Entry:
    return repeated(
        "xl/worksheets/sheet1.xml",
        b"<row><c><v>1</v></c></row>",
        rows,
        head=b'<?xml version="1.0" encoding="UTF-8"?>'
        b'<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>'
        b'<row><c t="inlineStr"><is><t>document_code</t></is></c></row>',
        tail=b"</sheetData></worksheet>",
    )


def _xlsx(rows: int, *, parts: str = "") -> list[Entry]:
    workbook = (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"'
        f' xmlns:r="{REL}"><sheets><sheet name="data" sheetId="1" r:id="rId1"/></sheets></workbook>'
    )
    workbook_rels = (
        f'<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="{PKG_REL}">'
        f'<Relationship Id="rId1" Type="{REL}/worksheet" Target="worksheets/sheet1.xml"/></Relationships>'
    )
    return [
        _types(
            XLSX_MAIN,
            "xl/workbook.xml",
            f'<Override PartName="/xl/worksheets/sheet1.xml" ContentType="{SHEET_TYPE}"/>{parts}',
        ),
        _rels("xl/workbook.xml"),
        deflated("xl/workbook.xml", workbook.encode()),
        deflated("xl/_rels/workbook.xml.rels", workbook_rels.encode()),
        _sheet(rows),
    ]


def xlsx_rows(rows: int) -> bytes:
    """An XLSX whose first sheet has a header and ``rows`` data rows (4 million: about 250 KB)."""
    return build_zip(_xlsx(rows))


def xlsx_bomb(mib: int = 1024) -> bytes:
    """An XLSX whose shared strings (which openpyxl loads whole) hold one string of ``mib`` MiB."""
    strings = repeated(
        "xl/sharedStrings.xml",
        b"a" * 1024,
        mib * 1024,
        head=b'<?xml version="1.0" encoding="UTF-8"?>'
        b'<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><si><t>',
        tail=b"</t></si></sst>",
    )
    part = f'<Override PartName="/xl/sharedStrings.xml" ContentType="{STRINGS_TYPE}"/>'
    return build_zip([*_xlsx(1, parts=part), strings])


def docx_types_bomb(mib: int = 1024) -> bytes:
    """A DOCX whose ``[Content_Types].xml`` claims 1 KB and inflates to ``mib`` MiB (after its real text)."""
    types = _types(DOCX_MAIN, "word/document.xml")
    text = zlib.decompress(types.data, -zlib.MAX_WBITS)
    bomb = repeated(types.name, b" " * 1024, mib * 1024, head=text)
    return build_zip(
        [
            Entry(types.name, bomb.data, 1024, 0),
            _rels("word/document.xml"),
            deflated("word/document.xml", b"<x/>"),
        ]
    )


def many_entries(count: int) -> bytes:
    """A DOCX-looking zip with ``count`` tiny entries."""
    empty = deflated("x", b"")
    return build_zip(
        [_types(DOCX_MAIN, "word/document.xml"), _rels("word/document.xml")]
        + [Entry(f"p/{i}", empty.data, 0, 0) for i in range(count)]
    )
