"""The two Word reports in Party administrative form (Quy định 66-QĐ/TW, Hướng dẫn 36-HD/VPTW).

The synthesis report is built from a real consolidation of a sample set; every report is rendered to
PDF by LibreOffice and checked (pages, fonts, page numbers, no empty part); page images are kept
under ``artifacts/reports/``.
"""

from __future__ import annotations

import io
from dataclasses import replace
from datetime import datetime
from pathlib import Path

import pytest
from docx import Document as open_docx
from docx.oxml.ns import qn

from api.v1.consolidation import report_labels
from core.admin_document import Heading, Issuer, Part, Table, indirect, share_word
from core.config import Settings
from core.document_consolidation import consolidate
from core.synthesis_report import MAX_GROUPS_PER_SECTION, subject_of, synthesis_report
from formats.docx_layout import render_docx
from tests.pdf_support import assert_well_formed, render_pdf

TODAY = datetime(2026, 12, 1, 9)
DOCUMENT = {"id": 1, "code": "bctt", "title": "Dự thảo Báo cáo chính trị Đại hội XVII Đảng bộ thành phố"}
SECTIONS = [
    {
        "id": 10,
        "ordinal": 1,
        "number": "Phần thứ nhất",
        "title": "Đánh giá kết quả nhiệm kỳ",
        "parent_id": None,
    },
    {"id": 11, "ordinal": 2, "number": "1", "title": "Về phát triển kinh tế", "parent_id": 10},
    {"id": 12, "ordinal": 3, "number": "2", "title": "Về văn hóa, xã hội", "parent_id": 10},
]
SUBJECTS = [
    "đầu tư hạ tầng giao thông kết nối các xã ven biển",
    "xây dựng nhà ở xã hội cho công nhân khu công nghiệp",
    "nạo vét luồng cảng và chống ngập khi triều cường",
    "hỗ trợ ngư dân chuyển đổi nghề khai thác ven bờ",
    "mở rộng trường mầm non công lập tại các phường mới",
    "tăng số giường bệnh của bệnh viện tuyến thành phố",
    "giảm thủ tục hành chính cho doanh nghiệp nhỏ và vừa",
    "trồng thêm cây xanh dọc các tuyến đường ven sông",
    "quản lý chặt việc lấn chiếm vỉa hè để kinh doanh",
    "đào tạo nghề cho thanh niên nông thôn sau sáp nhập xã",
    "bảo tồn di tích lịch sử và lễ hội truyền thống",
    "kiểm soát ô nhiễm không khí quanh các nhà máy nhiệt điện",
]
ISSUER = Settings(home=Path("/nonexistent")).report_issuer_of()


def _opinions() -> list[dict[str, object]]:
    rows: list[dict[str, object]] = []

    def add(section: int | None, text: str, stance: str = "partial") -> None:
        code = f"GY-T{len(rows):05d}"
        rows.append(
            {
                "receipt_code": code,
                "section_id": section,
                "text": text,
                "stance": stance,
                "category": "worker",
                "organisation": "mttq",
                "locality": "p-hong-bang",
                "channel": "telegram",
            }
        )

    for _ in range(14):  # more than half of section 11: "đa số"
        add(11, "Đề nghị thành phố ưu tiên phát triển kinh tế biển gắn với cảng Lạch Huyện.")
    for number, subject in enumerate(SUBJECTS):  # twelve groups of two: more than the body's ten
        for _ in range(2):
            add(12, f"Cần quan tâm {subject}, đây là vấn đề số {number + 1} Nhân dân rất mong đợi.")
    for number in range(7):
        add(12, f"Ý kiến riêng thứ {number + 1}: đề nghị bổ sung số liệu về {SUBJECTS[number]}.", "other")
    add(11, "", "agree")
    add(None, "Dự thảo cần viết ngắn gọn, dễ hiểu hơn đối với Nhân dân.", "other")
    return rows


def _labels() -> dict[str, dict[str, str]]:
    return report_labels(
        {
            "categories": {"worker": "Công nhân"},
            "organisations": {"mttq": "Mặt trận"},
            "localities": {"p-hong-bang": "Phường Hồng Bàng"},
        }
    )


def test_phrasing_by_share_follows_the_configured_thresholds() -> None:
    assert [share_word(n, 10, ISSUER) for n in (6, 5, 2, 1)] == ["majority", "many", "many", "one"]
    assert share_word(2, 20, ISSUER) == "some"
    strict = Issuer(**{**ISSUER.__dict__, "majority_share": 0.7, "many_share": 0.5})
    assert [share_word(n, 10, strict) for n in (8, 6, 4)] == ["majority", "many", "some"]
    with pytest.raises(ValueError):
        Settings(home=Path("/nonexistent"), report_majority_share=0.3, report_many_share=0.4)


def test_the_representative_is_quoted_in_indirect_speech() -> None:
    assert indirect("Cần tăng cường đầu tư.") == "cần tăng cường đầu tư"
    assert indirect("«Hải Phòng cần cảng xanh»") == "Hải Phòng cần cảng xanh"
    assert indirect("UBND phường cần tiếp dân") == "UBND phường cần tiếp dân"


