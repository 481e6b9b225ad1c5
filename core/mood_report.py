"""DOCX draft of the Commission's mood report ("Báo cáo tình hình Nhân dân trước/sau Đại hội …").

Built with python-docx in the administrative layout of Party documents: A4, margins 20/20/30/15 mm,
Times New Roman 14 pt body (13 pt header block), a two-column header (issuing body | "ĐẢNG CỘNG SẢN
VIỆT NAM", place and date), the title, numbered parts, tables, and the recipients block. It is a
*draft*: staff complete the assessment and sign it.

The units section takes a plain list of :class:`UnitReportLine` (or ``(name, status, submitted_at)``
tuples): the units' own reports live in another module, and the caller feeds them here. ``None`` or an
empty list renders "no unit data".
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from datetime import datetime
from typing import NamedTuple
from zoneinfo import ZoneInfo

from docx import Document as new_document
from docx.enum.table import WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.oxml.ns import qn
from docx.shared import Cm, Mm, Pt
from docx.table import Table
from docx.text.paragraph import Paragraph

from core.i18n import t
from core.mood import MOOD_KINDS, MoodSummary, summarise_mood_period
from core.ports import UnitOfWork
from core.reporting import ReportingUnitOfWork, period_compliance

FONT = "Times New Roman"
BODY_PT = 14
HEADER_PT = 13
TABLE_PT = 13
TOP_GROUPS_PER_KIND = 10
TOP_ROWS_PER_TABLE = 12
UNIT_STATUSES = ("on_time", "late", "claimed", "missing")


class UnitReportLine(NamedTuple):
    """One reporting unit for the period: ``status`` is ``on_time``, ``late``, ``claimed`` or ``missing``."""

    name: str
    status: str
    submitted_at: datetime | None = None


def build_mood_report_docx(
    summary: MoodSummary,
    *,
    units: Sequence[UnitReportLine | tuple[str, str, datetime | None]] | None,
    now: datetime,
    timezone: str = "Asia/Ho_Chi_Minh",
    language: str = "vi",
) -> bytes:
    """The report draft as DOCX bytes."""
    builder = _Builder(language, ZoneInfo(timezone))
    builder.header(now)
    builder.title(summary)
    builder.intro(summary)
    builder.overview(summary)
    builder.main_contents(summary)
    builder.units(None if units is None else [UnitReportLine(*u) for u in units])
    builder.assessment()
    builder.recipients()
    return builder.save()


async def draft_mood_report(
    *,
    uow: UnitOfWork,
    period_code: str,
    now: datetime,
    units: Sequence[UnitReportLine | tuple[str, str, datetime | None]] | None = None,
    timezone: str = "Asia/Ho_Chi_Minh",
    language: str = "vi",
) -> bytes:
    """The DOCX draft of the mood report of one period (entries + the units' reports), as bytes."""
    summary = await summarise_mood_period(uow=uow, period_code=period_code, language=language)
    return build_mood_report_docx(summary, units=units, now=now, timezone=timezone, language=language)


class _Builder:
    def __init__(self, language: str, tz: ZoneInfo) -> None:
        self.lang = language
        self.tz = tz
        self.doc = new_document()
        section = self.doc.sections[0]
        section.page_width, section.page_height = Mm(210), Mm(297)
        section.top_margin, section.bottom_margin = Mm(20), Mm(20)
        section.left_margin, section.right_margin = Mm(30), Mm(15)
        style = self.doc.styles["Normal"]
        style.font.name = FONT
        style.font.size = Pt(BODY_PT)
        # East-Asian/complex-script font slots too, so Word never substitutes for Vietnamese letters.
        rfonts = style.element.get_or_add_rPr().get_or_add_rFonts()
        for attr in ("w:ascii", "w:hAnsi", "w:eastAsia", "w:cs"):
            rfonts.set(qn(attr), FONT)
        style.paragraph_format.space_after = Pt(6)
        style.paragraph_format.line_spacing = 1.15
        self.part_number = 0

    def _(self, key: str, **params: object) -> str:
        return t(f"mood.report.{key}", self.lang, **params)

    def date(self, value: datetime | None) -> str:
        return value.astimezone(self.tz).strftime("%d/%m/%Y") if value else "—"

    def paragraph(
        self,
        text: str = "",
        *,
        bold: bool = False,
        italic: bool = False,
        size: int = BODY_PT,
        align: WD_ALIGN_PARAGRAPH = WD_ALIGN_PARAGRAPH.JUSTIFY,
        indent: bool = True,
        container: object = None,
    ) -> Paragraph:
        target = container if container is not None else self.doc
        para: Paragraph = target.add_paragraph()  # type: ignore[attr-defined]
        para.alignment = align
        if indent and align == WD_ALIGN_PARAGRAPH.JUSTIFY:
            para.paragraph_format.first_line_indent = Cm(1.27)
        run = para.add_run(text)
        run.bold, run.italic = bold, italic
        run.font.size = Pt(size)
        run.font.name = FONT
        return para

    def header(self, now: datetime) -> None:
        table = self.doc.add_table(rows=1, cols=2)
        table.alignment = WD_TABLE_ALIGNMENT.CENTER
        left, right = table.rows[0].cells
        left.width, right.width = Cm(7.5), Cm(9)
        centre = WD_ALIGN_PARAGRAPH.CENTER
        left.paragraphs[0].text = ""
        first = left.paragraphs[0]
        first.alignment = centre
        run = first.add_run(self._("issuer_parent"))
        run.font.size = Pt(HEADER_PT)
        self.paragraph(self._("issuer"), bold=True, size=HEADER_PT, align=centre, container=left)
        self.paragraph("*", size=HEADER_PT, align=centre, container=left)
        self.paragraph(self._("number"), size=HEADER_PT, align=centre, container=left)
        top = right.paragraphs[0]
        top.alignment = centre
        run = top.add_run(self._("party"))
        run.bold, run.underline = True, True
        run.font.size = Pt(15)
        local = now.astimezone(self.tz)
        self.paragraph(
            self._("place_date", day=local.day, month=local.month, year=local.year),
            italic=True,
            size=HEADER_PT,
            align=centre,
            container=right,
        )
        self.paragraph()

    def title(self, summary: MoodSummary) -> None:
        centre = WD_ALIGN_PARAGRAPH.CENTER
        self.paragraph(self._("title"), bold=True, size=16, align=centre)
        subject = summary.period.title(self.lang)
        prefix = self._("title_prefix")
        if subject.lower().startswith(prefix.lower()):
            subject = subject[len(prefix) :].strip()
            subject = subject[:1].upper() + subject[1:]
        self.paragraph(subject, bold=True, align=centre)
        self.paragraph("-----", align=centre)

    def intro(self, summary: MoodSummary) -> None:
        if summary.total:
            text = self._(
                "intro",
                congress=summary.congress.name(self.lang),
                first=self.date(summary.first_at),
                last=self.date(summary.last_at),
                total=summary.total,
            )
        else:
            text = self._("intro_empty", congress=summary.congress.name(self.lang))
        self.paragraph(text)

    def part(self, key: str) -> None:
        self.part_number += 1
        roman = ("I", "II", "III", "IV", "V", "VI")[self.part_number - 1]
        self.paragraph(f"{roman}. {self._(key)}", bold=True, indent=False)

    def overview(self, summary: MoodSummary) -> None:
        self.part("part_overview")
        by_kind = summary.counts.get("kind", {})
        kinds = "; ".join(f"{summary.label('kind', k.value)}: {by_kind.get(k.value, 0)}" for k in MOOD_KINDS)
        self.paragraph(self._("totals", total=summary.total, kinds=kinds, withdrawn=summary.withdrawn))
        if not summary.total:
            return
        for number, (dim, key) in enumerate(
            (
                ("topic", "by_topic"),
                ("category", "by_category"),
                ("organisation", "by_organisation"),
                ("locality", "by_locality"),
            ),
            start=1,
        ):
            self.paragraph(f"{number}. {self._(key)}", bold=True, indent=False)
            self.counts_table(summary, dim)

    def counts_table(self, summary: MoodSummary, dim: str) -> None:
        counts = list(summary.counts.get(dim, {}).items())
        shown = counts[:TOP_ROWS_PER_TABLE]
        rest = sum(n for _, n in counts[TOP_ROWS_PER_TABLE:])
        rows = [(summary.label(dim, code), n) for code, n in shown]
        if rest:
            rows.append((self._("others"), rest))
        table = self.table(
            [self._("col_item"), self._("col_count"), self._("col_share")], [1.2, 9.3, 3.0, 3.0]
        )
        for i, (name, n) in enumerate(rows, start=1):
            share = f"{100 * n / summary.total:.1f}%".replace(".", "," if self.lang == "vi" else ".")
            self.row(table, [str(i), name, str(n), share])
        self.paragraph()

    def table(self, headings: list[str], widths: list[float]) -> Table:
        table = self.doc.add_table(rows=1, cols=len(headings) + 1)
        table.style = "Table Grid"
        table.alignment = WD_TABLE_ALIGNMENT.CENTER
        self.row(table, [self._("col_no"), *headings], bold=True, first=True)
        for column, width in zip(table.columns, widths, strict=False):
            for cell in column.cells:
                cell.width = Cm(width)
        return table

    def row(self, table: Table, values: list[str], *, bold: bool = False, first: bool = False) -> None:
        cells = table.rows[0].cells if first else table.add_row().cells
        for cell, value in zip(cells, values, strict=True):
            para = cell.paragraphs[0]
            para.alignment = WD_ALIGN_PARAGRAPH.CENTER if bold or value.isdigit() else WD_ALIGN_PARAGRAPH.LEFT
            run = para.add_run(value)
            run.bold = bold
            run.font.size = Pt(TABLE_PT)
            run.font.name = FONT

    def main_contents(self, summary: MoodSummary) -> None:
        self.part("part_contents")
        if not summary.total:
            self.paragraph(self._("no_entries"))
            return
        for number, kind in enumerate(MOOD_KINDS, start=1):
            groups = [g for g in summary.groups if g.kind is kind]
            self.paragraph(f"{number}. {summary.label('kind', kind.value)}", bold=True, indent=False)
            if not groups:
                self.paragraph(self._("none_of_kind"))
                continue
            for group in groups[:TOP_GROUPS_PER_KIND]:
                suffix = self._("similar", count=group.count) if group.count > 1 else ""
                self.paragraph(f"- {group.representative.rstrip(' .;,')}{suffix}.")
            if len(groups) > TOP_GROUPS_PER_KIND:
                others = sum(g.count for g in groups[TOP_GROUPS_PER_KIND:])
                self.paragraph(self._("more_groups", count=others))

    def units(self, units: list[UnitReportLine] | None) -> None:
        self.part("part_units")
        if not units:
            self.paragraph(self._("no_unit_data"))
            return
        counts = {status: sum(1 for u in units if u.status == status) for status in UNIT_STATUSES}
        self.paragraph(self._("units_totals", total=len(units), **counts))
        table = self.table(
            [self._("col_unit"), self._("col_status"), self._("col_submitted")], [1.2, 8.0, 3.5, 3.3]
        )
        order = {status: i for i, status in enumerate(UNIT_STATUSES)}
        for i, unit in enumerate(sorted(units, key=lambda u: (order.get(u.status, 9), u.name)), start=1):
            status = self._(f"unit_{unit.status}") if unit.status in order else unit.status
            self.row(table, [str(i), unit.name, status, self.date(unit.submitted_at)])
        self.paragraph()

    def assessment(self) -> None:
        self.part("part_assessment")
        self.paragraph(self._("assessment_placeholder"), italic=True)

    def recipients(self) -> None:
        table = self.doc.add_table(rows=1, cols=2)
        left, right = table.rows[0].cells
        first = left.paragraphs[0]
        run = first.add_run(self._("recipients"))
        run.bold, run.italic = True, True
        run.font.size = Pt(12)
        for line in self._("recipients_list").splitlines():
            self.paragraph(line, size=11, align=WD_ALIGN_PARAGRAPH.LEFT, container=left)
        top = right.paragraphs[0]
        top.alignment = WD_ALIGN_PARAGRAPH.CENTER
        run = top.add_run(self._("signer_for"))
        run.bold = True
        self.paragraph(self._("signer_title"), bold=True, align=WD_ALIGN_PARAGRAPH.CENTER, container=right)

    def save(self) -> bytes:
        buffer = io.BytesIO()
        self.doc.save(buffer)
        return buffer.getvalue()


async def units_of_period(
    *, uow: ReportingUnitOfWork, period_code: str, now: datetime
) -> list[UnitReportLine]:
    """The reporting units' lines for the mood report, from the period's compliance table."""
    rows = await period_compliance(uow=uow, period_code=period_code, now=now)
    return [UnitReportLine(row.unit_name, row.status.value, row.submitted_at) for row in rows]
