"""The console's public-mood, reporting-units and contacts pages over HTTP (the real app, SQLite and
PostgreSQL): what each role sees and may do, the refusals, the downloads and the audit rows."""

from __future__ import annotations

import base64
import io
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import openpyxl
import pytest
from docx import Document as read_docx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.clock import FixedClock
from core.config import BUNDLED_DATA_DIR
from core.domain import Channel, FeedbackKind
from core.feedback import record_consent
from core.mood import submit_mood_entry
from core.reporting import claim_offchannel, store_report_file, submit_report
from core.reporting.model import report_receipt_code
from storage.loaders import load_file
from storage.models_api import AuditLogRow
from storage.models_reporting import ContactRow
from storage.repositories_reporting import LocalFileStore
from storage.uow import SqlUnitOfWork
from tests.reporting_helpers import PDF, bound_contact
from tests.staff_console import Console, console_app

PERIOD = "city-17-before"
BEFORE_DUE = datetime(2025, 9, 2, 3, 0, tzinfo=UTC)  # 2 Sep 10:00 local, before the due date (5 Sep)
BOT = "gopy_test_bot"


@dataclass
class Setup:
    console: Console
    file_report: int  # mttq's report, a PDF
    claim: int  # ldld's "sent through another channel", to confirm


async def prepare(sessions: async_sessionmaker[AsyncSession], files: Path) -> tuple[int, int]:
    """Units, a unit's PDF report, another unit's off-channel claim and two near-identical mood entries."""
    async with sessions() as session:
        await load_file(session, BUNDLED_DATA_DIR / "units.yaml", now=BEFORE_DUE)
        await session.commit()
    mttq = await bound_contact(sessions, unit="mttq", chat_id=7001, now=BEFORE_DUE)
    ldld = await bound_contact(sessions, unit="ldld", chat_id=7002, now=BEFORE_DUE, name="Hà")
    async with SqlUnitOfWork(sessions) as uow:
        period = next(p for p in await uow.plan.list_periods() if p.code == PERIOD)
        report = await submit_report(
            uow=uow,
            contact_id=mttq,
            period_id=period.id,
            file=store_report_file(files=LocalFileStore(files), content=PDF),
            summary="Ổn định",
            opinions_count=12,
            now=BEFORE_DUE,
        )
    async with SqlUnitOfWork(sessions) as uow:
        claim = await claim_offchannel(uow=uow, contact_id=ldld, period_id=period.id, now=BEFORE_DUE)
    async with SqlUnitOfWork(sessions) as uow:
        respondent = await record_consent(
            uow=uow, channel=Channel.TELEGRAM, user_hash="m1", language="vi", version="v", now=BEFORE_DUE
        )
        congress = next(c for c in await uow.plan.list_congresses() if c.code == "city-17")
        assert respondent.id is not None
        for text in ("Mong Đại hội chọn được người tài.", "Mong Đại hội chọn được người tài!"):
            await submit_mood_entry(
                uow=uow,
                respondent_id=respondent.id,
                congress_id=congress.id,
                kind=FeedbackKind.ASPIRATION,
                topic="personnel",
                text=text,
                channel=Channel.TELEGRAM,
                now=BEFORE_DUE,
                max_length=4000,
            )
    return report.id, claim.id


@pytest.fixture
async def pages(
    database_url: str, loaded: async_sessionmaker[AsyncSession], clock: FixedClock, tmp_path: Path
) -> AsyncIterator[Setup]:
    files = tmp_path / "files"
    report, claim = await prepare(loaded, files)
    async with console_app(database_url, clock, files_dir=files, bot_username=BOT) as console:
        yield Setup(console, report, claim)


async def audit_actions(console: Console) -> list[tuple[str, str | None, str]]:
    async with console.sessions() as session:
        rows = await session.scalars(select(AuditLogRow).order_by(AuditLogRow.id))
        return [(r.action, r.target, r.actor) for r in rows]


# --------------------------------------------------------------------------- public mood


