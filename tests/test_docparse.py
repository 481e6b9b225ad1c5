"""formats.drafts: Markdown / DOCX drafts → section trees (pure parsing, no database)."""

from __future__ import annotations

import io
import random
import time
import unicodedata
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from docx import Document
from docx.enum.style import WD_STYLE_TYPE
from docx.oxml import parse_xml
from docx.oxml.ns import nsdecls

from core.errors import DocumentImportError
from formats.drafts import (
    INTRO_TITLE,
    MAX_SECTIONS,
    ParsedDocument,
    ParsedSection,
    parse_docx,
    parse_file,
    parse_markdown,
)

DOCS = Path(__file__).parent / "data" / "docs"
SAMPLE_MD = DOCS / "du_thao_bao_cao_chinh_tri.md"


def import_error(fn: Callable[..., Any], *args: Any, reason: str) -> dict[str, Any]:
    with pytest.raises(DocumentImportError) as info:
        fn(*args)
    params = info.value.params
    assert params["reason"] == reason, params
    assert info.value.code == "error.document_import"
    return params


def outline(doc: ParsedDocument) -> list[tuple[int, int, str | None, str]]:
    return [(ordinal, s.level, s.number, s.title) for ordinal, s, _ in doc.walk()]


def docx_bytes(document: Any) -> bytes:
    buf = io.BytesIO()
    document.save(buf)
    return buf.getvalue()


def set_outline_level(element: Any, value: int) -> None:
    """w:outlineLvl on a paragraph (CT_P) or a style (CT_Style) element."""
    element.get_or_add_pPr().get_or_add_outlineLvl().val = value


# ------------------------------------------------------------------------------------- Markdown sample


@pytest.fixture(scope="module")
def sample() -> ParsedDocument:
    return parse_file(SAMPLE_MD)


def test_sample_tree_shape(sample: ParsedDocument) -> None:
    assert sample.title == "Dự thảo Báo cáo chính trị"
    assert [(s.number, s.title) for s in sample.sections] == [
        (None, INTRO_TITLE),
        ("Phần thứ nhất", "Đánh giá kết quả thực hiện Nghị quyết Đại hội XIII"),
        ("Phần thứ hai", "Phương hướng, nhiệm vụ giai đoạn 2026 - 2030"),
    ]
    assert outline(sample) == [
        (1, 1, None, "Mở đầu"),
        (2, 1, "Phần thứ nhất", "Đánh giá kết quả thực hiện Nghị quyết Đại hội XIII"),
        (3, 2, "I", "Những kết quả chủ yếu"),
        (4, 3, "1", "Về kinh tế"),
        (5, 3, "2", "Về văn hoá, xã hội"),
        (6, 2, "II", "Hạn chế, yếu kém và nguyên nhân"),
        (7, 3, "1", "Hạn chế, yếu kém"),
        (8, 3, "2", "Nguyên nhân"),
        (9, 1, "Phần thứ hai", "Phương hướng, nhiệm vụ giai đoạn 2026 - 2030"),
        (10, 2, "I", "Mục tiêu tổng quát"),
        (11, 3, "a", "Về kinh tế"),
        (12, 3, "b", "Về xã hội"),
        (13, 2, "II", "Các nhiệm vụ, giải pháp chủ yếu"),
        (14, 3, "1", "Phát triển kinh tế nhanh và bền vững"),
        (15, 3, "2", "Xây dựng, chỉnh đốn Đảng"),
    ]
    assert sample.count() == 15
    part_one = sample.sections[1]
    assert [len(c.children) for c in part_one.children] == [2, 2]
    assert all(not leaf.children for leaf in part_one.children[0].children)


