"""The one administrative-document layout of every Word report (python-docx).

A4 portrait, margins 20 mm top and bottom, 30 mm left, 15 mm right; Times New Roman (every script
slot, so Word never substitutes a font for Vietnamese letters) 14 pt body, 13 pt letterhead and
tables, 16 pt document type; justified paragraphs with a 1.27 cm first-line indent. Laid out top to
bottom: the two-column letterhead (issuing body and "*" | "ĐẢNG CỘNG SẢN VIỆT NAM" underlined, place
and date in italics), the title block, the numbered parts, the closing (recipients | signature), then
each appendix on a new page. Page numbers at the top centre from page 2. Headings and table captions
are kept with what follows; table header rows repeat on every page and no row splits across pages.
The generator is named in the file's properties only.
"""

from __future__ import annotations

import io
from typing import Any

from docx import Document as new_document
from docx.enum.section import WD_ORIENT
from docx.enum.table import WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH, WD_BREAK
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Cm, Mm, Pt
from docx.text.paragraph import Paragraph as DocxParagraph

from core.admin_document import AdminDocument, BarChart, Closing, Heading, Letterhead, Paragraph, Part, Table
from formats.charts import bar_chart_png

FONT = "Times New Roman"
BODY_PT = 14
SMALL_PT = 13  # letterhead, tables, captions, notes
TITLE_PT = 16
PARTY_PT = 15
RECIPIENTS_PT = 12
RECIPIENTS_LIST_PT = 11
INDENT = Cm(1.27)
CHART_WIDTH = Mm(150)
LETTERHEAD_WIDTHS = (Cm(7.5), Cm(9))
SIGNATURE_SPACE = 4  # empty lines left for the signature and the seal

CENTRE = WD_ALIGN_PARAGRAPH.CENTER
LEFT = WD_ALIGN_PARAGRAPH.LEFT
JUSTIFY = WD_ALIGN_PARAGRAPH.JUSTIFY


def render_docx(document: AdminDocument) -> bytes:
    """``document`` laid out as DOCX bytes."""
    doc = new_page()
    properties(doc, document)
    letterhead(doc, document.letterhead)
    paragraph(doc)
    paragraph(doc, document.title, bold=True, size=TITLE_PT, align=CENTRE, keep=True)
    paragraph(doc, document.subject, bold=True, align=CENTRE, keep=True)
    if document.note:
        paragraph(doc, document.note, italic=True, size=SMALL_PT, align=CENTRE, keep=True)
    paragraph(doc, "-----", align=CENTRE)
    for text in document.intro:
        paragraph(doc, text, indent=True)
    for part in document.parts:
        blocks(doc, part)
    paragraph(doc)
    closing(doc, document.closing)
    for appendix in document.appendices:
        paragraph(doc).add_run().add_break(WD_BREAK.PAGE)
        blocks(doc, appendix, align=CENTRE)
    buffer = io.BytesIO()
    doc.save(buffer)
    return buffer.getvalue()


def blocks(doc: Any, part: Part, *, align: WD_ALIGN_PARAGRAPH = LEFT) -> None:
    """A part: its heading (kept with the next line) and its blocks in order."""
    paragraph(doc, part.heading, bold=True, align=align, keep=True)
    for block in part.blocks:
        if isinstance(block, Paragraph):
            paragraph(doc, block.text, italic=block.italic, indent=True)
        elif isinstance(block, Heading):
            paragraph(doc, block.text, bold=True, italic=block.italic, align=LEFT, keep=True)
        elif isinstance(block, Table):
            table(doc, block)
        elif isinstance(block, BarChart):
            chart(doc, block)


def new_page() -> Any:
    """An empty document with the page setup, the Normal style and the page numbers of the layout."""
    doc = new_document()
    section = doc.sections[0]
    section.orientation = WD_ORIENT.PORTRAIT
    section.page_width, section.page_height = Mm(210), Mm(297)
    section.top_margin, section.bottom_margin = Mm(20), Mm(20)
    section.left_margin, section.right_margin = Mm(30), Mm(15)
    style = doc.styles["Normal"]
    style.font.name = FONT
    style.font.size = Pt(BODY_PT)
    rfonts = style.element.get_or_add_rPr().get_or_add_rFonts()
    for attr in ("w:ascii", "w:hAnsi", "w:eastAsia", "w:cs"):
        rfonts.set(qn(attr), FONT)
    style.paragraph_format.space_after = Pt(6)
    style.paragraph_format.line_spacing = 1.15
    style.paragraph_format.widow_control = True
    page_numbers(section)
    return doc


def page_numbers(section: Any) -> None:
    """A PAGE field at the top centre of every page but the first."""
    section.different_first_page_header_footer = True
    para = section.header.paragraphs[0]
    para.alignment = CENTRE
    run = para.add_run()
    run.font.name, run.font.size = FONT, Pt(SMALL_PT)
    for kind, text in (("begin", None), (None, "PAGE"), ("end", None)):
        if kind:
            element = OxmlElement("w:fldChar")
            element.set(qn("w:fldCharType"), kind)
        else:
            element = OxmlElement("w:instrText")
            element.set(qn("xml:space"), "preserve")
            element.text = text
        run._r.append(element)


