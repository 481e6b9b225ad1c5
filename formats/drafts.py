"""Read a draft document (Markdown or DOCX) into :class:`core.parsed_document.ParsedDocument`.

Pure parsing: no database and no I/O except :func:`parse_file` reading its path. Every failure is a
:class:`~core.errors.DocumentImportError` whose ``reason`` is one of ``empty``, ``no_headings``,
``not_docx``, ``unsupported_format``, ``heading_skip``, ``title_too_long``, ``too_many_sections``,
``encoding``, ``duplicate_number``; it carries ``line`` (Markdown, 1-based) or ``paragraph`` (DOCX,
1-based index among the body-level paragraphs, table cells not counted) and a short English ``detail``.
A DOCX that the zip bomb guard (:mod:`core.archives`) refuses raises
:class:`~core.errors.ArchiveRejected` before python-docx reads anything.

The numbering of headings, the tree rules and the limits are core's (:mod:`core.parsed_document`).
"""

from __future__ import annotations

import hashlib
import io
import re
import textwrap
import unicodedata
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml

from core.archives import ArchiveLimits, check_archive
from core.errors import DocumentImportError
from core.parsed_document import (
    INTRO_TITLE,
    MAX_SECTIONS,
    MAX_TITLE_LEN,
    DraftFile,
    HeadingNode,
    ParsedDocument,
    ParsedSection,
    add_heading,
    assemble,
    clean_text,
    import_error,
    make_heading,
    one_line,
    split_number,
)

__all__ = [
    "INTRO_TITLE",
    "MAX_SECTIONS",
    "MAX_TITLE_LEN",
    "ParsedDocument",
    "ParsedSection",
    "parse_docx",
    "parse_file",
    "parse_markdown",
    "read_draft",
    "split_front_matter",
    "split_number",
]

MARKDOWN_SUFFIXES = frozenset({".md", ".markdown", ".txt"})
DOCX_SUFFIXES = frozenset({".docx"})


# ----------------------------------------------------------------------------------------- Markdown

_ATX_RE = re.compile(r" {0,3}(#{1,6})(?: (.*))?$")
_ATX_CLOSING_RE = re.compile(r"(?:^|\s)#+\s*$")
_FENCE_RE = re.compile(r" {0,3}(`{3,}|~{3,})(.*)$")
_SETEXT_RE = re.compile(r" {0,3}(=+|-+) *$")
_NOT_SETEXT_TEXT_RE = re.compile(r" {4}|\s*(?:[-*+](?:\s|$)|\d{1,9}[.)](?:\s|$)|>|\|)")
_YAML_KEY_RE = re.compile(r"[A-Za-z_][\w-]*\s*:")
_YAML_TITLE_RE = re.compile(r"title\s*:\s*(.+)$", re.I)
_EMPHASIS = ("**", "__", "*", "_")


def _decode(data: bytes | bytearray | memoryview | str) -> str:
    if isinstance(data, str):
        return data
    raw = bytes(data)
    if not raw:
        raise import_error("empty", detail="the file is empty")
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return raw.decode("utf-16")
        except UnicodeDecodeError as exc:
            raise import_error("encoding", detail=f"invalid UTF-16: {exc.reason}") from None
    if raw.startswith(b"\xef\xbb\xbf"):
        raw = raw[3:]
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        hint = "; this looks like a zip/DOCX file" if raw.startswith(b"PK\x03\x04") else ""
        raise import_error(
            "encoding",
            "line",
            raw.count(b"\n", 0, exc.start) + 1,
            detail=f"not valid UTF-8 (byte offset {exc.start}){hint}",
        ) from None