def test_sample_bodies(sample: ParsedDocument) -> None:
    intro, part_one, part_two = sample.sections
    assert intro.number is None and intro.level == 1 and not intro.children
    assert intro.body == (
        "Trình Đại hội đại biểu toàn quốc lần thứ XIV của Đảng (bản lấy ý kiến nhân dân).\n\n"
        "Nhân dân góp ý theo từng phần, từng mục của dự thảo."
    )
    assert part_one.body == "Nhìn lại 5 năm thực hiện Nghị quyết."
    economy = part_one.children[0].children[0]
    assert economy.body == (
        "Tăng trưởng kinh tế đạt khá; quy mô nền kinh tế tăng lên.\n\n"
        "- Thu ngân sách vượt dự toán.\n- Xuất khẩu tăng mạnh."
    )
    assert part_two.body == ""  # a heading directly followed by a heading
    assert part_two.children[1].children[1].body == "Tiếp tục đẩy mạnh công tác xây dựng Đảng."


def test_walk_ordinals_and_parents(sample: ParsedDocument) -> None:
    rows = list(sample.walk())
    assert [ordinal for ordinal, _, _ in rows] == list(range(1, sample.count() + 1))
    by_ordinal = {ordinal: (section, parent) for ordinal, section, parent in rows}
    assert by_ordinal[1][1] is None and by_ordinal[2][1] is None and by_ordinal[9][1] is None
    assert by_ordinal[3][1] is by_ordinal[2][0]
    assert by_ordinal[4][1] is by_ordinal[3][0]
    assert by_ordinal[14][1] is by_ordinal[13][0]
    for _, section, parent in rows:
        assert section.level == (1 if parent is None else parent.level + 1)
        if parent is not None:
            assert section in parent.children


def test_fenced_code_headings_are_body(sample: ParsedDocument) -> None:
    social = sample.sections[2].children[0].children[1]
    assert social.title == "Về xã hội"
    assert social.body == "```text\n# Ví dụ: dòng này nằm trong khối mã, không phải tiêu đề\n```"
    assert all("Ví dụ" not in s.title for _, s, _ in sample.walk())


def test_fences_tilde_long_and_unclosed() -> None:
    text = "# I. A\n\n~~~~\n# x\n\n## y\n~~~\n~~~~\n\n# II. B\n\n```python\n# z\n"
    doc = parse_markdown(text)
    assert outline(doc) == [(1, 1, "I", "A"), (2, 1, "II", "B")]
    assert doc.sections[0].body == "~~~~\n# x\n\n## y\n~~~\n~~~~"  # blank line inside the fence kept
    assert doc.sections[1].body == "```python\n# z"  # unclosed: runs to the end


def test_inline_triple_backticks_do_not_open_a_fence() -> None:
    doc = parse_markdown("# I. A\n```code``` là mã\n# II. B\n")
    assert [s.number for s in doc.sections] == ["I", "II"]


def test_html_comment_headings_ignored() -> None:
    doc = parse_markdown("# I. A\n\n<!-- ghi chú\n# II. Không phải\n-->\n\n# II. B\n")
    assert [s.title for s in doc.sections] == ["A", "B"]


# ------------------------------------------------------------------------------------------ numbering