def properties(doc: Any, document: AdminDocument) -> None:
    """Title, author (the issuing body), the draft status and the generator, in the file's properties."""
    props = doc.core_properties
    props.title = f"{document.title} {document.subject}".strip()[:250]
    props.author = props.last_modified_by = document.letterhead.issuer
    props.subject = document.subject[:250]
    props.comments = document.generator
    props.content_status = document.note or ""
    props.language = "vi-VN"


def paragraph(
    container: Any,
    text: str = "",
    *,
    bold: bool = False,
    italic: bool = False,
    underline: bool = False,
    size: int = BODY_PT,
    align: WD_ALIGN_PARAGRAPH = JUSTIFY,
    indent: bool = False,
    first: bool = False,
    keep: bool = False,
) -> DocxParagraph:
    """A paragraph of one run added to ``container`` (the document or a cell; ``first``: its first one);
    ``keep``: kept on the page of the next paragraph (a heading never alone at a page foot)."""
    para: DocxParagraph = container.paragraphs[0] if first else container.add_paragraph()
    para.alignment = align
    if indent:
        para.paragraph_format.first_line_indent = INDENT
    if keep:
        para.paragraph_format.keep_with_next = True
    run = para.add_run(text)
    run.bold, run.italic, run.underline = bold, italic, underline
    run.font.name = FONT
    run.font.size = Pt(size)
    return para


def letterhead(doc: Any, head: Letterhead) -> None:
    grid = doc.add_table(rows=1, cols=2)
    grid.alignment = WD_TABLE_ALIGNMENT.CENTER
    left, right = grid.rows[0].cells
    left.width, right.width = LETTERHEAD_WIDTHS
    lines: list[tuple[str, bool]] = [(head.issuer_parent, False)] if head.issuer_parent else []
    lines += [(head.issuer, True), ("*", False)]
    if head.number:
        lines.append((head.number, False))
    for index, (text, bold) in enumerate(lines):
        paragraph(left, text, bold=bold, size=SMALL_PT, align=CENTRE, first=index == 0)
    paragraph(right, head.party, bold=True, underline=True, size=PARTY_PT, align=CENTRE, first=True)
    paragraph(right, "", size=SMALL_PT, align=CENTRE)
    paragraph(right, head.place_date, italic=True, size=SMALL_PT, align=CENTRE)


def table(doc: Any, data: Table) -> None:
    """A centred grid under its caption: a bold header row repeated on every page, rows that never
    split across pages, numbers centred, an optional bold total row, then an empty paragraph."""
    if data.caption:
        paragraph(doc, data.caption, bold=True, italic=True, size=SMALL_PT, align=CENTRE, keep=True)
    grid = doc.add_table(rows=1, cols=len(data.headings))
    grid.style = "Table Grid"
    grid.alignment = WD_TABLE_ALIGNMENT.CENTER
    _row(grid.rows[0], data.headings, bold=True, header=True)
    for values in data.rows:
        _row(grid.add_row(), values)
    if data.total:
        _row(grid.add_row(), data.total, bold=True)
    if data.widths_cm:
        grid.autofit = False
    for column, width in zip(grid.columns, data.widths_cm, strict=False):
        column.width = Cm(width)  # the grid, which LibreOffice reads, and each cell, which Word reads
        for cell in column.cells:
            cell.width = Cm(width)
    paragraph(doc)


def _row(row: Any, values: tuple[str, ...], *, bold: bool = False, header: bool = False) -> None:
    row_properties = row._tr.get_or_add_trPr()
    for flag in ("w:cantSplit", "w:tblHeader") if header else ("w:cantSplit",):
        row_properties.append(_flag(flag))
    for cell, value in zip(row.cells, values, strict=True):
        centre = header or value.replace(",", "").replace(".", "").isdigit()
        paragraph(cell, value, bold=bold, size=SMALL_PT, align=CENTRE if centre else LEFT, first=True)


def chart(doc: Any, data: BarChart) -> None:
    doc.add_picture(io.BytesIO(bar_chart_png(data)), width=CHART_WIDTH)
    doc.paragraphs[-1].alignment = CENTRE
    paragraph(doc, data.caption, italic=True, size=SMALL_PT, align=CENTRE)


def closing(doc: Any, data: Closing) -> None:
    grid = doc.add_table(rows=1, cols=2)
    grid.rows[0]._tr.get_or_add_trPr().append(_flag("w:cantSplit"))
    left, right = grid.rows[0].cells
    paragraph(left, data.recipients, bold=True, italic=True, size=RECIPIENTS_PT, align=LEFT, first=True)
    for line in data.recipients_list:
        paragraph(left, line, size=RECIPIENTS_LIST_PT, align=LEFT)
    for index, line in enumerate(data.signer):
        paragraph(right, line, bold=True, align=CENTRE, first=index == 0)
    for _ in range(SIGNATURE_SPACE):
        paragraph(right, align=CENTRE)
    paragraph(right, data.signer_name, bold=True, align=CENTRE)


def _flag(name: str) -> Any:
    element = OxmlElement(name)
    element.set(qn("w:val"), "true")
    return element
