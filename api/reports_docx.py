"""The synthesis report as a Word draft: "Báo cáo tổng hợp ý kiến góp ý của Nhân dân vào dự thảo …".

Laid out like a Vietnamese administrative document: A4, margins 20 mm top and bottom, 30 mm left,
15 mm right; Times New Roman 14 pt body (13 pt for the header block and tables); charts (bars by stance
and by respondent category) drawn with matplotlib's Agg backend and inserted as PNG images.
"""

from __future__ import annotations

import io
from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

from core.consolidate import Consolidation, label_of
from core.i18n import t
from core.text import normalize_input

FONT = "Times New Roman"
BODY_PT = 14
SMALL_PT = 13
MAX_GROUPS_PER_SECTION = 10


def _bar_chart(
    title: str, counts: Mapping[str, int], labels: Mapping[str, Mapping[str, str]], dim: str
) -> bytes:
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator

    names = [label_of(labels, dim, code) for code in counts]
    values = list(counts.values())
    with matplotlib.rc_context({"font.family": "serif", "font.size": 9}):
        figure = Figure(figsize=(6.3, 0.5 + 0.45 * max(1, len(values))), dpi=150)
        axes = figure.subplots()
        axes.barh(names[::-1], values[::-1], color="#b22222")
        for index, value in enumerate(values[::-1]):
            axes.text(value, index, f" {value}", va="center")
        axes.set_title(title, fontsize=11)
        axes.xaxis.set_major_locator(MaxNLocator(integer=True))
        axes.spines[["top", "right"]].set_visible(False)
        axes.set_xlim(0, max(values or [1]) * 1.15 + 1)
        figure.tight_layout()
        buffer = io.BytesIO()
        figure.savefig(buffer, format="png")
    return buffer.getvalue()


def _style_document(document: Any) -> None:
    from docx.enum.section import WD_ORIENT
    from docx.oxml.ns import qn
    from docx.shared import Mm, Pt

    section = document.sections[0]
    section.orientation = WD_ORIENT.PORTRAIT
    section.page_width, section.page_height = Mm(210), Mm(297)
    section.top_margin, section.bottom_margin = Mm(20), Mm(20)
    section.left_margin, section.right_margin = Mm(30), Mm(15)
    normal = document.styles["Normal"]
    normal.font.name = FONT
    normal.font.size = Pt(BODY_PT)
    normal.element.rPr.rFonts.set(qn("w:eastAsia"), FONT)
    normal.paragraph_format.space_after = Pt(6)
    normal.paragraph_format.line_spacing = 1.15


def _paragraph(
    document: Any,
    text: str,
    *,
    bold: bool = False,
    italic: bool = False,
    size: int = BODY_PT,
    align: str = "justify",
    indent: bool = False,
) -> Any:
    from docx.enum.text import WD_ALIGN_PARAGRAPH
    from docx.shared import Mm, Pt

    paragraph = document.add_paragraph()
    paragraph.alignment = {
        "center": WD_ALIGN_PARAGRAPH.CENTER,
        "left": WD_ALIGN_PARAGRAPH.LEFT,
        "right": WD_ALIGN_PARAGRAPH.RIGHT,
        "justify": WD_ALIGN_PARAGRAPH.JUSTIFY,
    }[align]
    if indent:
        paragraph.paragraph_format.first_line_indent = Mm(12.7)
    run = paragraph.add_run(normalize_input(text))  # stored titles may predate input normalisation
    run.bold, run.italic = bold, italic
    run.font.name = FONT
    run.font.size = Pt(size)
    return paragraph


def _header_block(document: Any, today: datetime) -> None:
    from docx.shared import Pt

    table = document.add_table(rows=1, cols=2)
    left, right = table.rows[0].cells
    for cell, text, bold in (
        (left, t("api.docx.agency", "vi"), True),
        (right, t("api.docx.motto", "vi"), True),
    ):
        run = cell.paragraphs[0].add_run(text)
        run.bold = bold
        run.font.name, run.font.size = FONT, Pt(SMALL_PT)
        cell.paragraphs[0].alignment = 1
    date_line = right.add_paragraph()
    date_line.alignment = 1
    run = date_line.add_run(t("api.docx.place_date", "vi", day=today.day, month=today.month, year=today.year))
    run.italic = True
    run.font.name, run.font.size = FONT, Pt(SMALL_PT)