@pytest.mark.parametrize(
    ("heading", "number", "title"),
    [
        ("I. Tổng quan", "I", "Tổng quan"),
        ("II) Bối cảnh", "II", "Bối cảnh"),
        ("IV: Nhiệm vụ", "IV", "Nhiệm vụ"),
        ("X - Tổ chức thực hiện", "X", "Tổ chức thực hiện"),
        ("XIV – Kết luận", "XIV", "Kết luận"),
        ("III Giải pháp", "III", "Giải pháp"),
        ("VI. Tổ chức thực hiện", "VI", "Tổ chức thực hiện"),
        ("VI PHẠM HÀNH CHÍNH", None, "VI PHẠM HÀNH CHÍNH"),
        ("XI MĂNG VÀ VẬT LIỆU", None, "XI MĂNG VÀ VẬT LIỆU"),
        ("1. Mở đầu", "1", "Mở đầu"),
        ("1.Mở đầu", "1", "Mở đầu"),
        ("1.2 Kinh tế", "1.2", "Kinh tế"),
        ("1.2.3. Nông nghiệp", "1.2.3", "Nông nghiệp"),
        ("12) Mười hai", "12", "Mười hai"),
        ("II.1. Kinh tế vĩ mô", "II.1", "Kinh tế vĩ mô"),
        ("a) Về kinh tế", "a", "Về kinh tế"),
        ("đ. Về môi trường", "đ", "Về môi trường"),
        ("A. PHẦN CHUNG", "A", "PHẦN CHUNG"),
        ("ii) Tiểu mục", "ii", "Tiểu mục"),
        ("Phần thứ nhất: Đánh giá", "Phần thứ nhất", "Đánh giá"),
        ("PHẦN THỨ HAI - PHƯƠNG HƯỚNG", "PHẦN THỨ HAI", "PHƯƠNG HƯỚNG"),
        ("Phần thứ mười một. Kết luận", "Phần thứ mười một", "Kết luận"),
        ("Phần I. Tổng quan", "Phần I", "Tổng quan"),
        ("Chương I. Quy định chung", "Chương I", "Quy định chung"),
        ("CHƯƠNG II QUY ĐỊNH CỤ THỂ", "CHƯƠNG II", "QUY ĐỊNH CỤ THỂ"),
        ("Mục 1. Nguyên tắc", "Mục 1", "Nguyên tắc"),
        ("Mục 2.3 Tiểu mục", "Mục 2.3", "Tiểu mục"),
        ("Điều 5. Phạm vi điều chỉnh", "Điều 5", "Phạm vi điều chỉnh"),
        ("Điều 12a. Bổ sung", "Điều 12a", "Bổ sung"),
        ("Điều  7   Hiệu lực", "Điều 7", "Hiệu lực"),
        ("II", "II", "II"),
        ("3.", "3", "3"),
        ("Chương III", "Chương III", "Chương III"),
        ("Mục tiêu tổng quát", None, "Mục tiêu tổng quát"),
        ("Mục lục", None, "Mục lục"),
        ("Điều chỉnh giá", None, "Điều chỉnh giá"),
        ("Phần mở đầu", None, "Phần mở đầu"),
        ("Xây dựng Đảng", None, "Xây dựng Đảng"),
        ("2025 năm bản lề", None, "2025 năm bản lề"),
        ("1-2 năm tới", None, "1-2 năm tới"),
        ("T.Ư khoá XIII", None, "T.Ư khoá XIII"),
        ("Internet và chuyển đổi số", None, "Internet và chuyển đổi số"),
    ],
)
def test_number_and_title_split(heading: str, number: str | None, title: str) -> None:
    doc = parse_markdown(f"# {heading}\n\nnội dung\n")
    (section,) = doc.sections
    assert (section.number, section.title) == (number, title)


def test_heading_markup_is_removed_from_titles() -> None:
    doc = parse_markdown("## **I. TỔNG QUAN** ##\n## _II. Kết luận_\n## C#\n")
    assert [(s.number, s.title) for s in doc.sections] == [
        ("I", "TỔNG QUAN"),
        ("II", "Kết luận"),
        (None, "C#"),
    ]


# ----------------------------------------------------------------------------- Markdown: other details


def test_nfd_input_becomes_nfc() -> None:
    text = SAMPLE_MD.read_text(encoding="utf-8")
    decomposed = unicodedata.normalize("NFD", text)
    assert decomposed != text
    doc = parse_markdown(decomposed.encode("utf-8"))
    assert doc == parse_markdown(text)
    for _, section, _ in doc.walk():
        assert unicodedata.is_normalized("NFC", section.title)
        assert unicodedata.is_normalized("NFC", section.body)
    assert doc.sections[1].number == "Phần thứ nhất"


def test_crlf_bom_controls_and_tabs() -> None:
    text = "\ufeff# I. Mở\x00 đầu\x07\r\n\r\nNội\x1b dung\tcó tab\r\ndòng hai\r\n# II. Kết\u200b luận\r\n"
    doc = parse_markdown(text.encode("utf-8"))
    assert [(s.number, s.title) for s in doc.sections] == [("I", "Mở đầu"), ("II", "Kết luận")]
    assert doc.sections[0].body == "Nội dung    có tab\ndòng hai"
    assert parse_markdown(b"\xef\xbb\xbf# A\n\nx\n").sections[0].title == "A"
    assert parse_markdown("# Ạ\n\nx\n".encode("utf-16")).sections[0].title == "Ạ"


