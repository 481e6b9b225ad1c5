"""Mood entries on the real databases (SQLite and PostgreSQL) with the bundled plan: periods,
summary numbers reconciled with SQL counts, the DOCX draft, and the ``gopy mood`` commands."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from docx import Document as open_docx
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from typer.testing import CliRunner

from core.config import get_settings
from core.domain import Channel, FeedbackKind, Profile
from core.feedback import record_consent, save_profile, withdraw_feedback
from core.i18n import t
from core.mood import SUMMARY_DIMENSIONS, submit_mood_entry, summarise_mood_period
from core.mood_report import UnitReportLine
from formats.reports_docx import draft_mood_report
from storage.models import CongressRow, FeedbackRow, ReportingPeriodRow
from storage.uow import SqlUnitOfWork
from tests.pdf_support import assert_well_formed, render_pdf

HANOI = ZoneInfo("Asia/Ho_Chi_Minh")
HELD = datetime(2025, 10, 14, tzinfo=HANOI)  # the city's 17th Congress in data/plan.yaml
BEFORE = datetime(2025, 10, 1, 9, tzinfo=HANOI)
AFTER = datetime(2025, 10, 20, 9, tzinfo=HANOI)

# (respondent, kind, topic, text, when); respondents' profiles are below
ENTRIES = [
    (0, "concern", "economy", "Lo ngại giá cả tăng cao ảnh hưởng đời sống người lao động", BEFORE),
    (1, "concern", "economy", "Lo ngại giá cả tăng cao ảnh hưởng tới đời sống người lao động", BEFORE),
    (2, "concern", "economy", "lo ngại GIÁ CẢ tăng cao ảnh hưởng đời sống người lao động!", BEFORE),
    (0, "aspiration", "personnel", "Mong Đại hội chọn được những người thực sự có đức có tài", BEFORE),
    (1, "recommendation", "admin_reform", "Kiến nghị đơn giản hoá thủ tục cấp giấy phép xây dựng", BEFORE),
    (2, "recommendation", None, "Đề nghị công khai kết quả giải quyết kiến nghị cử tri", BEFORE),
    (3, "aspiration", "welfare", "Mong có thêm nhà ở xã hội cho công nhân", BEFORE),
    (3, "concern", "anticorruption", "Băn khoăn về việc xử lý cán bộ sai phạm", AFTER),
    (0, "recommendation", "economy", "Kiến nghị hỗ trợ doanh nghiệp nhỏ sau Đại hội", AFTER),
]
PROFILES = [
    Profile(category="worker", organisation="cd", locality=None),
    Profile(category="farmer", organisation="nd"),
    Profile(category="worker", organisation=None),
    Profile(anonymous=True),
]


@dataclass
class MoodData:
    sessions: async_sessionmaker[AsyncSession]
    url: str
    receipts: list[str]


@pytest.fixture
async def mood_data(loaded: async_sessionmaker[AsyncSession], database_url: str) -> MoodData:
    """The bundled data plus the entries above, one of them withdrawn."""
    uow_factory = lambda: SqlUnitOfWork(loaded)  # noqa: E731
    localities = []
    async with loaded() as session:
        from storage.models import ReferenceItemRow

        rows = await session.scalars(
            select(ReferenceItemRow.code).where(ReferenceItemRow.list_name == "localities").limit(2)
        )
        localities = list(rows)
    ids = []
    for i, profile in enumerate(PROFILES):
        if profile.category:
            profile.locality = localities[i % 2]
        async with uow_factory() as uow:
            respondent = await record_consent(
                uow=uow,
                channel=Channel.TELEGRAM,
                user_hash=f"mood-{i}",
                language="vi",
                version="v",
                now=BEFORE,
            )
            assert respondent.id is not None
            await save_profile(uow=uow, respondent_id=respondent.id, profile=profile)
            ids.append(respondent.id)
    receipts = []
    for who, kind, topic, text, when in ENTRIES:
        async with uow_factory() as uow:
            receipt = await submit_mood_entry(
                uow=uow,
                respondent_id=ids[who],
                congress_id=await _congress_id(uow, "city-17"),
                kind=FeedbackKind(kind),
                topic=topic,
                text=text,
                channel=Channel.TELEGRAM,
                now=when.astimezone(UTC),
                max_length=4000,
            )
            receipts.append(receipt.receipt_code)
    async with uow_factory() as uow:  # the author withdraws the 'personnel' aspiration
        await withdraw_feedback(uow=uow, respondent_id=ids[0], receipt_code=receipts[3], now=AFTER)
    return MoodData(loaded, database_url, receipts)


async def _congress_id(uow: SqlUnitOfWork, code: str) -> int:
    return next(c.id for c in await uow.plan.list_congresses() if c.code == code)


async def _period_id(sessions: async_sessionmaker[AsyncSession], code: str) -> int:
    async with sessions() as session:
        found = await session.scalar(select(ReportingPeriodRow.id).where(ReportingPeriodRow.code == code))
    assert found is not None
    return found


async def test_entries_are_stored_in_the_period_of_their_time(mood_data: MoodData) -> None:
    before = await _period_id(mood_data.sessions, "city-17-before")
    after = await _period_id(mood_data.sessions, "city-17-after")
    async with mood_data.sessions() as session:
        rows = {r.receipt_code: r for r in await session.scalars(select(FeedbackRow))}
        congress = await session.scalar(select(CongressRow).where(CongressRow.code == "city-17"))
    assert congress is not None
    for code, (_, kind, topic, _text, when) in zip(mood_data.receipts, ENTRIES, strict=True):
        row = rows[code]
        assert row.congress_id == congress.id and row.kind == kind and row.topic == topic
        assert row.period_id == (before if when < HELD else after)
        assert row.created_at == when.astimezone(UTC) and row.stance is None


async def test_the_instant_before_and_the_congress_instant_through_the_database(
    loaded: async_sessionmaker[AsyncSession],
) -> None:
    held = HELD.astimezone(UTC)
    async with SqlUnitOfWork(loaded) as uow:
        respondent = await record_consent(
            uow=uow, channel=Channel.WEB, user_hash="edge", language="vi", version="v", now=held
        )
    assert respondent.id is not None
    codes = {}
    for label, when in (("before", held - timedelta(microseconds=1)), ("after", held)):
        async with SqlUnitOfWork(loaded) as uow:
            receipt = await submit_mood_entry(
                uow=uow,
                respondent_id=respondent.id,
                congress_id=await _congress_id(uow, "city-17"),
                kind=FeedbackKind.CONCERN,
                topic=None,
                text=label,
                channel=Channel.WEB,
                now=when,
                max_length=100,
            )
            codes[label] = receipt.receipt_code
    for label in ("before", "after"):
        async with SqlUnitOfWork(loaded) as uow:
            entry = await uow.feedback.get_by_receipt(codes[label])
        assert entry is not None
        assert entry.period_id == await _period_id(loaded, f"city-17-{label}")


async def test_summary_numbers_reconcile_with_the_rows(mood_data: MoodData) -> None:
    period_id = await _period_id(mood_data.sessions, "city-17-before")
    async with SqlUnitOfWork(mood_data.sessions) as uow:
        summary = await summarise_mood_period(uow=uow, period_code="city-17-before")
    active = (FeedbackRow.period_id == period_id, FeedbackRow.status == "active")
    async with mood_data.sessions() as session:
        total = await session.scalar(select(func.count()).select_from(FeedbackRow).where(*active))
        withdrawn = await session.scalar(
            select(func.count())
            .select_from(FeedbackRow)
            .where(FeedbackRow.period_id == period_id, FeedbackRow.status == "withdrawn")
        )
        by_column = {}
        for dim in ("kind", "topic", "category", "organisation", "locality"):
            column = getattr(FeedbackRow, dim)
            result = await session.execute(select(column, func.count()).where(*active).group_by(column))
            by_column[dim] = {(value or "unknown"): n for value, n in result.all()}
    assert summary.total == total == 6 and summary.withdrawn == withdrawn == 1
    for dim in SUMMARY_DIMENSIONS:
        assert sum(summary.counts[dim].values()) == summary.total, dim
    assert summary.counts["congress"] == {"city-17": 6}
    for dim, expected in by_column.items():
        assert summary.counts[dim] == expected, dim
    assert summary.counts["kind"] == {"concern": 3, "recommendation": 2, "aspiration": 1}
    assert summary.counts["category"]["unknown"] == 1  # the anonymous respondent
    # near-identical groups: the three 'prices' concerns are one group, nothing else is grouped
    repeated = [g for g in summary.groups if g.count > 1]
    assert len(repeated) == 1 and repeated[0].kind is FeedbackKind.CONCERN and repeated[0].count == 3
    assert set(repeated[0].receipt_codes) == set(mood_data.receipts[:3])
    assert sum(g.count for g in summary.groups) == summary.total
    assert summary.label("topic", "economy") == "Kinh tế và việc làm"
    # the JSON view carries the same numbers
    data = summary.as_dict()
    assert data["total"] == 6 and sum(c["count"] for c in data["counts"]["locality"]) == 6


async def test_summary_of_the_after_period_and_unknown_period(mood_data: MoodData) -> None:
    async with SqlUnitOfWork(mood_data.sessions) as uow:
        after = await summarise_mood_period(uow=uow, period_code="city-17-after")
        assert after.total == 2 and after.counts["kind"] == {"concern": 1, "recommendation": 1}
        from core.errors import ReportingPeriodNotFound

        with pytest.raises(ReportingPeriodNotFound):
            await summarise_mood_period(uow=uow, period_code="nope")


MOOD_PARTS = [
    f"{number}. {t(f'mood.report.part_{key}')}"
    for number, key in zip(
        ("I", "II", "III", "IV"), ("overview", "contents", "units", "assessment"), strict=True
    )
]


def _docx_text(content: bytes) -> tuple[str, object]:
    document = open_docx(io.BytesIO(content))
    parts = [p.text for p in document.paragraphs]
    for table in document.tables:
        for row in table.rows:
            parts.extend(cell.text for cell in row.cells)
    return "\n".join(parts), document


async def test_docx_draft_combines_entries_and_units(mood_data: MoodData) -> None:
    now = datetime(2025, 10, 3, 2, tzinfo=UTC)
    units = [
        UnitReportLine("Ủy ban MTTQ Việt Nam thành phố", "on_time", datetime(2025, 9, 3, 3, tzinfo=UTC)),
        ("Đảng ủy phường Lê Chân", "late", datetime(2025, 9, 6, 3, tzinfo=UTC)),
        ("Đảng ủy Khối doanh nghiệp", "missing", None),
    ]
    async with SqlUnitOfWork(mood_data.sessions) as uow:
        content = await draft_mood_report(uow=uow, period_code="city-17-before", now=now, units=units)
    text, document = _docx_text(content)
    assert "BÁO CÁO" in text
    assert "\nTÌNH HÌNH NHÂN DÂN TRƯỚC ĐẠI HỘI XVII ĐẢNG BỘ THÀNH PHỐ\n" in text
    assert "Hải Phòng, ngày 03 tháng 10 năm 2025" in text and "ĐẢNG BỘ THÀNH PHỐ HẢI PHÒNG" in text
    assert "Tổng số ý kiến: 6" in text and "đã rút, không tổng hợp: 1" in text
    assert "- Đa số ý kiến (3/3 ý kiến) lo ngại giá cả tăng cao ảnh hưởng đời sống người lao động." in text, (
        text
    )
    assert "- Có ý kiến kiến nghị đơn giản hoá thủ tục cấp giấy phép xây dựng." in text
    assert "- Có ý kiến băn khoăn về việc xử lý cán bộ sai phạm." not in text  # another period
    assert "PHỤ LỤC 1. TÂM TƯ, NGUYỆN VỌNG, KIẾN NGHỊ ĐÃ TIẾP NHẬN" in text and "Gopy" not in text
    assert "Kinh tế và việc làm" in text and "Công nhân" in text
    assert (
        "Tổng số đơn vị: 3; báo cáo đúng hạn: 1; báo cáo trễ hạn: 1; báo qua kênh khác (chờ xác nhận): 0; chưa báo cáo: 1."
        in text
    )
    assert "Đảng ủy phường Lê Chân" in text and "Trễ hạn" in text and "06/09/2025" in text
    assert "Chưa có dữ liệu" not in text
    section = document.sections[0]  # type: ignore[attr-defined]
    sizes = [section.page_width, section.page_height, section.left_margin, section.right_margin]
    assert [round(size.mm) for size in sizes] == [210, 297, 30, 15]
    normal = document.styles["Normal"]  # type: ignore[attr-defined]
    assert normal.font.name == "Times New Roman" and normal.font.size.pt == 14
    pdf = render_pdf(content, "mood")
    assert 3 <= len(pdf.pages) <= 8, len(pdf.pages)
    assert_well_formed(pdf, part_headings=[*MOOD_PARTS, t("mood.report.appendix", number=1)])


async def test_docx_draft_without_unit_data_and_without_entries(
    loaded: async_sessionmaker[AsyncSession],
) -> None:
    now = datetime(2025, 12, 1, tzinfo=UTC)
    async with SqlUnitOfWork(loaded) as uow:
        content = await draft_mood_report(uow=uow, period_code="national-14-after", now=now)
    text, _ = _docx_text(content)
    assert "\nTÌNH HÌNH NHÂN DÂN SAU ĐẠI HỘI XIV CỦA ĐẢNG\n" in text
    assert "Chưa có dữ liệu báo cáo của các đơn vị cho kỳ này." in text
    assert "chưa nhận được tâm tư, nguyện vọng, kiến nghị nào" in text and "PHỤ LỤC" not in text
    pdf = render_pdf(content, "mood-empty")
    assert len(pdf.pages) <= 2
    assert "Hải Phòng, ngày 01 tháng 12 năm 2025" in pdf.text
    assert_well_formed(pdf, part_headings=MOOD_PARTS)


@pytest.fixture
def cli_env(mood_data: MoodData, monkeypatch: pytest.MonkeyPatch) -> Iterator[MoodData]:
    monkeypatch.setenv("GOPY_DATABASE_URL", mood_data.url)
    get_settings.cache_clear()
    yield mood_data
    get_settings.cache_clear()


def test_cli_summary_and_report(cli_env: MoodData, tmp_path) -> None:  # type: ignore[no-untyped-def]
    from cli.main import app

    runner = CliRunner()
    result = runner.invoke(app, ["mood", "summary", "city-17-before", "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["total"] == 6 and data["period"]["code"] == "city-17-before"
    assert {c["code"]: c["count"] for c in data["counts"]["kind"]} == {
        "concern": 3,
        "recommendation": 2,
        "aspiration": 1,
    }
    result = runner.invoke(app, ["mood", "summary", "city-17-before"])
    assert result.exit_code == 0 and "Theo chủ đề" in result.output and "     3  [Tâm tư]" in result.output
    out = tmp_path / "bao-cao.docx"
    result = runner.invoke(app, ["mood", "report", "city-17-before", "-o", str(out)])
    assert result.exit_code == 0, result.output
    text, _ = _docx_text(out.read_bytes())
    assert "Tổng số ý kiến: 6" in text
    result = runner.invoke(app, ["mood", "summary", "nope"])
    assert result.exit_code == 2 and "nope" in result.output
