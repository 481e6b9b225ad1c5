"""A parsed draft document: a tree of numbered sections, and the rules every draft format shares.

``formats.drafts`` reads Markdown and DOCX into :class:`HeadingNode` lists; :func:`assemble` turns them
into a :class:`ParsedDocument` and enforces what a valid draft is. Every failure is a
:class:`~core.errors.DocumentImportError` (see ``formats.drafts`` for the reasons and locations).

Text is normalised to Unicode NFC by :func:`clean_text`: control characters are removed (newlines
kept, tabs expanded or turned into spaces, CR/CRLF become LF).

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

import re
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from core.errors import DocumentImportError

MAX_TITLE_LEN = 500
MAX_SECTIONS = 2000
INTRO_TITLE = "Mở đầu"


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


def clean_text(text: str, *, expand_tabs: bool) -> str:
    text = _CR_RE.sub("\n", text)
    text = _BREAKISH_RE.sub(" ", text)
    text = unicodedata.normalize("NFC", _DROP_RE.sub("", text))
    return text.expandtabs(4) if expand_tabs else text.replace("\t", " ")


def one_line(text: str) -> str:
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
    heading = one_line(heading)
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
    number = one_line(m["num"])
    return number, m["rest"].strip() or number


# ------------------------------------------------------------------------------------- tree builder


@dataclass
class HeadingNode:
    """A heading as read from the source, with the paragraphs under it; ``loc`` is its line / paragraph."""

    level: int  # the source level: "#" count or Heading N
    number: str | None
    title: str
    loc: int
    paras: list[str] = field(default_factory=list)
    children: list[HeadingNode] = field(default_factory=list)


def import_error(
    reason: str, loc_key: str | None = None, loc: int | None = None, **params: Any
) -> DocumentImportError:
    """The import error of ``reason``, located at ``loc_key`` (``line`` / ``paragraph``) ``loc``."""
    if loc_key is not None and loc is not None:
        params[loc_key] = loc
    return DocumentImportError(reason=reason, **params)


def make_heading(text: str, level: int, loc: int, loc_key: str) -> HeadingNode | None:
    """The heading of ``text`` with its number split off; ``None`` for an empty heading."""
    text = one_line(text)
    if not text:
        return None
    number, title = split_number(text)
    if len(title) > MAX_TITLE_LEN:
        raise import_error(
            "title_too_long", loc_key, loc, detail=f"heading of {len(title)} characters (max {MAX_TITLE_LEN})"
        )
    return HeadingNode(level=level, number=number, title=title, loc=loc)


def add_heading(heads: list[HeadingNode], node: HeadingNode, loc_key: str) -> None:
    """Append ``node``, refusing a document with too many sections as soon as that is certain."""
    # +1: a single top heading may turn into the document title
    if len(heads) > MAX_SECTIONS + 1:
        raise import_error(
            "too_many_sections", loc_key, node.loc, detail=f"more than {MAX_SECTIONS} sections"
        )
    heads.append(node)


def _join(paras: list[str]) -> str:
    return "\n\n".join(p for p in paras if p.strip()).strip()


def assemble(
    heads: list[HeadingNode],
    intro: list[str],
    *,
    loc_key: str,
    title: str | None,
    fallback_title: str | None,
) -> ParsedDocument:
    """Nest the headings by level into the section tree, checking levels, numbers and limits.

    A single unnumbered top heading over deeper ones becomes the title when ``title`` is ``None``;
    ``fallback_title`` is used when neither gives one; ``intro`` becomes the "Mở đầu" section.
    """
    if not heads:
        raise import_error("no_headings", detail="the document has no headings to split it into sections")
    roots: list[HeadingNode] = []
    stack: list[HeadingNode] = []
    for node in heads:
        while stack and stack[-1].level >= node.level:
            stack.pop()
        if stack:
            parent = stack[-1]
            if node.level > parent.level + 1:
                raise import_error(
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
        raise import_error("too_many_sections", detail=f"{total} sections (max {MAX_SECTIONS})")
    return doc


def _convert(node: HeadingNode, level: int) -> ParsedSection:
    return ParsedSection(
        number=node.number,
        title=node.title,
        body=_join(node.paras),
        level=level,
        children=[_convert(child, level + 1) for child in node.children],
    )


def _check_duplicates(siblings: list[HeadingNode], loc_key: str) -> None:
    seen: dict[str, HeadingNode] = {}
    for node in siblings:
        if node.number is not None:
            key = node.number.casefold()
            first = seen.setdefault(key, node)
            if first is not node:
                raise import_error(
                    "duplicate_number",
                    loc_key,
                    node.loc,
                    detail=f"number {node.number!r} already used by a sibling ({loc_key} {first.loc})",
                )
        _check_duplicates(node.children, loc_key)


@dataclass(frozen=True)
class DraftFile:
    """A draft file as read by ``formats.drafts.read_draft``: its parsed sections, its optional front matter
    (code, title, status, level, dates, is_sample) and the SHA-256 of its bytes (reloads of an unchanged file
    are no-ops)."""

    filename: str
    sha256: str
    meta: dict[str, Any]
    parsed: ParsedDocument


DRAFT_SUFFIXES = (".md", ".markdown", ".txt", ".docx")