def test_intro_only_when_not_blank() -> None:
    assert [s.title for s in parse_markdown("\n   \n\n# I. A\n\nx\n").sections] == ["A"]
    doc = parse_markdown("Lời mở đầu.\n\n# I. A\n\nx\n")
    assert [(s.number, s.title, s.level, s.body) for s in doc.sections] == [
        (None, INTRO_TITLE, 1, "Lời mở đầu."),
        ("I", "A", 1, "x"),
    ]
    assert next(doc.walk())[:2] == (1, doc.sections[0])


def test_title_rule() -> None:
    # a single top heading with deeper children is the title; its own body joins the intro
    doc = parse_markdown("Trước.\n\n# Dự thảo\n\nSau.\n\n## I. A\n\n### 1. B\n\n## II. C\n")
    assert doc.title == "Dự thảo"
    assert outline(doc) == [(1, 1, None, INTRO_TITLE), (2, 1, "I", "A"), (3, 2, "1", "B"), (4, 1, "II", "C")]
    assert doc.sections[0].body == "Trước.\n\nSau."
    # two top headings: no title
    doc = parse_markdown("# Dự thảo\n## I. A\n# Phụ lục\n")
    assert doc.title is None and [s.title for s in doc.sections] == ["Dự thảo", "Phụ lục"]
    # a single heading without children is a section, not the title
    doc = parse_markdown("# Dự thảo\n\nchỉ có nội dung\n")
    assert doc.title is None and doc.sections[0].body == "chỉ có nội dung"
    # a numbered single top heading stays a section
    doc = parse_markdown("# Phần thứ nhất\n## I. A\n## II. B\n")
    assert doc.title is None and doc.sections[0].number == "Phần thứ nhất"
    # documents starting below "#" are fine too
    doc = parse_markdown("## Dự thảo\n### I. A\n### II. B\n")
    assert doc.title == "Dự thảo" and [s.level for s in doc.sections] == [1, 1]


def test_front_matter_title() -> None:
    doc = parse_markdown("---\ntitle: 'Dự thảo Luật Đất đai'\nversion: 2\n---\n# I. A\n# II. B\n")
    assert doc.title == "Dự thảo Luật Đất đai"
    assert [s.title for s in doc.sections] == ["A", "B"]
    # a thematic break at the top is not front matter
    doc = parse_markdown("---\nMột đoạn văn.\n\n# I. A\n")
    assert doc.sections[0].title == INTRO_TITLE and doc.sections[0].body == "---\nMột đoạn văn."


def test_setext_headings() -> None:
    doc = parse_markdown(
        "Dự thảo\n=======\n\nI. Bối cảnh\n-----------\n\nNội dung.\n\n"
        "II. Nhiệm vụ\n---\n\n- một mục\n---\n\ndòng một\ndòng hai\n---\n"
    )
    assert doc.title == "Dự thảo"
    assert [(s.number, s.title) for s in doc.sections] == [("I", "Bối cảnh"), ("II", "Nhiệm vụ")]
    # a list item or a multi-line paragraph followed by --- is not a heading
    assert doc.sections[1].body == "- một mục\n---\n\ndòng một\ndòng hai\n---"


def test_level_may_go_back_up_several_steps() -> None:
    doc = parse_markdown("# I. A\n## 1. B\n### a) C\n# II. D\n## 1. E\n")
    assert outline(doc) == [
        (1, 1, "I", "A"),
        (2, 2, "1", "B"),
        (3, 3, "a", "C"),
        (4, 1, "II", "D"),
        (5, 2, "1", "E"),
    ]


def test_same_number_under_different_parents_is_fine() -> None:
    doc = parse_markdown("# I. A\n## 1. x\n# II. B\n## 1. y\n")
    assert doc.count() == 4