def _share(count: int, total: int) -> str:
    return f"{(100.0 * count / total):.1f}".replace(".", ",") if total else "0"


def build_synthesis_docx(
    result: Consolidation, path: Path, *, labels: Mapping[str, Mapping[str, str]], today: datetime
) -> None:
    """Write the draft synthesis report of one document to ``path``."""
    from docx import Document
    from docx.shared import Mm, Pt

    document = Document()
    _style_document(document)
    _header_block(document, today)
    _paragraph(document, "", size=SMALL_PT)
    _paragraph(document, t("api.docx.title", "vi"), bold=True, align="center")
    _paragraph(document, result.document_title.upper(), bold=True, align="center")
    _paragraph(document, t("api.docx.draft_mark", "vi"), italic=True, size=SMALL_PT, align="center")

    _paragraph(document, t("api.docx.part_totals", "vi"), bold=True, align="left")
    _paragraph(
        document,
        t("api.docx.totals", "vi", total=result.total, sections=len(result.sections)),
        indent=True,
    )
    stance_counts = result.counts.get("stance", {})
    for code, count in stance_counts.items():
        _paragraph(
            document,
            t(
                "api.docx.stance_line",
                "vi",
                label=label_of(labels, "stance", code),
                count=count,
                share=_share(count, result.total),
            ),
            indent=True,
        )

    _paragraph(document, t("api.docx.part_breakdowns", "vi"), bold=True, align="left")
    for dim, caption_key in (("stance", "api.docx.chart_stance"), ("category", "api.docx.chart_category")):
        counts = result.counts.get(dim, {})
        if not counts:
            continue
        caption = t(caption_key, "vi")
        document.add_picture(io.BytesIO(_bar_chart(caption, counts, labels, dim)), width=Mm(150))
        document.paragraphs[-1].alignment = 1
        _paragraph(document, caption, italic=True, size=SMALL_PT, align="center")
    for dim in ("category", "organisation", "locality", "channel"):
        counts = result.counts.get(dim, {})
        if not counts:
            continue
        _paragraph(document, t(f"api.dim.{dim}", "vi"), bold=True, italic=True, align="left")
        table = document.add_table(rows=1, cols=3)
        table.style = "Table Grid"
        for cell, text in zip(
            table.rows[0].cells, (t(f"api.dim.{dim}", "vi"), t("api.xlsx.count", "vi"), "%"), strict=True
        ):
            cell.text = text
        for code, count in counts.items():
            cells = table.add_row().cells
            cells[0].text = normalize_input(label_of(labels, dim, code))
            cells[1].text = str(count)
            cells[2].text = _share(count, result.total)
        for row in table.rows:
            for cell in row.cells:
                for paragraph in cell.paragraphs:
                    for run in paragraph.runs:
                        run.font.name, run.font.size = FONT, Pt(SMALL_PT)

    _paragraph(document, t("api.docx.part_sections", "vi"), bold=True, align="left")
    if not result.sections:
        _paragraph(document, t("api.docx.no_opinions", "vi"), indent=True)
    for section in result.sections:
        _paragraph(document, section.label, bold=True, align="left")
        stances = "; ".join(
            f"{label_of(labels, 'stance', code)}: {count}"
            for code, count in section.counts.get("stance", {}).items()
        )
        _paragraph(
            document, t("api.docx.section_total", "vi", total=section.total, stances=stances), indent=True
        )
        shown = section.groups[:MAX_GROUPS_PER_SECTION]
        for group in shown:
            key = "api.docx.group_many" if group.count > 1 else "api.docx.group_one"
            _paragraph(
                document, "- " + t(key, "vi", count=group.count, text=group.representative), indent=True
            )
        rest = sum(g.count for g in section.groups[MAX_GROUPS_PER_SECTION:])
        if rest:
            _paragraph(document, t("api.docx.groups_more", "vi", count=rest), italic=True, indent=True)

    _paragraph(document, "", size=SMALL_PT)
    closing = document.add_table(rows=1, cols=2)
    receiver, signature = closing.rows[0].cells
    run = receiver.paragraphs[0].add_run(t("api.docx.receiver", "vi"))
    run.bold, run.italic = True, True
    run.font.name, run.font.size = FONT, Pt(12)
    run = signature.paragraphs[0].add_run(t("api.docx.signature", "vi"))
    run.bold = True
    run.font.name, run.font.size = FONT, Pt(BODY_PT)
    signature.paragraphs[0].alignment = 1
    document.save(str(path))
