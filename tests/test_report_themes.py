"""Themes and reporting verbs in the two Word reports (issue 12 §2–3).

The paraphrase set (tests/data/themes_vi.json, 8 ideas × 5 wordings) goes through the real
consolidation and mood summary, with staff edits (a rename, a merge) stored as
:class:`core.theme_edits.StoredTheme`; the DOCX files are opened with python-docx and searched for
the themes, their counts and their representative wordings.
"""

from __future__ import annotations

import io
import json
from dataclasses import replace
from datetime import datetime
from pathlib import Path

from docx import Document as open_docx

from api.v1.consolidation import report_labels
from core.admin_document import AdminDocument
from core.config import Settings
from core.document_consolidation import consolidate
from core.domain import Channel, Feedback, FeedbackKind, Profile, Source
from core.mood import summarise_entries
from core.mood_report import mood_report
from core.report_phrases import Wording, phrase, reporting_verb
from core.synthesis_report import synthesis_report
from core.theme_edits import StoredTheme, mood_scope, section_scope
from formats.docx_layout import render_docx
from tests.fakes import sample_store
from tests.pdf_support import assert_well_formed, render_pdf

ISSUER = Settings(home=Path("/nonexistent")).report_issuer_of()
TODAY = datetime(2026, 12, 1, 9)
ROWS = json.loads((Path(__file__).parent / "data" / "themes_vi.json").read_text(encoding="utf-8"))
DOCUMENT = {"id": 7, "code": "bcct", "title": "Dự thảo Báo cáo chính trị"}
SECTIONS = [{"id": 70, "ordinal": 1, "number": "1", "title": "Về an sinh xã hội", "parent_id": None}]
HOUSING = "Nhà ở xã hội cho công nhân khu công nghiệp"
SERVICES = "Giáo viên và trạm y tế cơ sở"


def _codes(*ideas: str) -> frozenset[str]:
    return frozenset(f"GY-P{n:05d}" for n, row in enumerate(ROWS) if row["idea"] in ideas)


def _opinions() -> list[dict[str, object]]:
    return [
        {
            "receipt_code": f"GY-P{n:05d}",
            "section_id": 70,
            "text": row["text"],
            "stance": "partial",
            "category": "worker",
            "organisation": "mttq",
            "locality": "p-hong-bang",
            "channel": "telegram",
        }
        for n, row in enumerate(ROWS)
    ]


def _docx(report: AdminDocument) -> tuple[bytes, list[str], list[list[list[str]]]]:
    content = render_docx(report)
    document = open_docx(io.BytesIO(content))
    tables = [[[c.text for c in r.cells] for r in table.rows] for table in document.tables]
    return content, [p.text for p in document.paragraphs], tables


def test_the_reporting_verb_is_the_opinions_own_else_its_kind_or_stance() -> None:
    assert reporting_verb("Đề nghị thành phố xây thêm nhà ở xã hội.") == (
        "de_nghi",
        "thành phố xây thêm nhà ở xã hội",
    )
    assert reporting_verb("Tôi kiến nghị: sửa tuyến đường ven sông") == (
        "kien_nghi",
        "sửa tuyến đường ven sông",
    )
    assert reporting_verb("Rất mong Hải Phòng sớm có tàu điện") == ("mong_muon", "Hải Phòng sớm có tàu điện")
    assert reporting_verb("Đề nghị UBND phường tiếp dân") == ("de_nghi", "UBND phường tiếp dân")
    assert reporting_verb("Giá điện tăng cao", "concern") == ("phan_anh", "giá điện tăng cao")
    assert reporting_verb("Được hỗ trợ học nghề", "aspiration") == ("mong_muon", "được hỗ trợ học nghề")
    assert reporting_verb("Sửa cầu Rào", "recommendation")[0] == "kien_nghi"
    assert reporting_verb("Cần sửa cầu Rào", "recommendation") == ("cho_rang", "cần sửa cầu Rào")
    assert reporting_verb("Cần sửa cầu Rào", "disagree")[0] == "khong_tan_thanh"
    assert reporting_verb("Mục 3 chưa sát thực tế", "disagree")[0] == "khong_tan_thanh"
    assert reporting_verb("Dự thảo viết rõ ràng", "agree")[0] == "tan_thanh_cho_rang"
    assert reporting_verb("Dự thảo cần ngắn gọn hơn", "partial") == ("cho_rang", "dự thảo cần ngắn gọn hơn")
    assert reporting_verb("Đề nghị.")[0] == "cho_rang"  # nothing after the verb: kept as said
    assert reporting_verb("Đề nghịch lý")[0] == "cho_rang"  # a verb only as a whole word

    def said(text: str, count: int, total: int, hint: str | None = None) -> str:
        return phrase(Wording(text, count, tuple(f"c{i}" for i in range(count)), hint), total, ISSUER)

    assert (
        said("Đề nghị tăng lương giáo viên.", 6, 10)
        == "Đa số ý kiến (6/10 ý kiến) đề nghị tăng lương giáo viên."
    )
    assert said("Mục 3 chưa sát thực tế.", 1, 10, "disagree") == (
        "Có ý kiến không tán thành, cho rằng mục 3 chưa sát thực tế."
    )
    assert (
        said("Giá điện tăng cao", 3, 10, "concern")
        == "Nhiều ý kiến (3/10 ý kiến) phản ánh giá điện tăng cao."
    )
    english = phrase(Wording("Đề nghị tăng lương", 1, ("c",)), 4, ISSUER, "en")
    assert english == "In one opinion, people propose tăng lương."


