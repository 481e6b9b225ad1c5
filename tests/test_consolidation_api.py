"""Consolidation of a small hand-made Vietnamese set: pure grouping, then JSON / XLSX / DOCX over HTTP."""

from __future__ import annotations

import io
import unicodedata
from collections import Counter

import httpx
from docx import Document
from openpyxl import load_workbook
from sqlalchemy import func, select

from core.document_consolidation import consolidate
from core.text import fold_for_matching
from storage.models import DocumentRow, FeedbackRow, SectionRow
from storage.models_api import AuditLogRow
from tests.conftest import NOW
from tests.staff_api import make_keys, serve

CORRUPTION = "Cần đẩy mạnh công tác phòng, chống tham nhũng, lãng phí trong bộ máy nhà nước."
MEDIATION = "Đề nghị chú trọng hòa giải ở cơ sở và chăm lo sức khỏe của Nhân dân."

# (section index, stance, category, text): five ways of saying one thing, then three of another.
OPINIONS = [
    (0, "other", "worker", CORRUPTION),
    (0, "other", "farmer", "CẦN ĐẨY MẠNH CÔNG TÁC PHÒNG CHỐNG THAM NHŨNG LÃNG PHÍ TRONG BỘ MÁY NHÀ NƯỚC"),
    (0, "partial", "worker", unicodedata.normalize("NFD", CORRUPTION)),
    (0, "other", None, "cần đẩy mạnh công tác phòng , chống tham nhũng ; lãng phí trong bộ máy nhà nước !!!"),
    (
        0,
        "disagree",
        "retiree",
        "Cần đẩy mạnh công tác phòng, chống tham nhũng, lãng phí trong bộ máy nhà nước",
    ),
    (0, "other", "youth", "Đề nghị tăng lương cho giáo viên mầm non ở vùng khó khăn."),
    (1, "other", "worker", MEDIATION),
    (1, "other", "worker", "Đề nghị chú trọng hoà giải ở cơ sở và chăm lo sức khoẻ của Nhân dân"),
    (
        1,
        "partial",
        "farmer",
        unicodedata.normalize("NFD", "ĐỀ NGHỊ CHÚ TRỌNG HOÀ GIẢI Ở CƠ SỞ VÀ CHĂM LO SỨC KHOẺ CỦA NHÂN DÂN."),
    ),
    (1, "other", "intellectual", "Nên mở rộng không gian xanh, công viên trong khu đô thị mới."),
    (1, "agree", "worker", ""),
]


def test_near_identical_vietnamese_opinions_group_and_different_ones_do_not() -> None:
    sections = [
        {"id": 11, "ordinal": 1, "number": "1", "title": "Kinh tế"},
        {"id": 12, "ordinal": 2, "number": "2", "title": "Xã hội"},
    ]
    opinions = [
        {
            "receipt_code": f"GY-{i:06d}",
            "section_id": 11 + s,
            "stance": st,
            "category": cat,
            "organisation": None,
            "locality": None,
            "channel": "telegram",
            "text": text,
        }
        for i, (s, st, cat, text) in enumerate(OPINIONS)
    ]
    result = consolidate(
        document={"id": 1, "code": "d", "title": "Dự thảo"}, sections=sections, opinions=opinions
    )
    first, second = result.sections
    assert [(g.count, g.receipt_codes) for g in first.groups] == [
        (5, ("GY-000000", "GY-000001", "GY-000002", "GY-000003", "GY-000004")),
        (1, ("GY-000005",)),
    ]
    assert unicodedata.is_normalized("NFC", first.groups[0].representative)
    assert fold_for_matching(first.groups[0].representative) == fold_for_matching(CORRUPTION)
    assert [(g.count, g.receipt_codes) for g in second.groups] == [
        (3, ("GY-000006", "GY-000007", "GY-000008")),
        (1, ("GY-000009",)),
    ]
    assert second.total == 5  # the plain "agree" without text is counted, not grouped
    assert first.counts["stance"] == {"other": 4, "partial": 1, "disagree": 1}
    assert first.counts["category"] == {"worker": 2, "farmer": 1, "unknown": 1, "retiree": 1, "youth": 1}
    assert result.total == len(OPINIONS)
    assert result.counts["stance"] == {"other": 7, "partial": 2, "disagree": 1, "agree": 1}