def _front_matter(lines: list[str]) -> tuple[int, str | None, int | None]:
    """A leading YAML ``---`` block: (lines to skip, its ``title:``, the title's line)."""
    if not lines or lines[0].strip() != "---":
        return 0, None, None
    for end in range(1, min(len(lines), 200)):
        if lines[end].strip() in ("---", "..."):
            block = lines[1:end]
            keyed = [ln for ln in block if _YAML_KEY_RE.match(ln)]
            plausible = all(not ln.strip() or ln[0] in " -#" or _YAML_KEY_RE.match(ln) for ln in block)
            if not keyed or not plausible:
                return 0, None, None
            for offset, ln in enumerate(block, 2):
                m = _YAML_TITLE_RE.match(ln)
                if m:
                    return end + 1, one_line(m[1].strip().strip("'\"")) or None, offset
            return end + 1, None, None
    return 0, None, None


def _unwrap_emphasis(text: str) -> str:
    for _ in range(2):
        for marker in _EMPHASIS:
            inner = text[len(marker) : -len(marker)]
            if (
                len(text) > 2 * len(marker)
                and text.startswith(marker)
                and text.endswith(marker)
                and marker not in inner
            ):
                text = inner.strip()
                break
        else:
            break
    return text


def _flush(lines: list[str], paras: list[str]) -> None:
    if lines:
        text = textwrap.dedent("\n".join(line.rstrip() for line in lines)).strip()
        if text:
            paras.append(text)
        lines.clear()


def parse_markdown(data: bytes | str) -> ParsedDocument:
    """ATX headings (``#`` … ``######``) and setext headings under a one-line paragraph define the tree.

    Headings inside fenced code blocks and HTML comments are ignored (those lines stay body text); a
    leading YAML front matter block is skipped and its ``title:`` is used when no heading is the title.
    """
    text = clean_text(_decode(data), expand_tabs=True)
    if not text.strip():
        raise import_error("empty", detail="the file has no text")
    lines = text.split("\n")
    start, fm_title, fm_title_line = _front_matter(lines)
    if fm_title is not None and len(fm_title) > MAX_TITLE_LEN:
        raise import_error("title_too_long", "line", fm_title_line, detail="front matter title too long")

    heads: list[HeadingNode] = []
    intro: list[str] = []
    paras = intro  # where finished paragraphs go: the intro, then the current heading's
    cur: list[str] = []  # lines of the paragraph being read
    fence: tuple[str, int] | None = None
    in_comment = False
    setext_ok = False  # cur is a single line that a setext underline could turn into a heading

    for lineno in range(start + 1, len(lines) + 1):
        line = lines[lineno - 1]
        if fence is not None:
            cur.append(line)
            m = _FENCE_RE.match(line)
            if m and m[1][0] == fence[0] and len(m[1]) >= fence[1] and not m[2].strip():
                fence = None
                _flush(cur, paras)
            continue
        if in_comment:
            cur.append(line)
            in_comment = "-->" not in line
            continue
        stripped = line.strip()
        if not stripped:
            _flush(cur, paras)
            setext_ok = False
            continue
        m = _FENCE_RE.match(line)
        if m and not (m[1][0] == "`" and "`" in m[2]):
            _flush(cur, paras)
            cur.append(line)
            fence = (m[1][0], len(m[1]))
            setext_ok = False
            continue
        if stripped.startswith("<!--"):
            cur.append(line)
            in_comment = "-->" not in stripped[4:]
            setext_ok = False
            continue
        m = _ATX_RE.match(line)
        if m:
            _flush(cur, paras)
            setext_ok = False
            heading = _ATX_CLOSING_RE.sub("", (m[2] or "").strip())
            node = make_heading(_unwrap_emphasis(heading.strip()), len(m[1]), lineno, "line")
            if node is not None:  # an empty "#" line is dropped
                add_heading(heads, node, "line")
                paras = node.paras
            continue
        m = _SETEXT_RE.match(line)
        if m and setext_ok and len(cur) == 1:
            setext_ok = False
            node = make_heading(
                _unwrap_emphasis(cur.pop().strip()), 1 if m[1][0] == "=" else 2, lineno - 1, "line"
            )
            if node is not None:
                add_heading(heads, node, "line")
                paras = node.paras
            continue
        setext_ok = not cur and not _NOT_SETEXT_TEXT_RE.match(line)
        cur.append(line)
    _flush(cur, paras)

    return assemble(heads, intro, loc_key="line", title=None, fallback_title=fm_title)


