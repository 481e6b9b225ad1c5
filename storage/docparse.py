"""Parse a draft document (Markdown or DOCX) into a tree of numbered sections.

Pure parsing: no database and no I/O except :func:`parse_file` reading its path. Every failure is a
:class:`~core.errors.DocumentImportError` whose ``reason`` is one of ``empty``, ``no_headings``,
``not_docx``, ``unsupported_format``, ``heading_skip``, ``title_too_long``, ``too_many_sections``,
``encoding``, ``duplicate_number``; it carries ``line`` (Markdown, 1-based) or ``paragraph`` (DOCX,
1-based index among the body-level paragraphs, table cells not counted) and a short English ``detail``.
A DOCX that the zip bomb guard refuses raises :class:`~core.errors.ArchiveRejected` instead.

All text is normalised to Unicode NFC; control characters are removed (newlines kept, tabs expanded in
Markdown / turned into spaces in DOCX, CR/CRLF become LF).

Numbering recognised at the start of a heading (then ``number`` is it, ``title`` the rest):

* labels: ``Phần thứ nhất``, ``Phần I``, ``Chương II``, ``Mục 1``, ``Tiểu mục 2``, ``Tiết 3``, ``Điều 5``,
  ``Điều 12a`` (any letter case; the label is part of ``number``);
* Roman numerals ``I`` … ``CCCXCIX``, arabic ``1``, ``1.2``, ``1.2.3`` (1-3 digits per part, so a year
  is not a number) and mixed ``II.1``;
* a single letter ``a)`` / ``a.`` / ``đ)`` / ``A.`` and lower-case Roman ``ii)`` / ``iv.``, which need
  ``.`` or ``)`` followed by a space or the end.

followed by ``.``, ``)``, ``:``, a dash (``-``, ``–``, ``—``), whitespace or the end. ``VI``, ``XI``,
``LI`` and ``CI`` followed only by a space are Vietnamese words ("VI PHẠM", "XI MĂNG"), not numbers.
"""

from __future__ import annotations

import io
import re
import textwrap
import unicodedata
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from core.archives import ArchiveLimits, check_archive
from core.errors import DocumentImportError

__all__ = [
    "INTRO_TITLE",
    "MAX_SECTIONS",
    "MAX_TITLE_LEN",
    "ParsedDocument",
    "ParsedSection",
    "parse_docx",
    "parse_file",
    "parse_markdown",
    "split_number",
]

MAX_TITLE_LEN = 500
MAX_SECTIONS = 2000
INTRO_TITLE = "Mở đầu"

MARKDOWN_SUFFIXES = frozenset({".md", ".markdown", ".txt"})
DOCX_SUFFIXES = frozenset({".docx"})


# --------------------------------------------------------------------------------------------- model


@dataclass
class ParsedSection:
    number: str | None
    title: str
    body: str
    level: int
    children: list[ParsedSection] = field(default_factory=list)


@dataclass
class ParsedDocument:
    title: str | None
    sections: list[ParsedSection]

    def walk(self) -> Iterator[tuple[int, ParsedSection, ParsedSection | None]]:
        """``(ordinal, section, parent)`` depth-first pre-order; ordinals start at 1."""
        stack: list[tuple[ParsedSection, ParsedSection | None]] = [(s, None) for s in reversed(self.sections)]
        ordinal = 0
        while stack:
            section, parent = stack.pop()
            ordinal += 1
            yield ordinal, section, parent
            stack.extend((child, section) for child in reversed(section.children))

    def count(self) -> int:
        return sum(1 for _ in self.walk())


# ------------------------------------------------------------------------------------ normalisation

_CR_RE = re.compile(r"\r\n?")
# characters splitlines() would break on but editors mostly don't: keep words apart, keep line numbers
_BREAKISH_RE = re.compile("[\x0b\x0c\x1c-\x1e\x85\u2028\u2029]")
_DROP_RE = re.compile("[\x00-\x08\x0e-\x1b\x1f\x7f-\x84\x86-\x9f\u200b\ufeff\ud800-\udfff]")
_WS_RE = re.compile(r"\s+")


def _clean(text: str, *, expand_tabs: bool) -> str:
    text = _CR_RE.sub("\n", text)
    text = _BREAKISH_RE.sub(" ", text)
    text = unicodedata.normalize("NFC", _DROP_RE.sub("", text))
    return text.expandtabs(4) if expand_tabs else text.replace("\t", " ")


def _one_line(text: str) -> str:
    return _WS_RE.sub(" ", text).strip()


# ---------------------------------------------------------------------------------------- numbering

