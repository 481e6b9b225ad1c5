"""The Word template staff can edit (formats/report_template.py, docxtpl; issue 12 §3).

The bundled template renders exactly what the house layout writes; a template a staffer changed in
Word (here with python-docx, as Word would save it) is used when GOPY_REPORT_TEMPLATE names it.
"""

from __future__ import annotations

import io
from datetime import datetime
from pathlib import Path

import pytest
from docx import Document as open_docx
from docx.oxml.ns import qn

from core.config import Settings
from core.document_consolidation import consolidate
from core.synthesis_report import synthesis_report
from formats import reports_docx
from formats.docx_layout import render_docx
from formats.report_template import BUNDLED_TEMPLATE, bundled_template, render_with_template
from tests.pdf_support import assert_well_formed, render_pdf
from tests.test_reports_docx import DOCUMENT, ISSUER, SECTIONS, TODAY, _labels, _opinions


def _texts(content: bytes) -> tuple[list[str], list[list[list[str]]]]:
    document = open_docx(io.BytesIO(content))
    tables = [[[c.text for c in r.cells] for r in t.rows] for t in document.tables]
    return [p.text for p in document.paragraphs], tables


def test_the_bundled_template_is_the_house_layout_with_fields() -> None:
    on_disk, _ = _texts(BUNDLED_TEMPLATE.read_bytes())
    assert on_disk == _texts(bundled_template())[0]  # the file is what the code makes
    assert {
        "{{ title }}",
        "{{ subject }}",
        "{{p body }}",
        "{{p appendices }}",
        "{%p for text in intro %}",
    } <= set(on_disk)
    cells = "\n".join(c for t in _texts(BUNDLED_TEMPLATE.read_bytes())[1] for r in t for c in r)
    assert "{{ letterhead.issuer }}" in cells and "{{ closing.signer_name }}" in cells


def test_the_bundled_template_renders_what_the_layout_writes() -> None:
    result = consolidate(document=DOCUMENT, sections=SECTIONS, opinions=_opinions())
    report = synthesis_report(result, labels=_labels(), today=TODAY, issuer=ISSUER)
    content = render_with_template(report)
    assert _texts(content) == _texts(render_docx(report))
    docx = open_docx(io.BytesIO(content))
    party = docx.tables[0].rows[0].cells[1].paragraphs[0].runs[0]
    assert party.text == "ĐẢNG CỘNG SẢN VIỆT NAM" and party.bold and party.underline
    assert docx.tables[0].rows[0].cells[1].paragraphs[2].runs[0].italic
    assert "PAGE" in docx.sections[0].header._element.xml
    assert docx.core_properties.comments.startswith("Gopy") and "{{" not in "\n".join(_texts(content)[0])
    heading = next(p for p in docx.paragraphs if p.text.startswith("Phần thứ nhất ›"))
    assert heading.paragraph_format.keep_with_next
    groups = next(t for t in docx.tables if t.rows[0].cells[1].text == "Phần, mục")
    assert groups.rows[0]._tr.trPr.find(qn("w:tblHeader")) is not None
    assert len(docx.inline_shapes) == 2  # the two charts
    pdf = render_pdf(content, "synthesis-template")
    assert 4 <= len(pdf.pages) <= 12
    assert_well_formed(
        pdf, part_headings=[p.heading for p in report.parts] + [p.heading for p in report.appendices]
    )


def test_a_template_edited_by_staff_is_used_and_every_text_is_escaped(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    edited = open_docx(io.BytesIO(bundled_template()))
    subject = next(p for p in edited.paragraphs if p.text == "{{ subject }}")
    subject.insert_paragraph_before("Kính gửi: Thường trực Thành ủy").runs[0].italic = True
    dash = next(p for p in edited.paragraphs if p.text == "-----")
    dash.runs[0].text = "* * *"
    path = tmp_path / "mau-bao-cao.docx"
    edited.save(str(path))
    with pytest.raises(ValueError, match="is not a .docx file"):
        Settings(home=Path("/nonexistent"), report_template=str(tmp_path / "none.docx"))
    settings = Settings(home=Path("/nonexistent"), report_template=str(path))
    monkeypatch.setattr(reports_docx, "get_settings", lambda: settings)

    document = {**DOCUMENT, "title": "Dự thảo Quy hoạch & Kế hoạch <2026–2030>"}
    rows = [{**row, "text": 'Đề nghị làm rõ mục <b> & mục "c"'} for row in _opinions()[:3]]
    result = consolidate(document=document, sections=SECTIONS, opinions=rows)
    out = tmp_path / "report.docx"
    reports_docx.build_synthesis_docx(
        result, out, labels=_labels(), today=datetime(2026, 12, 1), issuer=ISSUER
    )
    paragraphs, _ = _texts(out.read_bytes())
    assert (
        "Kính gửi: Thường trực Thành ủy" in paragraphs and "* * *" in paragraphs and "-----" not in paragraphs
    )
    assert "TỔNG HỢP Ý KIẾN GÓP Ý CỦA NHÂN DÂN VÀO DỰ THẢO QUY HOẠCH & KẾ HOẠCH <2026–2030>" in paragraphs
    assert '- Đa số ý kiến (3/3 ý kiến) đề nghị làm rõ mục <b> & mục "c".' in paragraphs


def test_an_unusable_template_falls_back_to_the_built_in_layout(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    result = consolidate(document=DOCUMENT, sections=SECTIONS, opinions=_opinions()[:20])
    report = synthesis_report(result, labels=_labels(), today=TODAY, issuer=ISSUER)
    expected = _texts(render_docx(report))
    no_body = open_docx(io.BytesIO(bundled_template()))
    field = next(p for p in no_body.paragraphs if p.text == "{{p body }}")
    field.runs[0].text = "(nội dung)"
    broken = open_docx(io.BytesIO(bundled_template()))
    next(p for p in broken.paragraphs if p.text == "{{ title }}").runs[0].text = "{{ title "
    for name, document in (("no-body.docx", no_body), ("broken.docx", broken)):
        document.save(str(tmp_path / name))
    (tmp_path / "not-word.docx").write_bytes(b"plain text")
    for name in ("no-body.docx", "broken.docx", "not-word.docx"):
        caplog.clear()
        assert _texts(render_with_template(report, tmp_path / name)) == expected, name
        assert any(f"report template {name} unusable" in r.getMessage() for r in caplog.records), name