async def test_mood_page_shows_the_period_summary_and_the_report_draft(pages: Setup) -> None:
    viewer = await pages.console.client("viewer")
    page = await viewer.get("/staff/mood", params={"period": PERIOD})
    assert page.status_code == 200
    html = page.text
    assert "Báo cáo tình hình Nhân dân trước Đại hội XVII" in html
    assert re.search(r'id="mood-total">2<', html)
    for dim in ("congress", "kind", "topic", "category", "organisation", "locality"):
        assert f'id="h-dim-{dim}"' in html
    assert "Mong Đại hội chọn được người tài" in html  # the near-identical group's representative
    assert "Các chủ đề theo từng lĩnh vực" in html
    report = await viewer.get(f"/staff/mood/{PERIOD}/report.docx")
    assert report.status_code == 200
    assert report.headers["content-disposition"].endswith(f'bao-cao-tinh-hinh-{PERIOD}.docx"')
    document = read_docx(io.BytesIO(report.content))
    cells = " ".join(c.text for t in document.tables for row in t.rows for c in row.cells)
    assert "Ủy ban Mặt trận Tổ quốc Việt Nam thành phố" in cells
    english = await viewer.get("/staff/mood", params={"period": PERIOD, "lang": "en"})
    assert "Public mood report before the city&#39;s 17th Congress" in english.text
    assert "Themes by topic" in english.text
    missing = await viewer.get("/staff/mood", params={"period": "nope", "lang": "vi"})
    assert missing.status_code == 404 and "Không tìm thấy kỳ báo cáo này" in missing.text
    assert (await viewer.get("/staff/mood/nope/report.docx")).status_code == 404
    actor = f"staff:{viewer.email}"
    actions = await audit_actions(pages.console)
    assert ("export.mood_summary", PERIOD, actor) in actions
    assert ("export.mood_report", PERIOD, actor) in actions
    anonymous = pages.console.anonymous()
    refused = await anonymous.get(f"/staff/mood/{PERIOD}/report.docx")
    assert refused.status_code == 303 and "/staff/login" in refused.headers["location"]


# --------------------------------------------------------------------------- reporting units


async def test_units_page_lists_the_compliance_with_receipt_codes(pages: Setup) -> None:
    viewer = await pages.console.client("viewer")
    page = await viewer.get("/staff/units", params={"period": PERIOD})
    assert page.status_code == 200
    html = page.text
    assert report_receipt_code(pages.file_report) in html and report_receipt_code(pages.claim) in html
    mttq = html[html.index('id="unit-mttq"') :]
    mttq = mttq[: mttq.index("</tr>")]
    assert "Đúng hạn" in mttq or "đúng hạn" in mttq.lower()
    assert f"/staff/units/reports/{pages.file_report}/file" in mttq
    assert "1/1" in mttq  # the unit's contacts: reachable / active
    ldld = html[html.index('id="unit-ldld"') :]
    ldld = ldld[: ldld.index("</tr>")]
    assert "gửi qua kênh khác" in ldld
    assert "/confirm" not in ldld  # a viewer does not confirm
    assert ("read.compliance", PERIOD, f"staff:{viewer.email}") in await audit_actions(pages.console)
    assert (await viewer.get("/staff/units", params={"period": "nope"})).status_code == 404


async def test_confirming_an_offchannel_report_needs_an_analyst_and_is_audited(pages: Setup) -> None:
    url = f"/staff/units/reports/{pages.claim}/confirm?period={PERIOD}"
    viewer = await pages.console.client("viewer")
    assert (await viewer.post(url)).status_code == 403
    analyst = await pages.console.client("analyst")
    assert (await analyst.post(url, csrf=False)).status_code == 403  # no CSRF token
    before = await analyst.get("/staff/units", params={"period": PERIOD})
    assert url in before.text
    done = await analyst.post(url)
    assert done.status_code == 303 and done.headers["location"] == f"/staff/units?period={PERIOD}"
    after = await analyst.get(done.headers["location"])
    assert "Đã xác nhận báo cáo gửi qua kênh khác" in after.text
    ldld = after.text[after.text.index('id="unit-ldld"') :]
    assert "chờ xác nhận" not in ldld[: ldld.index("</tr>")] and url not in after.text
    assert ("report.confirm", str(pages.claim), f"staff:{analyst.email}") in await audit_actions(
        pages.console
    )
    # a file report is not an off-channel claim
    wrong = await analyst.post(f"/staff/units/reports/{pages.file_report}/confirm")
    assert wrong.status_code == 404 and "Không tìm thấy báo cáo này" in wrong.text
    admin = await pages.console.client("admin")
    assert (await admin.post(url)).status_code == 303  # admins confirm too (again: no change)