def test_empty_heading_line_is_dropped() -> None:
    doc = parse_markdown("# I. A\n\nx\n\n#\n\ny\n")
    assert doc.count() == 1 and doc.sections[0].body == "x\n\ny"


# ------------------------------------------------------------------------------------ Markdown errors


@pytest.mark.parametrize("data", [b"", "", b"   \n\n\t \r\n", "\x00\x00\n"])
def test_empty(data: bytes | str) -> None:
    import_error(parse_markdown, data, reason="empty")


def test_no_headings() -> None:
    import_error(parse_markdown, "Chỉ có văn bản.\n\nKhông có tiêu đề.\n", reason="no_headings")
    import_error(parse_markdown, "```\n# trong khối mã\n```\n", reason="no_headings")
    import_error(parse_markdown, "#không phải tiêu đề\n####### bảy dấu thăng\n", reason="no_headings")


def test_heading_skip_reports_line() -> None:
    params = import_error(parse_markdown, "# I. A\n\nx\n\n### 1. B\n", reason="heading_skip")
    assert params["line"] == 5 and "detail" in params
    params = import_error(parse_markdown, "# Dự thảo\n### I. A\n", reason="heading_skip")
    assert params["line"] == 2


def test_title_too_long() -> None:
    ok = "# I. " + "x" * 500 + "\n"
    assert len(parse_markdown(ok).sections[0].title) == 500
    params = import_error(parse_markdown, "# I. A\n\n# II. " + "y" * 501 + "\n", reason="title_too_long")
    assert params["line"] == 3


def test_duplicate_number() -> None:
    params = import_error(parse_markdown, "# I. A\n## 1. x\n## 2. y\n## 2. z\n", reason="duplicate_number")
    assert params["line"] == 4
    params = import_error(parse_markdown, "# Chương I. A\n# CHƯƠNG I. B\n", reason="duplicate_number")
    assert params["line"] == 2


def test_too_many_sections() -> None:
    at_limit = "\n".join(f"# Đoạn {i}" for i in range(MAX_SECTIONS))
    assert parse_markdown(at_limit).count() == MAX_SECTIONS
    # the title heading does not count
    assert parse_markdown("# Dự thảo\n" + at_limit.replace("# ", "## ")).count() == MAX_SECTIONS
    import_error(parse_markdown, at_limit + "\n# Thêm một", reason="too_many_sections")
    import_error(parse_markdown, "Lời mở đầu.\n\n" + at_limit, reason="too_many_sections")
    params = import_error(
        parse_markdown, "\n".join(f"# Đoạn {i}" for i in range(10_000)), reason="too_many_sections"
    )
    assert params["line"] == MAX_SECTIONS + 3  # stops early, not after reading everything


def test_invalid_utf8_reports_line() -> None:
    params = import_error(parse_markdown, b"# A\n\nok\n\xc3\x28 broken\n", reason="encoding")
    assert params["line"] == 4
    params = import_error(parse_markdown, "# Hà Nam\n".encode("cp1258"), reason="encoding")
    assert params["line"] == 1


def test_random_binary_as_markdown() -> None:
    blob = random.Random(7).randbytes(4096)
    import_error(parse_markdown, blob, reason="encoding")


# ----------------------------------------------------------------------------------------------- DOCX