_ROMAN = r"(?=[IVXLC])C{0,3}(?:XC|XL|L?X{0,3})(?:IX|IV|V?I{0,3})"
_ORDINAL = (
    r"(?i:thứ\s+(?:nhất|mười(?:\s+(?:một|hai|ba|bốn|tư|lăm|năm|sáu|bảy|tám|chín))?"
    r"|hai|ba|tư|bốn|năm|sáu|bảy|tám|chín))"
)
_LABEL = (
    rf"(?i:phần|chương|tiểu\s+mục|mục|điều|tiết)\s+(?:{_ORDINAL}|{_ROMAN}|\d{{1,3}}(?:\.\d{{1,3}})*[a-zđ]?)"
)
_SEP = r"(?P<sep>\s*[.):]|\s*[-–—](?=\s|$)|\s+|$)"
_LABELLED_RE = re.compile(rf"(?P<num>{_LABEL}){_SEP}(?P<rest>.*)", re.S)
_NUMERIC_RE = re.compile(rf"(?P<num>(?:{_ROMAN}|\d{{1,3}})(?:\.\d{{1,3}})*){_SEP}(?P<rest>.*)", re.S)
_LETTER_RE = re.compile(r"(?P<num>[a-zđA-Z]|[ivx]{2,4})[.)](?:\s+|$)(?P<rest>.*)", re.S)
_ROMAN_RE = re.compile(_ROMAN)
# Roman numerals that are also Vietnamese syllables: a number only with punctuation after them
_AMBIGUOUS_ROMAN = frozenset({"VI", "XI", "LI", "CI"})


def split_number(heading: str) -> tuple[str | None, str]:
    """``"II. Nhiệm vụ"`` → ``("II", "Nhiệm vụ")``; a bare number keeps itself as the title."""
    heading = _one_line(heading)
    m = _LABELLED_RE.match(heading)
    if m is None:
        m = _NUMERIC_RE.match(heading)
        if m is not None and m["num"] in _AMBIGUOUS_ROMAN and not m["sep"].strip() and m["rest"].strip():
            m = None
    if m is None:
        m = _LETTER_RE.match(heading)
        if m is not None and len(m["num"]) > 1 and not _ROMAN_RE.fullmatch(m["num"].upper()):
            m = None
    if m is None:
        return None, heading
    number = _one_line(m["num"])
    return number, m["rest"].strip() or number


# ------------------------------------------------------------------------------------- tree builder


@dataclass
class _Node:
    level: int  # the source level: "#" count or Heading N
    number: str | None
    title: str
    loc: int
    paras: list[str] = field(default_factory=list)
    children: list[_Node] = field(default_factory=list)


def _error(
    reason: str, loc_key: str | None = None, loc: int | None = None, **params: Any
) -> DocumentImportError:
    if loc_key is not None and loc is not None:
        params[loc_key] = loc
    return DocumentImportError(reason=reason, **params)


def _make_node(text: str, level: int, loc: int, loc_key: str) -> _Node | None:
    text = _one_line(text)
    if not text:
        return None
    number, title = split_number(text)
    if len(title) > MAX_TITLE_LEN:
        raise _error(
            "title_too_long", loc_key, loc, detail=f"heading of {len(title)} characters (max {MAX_TITLE_LEN})"
        )
    return _Node(level=level, number=number, title=title, loc=loc)


def _add_node(heads: list[_Node], node: _Node, loc_key: str) -> None:
    # +1: a single top heading may turn into the document title
    if len(heads) > MAX_SECTIONS + 1:
        raise _error("too_many_sections", loc_key, node.loc, detail=f"more than {MAX_SECTIONS} sections")
    heads.append(node)


def _join(paras: list[str]) -> str:
    return "\n\n".join(p for p in paras if p.strip()).strip()


def _assemble(
    heads: list[_Node],
    intro: list[str],
    *,
    loc_key: str,
    title: str | None,
    fallback_title: str | None,
) -> ParsedDocument:
    if not heads:
        raise _error("no_headings", detail="the document has no headings to split it into sections")
    roots: list[_Node] = []
    stack: list[_Node] = []
    for node in heads:
        while stack and stack[-1].level >= node.level:
            stack.pop()
        if stack:
            parent = stack[-1]
            if node.level > parent.level + 1:
                raise _error(
                    "heading_skip",
                    loc_key,
                    node.loc,
                    detail=f"level {node.level} heading right after level {parent.level}",
                )
            parent.children.append(node)
        else:
            roots.append(node)
        stack.append(node)

    intro_paras = list(intro)
    # a single unnumbered top heading over deeper ones is the document's title
    if title is None and len(roots) == 1 and roots[0].children and roots[0].number is None:
        title = roots[0].title
        intro_paras.extend(roots[0].paras)
        roots = roots[0].children
    if title is None:
        title = fallback_title

    sections = [_convert(node, 1) for node in roots]
    _check_duplicates(roots, loc_key)
    intro_text = _join(intro_paras)
    if intro_text:
        sections.insert(0, ParsedSection(number=None, title=INTRO_TITLE, body=intro_text, level=1))
    doc = ParsedDocument(title=title, sections=sections)
    total = doc.count()
    if total > MAX_SECTIONS:
        raise _error("too_many_sections", detail=f"{total} sections (max {MAX_SECTIONS})")
    return doc


