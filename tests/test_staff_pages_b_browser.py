"""The mood, reporting-units and contacts pages in Debian's Chromium (Playwright): a staffer sees a
period's mood summary, confirms a unit's off-channel report, downloads the compliance table, previews
the reminders, invites a contact and sees the QR code, re-invites; no CSP violation.
Screenshots under artifacts/staff/."""

from __future__ import annotations

import base64
from pathlib import Path

import openpyxl
import pytest
from playwright.async_api import Browser, expect

from core.clock import FixedClock
from core.config import PROJECT_ROOT
from tests.conftest import load_bundled
from tests.staff_console import browser_sign_in, served_console
from tests.test_staff_pages_b import BOT, PERIOD, prepare
from tests.test_webchat_browser import browser  # noqa: F401  (the Chromium fixture)

pytestmark = [pytest.mark.browser, pytest.mark.e2e]

SHOTS = PROJECT_ROOT / "artifacts" / "staff"


async def test_mood_units_and_contacts_pages(
    browser: Browser,  # noqa: F811  (the fixture)
    sqlite_database: str,
    clock: FixedClock,
    tmp_path: Path,
) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    files = tmp_path / "files"
    async with served_console(sqlite_database, clock, files_dir=files, bot_username=BOT) as (base, console):
        await load_bundled(console.sessions)
        await prepare(console.sessions, files)
        email = await console.create_account("admin")
        context = await browser.new_context(viewport={"width": 1280, "height": 900}, accept_downloads=True)
        page = await context.new_page()
        problems: list[str] = []
        page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
        await browser_sign_in(page, base, email)

        # the public mood of a period
        await page.get_by_role("link", name="Tình hình dư luận").click()
        await page.get_by_label("Kỳ báo cáo", exact=True).select_option(PERIOD)
        await page.get_by_role("button", name="Xem").click()
        await expect(page.locator("#mood-total")).to_have_text("2")
        await expect(page.get_by_text("Mong Đại hội chọn được người tài").first).to_be_visible()
        await page.screenshot(path=str(SHOTS / "mood.png"), full_page=True)

        # reporting units: confirm the off-channel report, download the table
        await page.get_by_role("link", name="Đơn vị báo cáo").click()
        await page.get_by_label("Kỳ báo cáo", exact=True).select_option(PERIOD)
        await page.get_by_role("button", name="Xem").click()
        ldld = page.locator("#unit-ldld")
        await expect(ldld).to_contain_text("chờ xác nhận")
        await ldld.get_by_role("button", name="Xác nhận đã nhận").click()
        await expect(page.get_by_role("status")).to_contain_text("Đã xác nhận báo cáo gửi qua kênh khác")
        await expect(page.locator("#unit-ldld")).not_to_contain_text("chờ xác nhận")
        await page.screenshot(path=str(SHOTS / "units.png"), full_page=True)
        async with page.expect_download() as waiting:
            await page.get_by_role("link", name="Tải bảng tình hình báo cáo (Excel)").click()
        download = await waiting.value
        saved = tmp_path / download.suggested_filename
        await download.save_as(saved)
        sheet = openpyxl.load_workbook(saved).active
        assert sheet is not None and sheet.cell(1, 1).value == "Kỳ báo cáo"

        # the reminders preview at a chosen moment
        await page.get_by_role("link", name="Xem trước tin nhắc hạn").click()
        await page.get_by_label("Thời điểm").fill("2025-09-04T08:00")
        await page.get_by_role("button", name="Xem trước").click()
        await expect(page.get_by_role("heading", name="Vào lúc 08:00 04/09/2025")).to_be_visible()
        await expect(page.get_by_text("Đơn vị chưa có đầu mối")).to_be_visible()
        await page.screenshot(path=str(SHOTS / "reminders-preview.png"), full_page=True)

        # contacts: invite, see the QR code, re-invite
        await page.get_by_role("link", name="Đầu mối liên hệ").click()
        await expect(page.get_by_role("heading", name="Danh sách đầu mối")).to_be_visible()
        await page.get_by_label("Đơn vị", exact=True).select_option("hoi-pn")
        await page.get_by_label("Họ tên đầu mối").fill("Mai")
        await page.screenshot(path=str(SHOTS / "contacts.png"), full_page=True)
        await page.get_by_role("button", name="Tạo lời mời").click()
        await expect(page.get_by_role("heading", level=1)).to_have_text("Lời mời đầu mối đơn vị")
        qr = page.get_by_role("img", name="Mã QR lời mời đầu mối Hội Liên hiệp Phụ nữ thành phố")
        await expect(qr).to_be_visible()
        assert await qr.evaluate("img => img.complete && img.naturalWidth > 0")  # the SVG rendered
        src = await qr.get_attribute("src")
        assert src is not None and "<svg" in base64.b64decode(src.split(",", 1)[1]).decode()
        first = await page.locator("#invite-link").inner_text()
        assert first.startswith(f"https://t.me/{BOT}?start=")
        await page.screenshot(path=str(SHOTS / "invite.png"), full_page=True)
        await page.get_by_role("link", name="Quay lại danh sách đầu mối").click()
        await page.get_by_role("button", name="Gửi lời mời mới cho đầu mối Mai").click()
        await expect(page.get_by_text("đường liên kết cũ không còn dùng được")).to_be_visible()
        second = await page.locator("#invite-link").inner_text()
        assert second != first
        await page.get_by_role("link", name="Quay lại danh sách đầu mối").click()
        await expect(page.get_by_role("row", name="Mai")).to_have_count(1)  # the same row, no duplicate

        # narrow screens: the tables scroll inside their wrapper, the page does not
        phone = await context.new_page()
        await phone.set_viewport_size({"width": 390, "height": 844})
        await phone.goto(f"{base}/staff/units?period={PERIOD}")
        overflow = await phone.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 1
        await context.close()
        assert problems == [], problems
