"""An administrative document (a Party / Front report draft) as plain data, whatever file it becomes.

A report is a letterhead (issuing body | "ĐẢNG CỘNG SẢN VIỆT NAM", place and date), a title block,
numbered parts made of headings, paragraphs, tables and bar charts, and a closing (recipients |
signature). Core builds these from its own results, already worded through the catalog;
``formats.docx_layout`` lays any of them out on A4 in the one house layout.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Letterhead:
    """The two-column header: the issuing body on the left, the Party's name and the date on the right."""

    issuer: str
    party: str
    place_date: str
    issuer_parent: str | None = None  # the body above the issuer, e.g. "ĐẢNG BỘ THÀNH PHỐ"
    number: str | None = None  # "Số      -BC/BDVTU", left blank for the clerk


@dataclass(frozen=True)
class Heading:
    """A sub-heading inside a part ("1. Theo chủ đề", a section of the draft)."""

    text: str
    italic: bool = False


@dataclass(frozen=True)
class Paragraph:
    """Body text: justified with a first-line indent."""

    text: str
    italic: bool = False


@dataclass(frozen=True)
class Table:
    """A grid table: a header row, then rows of cells (numbers as text, already formatted)."""

    headings: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    widths_cm: tuple[float, ...] = ()


@dataclass(frozen=True)
class BarChart:
    """Horizontal bars, largest first as given; ``caption`` titles the chart and is printed under it."""

    caption: str
    bars: tuple[tuple[str, int], ...]


Block = Heading | Paragraph | Table | BarChart


@dataclass(frozen=True)
class Part:
    """A numbered part: ``heading`` carries its own number ("I. TÌNH HÌNH CHUNG")."""

    heading: str
    blocks: tuple[Block, ...]


@dataclass(frozen=True)
class Closing:
    """The bottom table: "Nơi nhận:" and its list on the left, the signer's lines on the right."""

    recipients: str
    recipients_list: tuple[str, ...] = ()
    signer: tuple[str, ...] = ()


@dataclass(frozen=True)
class AdminDocument:
    """A whole report: letterhead, title (type, subject, an optional note), intro, parts, closing."""

    letterhead: Letterhead
    title: str
    subject: str
    parts: tuple[Part, ...]
    closing: Closing
    note: str | None = None  # e.g. "(Dự thảo … cần được cán bộ rà soát)"
    intro: tuple[str, ...] = ()