def build_law_docx() -> bytes:
    document = Document()
    document.core_properties.title = "Tên trong thuộc tính"
    document.add_paragraph("DỰ THẢO", style="Title")
    document.add_paragraph("LUẬT ĐẤT ĐAI (SỬA ĐỔI)", style="Title")
    document.add_paragraph("Căn cứ Hiến pháp nước Cộng hoà xã hội chủ nghĩa Việt Nam;")
    document.add_paragraph("")
    document.add_heading("Chương I. Quy định chung", level=1)
    document.add_paragraph("Chương này quy định chung.")
    document.add_heading("Điều 1. Phạm vi điều chỉnh", level=2)
    document.add_paragraph("Luật này quy định\tvề chế độ sở hữu đất đai.")
    table = document.add_table(rows=3, cols=2)
    for row, cells in zip(
        table.rows, [("Chỉ tiêu", "Giá trị"), ("Tăng trưởng", "8%"), ("", "")], strict=True
    ):
        for cell, text in zip(row.cells, cells, strict=True):
            cell.text = text
    document.add_heading("Điều 2. Đối tượng áp dụng", level=2)
    document.add_heading("1. Cơ quan nhà nước", level=3)
    document.add_paragraph("Cơ quan nhà nước thực hiện quyền hạn.")
    document.add_heading("2. Người sử dụng đất", level=3)
    document.add_heading("Chương II QUY ĐỊNH CỤ THỂ", level=1)
    document.add_paragraph("Dòng một")
    document.add_paragraph("Dòng hai")
    return docx_bytes(document)


def test_docx_tree_title_table() -> None:
    doc = parse_docx(build_law_docx())
    assert doc.title == "DỰ THẢO LUẬT ĐẤT ĐAI (SỬA ĐỔI)"  # Title paragraphs win over core properties
    assert outline(doc) == [
        (1, 1, None, INTRO_TITLE),
        (2, 1, "Chương I", "Quy định chung"),
        (3, 2, "Điều 1", "Phạm vi điều chỉnh"),
        (4, 2, "Điều 2", "Đối tượng áp dụng"),
        (5, 3, "1", "Cơ quan nhà nước"),
        (6, 3, "2", "Người sử dụng đất"),
        (7, 1, "Chương II", "QUY ĐỊNH CỤ THỂ"),
    ]
    intro, chapter1, chapter2 = doc.sections
    assert intro.body == "Căn cứ Hiến pháp nước Cộng hoà xã hội chủ nghĩa Việt Nam;"
    assert chapter1.body == "Chương này quy định chung."
    assert chapter1.children[0].body == (
        "Luật này quy định về chế độ sở hữu đất đai.\n\nChỉ tiêu\tGiá trị\nTăng trưởng\t8%"
    )
    assert chapter1.children[1].body == ""
    assert chapter2.body == "Dòng một\n\nDòng hai"


def test_docx_core_properties_title_and_single_top_heading() -> None:
    document = Document()
    document.core_properties.title = "Dự thảo Nghị quyết"
    document.add_heading("I. Bối cảnh", 1)
    document.add_heading("II. Nhiệm vụ", 1)
    assert parse_docx(docx_bytes(document)).title == "Dự thảo Nghị quyết"

    document = Document()
    document.core_properties.title = "Tên cũ trong mẫu"
    document.add_heading("Dự thảo Nghị quyết", 1)
    document.add_paragraph("Lời dẫn.")
    document.add_heading("I. Bối cảnh", 2)
    document.add_heading("II. Nhiệm vụ", 2)
    doc = parse_docx(docx_bytes(document))
    assert doc.title == "Dự thảo Nghị quyết"
    assert outline(doc) == [(1, 1, None, INTRO_TITLE), (2, 1, "I", "Bối cảnh"), (3, 1, "II", "Nhiệm vụ")]

    document = Document()
    document.add_heading("I. Bối cảnh", 1)
    document.add_heading("II. Nhiệm vụ", 1)
    assert parse_docx(docx_bytes(document)).title is None