async def test_report_file_and_compliance_xlsx_downloads_are_audited(pages: Setup) -> None:
    viewer = await pages.console.client("viewer")
    file = await viewer.get(f"/staff/units/reports/{pages.file_report}/file")
    assert file.status_code == 200 and file.content == PDF
    assert file.headers["content-type"] == "application/pdf"
    assert (await viewer.get(f"/staff/units/reports/{pages.claim}/file")).status_code == 404  # no file
    assert (await viewer.get("/staff/units/reports/999999/file")).status_code == 404
    xlsx = await viewer.get(f"/staff/units/{PERIOD}/compliance.xlsx")
    assert xlsx.status_code == 200
    sheet = openpyxl.load_workbook(io.BytesIO(xlsx.content)).active
    assert sheet is not None
    values = [[c for c in row] for row in sheet.iter_rows(values_only=True)]
    assert values[0][0] == "Kỳ báo cáo"
    assert any("Ủy ban Mặt trận Tổ quốc Việt Nam thành phố" in row for row in values)
    assert len(values) > 2
    assert (await viewer.get("/staff/units/nope/compliance.xlsx")).status_code == 404
    actions = await audit_actions(pages.console)
    actor = f"staff:{viewer.email}"
    assert ("download.report", str(pages.file_report), actor) in actions
    assert ("export.compliance", PERIOD, actor) in actions


async def test_reminders_preview_at_a_chosen_moment(pages: Setup) -> None:
    viewer = await pages.console.client("viewer")
    # 4 Sep 2025 08:00 local: the reminder of the day before the 5 Sep deadline
    page = await viewer.get("/staff/units/reminders", params={"at": "2025-09-04T08:00"})
    assert page.status_code == 200
    html = page.text
    assert 'type="datetime-local"' in html and 'value="2025-09-04T08:00"' in html
    assert "Vào lúc 08:00 04/09/2025" in html
    rows = html[html.index("<tbody>") : html.index("</tbody>")].split("<tr>")[1:]
    assert rows and all("Nhắc hạn" in row for row in rows)  # the contacts' other periods due that day
    # for this period, the units that reported (mttq) or claimed (ldld) get no reminder; the units
    # without a contact are listed apart
    assert not [row for row in rows if f"<td>{PERIOD}</td>" in row]
    assert "Đơn vị chưa có đầu mối" in html and f"{PERIOD} · t-1 · doan-tn" in html
    empty = await viewer.get("/staff/units/reminders", params={"at": "2025-08-01T12:00"})
    assert "Không có tin nhắn nào được gửi vào lúc này" in empty.text
    bad = await viewer.get("/staff/units/reminders", params={"at": "tomorrow"})
    assert bad.status_code == 422 and "Thời điểm không hợp lệ" in bad.text


# --------------------------------------------------------------------------- contacts


def _qr_svg(html: str) -> str:
    found = re.search(r'id="invite-qr" src="data:image/svg\+xml;base64,([^"]+)"', html)
    assert found, "no QR code image"
    return base64.b64decode(found.group(1)).decode("utf-8")


async def test_contacts_page_is_for_admins(pages: Setup) -> None:
    analyst = await pages.console.client("analyst")
    assert (await analyst.get("/staff/contacts")).status_code == 403
    assert (await analyst.post("/staff/contacts/invite", data={"unit_code": "mttq"})).status_code == 403
    admin = await pages.console.client("admin")
    page = await admin.get("/staff/contacts")
    assert page.status_code == 200
    assert "Đã kết nối" in page.text and "Liên đoàn Lao động thành phố" in page.text
    assert '<label for="invite-unit">' in page.text and '<label for="invite-name">' in page.text
    assert ("read.contacts", f"staff:{admin.email}") in [
        (a, actor) for a, _t, actor in await audit_actions(pages.console)
    ]