def test_the_title_never_doubles_du_thao() -> None:
    assert (
        subject_of("Dự thảo Báo cáo chính trị")
        == "TỔNG HỢP Ý KIẾN GÓP Ý CỦA NHÂN DÂN VÀO DỰ THẢO BÁO CÁO CHÍNH TRỊ"
    )
    assert (
        subject_of("Báo cáo chính trị") == "TỔNG HỢP Ý KIẾN GÓP Ý CỦA NHÂN DÂN VÀO DỰ THẢO BÁO CÁO CHÍNH TRỊ"
    )


def test_the_synthesis_report_hides_nothing_and_reads_as_a_party_document() -> None:
    result = consolidate(document=DOCUMENT, sections=SECTIONS, opinions=_opinions())
    repeated = [g for s in result.sections for g in s.groups if g.count > 1]
    singles = [g for s in result.sections for g in s.groups if g.count == 1]
    assert len(repeated) == 13 and len(singles) == 8  # the grouping is what the report is about
    report = synthesis_report(result, labels=_labels(), today=TODAY, issuer=ISSUER)
    content = render_docx(report)
    docx = open_docx(io.BytesIO(content))
    paragraphs = [p.text for p in docx.paragraphs]
    text = "\n".join(paragraphs)
    head = [c.text for c in docx.tables[0].rows[0].cells]
    assert head[0].split("\n") == [
        "ĐẢNG BỘ THÀNH PHỐ HẢI PHÒNG",
        "BAN DÂN VẬN THÀNH ỦY",
        "*",
        "Số      -BC/BDVTU",
    ]
    assert head[1].split("\n") == ["ĐẢNG CỘNG SẢN VIỆT NAM", "", "Hải Phòng, ngày 01 tháng 12 năm 2026"]
    party = docx.tables[0].rows[0].cells[1].paragraphs[0].runs[0]
    assert party.bold and party.underline
    assert docx.tables[0].rows[0].cells[1].paragraphs[2].runs[0].italic
    assert "BÁO CÁO" in paragraphs and "DỰ THẢO DỰ THẢO" not in text.upper()
    assert "Phần thứ nhất › 1. Về phát triển kinh tế" in paragraphs
    assert "Phần thứ nhất › 2. Về văn hóa, xã hội" in paragraphs
    assert "Ý kiến chung về toàn bộ dự thảo" in paragraphs
    assert (
        "- Đa số ý kiến (14/15 ý kiến) đề nghị thành phố ưu tiên phát triển kinh tế biển gắn với cảng Lạch Huyện."
        in paragraphs
    )
    assert "- Một số ý kiến (2/31 ý kiến) cho rằng cần quan tâm" in text
    assert "- Có ý kiến cho rằng dự thảo cần viết ngắn gọn, dễ hiểu hơn đối với Nhân dân." in paragraphs
    assert "Trong đó, 1 ý kiến chỉ bày tỏ chính kiến" in text
    # section 2's opinions share their key words ("vấn đề", "Nhân dân", "mong đợi"): one theme
    assert "Các ý kiến tập trung vào 1 nhóm nội dung sau:" in paragraphs
    assert any(p.startswith("a) Nhóm ý kiến về: ") and p.endswith(" (31/31 ý kiến)") for p in paragraphs)
    assert "Cùng nội dung này còn 25 ý kiến khác, được liệt kê tại phụ lục kèm theo." in paragraphs
    # without themes, what the body has no room for is counted and left to the appendices
    for summary in result.sections:
        summary.themes = []
    bare = render_docx(synthesis_report(result, labels=_labels(), today=TODAY, issuer=ISSUER))
    bare_text = "\n".join(p.text for p in open_docx(io.BytesIO(bare)).paragraphs)
    assert "Ngoài ra, 2 nhóm ý kiến trùng nhau khác (4 ý kiến) và 2 ý kiến riêng lẻ khác" in bare_text
    assert "nhóm nội dung" not in bare_text
    assert "IV. NHẬN XÉT, ĐÁNH GIÁ VÀ ĐỀ XUẤT" in paragraphs
    assert "Gopy" not in text and "XLSX" not in text
    assert (
        docx.core_properties.comments.startswith("Gopy")
        and docx.core_properties.author == "BAN DÂN VẬN THÀNH ỦY"
    )
    cells = {t: [[c.text for c in r.cells] for r in t.rows] for t in docx.tables}
    groups_table = next(
        rows for rows in cells.values() if rows[0][-1] == "Số ý kiến" and rows[0][1] == "Phần, mục"
    )
    assert len(groups_table) == 1 + len(repeated) + 1  # header, every group, the total
    assert groups_table[-1][1:] == ["Tổng cộng", "13 nhóm", str(sum(g.count for g in repeated))]
    singles_table = next(rows for rows in cells.values() if rows[0][-1] == "Mã phiếu")
    assert sorted(r[3] for r in singles_table[1:-1]) == sorted(g.receipt_codes[0] for g in singles)
    assert MAX_GROUPS_PER_SECTION < len(SUBJECTS)
    for grid in docx.tables[1:]:
        rows = grid._tbl.tr_lst
        if len(rows[0].tc_lst) < 3:
            continue  # the closing
        assert rows[0].trPr.find(qn("w:tblHeader")) is not None
        assert all(r.trPr.find(qn("w:cantSplit")) is not None for r in rows)
        assert all(run.bold for run in grid.rows[-1].cells[1].paragraphs[0].runs)
    for paragraph in docx.paragraphs:
        if paragraph.text.startswith(("Phần thứ nhất ›", "I. ", "II. ", "III. ", "Bảng ")):
            assert paragraph.paragraph_format.keep_with_next, paragraph.text
    assert any(
        "Nơi nhận:" in c.text and "- Lưu Văn phòng." in c.text for t in docx.tables for c in t.rows[0].cells
    )
    pdf = render_pdf(content, "synthesis")
    assert 4 <= len(pdf.pages) <= 12, len(pdf.pages)
    assert "Hải Phòng, ngày 01 tháng 12 năm 2026" in pdf.pages[0]
    assert_well_formed(
        pdf, part_headings=[p.heading for p in report.parts] + [p.heading for p in report.appendices]
    )
    assert "CÁC NHÓM NỘI DUNG" in pdf.pages[-1] and "CÁC NHÓM Ý KIẾN TRÙNG NHAU" not in pdf.pages[-1]