# --------------------------------------------------------------------------------------------- DOCX

_W = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
_MC = "http://schemas.openxmlformats.org/markup-compatibility/2006"
_NS = {"w": _W, "mc": _MC}
_W_P = f"{{{_W}}}p"
_W_TBL = f"{{{_W}}}tbl"
_W_TR = f"{{{_W}}}tr"
_W_TC = f"{{{_W}}}tc"
_W_SDT = f"{{{_W}}}sdt"
_W_SDT_CONTENT = f"{{{_W}}}sdtContent"
_W_CUSTOM_XML = f"{{{_W}}}customXml"
_W_VAL = f"{{{_W}}}val"
_W_TYPE = f"{{{_W}}}type"
_W_STYLE_ID = f"{{{_W}}}styleId"
_W_DEFAULT = f"{{{_W}}}default"
_RUN_TEXT = {f"{{{_W}}}t": None, f"{{{_W}}}tab": " ", f"{{{_W}}}br": "\n", f"{{{_W}}}cr": "\n"}
_RUN_TEXT[f"{{{_W}}}noBreakHyphen"] = "-"

_HEADING_NAME_RE = re.compile(r"(?:heading|tiêu đề|đầu đề)\s*([1-9])")
_HEADING_ID_RE = re.compile(r"heading([1-9])")
_TITLE_NAMES = frozenset({"title", "tiêu đề"})
_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"

_TITLE = -1  # style kind: the "Title" style
_BODY = 0  # style kind: body text; > 0 is a heading level


def _xpath(expr: str) -> Any:
    from lxml import etree

    return etree.XPath(expr, namespaces=_NS)


# visible runs: accepted insertions in, deletions / moved-away text / text boxes (and their duplicate
# compatibility fallbacks) out
_RUN_CHILDREN = _xpath(
    ".//w:r[not(ancestor::w:del or ancestor::w:moveFrom or ancestor::mc:Fallback"
    " or ancestor::w:txbxContent)]/*"
)
_CELL_PARAS = _xpath(".//w:p[not(ancestor::w:txbxContent or ancestor::mc:Fallback)]")
_P_OUTLINE = _xpath("./w:pPr/w:outlineLvl/@w:val")
_P_STYLE = _xpath("./w:pPr/w:pStyle/@w:val")
_STYLE_NAME = _xpath("./w:name/@w:val")
_STYLE_BASED_ON = _xpath("./w:basedOn/@w:val")
_STYLE_OUTLINE = _xpath("./w:pPr/w:outlineLvl/@w:val")


def _para_text(p: Any) -> str:
    parts: list[str] = []
    for el in _RUN_CHILDREN(p):
        if el.tag in _RUN_TEXT:
            piece = _RUN_TEXT[el.tag]
            parts.append((el.text or "") if piece is None else piece)
    return clean_text("".join(parts), expand_tabs=False)


def _table_text(tbl: Any) -> str:
    rows: list[str] = []
    for tr in tbl.iterchildren(_W_TR):
        cells = [one_line(" ".join(_para_text(p) for p in _CELL_PARAS(tc))) for tc in tr.iterchildren(_W_TC)]
        if any(cells):
            rows.append("\t".join(cells))
    return "\n".join(rows)


def _iter_blocks(parent: Any) -> Iterator[Any]:
    for child in parent.iterchildren():
        if child.tag in (_W_P, _W_TBL):
            yield child
        elif child.tag == _W_SDT:
            content = child.find(_W_SDT_CONTENT)
            if content is not None:
                yield from _iter_blocks(content)
        elif child.tag == _W_CUSTOM_XML:
            yield from _iter_blocks(child)