def test_the_synthesis_report_lists_the_themes_with_staff_names_counts_and_wordings() -> None:
    document_scope = section_scope(7, 70)
    edits = {
        document_scope: [
            StoredTheme(1, HOUSING, _codes("housing")),  # a rename
            StoredTheme(2, SERVICES, _codes("teachers", "health")),  # a merge of two themes
        ]
    }
    result = consolidate(document=DOCUMENT, sections=SECTIONS, opinions=_opinions(), theme_edits=edits)
    section = result.sections[0]
    assert [(th.label, th.count) for th in section.themes[:2]] == [(SERVICES, 10), (HOUSING, 5)]
    report = synthesis_report(result, labels=report_labels({}), today=TODAY, issuer=ISSUER)
    content, paragraphs, tables = _docx(report)
    text = "\n".join(paragraphs)
    assert "Các ý kiến tập trung vào 7 nhóm nội dung sau:" in paragraphs
    assert "a) Về giáo viên và trạm y tế cơ sở (10/40 ý kiến)" in paragraphs
    assert "b) Về nhà ở xã hội cho công nhân khu công nghiệp (5/40 ý kiến)" in paragraphs
    headings = [p for p in paragraphs if p[:3] in {f"{c}) " for c in "abcdeghik"}]
    assert len(headings) == 7
    # the lexical themes keep their key phrases as label
    assert sum(p.startswith(("c) Nhóm ý kiến về: ", "d) Nhóm ý kiến về: ")) for p in headings) == 2
    housing = paragraphs.index("b) Về nhà ở xã hội cho công nhân khu công nghiệp (5/40 ý kiến)")
    under = paragraphs[housing + 1 : housing + 5]
    assert under[0] == (
        "- Có ý kiến đề nghị thành phố xây dựng thêm nhà ở xã hội cho công nhân các khu công nghiệp."
    )
    assert all(line.startswith("- Có ý kiến ") for line in under[:3])
    assert under[3] == "Cùng nội dung này còn 2 ý kiến khác, được liệt kê tại phụ lục kèm theo."
    assert "Các ý kiến khác" not in paragraphs  # every opinion is in a theme
    assert "cho rằng đề nghị" not in text and "cho rằng kiến nghị" not in text
    appendix = next(rows for rows in tables if rows[0][2:4] == ["Nhóm nội dung", "Ý kiến tiêu biểu"])
    assert [row[2] for row in appendix[1:3]] == [SERVICES, HOUSING]
    assert [row[4] for row in appendix[1:-1]] == ["10"] + ["5"] * 6
    assert appendix[-1][1:] == ["Tổng cộng", "7 nhóm", "", "40"]
    assert "PHỤ LỤC 2. CÁC NHÓM NỘI DUNG ĐƯỢC NHIỀU Ý KIẾN ĐỀ CẬP" in paragraphs
    pdf = render_pdf(content, "synthesis-themes")
    assert_well_formed(
        pdf, part_headings=[p.heading for p in report.parts] + [p.heading for p in report.appendices]
    )

    # Undo every edit: the automatic themes come back with their key phrases, eight of them.
    plain = consolidate(document=DOCUMENT, sections=SECTIONS, opinions=_opinions())
    _, paragraphs, _ = _docx(synthesis_report(plain, labels=report_labels({}), today=TODAY, issuer=ISSUER))
    assert "Các ý kiến tập trung vào 8 nhóm nội dung sau:" in paragraphs
    assert SERVICES.lower() not in "\n".join(paragraphs).lower()