def _convert(node: _Node, level: int) -> ParsedSection:
    return ParsedSection(
        number=node.number,
        title=node.title,
        body=_join(node.paras),
        level=level,
        children=[_convert(child, level + 1) for child in node.children],
    )


def _check_duplicates(siblings: list[_Node], loc_key: str) -> None:
    seen: dict[str, _Node] = {}
    for node in siblings:
        if node.number is not None:
            key = node.number.casefold()
            first = seen.setdefault(key, node)
            if first is not node:
                raise _error(
                    "duplicate_number",
                    loc_key,
                    node.loc,
                    detail=f"number {node.number!r} already used by a sibling ({loc_key} {first.loc})",
                )
        _check_duplicates(node.children, loc_key)


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
        raise _error("empty", detail="the file is empty")
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return raw.decode("utf-16")
        except UnicodeDecodeError as exc:
            raise _error("encoding", detail=f"invalid UTF-16: {exc.reason}") from None
    if raw.startswith(b"\xef\xbb\xbf"):
        raw = raw[3:]
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        hint = "; this looks like a zip/DOCX file" if raw.startswith(b"PK\x03\x04") else ""
        raise _error(
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
                    return end + 1, _one_line(m[1].strip().strip("'\"")) or None, offset
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
    text = _clean(_decode(data), expand_tabs=True)
    if not text.strip():
        raise _error("empty", detail="the file has no text")
    lines = text.split("\n")
    start, fm_title, fm_title_line = _front_matter(lines)
    if fm_title is not None and len(fm_title) > MAX_TITLE_LEN:
        raise _error("title_too_long", "line", fm_title_line, detail="front matter title too long")

    heads: list[_Node] = []
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
            node = _make_node(_unwrap_emphasis(heading.strip()), len(m[1]), lineno, "line")
            if node is not None:  # an empty "#" line is dropped
                _add_node(heads, node, "line")
                paras = node.paras
            continue
        m = _SETEXT_RE.match(line)
        if m and setext_ok and len(cur) == 1:
            setext_ok = False
            node = _make_node(
                _unwrap_emphasis(cur.pop().strip()), 1 if m[1][0] == "=" else 2, lineno - 1, "line"
            )
            if node is not None:
                _add_node(heads, node, "line")
                paras = node.paras
            continue
        setext_ok = not cur and not _NOT_SETEXT_TEXT_RE.match(line)
        cur.append(line)
    _flush(cur, paras)

    return _assemble(heads, intro, loc_key="line", title=None, fallback_title=fm_title)


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
    return _clean("".join(parts), expand_tabs=False)


def _table_text(tbl: Any) -> str:
    rows: list[str] = []
    for tr in tbl.iterchildren(_W_TR):
        cells = [_one_line(" ".join(_para_text(p) for p in _CELL_PARAS(tc))) for tc in tr.iterchildren(_W_TC)]
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
            name = unicodedata.normalize("NFC", _one_line(names[0])).casefold() if names else ""
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
        raise _error("empty", detail="the file is empty")
    if data.startswith(_OLE_MAGIC):
        raise _error("not_docx", detail="a legacy Word 97-2003 (.doc) file; save it as .docx")
    if limits is None:
        from core.config import get_settings

        limits = ArchiveLimits.from_settings(get_settings())
    try:  # the zip bomb guard (ArchiveRejected) before python-docx unpacks anything
        check_archive(data, limits)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, OSError, EOFError):
        raise _error("not_docx", detail="not a DOCX file (not a zip archive)") from None

    import docx

    try:
        return docx.Document(io.BytesIO(data))
    except Exception as exc:  # python-docx / lxml / zipfile raise many kinds on a broken package
        raise _error("not_docx", detail=f"not a readable DOCX file ({type(exc).__name__})") from None


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
        title = _one_line(_clean(part.core_properties.title or "", expand_tabs=False))
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

    heads: list[_Node] = []
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
            node = _make_node(text, kind, index, "paragraph")
            if node is not None:
                _add_node(heads, node, "paragraph")
                paras = node.paras
        elif kind == _TITLE and not heads:
            title_parts.append(text)
            title_loc = index if title_loc is None else title_loc
        else:
            paras.append(text)

    if not has_text:
        raise _error("empty", detail="the document has no text")
    title = _one_line(" ".join(title_parts)) or None
    if title is not None and len(title) > MAX_TITLE_LEN:
        raise _error("title_too_long", "paragraph", title_loc, detail=f"title of {len(title)} characters")
    return _assemble(heads, intro, loc_key="paragraph", title=title, fallback_title=_core_title(document))


# --------------------------------------------------------------------------------------------- files


def parse_file(path: Path) -> ParsedDocument:
    """Dispatch on the suffix: .md/.markdown/.txt → Markdown, .docx → DOCX, anything else refused."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix in MARKDOWN_SUFFIXES:
        return parse_markdown(path.read_bytes())
    if suffix in DOCX_SUFFIXES:
        return parse_docx(path.read_bytes())
    raise _error(
        "unsupported_format", detail=f"unsupported file type {suffix or '(no suffix)'}; use .md or .docx"
    )