def _outline_kind(values: list[str]) -> int | None:
    """``w:outlineLvl`` 0..8 is heading 1..9, 9 is body text; ``None`` when absent or garbage."""
    if not values:
        return None
    try:
        value = int(values[0])
    except ValueError:
        return None
    if 0 <= value <= 8:
        return value + 1
    return _BODY if value == 9 else None


class _Styles:
    """Paragraph style id → kind (title, body, heading level), following ``basedOn``."""

    def __init__(self, styles_element: Any) -> None:
        self._raw: dict[str, tuple[str, str | None, int | None]] = {}
        self.default_id: str | None = None
        for el in styles_element.iterchildren(f"{{{_W}}}style"):
            if el.get(_W_TYPE) != "paragraph" or not el.get(_W_STYLE_ID):
                continue
            style_id = el.get(_W_STYLE_ID)
            names = _STYLE_NAME(el)
            based = _STYLE_BASED_ON(el)
            name = unicodedata.normalize("NFC", one_line(names[0])).casefold() if names else ""
            self._raw[style_id] = (name, based[0] if based else None, _outline_kind(_STYLE_OUTLINE(el)))
            if el.get(_W_DEFAULT) in ("1", "true", "on") and self.default_id is None:
                self.default_id = style_id
        self._memo: dict[str, int] = {}

    def kind(self, style_id: str | None) -> int:
        if style_id is None or style_id not in self._raw:
            style_id = self.default_id
        if style_id is None:
            return _BODY
        if style_id not in self._memo:
            self._memo[style_id] = self._resolve(style_id)
        return self._memo[style_id]

    def _resolve(self, style_id: str) -> int:
        seen: set[str] = set()
        current: str | None = style_id
        while current is not None and current in self._raw and current not in seen:
            seen.add(current)
            name, based_on, outline = self._raw[current]
            if name in _TITLE_NAMES or current.casefold() == "title":
                return _TITLE
            if outline is not None:
                return outline
            m = _HEADING_NAME_RE.fullmatch(name) or _HEADING_ID_RE.fullmatch(current.casefold())
            if m:
                return int(m[1])
            current = based_on
        return _BODY


def _open_docx(data: bytes, limits: ArchiveLimits | None) -> Any:
    if not data:
        raise import_error("empty", detail="the file is empty")
    if data.startswith(_OLE_MAGIC):
        raise import_error("not_docx", detail="a legacy Word 97-2003 (.doc) file; save it as .docx")
    if limits is None:
        from core.config import get_settings

        limits = ArchiveLimits.from_settings(get_settings())
    try:  # the zip bomb guard (ArchiveRejected) before python-docx unpacks anything
        check_archive(data, limits)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, OSError, EOFError):
        raise import_error("not_docx", detail="not a DOCX file (not a zip archive)") from None

    import docx

    try:
        return docx.Document(io.BytesIO(data))
    except Exception as exc:  # python-docx / lxml / zipfile raise many kinds on a broken package
        raise import_error("not_docx", detail=f"not a readable DOCX file ({type(exc).__name__})") from None


def _core_title(document: Any) -> str | None:
    from docx.opc.constants import RELATIONSHIP_TYPE as RT
    from docx.opc.parts.coreprops import CorePropertiesPart

    try:  # not document.core_properties: that invents "Word Document" when the part is missing
        part = document.part.package.part_related_by(RT.CORE_PROPERTIES)
    except KeyError:
        return None
    if not isinstance(part, CorePropertiesPart):
        return None
    try:
        title = one_line(clean_text(part.core_properties.title or "", expand_tabs=False))
    except Exception:  # a malformed core.xml is no reason to refuse the document
        return None
    return title if title and len(title) <= MAX_TITLE_LEN else None