def test_a_theme_that_is_one_group_of_copies_is_not_repeated_as_a_theme() -> None:
    rows = [{**row, "text": ROWS[0]["text"]} for row in _opinions()[:4]] + _opinions()[30:31]
    result = consolidate(document=DOCUMENT, sections=SECTIONS, opinions=rows)
    _, paragraphs, tables = _docx(
        synthesis_report(result, labels=report_labels({}), today=TODAY, issuer=ISSUER)
    )
    assert not any("nhóm nội dung sau" in p for p in paragraphs)
    assert (
        "- Đa số ý kiến (4/5 ý kiến) đề nghị thành phố xây dựng thêm nhà ở xã hội cho công nhân các khu công nghiệp."
        in paragraphs
    )
    assert not any(rows[0][2:3] == ["Nhóm nội dung"] for rows in tables)


def test_the_mood_report_lists_the_themes_of_each_topic_with_the_staff_names() -> None:
    store = sample_store(TODAY)
    period, congress = store.periods[2], store.congresses[1]
    kinds = (FeedbackKind.RECOMMENDATION, FeedbackKind.CONCERN, FeedbackKind.ASPIRATION)
    entries = [
        Feedback(
            id=n + 1,
            receipt_code=f"GY-P{n:05d}",
            kind=kinds[n % 3],
            respondent_id=1,
            text=row["text"],
            text_folded="",
            channel=Channel.TELEGRAM,
            source=Source.BOT,
            created_at=TODAY,
            congress_id=congress.id,
            period_id=period.id,
            topic="welfare" if row["idea"] in {"housing", "teachers", "health"} else None,
            profile=Profile(),
        )
        for n, row in enumerate(ROWS)
    ]
    edits = {mood_scope(period.id, "welfare"): [StoredTheme(5, HOUSING, _codes("housing"))]}
    labels = {
        "topic": {"welfare": "An sinh xã hội", "unknown": "Chưa xác định chủ đề"},
        "kind": {"concern": "Tâm tư", "aspiration": "Nguyện vọng", "recommendation": "Kiến nghị"},
    }
    summary = summarise_entries(entries, period=period, congress=congress, labels=labels, theme_edits=edits)
    report = mood_report(summary, units=None, now=TODAY.astimezone(), issuer=ISSUER)
    content, paragraphs, tables = _docx(report)
    assert "4. Các nhóm nội dung theo chủ đề" in paragraphs
    assert "4.1. An sinh xã hội (15 ý kiến)" in paragraphs
    assert any(p.startswith("4.2. Chưa xác định chủ đề (25 ý kiến)") for p in paragraphs)
    housing = next(
        p for p in paragraphs if p.endswith("Về nhà ở xã hội cho công nhân khu công nghiệp (5/15 ý kiến)")
    )
    lines = paragraphs[paragraphs.index(housing) + 1 : paragraphs.index(housing) + 4]
    # the verb follows the opinion: its own "đề nghị", else its kind ("phản ánh", "mong muốn")
    assert (
        "- Có ý kiến phản ánh công nhân làm việc ở khu công nghiệp rất cần nhà ở xã hội với giá thuê phù hợp."
        in lines
    )
    assert all(
        line.startswith(("- Có ý kiến đề nghị", "- Có ý kiến phản ánh", "- Có ý kiến cho rằng cần"))
        for line in lines
    )
    assert "1. Tâm tư" in paragraphs and "- Có ý kiến kiến nghị tình trạng kẹt xe" in "\n".join(paragraphs)
    appendix = next(rows for rows in tables if rows[0][1:3] == ["Chủ đề", "Nhóm nội dung"])
    assert [HOUSING, "5"] in [[row[2], row[4]] for row in appendix]
    assert sum(int(row[4]) for row in appendix[1:-1]) == int(appendix[-1][4])
    assert "PHỤ LỤC 1. TÂM TƯ, NGUYỆN VỌNG, KIẾN NGHỊ ĐÃ TIẾP NHẬN" in paragraphs
    assert "PHỤ LỤC 2. CÁC NHÓM NỘI DUNG THEO CHỦ ĐỀ" in paragraphs
    pdf = render_pdf(content, "mood-themes")
    assert_well_formed(
        pdf, part_headings=[p.heading for p in report.parts] + [p.heading for p in report.appendices]
    )
    # without themes (each entry of its own topic) the part and the appendix are left out
    alone = [replace(e, topic=f"t{n}") for n, e in enumerate(entries[:3])]
    bare = mood_report(
        summarise_entries(alone, period=period, congress=congress, labels=labels),
        units=None,
        now=TODAY.astimezone(),
        issuer=ISSUER,
    )
    _, paragraphs, _ = _docx(bare)
    assert not any("nhóm nội dung" in p.lower() for p in paragraphs)