def test_docx_localized_styles_and_outline_levels() -> None:
    document = Document()
    styles = document.styles
    styles.add_style("Tiêu đề", WD_STYLE_TYPE.PARAGRAPH)
    styles.add_style("Tiêu đề 1", WD_STYLE_TYPE.PARAGRAPH)
    styles.add_style("Đầu đề 2", WD_STYLE_TYPE.PARAGRAPH)
    chapter = styles.add_style("Chuong", WD_STYLE_TYPE.PARAGRAPH)
    set_outline_level(chapter.element, 0)
    article = styles.add_style("Dieu", WD_STYLE_TYPE.PARAGRAPH)
    article.base_style = styles["Heading 2"]  # inherits outline level 2

    document.add_paragraph("Dự thảo Luật", style="Tiêu đề")
    document.add_paragraph("Phần thứ nhất. Tổng quan", style="Tiêu đề 1")
    document.add_paragraph("I. Bối cảnh", style="Đầu đề 2")
    p = document.add_paragraph("II. Quan điểm")  # Normal style, outline level set on the paragraph
    set_outline_level(p._p, 1)
    document.add_paragraph("Chương I. Quy định chung", style="Chuong")
    document.add_paragraph("Điều 1. Phạm vi", style="Dieu")
    body = document.add_heading("Không phải tiêu đề", 2)  # outline level 9 = body text wins over the style
    set_outline_level(body._p, 9)
    doc = parse_docx(docx_bytes(document))
    assert doc.title == "Dự thảo Luật"
    assert outline(doc) == [
        (1, 1, "Phần thứ nhất", "Tổng quan"),
        (2, 2, "I", "Bối cảnh"),
        (3, 2, "II", "Quan điểm"),
        (4, 1, "Chương I", "Quy định chung"),
        (5, 2, "Điều 1", "Phạm vi"),
    ]
    assert doc.sections[1].children[0].body == "Không phải tiêu đề"


def test_docx_tracked_changes_content_controls_and_nfc() -> None:
    document = Document()
    document.add_heading(unicodedata.normalize("NFD", "I. Tổng quan"), 1)
    p = document.add_paragraph("Giữ ")
    p._p.append(
        parse_xml(
            f'<w:ins {nsdecls("w")} w:id="1" w:author="a">'
            '<w:r><w:t xml:space="preserve">thêm </w:t></w:r></w:ins>'
        )
    )
    p._p.append(
        parse_xml(
            f'<w:del {nsdecls("w")} w:id="2" w:author="a"><w:r><w:delText>bỏ </w:delText></w:r></w:del>'
        )
    )
    p.add_run("lại")
    sdt = parse_xml(
        f"<w:sdt {nsdecls('w')}><w:sdtContent><w:p><w:r><w:t>Trong khung nội dung</w:t></w:r></w:p>"
        "</w:sdtContent></w:sdt>"
    )
    p._p.addnext(sdt)
    document.add_heading("II. Kết luận", 1)
    doc = parse_docx(docx_bytes(document))
    assert [s.title for s in doc.sections] == ["Tổng quan", "Kết luận"]
    assert unicodedata.is_normalized("NFC", doc.sections[0].title)
    assert doc.sections[0].body == "Giữ thêm lại\n\nTrong khung nội dung"


def test_docx_heading_skip_reports_paragraph() -> None:
    document = Document()
    document.add_paragraph("Dự thảo", style="Title")
    document.add_paragraph("")
    document.add_heading("I. A", 1)
    document.add_heading("1. B", 3)
    params = import_error(parse_docx, docx_bytes(document), reason="heading_skip")
    assert params["paragraph"] == 4 and "detail" in params


def test_docx_duplicate_number_and_long_title() -> None:
    document = Document()
    document.add_heading("Điều 1. A", 1)
    document.add_heading("Điều 1. B", 1)
    params = import_error(parse_docx, docx_bytes(document), reason="duplicate_number")
    assert params["paragraph"] == 2

    document = Document()
    document.add_heading("I. A", 1)
    document.add_heading("II. " + "dài " * 130, 1)
    params = import_error(parse_docx, docx_bytes(document), reason="title_too_long")
    assert params["paragraph"] == 2


def test_docx_empty_and_no_headings() -> None:
    import_error(parse_docx, b"", reason="empty")
    document = Document()
    document.add_paragraph("   ")
    import_error(parse_docx, docx_bytes(document), reason="empty")
    document = Document()
    document.add_paragraph("Dự thảo", style="Title")
    document.add_paragraph("Chỉ có văn bản thường.")
    import_error(parse_docx, docx_bytes(document), reason="no_headings")