def parse_docx(data: bytes, *, limits: ArchiveLimits | None = None) -> ParsedDocument:
    """Heading 1..9 (by style name, localized "Tiêu đề N"/"Đầu đề N", or outline level of the paragraph
    or its style chain) define the tree; "Title" paragraphs before the first heading give the title (else
    a single unnumbered top heading, else the core properties title); other paragraphs are body text and
    tables become tab-separated rows in the body. Word auto-numbering is not rendered: only the typed text
    of a heading is searched for a number. The archive is first checked against ``limits`` (default: the
    configured ``GOPY_ARCHIVE_*`` settings); a zip bomb raises :class:`~core.errors.ArchiveRejected`.
    """
    document = _open_docx(bytes(data), limits)
    styles = _Styles(document.styles.element)

    heads: list[HeadingNode] = []
    intro: list[str] = []
    paras = intro
    title_parts: list[str] = []
    title_loc: int | None = None
    has_text = False
    index = 0
    for block in _iter_blocks(document.element.body):
        if block.tag == _W_TBL:
            table = _table_text(block)
            if table:
                has_text = True
                paras.append(table)
            continue
        index += 1
        text = _para_text(block).strip()
        if not text:
            continue
        has_text = True
        kind = _outline_kind(_P_OUTLINE(block))
        if kind is None:
            style_ids = _P_STYLE(block)
            kind = styles.kind(style_ids[0] if style_ids else None)
        if kind > 0:
            node = make_heading(text, kind, index, "paragraph")
            if node is not None:
                add_heading(heads, node, "paragraph")
                paras = node.paras
        elif kind == _TITLE and not heads:
            title_parts.append(text)
            title_loc = index if title_loc is None else title_loc
        else:
            paras.append(text)

    if not has_text:
        raise import_error("empty", detail="the document has no text")
    title = one_line(" ".join(title_parts)) or None
    if title is not None and len(title) > MAX_TITLE_LEN:
        raise import_error(
            "title_too_long", "paragraph", title_loc, detail=f"title of {len(title)} characters"
        )
    return assemble(heads, intro, loc_key="paragraph", title=title, fallback_title=_core_title(document))


# --------------------------------------------------------------------------------------------- files


def parse_file(path: Path) -> ParsedDocument:
    """Dispatch on the suffix: .md/.markdown/.txt → Markdown, .docx → DOCX, anything else refused."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix in MARKDOWN_SUFFIXES:
        return parse_markdown(path.read_bytes())
    if suffix in DOCX_SUFFIXES:
        return parse_docx(path.read_bytes())
    raise import_error(
        "unsupported_format", detail=f"unsupported file type {suffix or '(no suffix)'}; use .md or .docx"
    )


FRONT_MATTER = re.compile(r"\A---\s*\n(.*?)\n---\s*\n", re.DOTALL)


def split_front_matter(text: str) -> tuple[dict[str, Any], str]:
    """Split an optional YAML front-matter block off a Markdown text."""
    match = FRONT_MATTER.match(text)
    if not match:
        return {}, text
    try:
        meta = yaml.safe_load(match.group(1)) or {}
    except yaml.YAMLError as exc:
        raise DocumentImportError(reason="front_matter", detail=str(exc)[:200]) from exc
    if not isinstance(meta, dict):
        raise DocumentImportError(reason="front_matter", detail="front matter must be a mapping")
    return meta, text[match.end() :]


def read_draft(raw: bytes, filename: str) -> DraftFile:
    """Parse a Markdown (with optional YAML front matter) or DOCX draft file."""
    suffix = Path(filename).suffix.lower()
    meta: dict[str, Any] = {}
    if suffix == ".docx":
        parsed = parse_docx(raw)
    elif suffix in (".md", ".markdown", ".txt"):
        try:
            text = raw.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise DocumentImportError(reason="encoding", detail="Markdown must be UTF-8") from exc
        meta, body = split_front_matter(text)
        parsed = parse_markdown(body)
    else:
        raise DocumentImportError(reason="unsupported_format", detail=suffix or filename)
    return DraftFile(filename=filename, sha256=hashlib.sha256(raw).hexdigest(), meta=meta, parsed=parsed)
