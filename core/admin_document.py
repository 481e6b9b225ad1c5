"""An administrative document (a Party / Front report draft) as plain data, whatever file it becomes.

A report is a letterhead (issuing body | "ĐẢNG CỘNG SẢN VIỆT NAM", place and date), a title block,
numbered parts made of headings, paragraphs, tables and bar charts, and a closing (recipients |
signature). Core builds these from its own results, already worded through the catalog;
``formats.docx_layout`` lays any of them out on A4 in the one house layout (Quy định 66-QĐ/TW,
Hướng dẫn 36-HD/VPTW). Who issues and signs the report, where, and to whom it goes are an
:class:`Issuer` built from the settings, never written in code.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from core.i18n import t


@dataclass(frozen=True)
class Issuer:
    """The issuing body of the reports and how they are phrased (``Settings.report_issuer()``)."""

    parent: str  # the superior body, e.g. "ĐẢNG BỘ THÀNH PHỐ HẢI PHÒNG"
    body: str  # "BAN DÂN VẬN THÀNH ỦY"
    symbol: str  # the symbol after the number: "BC/BDVTU"
    place: str  # "Hải Phòng"
    recipients: tuple[str, ...]  # "Ban Thường vụ Thành ủy (để báo cáo)", ..., "Lưu Văn phòng"
    signer_for: str  # "T/M BAN DÂN VẬN"
    signer_title: str  # "TRƯỞNG BAN"
    signer_name: str = ""
    majority_share: float = 0.5  # "đa số ý kiến": more than this share of a section's opinions
    many_share: float = 0.2  # "nhiều ý kiến": at least this share; "một số ý kiến" below; "có ý kiến": one
    generator: str = ""  # the program, named in the file's properties only


@dataclass(frozen=True)
class Letterhead:
    """The two-column header: the issuing body on the left, the Party's name and the date on the right."""

    issuer: str
    party: str
    place_date: str
    issuer_parent: str | None = None  # the body above the issuer, e.g. "ĐẢNG BỘ THÀNH PHỐ HẢI PHÒNG"
    number: str | None = None  # "Số      -BC/BDVTU", left blank for the clerk


@dataclass(frozen=True)
class Heading:
    """A sub-heading inside a part ("1. Theo chủ đề", a section of the draft); kept with what follows."""

    text: str
    italic: bool = False


@dataclass(frozen=True)
class Paragraph:
    """Body text: justified with a first-line indent."""

    text: str
    italic: bool = False


@dataclass(frozen=True)
class Table:
    """A grid table: a caption above it, a header row (repeated on every page), rows of cells (numbers
    as text, already formatted) and an optional bold total row."""

    headings: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    widths_cm: tuple[float, ...] = ()
    caption: str = ""
    total: tuple[str, ...] | None = None


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
    signer_name: str = ""


@dataclass(frozen=True)
class AdminDocument:
    """A whole report: letterhead, title (type, subject, an optional note), intro, parts, closing."""

    letterhead: Letterhead
    title: str
    subject: str
    parts: tuple[Part, ...]
    closing: Closing
    note: str | None = None  # e.g. "(Dự thảo — cán bộ rà soát, hoàn thiện trước khi trình ký)"
    intro: tuple[str, ...] = ()
    appendices: tuple[Part, ...] = ()  # after the signature, each from a new page
    generator: str = ""  # document properties only, never in the text


ROMAN = ("I", "II", "III", "IV", "V", "VI", "VII", "VIII", "IX", "X")


def letterhead_of(issuer: Issuer, day: datetime, language: str = "vi") -> Letterhead:
    """The letterhead of ``issuer`` dated ``day`` (a local date): "Hải Phòng, ngày 01 tháng 12 năm 2026"."""
    return Letterhead(
        issuer_parent=issuer.parent or None,
        issuer=issuer.body,
        number=t("report.number", language, symbol=issuer.symbol),
        party=t("report.party", language),
        place_date=t(
            "report.place_date", language, place=issuer.place, day=day.day, month=day.month, year=day.year
        ),
    )


def closing_of(issuer: Issuer, language: str = "vi") -> Closing:
    """ "Nơi nhận:" with the recipients as a dash list ("- …," and "- ….") and the signature block."""
    lines = [line.strip().rstrip(" ,.;") for line in issuer.recipients if line.strip()]
    listed = tuple(f"- {line}{'.' if i == len(lines) - 1 else ','}" for i, line in enumerate(lines))
    return Closing(
        recipients=t("report.recipients", language),
        recipients_list=listed,
        signer=tuple(line for line in (issuer.signer_for, issuer.signer_title) if line),
        signer_name=issuer.signer_name,
    )


def share_word(count: int, total: int, issuer: Issuer) -> str:
    """How official syntheses quantify a group: ``majority``, ``many``, ``some`` (two or more), ``one``."""
    if count <= 1:
        return "one"
    if total and count / total > issuer.majority_share:
        return "majority"
    if total and count / total >= issuer.many_share:
        return "many"
    return "some"


_QUOTES = {'"': '"', "'": "'", "«": "»", "“": "”"}


def indirect(text: str) -> str:
    """``text`` as reported speech after "cho rằng": no quotes, no final stop, a lower-case first
    letter unless the text opens on a name (two capitalised words: "Hải Phòng cần …") or an acronym."""
    body = " ".join(text.split()).rstrip(" .;,!")
    if len(body) > 1 and body[0] in _QUOTES and body[-1] == _QUOTES[body[0]]:  # quoted whole: unquote
        body = body[1:-1].strip().rstrip(" .;,!")
    words = body.split(" ", 2)
    first = words[0] if words else ""
    name = len(words) > 1 and words[1][:1].isupper()
    acronym = len(first) > 1 and first.isupper()
    if first[:1].isupper() and not acronym and not name:
        body = body[0].lower() + body[1:]
    return body