def test_not_docx() -> None:
    import_error(parse_docx, b"# This is Markdown, not a zip\n", reason="not_docx")
    import_error(parse_docx, random.Random(7).randbytes(4096), reason="not_docx")
    import_error(parse_docx, b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(504), reason="not_docx")
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("hello.txt", "a zip, but not a Word document")
    import_error(parse_docx, buf.getvalue(), reason="not_docx")
    truncated = build_law_docx()
    import_error(parse_docx, truncated[: len(truncated) // 2], reason="not_docx")


# ---------------------------------------------------------------------------------------------- files


def test_parse_file_dispatch(tmp_path: Path) -> None:
    md = "# I. A\n\nx\n"
    for name in ("a.md", "b.MARKDOWN", "c.txt"):
        (tmp_path / name).write_text(md, encoding="utf-8")
        assert parse_file(tmp_path / name).sections[0].title == "A"
    (tmp_path / "d.docx").write_bytes(build_law_docx())
    assert parse_file(tmp_path / "d.docx").count() == 7
    for name in ("e.pdf", "f.doc", "noext"):
        (tmp_path / name).write_bytes(b"%PDF-1.7")
        import_error(parse_file, tmp_path / name, reason="unsupported_format")


def test_parse_file_errors(tmp_path: Path) -> None:
    (tmp_path / "empty.docx").write_bytes(b"")
    import_error(parse_file, tmp_path / "empty.docx", reason="empty")
    (tmp_path / "empty.md").write_bytes(b"")
    import_error(parse_file, tmp_path / "empty.md", reason="empty")
    (tmp_path / "text.docx").write_text("# Không phải DOCX\n", encoding="utf-8")
    import_error(parse_file, tmp_path / "text.docx", reason="not_docx")
    (tmp_path / "blob.docx").write_bytes(random.Random(3).randbytes(2048))
    import_error(parse_file, tmp_path / "blob.docx", reason="not_docx")
    (tmp_path / "latin.md").write_bytes("# Dự thảo\n".encode("utf-16-le"))  # no BOM
    import_error(parse_file, tmp_path / "latin.md", reason="encoding")
    (tmp_path / "doc.md").write_bytes(build_law_docx())
    params = import_error(parse_file, tmp_path / "doc.md", reason="encoding")
    assert "zip" in params["detail"]


# ---------------------------------------------------------------------------------------- performance


def test_many_sections_parse_quickly() -> None:
    lines = ["# Dự thảo lớn", "", "Lời mở đầu."]
    for part in range(1, 6):
        lines += [f"## Phần thứ {['nhất', 'hai', 'ba', 'tư', 'năm'][part - 1]}", "Tóm tắt."]
        for chapter in range(1, 11):
            lines += [f"### {chapter}. Chương nhỏ {chapter}", "Nội dung " * 40]
            for item in range(1, 4):
                lines += [f"#### {chapter}.{item}. Mục {item}", "", "Đoạn một.", "", "Đoạn hai."]
    text = "\n".join(lines)
    started = time.perf_counter()
    doc = parse_markdown(text.encode("utf-8"))
    elapsed = time.perf_counter() - started
    assert doc.title == "Dự thảo lớn"
    assert doc.count() == 1 + 5 * (1 + 10 * (1 + 3))  # 206
    assert elapsed < 1.0, elapsed

    document = Document()
    for chapter in range(1, 61):
        document.add_heading(f"Chương {chapter}. Tên chương", 1)
        document.add_paragraph("Nội dung chương. " * 20)
        for article in range(1, 4):
            document.add_heading(f"Điều {article}. Tên điều", 2)
            document.add_paragraph("Nội dung điều.")
    data = docx_bytes(document)
    started = time.perf_counter()
    doc = parse_docx(data)
    elapsed = time.perf_counter() - started
    assert doc.count() == 240
    assert elapsed < 2.0, elapsed


def test_dataclasses_are_plain() -> None:
    section = ParsedSection(number="1", title="A", body="", level=1)
    assert section.children == []
    doc = ParsedDocument(title=None, sections=[section])
    assert list(doc.walk()) == [(1, section, None)] and doc.count() == 1