async def test_invite_disable_reenable_and_reinvite(pages: Setup) -> None:
    admin = await pages.console.client("admin")
    assert (
        await admin.post("/staff/contacts/invite", data={"unit_code": "hoi-pn"}, csrf=False)
    ).status_code == 403
    made = await admin.post("/staff/contacts/invite", data={"unit_code": "hoi-pn", "name": "Mai"})
    assert made.status_code == 200
    link = re.search(r'id="invite-link">([^<]+)<', made.text)
    assert link and link.group(1).startswith(f"https://t.me/{BOT}?start=")
    svg = _qr_svg(made.text)
    assert "<svg" in svg and "style=" not in svg and "Hội Liên hiệp Phụ nữ thành phố" in svg
    assert "Kính gửi đồng chí" in made.text
    async with pages.console.sessions() as session:
        mai = (await session.scalars(select(ContactRow).where(ContactRow.name == "Mai"))).one()
    listing = await admin.get("/staff/contacts")
    row = listing.text[listing.text.index(f'id="contact-{mai.id}"') :]
    assert "Đã gửi lời mời" in row[: row.index("</tr>")]
    # re-invite: a new link for the same row
    again = await admin.post(f"/staff/contacts/{mai.id}/reinvite")
    assert again.status_code == 200 and "đường liên kết cũ không còn dùng được" in again.text
    second = re.search(r'id="invite-link">([^<]+)<', again.text)
    assert second and second.group(1) != link.group(1)
    async with pages.console.sessions() as session:
        assert len((await session.scalars(select(ContactRow).where(ContactRow.name == "Mai"))).all()) == 1
    # disable, then re-enable (back to its invite)
    done = await admin.post(f"/staff/contacts/{mai.id}/disable")
    assert done.status_code == 303
    page = await admin.get("/staff/contacts")
    assert "Đã vô hiệu hóa đầu mối" in page.text
    again_disabled = await admin.post(f"/staff/contacts/{mai.id}/disable")
    assert again_disabled.status_code == 409 and "Đã vô hiệu hóa" in again_disabled.text
    assert (await admin.post(f"/staff/contacts/{mai.id}/reenable")).status_code == 303
    # a bound, reachable contact cannot be re-invited nor re-enabled
    async with pages.console.sessions() as session:
        bound = (await session.scalars(select(ContactRow).where(ContactRow.name == "Hà"))).one()
    refused = await admin.post(f"/staff/contacts/{bound.id}/reinvite")
    assert refused.status_code == 409 and "«Đã kết nối»" in refused.text
    assert (await admin.post(f"/staff/contacts/{bound.id}/reenable")).status_code == 409
    assert (await admin.post("/staff/contacts/999999/disable")).status_code == 404
    unknown = await admin.post("/staff/contacts/invite", data={"unit_code": "nowhere"})
    assert unknown.status_code == 404
    actions = [(a, t) for a, t, _ in await audit_actions(pages.console)]
    assert "contact.invite" in [a for a, _ in actions]
    for action in ("contact.reinvite", "contact.disable", "contact.reenable"):
        assert (action, str(mai.id)) in actions, action


async def test_invite_refused_when_the_bot_username_is_unknown(
    database_url: str, loaded: async_sessionmaker[AsyncSession], clock: FixedClock, tmp_path: Path
) -> None:
    await prepare(loaded, tmp_path / "files")
    async with console_app(database_url, clock) as console:
        admin = await console.client("admin")
        refused = await admin.post("/staff/contacts/invite", data={"unit_code": "hoi-pn", "name": "Mai"})
        assert refused.status_code == 422
        assert "Chưa xác định được tên bot Telegram" in refused.text and 'role="alert"' in refused.text
        async with console.sessions() as session:
            assert (await session.scalars(select(ContactRow).where(ContactRow.name == "Mai"))).all() == []
        english = await admin.get("/staff/contacts?lang=en")
        assert english.status_code == 200
        refused_en = await admin.post("/staff/contacts/invite", data={"unit_code": "hoi-pn"})
        assert "GOPY_BOT_USERNAME" in refused_en.text and "Unit contact" not in refused_en.text


async def test_the_pages_speak_english_too(pages: Setup) -> None:
    admin = await pages.console.client("admin")
    units = await admin.get("/staff/units", params={"period": PERIOD, "lang": "en"})
    assert units.status_code == 200 and "Download the compliance table (Excel)" in units.text
    assert "Confirm receipt" in units.text and "sent through another channel" in units.text
    preview = await admin.get("/staff/units/reminders", params={"at": "2025-09-04T08:00"})
    assert "Reminders preview" in preview.text and "Units without a contact (not sent)" in preview.text
    contacts = await admin.get("/staff/contacts")
    assert "Invite a new contact" in contacts.text and ">Bound<" in contacts.text
    made = await admin.post("/staff/contacts/invite", data={"unit_code": "hoi-nd", "name": "Tú"})
    assert "Unit contact invite" in made.text and "City Farmers&#39; Union" in made.text
    assert "Mã QR" not in _qr_svg(made.text)  # the QR code's title and description in English too


async def test_a_viewer_sees_no_contacts_link_and_no_confirm_button(pages: Setup) -> None:
    viewer = await pages.console.client("viewer")
    page = await viewer.get("/staff/units", params={"period": PERIOD})
    assert 'href="/staff/contacts"' not in page.text and 'href="/staff/mood"' in page.text
    assert "/confirm" not in page.text
    assert "Hà <span" not in page.text  # contacts' names: admins only
    admin = await pages.console.client("admin")
    page = await admin.get("/staff/units", params={"period": PERIOD})
    ldld = page.text[page.text.index('id="unit-ldld"') :]
    assert "Hà <span" in ldld[: ldld.index("</tr>")] and "Đã kết nối" in ldld[: ldld.index("</tr>")]
    assert ("read.contacts", f"staff:{admin.email}") in [
        (a, x) for a, _t, x in await audit_actions(pages.console)
    ]