async def test_consolidation_json_xlsx_and_docx_agree_with_the_database(database_url, loaded, clock) -> None:  # type: ignore[no-untyped-def]
    keys = await make_keys(loaded)
    async with loaded() as session:
        doc = await session.scalar(select(DocumentRow).where(DocumentRow.code == "sample-political-report"))
        assert doc is not None
        section_ids = list(
            await session.scalars(
                select(SectionRow.id).where(SectionRow.document_id == doc.id).order_by(SectionRow.ordinal)
            )
        )
        for i, (s, stance, category, text) in enumerate(
            OPINIONS + [(0, "other", "worker", "Ý kiến đã rút lại")]
        ):
            session.add(
                FeedbackRow(
                    receipt_code=f"GY-V{i:05d}",
                    kind="draft_opinion",
                    document_id=doc.id,
                    section_id=section_ids[2 + s],
                    stance=stance,
                    text=unicodedata.normalize("NFC", text),
                    text_folded=fold_for_matching(text),
                    category=category,
                    channel="telegram",
                    source="bot",
                    status="withdrawn" if i == len(OPINIONS) else "active",
                    created_at=NOW,
                )
            )
        await session.commit()
        db_counts = dict(
            (
                await session.execute(
                    select(FeedbackRow.stance, func.count())
                    .where(FeedbackRow.document_id == doc.id, FeedbackRow.status == "active")
                    .group_by(FeedbackRow.stance)
                )
            ).all()
        )
    auth = keys.auth("reader")
    with serve(database_url, clock) as base:
        async with httpx.AsyncClient(base_url=base, timeout=120) as client:
            body = (await client.get(f"/v1/documents/{doc.id}/consolidation", headers=auth)).json()
            assert body["total"] == sum(db_counts.values()) == len(OPINIONS)
            assert body["counts"]["stance"] == db_counts
            assert [s["total"] for s in body["sections"]] == [6, 5]
            assert body["sections"][0]["groups"][0]["count"] == 5
            assert body["sections"][1]["groups"][0]["receipt_codes"] == [
                "GY-V00006",
                "GY-V00007",
                "GY-V00008",
            ]

            xlsx = await client.get(f"/v1/documents/{doc.id}/consolidation.xlsx", headers=auth)
            assert xlsx.status_code == 200
            book = load_workbook(io.BytesIO(xlsx.content), read_only=True)
            counts_rows = list(book.worksheets[0].iter_rows(values_only=True))[1:]
            whole_stance = {
                r[2]: r[3] for r in counts_rows if r[0] == "Toàn văn bản" and r[1] == "Chính kiến"
            }
            assert whole_stance == {
                "Ý kiến khác, đề xuất": 7,
                "Đồng ý một phần": 2,
                "Không tán thành": 1,
                "Tán thành": 1,
            }
            group_rows = list(book.worksheets[1].iter_rows(values_only=True))[1:]
            assert [r[2] for r in group_rows] == [5, 1, 3, 1]

            docx = await client.get(f"/v1/documents/{doc.id}/synthesis.docx", headers=auth)
            assert docx.status_code == 200
            report = Document(io.BytesIO(docx.content))
            text = "\n".join(p.text for p in report.paragraphs)
            assert "\nBÁO CÁO\nTỔNG HỢP Ý KIẾN GÓP Ý CỦA NHÂN DÂN VÀO [MẪU] DỰ THẢO BÁO CÁO CHÍNH TRỊ" in text
            assert "Tổng số ý kiến góp ý đã tiếp nhận: 11 ý kiến" in text
            assert (
                "- Đa số ý kiến (5/6 ý kiến) cho rằng" in text
                and "- Đa số ý kiến (3/5 ý kiến) đề nghị chú trọng hoà giải ở cơ sở" in text
            )
            assert "DỰ THẢO DỰ THẢO" not in text and "Gopy tạo tự động" not in text and "XLSX" not in text
            assert len(report.inline_shapes) == 2  # the two bar charts
            assert report.styles["Normal"].font.name == "Times New Roman"
            assert report.styles["Normal"].font.size.pt == 14
            section = report.sections[0]
            assert (round(section.page_width.mm), round(section.page_height.mm)) == (210, 297)
            assert round(section.left_margin.mm) == 30
            forbidden = await client.get(
                f"/v1/documents/{doc.id}/synthesis.docx", headers=keys.auth("reports")
            )
            assert forbidden.status_code == 403
    async with loaded() as session:
        audits = Counter(
            (a.action, a.row_count)
            for a in await session.scalars(select(AuditLogRow).where(AuditLogRow.action.like("export.%")))
        )
    assert audits == Counter({("export.consolidation", 11): 2, ("export.synthesis", 11): 1})