def test_the_empty_synthesis_report_is_a_correct_document() -> None:
    result = consolidate(document={**DOCUMENT, "title": "Báo cáo chính trị"}, sections=SECTIONS, opinions=[])
    report = synthesis_report(result, labels=_labels(), today=datetime(2026, 3, 5), issuer=ISSUER)
    assert report.appendices == () and all(part.blocks for part in report.parts)
    content = render_docx(report)
    docx = open_docx(io.BytesIO(content))
    text = "\n".join(p.text for p in docx.paragraphs)
    assert "Tổng số ý kiến góp ý đã tiếp nhận: 0 ý kiến" in text and "Chưa có ý kiến góp ý." in text
    assert "VÀO DỰ THẢO BÁO CÁO CHÍNH TRỊ" in text and not docx.inline_shapes
    pdf = render_pdf(content, "synthesis-empty")
    assert len(pdf.pages) == 1
    assert "Hải Phòng, ngày 05 tháng 03 năm 2026" in pdf.text
    assert_well_formed(pdf, part_headings=[p.heading for p in report.parts])


def test_names_place_and_recipients_come_from_the_settings() -> None:
    settings = Settings(
        home=Path("/nonexistent"),
        report_issuer_parent="ĐẢNG BỘ TỈNH NINH BÌNH",
        report_place="Ninh Bình",
        report_recipients=["Thường trực Tỉnh ủy (để báo cáo)", "Lưu VP"],
        report_signer_title="PHÓ TRƯỞNG BAN",
        report_signer_name="Nguyễn Văn A",
    )
    result = consolidate(document=DOCUMENT, sections=SECTIONS, opinions=_opinions()[:3])
    docx = open_docx(
        io.BytesIO(
            render_docx(
                synthesis_report(result, labels=_labels(), today=TODAY, issuer=settings.report_issuer_of())
            )
        )
    )
    cells = "\n".join(c.text for t in docx.tables for r in t.rows for c in r.cells)
    assert "ĐẢNG BỘ TỈNH NINH BÌNH" in cells and "Ninh Bình, ngày 01 tháng 12 năm 2026" in cells
    assert "- Thường trực Tỉnh ủy (để báo cáo),\n- Lưu VP." in cells
    assert "PHÓ TRƯỞNG BAN" in cells and "Nguyễn Văn A" in cells and "Hải Phòng" not in cells


def test_a_long_table_repeats_its_header_on_every_page_and_never_splits_a_row() -> None:
    rows = tuple((str(i), f"Phường số {i}\ndòng thứ hai của ô", str(i), "1,0") for i in range(1, 91))
    table = Table(
        ("STT", "Địa bàn", "Số ý kiến", "Tỷ lệ (%)"),
        rows,
        (1.5, 9.0, 3.0, 3.0),
        "Bảng 1. Dài",
        ("", "Tổng cộng", "90", "100,0"),
    )
    long = synthesis_report(
        consolidate(document=DOCUMENT, sections=SECTIONS, opinions=[]),
        labels=_labels(),
        today=TODAY,
        issuer=ISSUER,
    )
    long = replace(long, parts=(Part("I. BẢNG DÀI", (Heading("1. Một bảng dài"), table)),))
    pdf = render_pdf(render_docx(long), "long-table")
    pages = [p for p in pdf.pages if "Phường số" in p]
    assert len(pages) >= 3
    for page in pages:
        lines = [line.split() for line in page.strip().splitlines()]
        header = next(i for i, words in enumerate(lines) if words[:1] == ["STT"])
        first = lines[header + 1]
        assert first[1:3] == ["Phường", "số"], page[:300]  # a row starts at the top, never its second line
    assert_well_formed(pdf, part_headings=["I. BẢNG DÀI"])
