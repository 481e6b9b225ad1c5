"""The drafts, opinions and consolidation pages in Debian's Chromium (Playwright), over real HTTP: a staffer
uploads a Word draft, checks its sections and publishes it; opinions sent through the web chat appear in
the table and the counts; the staffer hides a spam entry, merges two themes, downloads the synthesis
report and an XLSX export (a background job with its progress bar); a viewer sees no profile data.
Screenshots under artifacts/staff/."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.async_api import Browser, Page, expect

from core.clock import FixedClock
from tests.conftest import load_bundled
from tests.staff_api import seed
from tests.staff_console import browser_sign_in, served_console
from tests.test_staff_console_browser import SHOTS, browser  # noqa: F401  (the fixture)
from tests.test_staff_pages_a import DOCX
from tests.webchat_client import ChatClient

pytestmark = [pytest.mark.browser, pytest.mark.e2e]

SPAM = "Mua hàng giảm giá sốc tại cửa hàng trực tuyến của chúng tôi, liên hệ ngay hôm nay"
OPINION = "Đề nghị bổ sung giải pháp tạo việc làm cho thanh niên ở các phường ven biển"


async def send_opinion(base: str, text: str) -> str:
    """One opinion on the sample draft through the web chat, as a citizen would; its receipt code."""
    async with ChatClient(base) as chat:
        await chat.open()
        await chat.start()
        for label in (
            "Tôi đồng ý",
            "Góp ý dự thảo văn kiện",
            "[MẪU] Dự thảo Báo cáo chính trị",
            "Phần thứ nhất",
            "Về phát triển kinh tế",
            "Không tán thành",
        ):
            await chat.press(label)
        await chat.say(text)
        for label in (
            "Xong",
            "Nông dân",
            "Hội Nông dân",
            "Phường Hồng Bàng",
            "Bỏ qua",
            "Bỏ qua",
            "Gửi ý kiến",
        ):
            await chat.press(label)
        code = re.search(r"GY-[0-9A-Z]{6}", chat.texts())
        assert code, chat.texts()
        return code.group(0)


async def shot(page: Page, name: str) -> None:
    await page.screenshot(path=str(SHOTS / name), full_page=True)


async def test_drafts_opinions_consolidation_in_a_browser(
    browser: Browser,  # noqa: F811
    sqlite_database: str,
    clock: FixedClock,
    tmp_path: Path,
) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    async with served_console(sqlite_database, clock, home=tmp_path, export_background_rows=5) as (
        base,
        console,
    ):
        await load_bundled(console.sessions)
        await seed(console.sessions)
        problems: list[str] = []
        email = await console.create_account("admin")
        page = await browser.new_page(viewport={"width": 1280, "height": 900}, accept_downloads=True)
        page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
        await browser_sign_in(page, base, email)

        # a Word draft: upload, see its sections, store it, publish it with dates
        await page.get_by_role("navigation").get_by_role("link", name="Dự thảo").click()
        await expect(page.get_by_role("heading", level=1)).to_have_text("Dự thảo")
        await page.get_by_label("Tệp dự thảo").set_input_files(
            files=[{"name": "quy-che.docx", "mimeType": "application/octet-stream", "buffer": DOCX}]
        )
        await shot(page, "drafts.png")
        await page.get_by_role("button", name="Xem trước").click()
        await expect(page.get_by_role("heading", level=1)).to_have_text("Xem trước dự thảo")
        tree = page.locator("ol.tree li")
        await expect(tree).to_have_count(4)
        await expect(tree.nth(1)).to_contain_text("Phạm vi điều chỉnh")
        await shot(page, "draft-preview.png")
        await page.get_by_label("Mã").fill("quy-che-thu")
        await page.get_by_role("button", name="Lưu dự thảo").click()
        await expect(page.get_by_role("status")).to_have_text("Đã lưu dự thảo.")
        await page.get_by_label("Ngày mở lấy ý kiến").fill("2025-11-20T08:00")
        await page.get_by_label("Ngày kết thúc lấy ý kiến").fill("2025-12-20T17:00")
        await page.get_by_role("button", name="Công bố lấy ý kiến").click()
        await expect(page.locator("#doc-status")).to_have_text("Đang lấy ý kiến")

        # opinions through the web chat show up in the table and in the counts
        await page.goto(f"{base}/staff/consolidation")
        before = int(await page.locator("#total-count").inner_text())
        spam = await send_opinion(base, SPAM)
        real = await send_opinion(base, OPINION)
        await page.goto(f"{base}/staff/drafts")
        await page.get_by_role("link", name="[MẪU] Dự thảo Báo cáo chính trị").click()
        await shot(page, "draft-reading.png")
        await page.goto(f"{base}/staff/opinions")
        await page.get_by_label("Tìm trong nội dung").fill("giam gia soc")
        await page.get_by_role("button", name="Lọc").click()
        table = page.locator("#opinions-table tbody tr")
        await expect(table).to_have_count(1)
        await expect(table.first).to_contain_text(spam)
        await page.goto(f"{base}/staff/opinions?channel=web")
        await expect(page.locator("#opinions-table")).to_contain_text(real)
        await shot(page, "opinions.png")

        # hide the spam entry with a reason
        await page.goto(f"{base}/staff/opinions/{spam}")
        await page.get_by_label("Lý do ẩn").fill("Quảng cáo, không liên quan dự thảo")
        await page.get_by_role("button", name="Ẩn ý kiến").click()
        await expect(page.locator("#hidden-mark")).to_contain_text("Quảng cáo, không liên quan dự thảo")
        await shot(page, "opinion.png")
        await page.goto(f"{base}/staff/opinions?channel=web")
        await expect(page.locator("#opinions-table")).not_to_contain_text(spam)

        # the consolidation: counts and charts; merge two themes of a section
        await page.get_by_role("navigation").get_by_role("link", name="Tổng hợp").click()
        await expect(page.locator("figure.chart svg")).to_have_count(5)
        await expect(page.locator("#total-count")).to_have_text(str(before + 1))  # the spam is not counted
        merge = page.get_by_role("button", name="Gộp").first
        theme_count = await page.locator("table.themes").first.locator("tbody tr").count()
        assert theme_count >= 2
        await merge.click()
        await expect(page.get_by_role("status")).to_have_text("Đã gộp chủ đề.")
        assert await page.locator("table.themes").first.locator("tbody tr").count() == theme_count - 1
        await shot(page, "consolidation.png")

        # downloads: the synthesis report, then an XLSX export run as a background job
        async with page.expect_download() as report:
            await page.get_by_role("link", name="Báo cáo tổng hợp (Word)").click()
        docx_path = tmp_path / "synthesis.docx"
        await (await report.value).save_as(docx_path)
        assert docx_path.read_bytes()[:2] == b"PK"
        await page.get_by_label("Định dạng tệp ý kiến").select_option("xlsx")
        await page.get_by_role("button", name="Xuất các ý kiến").click()
        await expect(page.locator("progress")).to_be_visible()
        await console.app.state.services.export_jobs.wait()
        await expect(page.get_by_role("link", name="Tải tệp về")).to_be_visible()  # htmx polled the fragment
        await shot(page, "export-job.png")
        async with page.expect_download() as export:
            await page.get_by_role("link", name="Tải tệp về").click()
        xlsx_path = tmp_path / "export.xlsx"
        await (await export.value).save_as(xlsx_path)
        assert xlsx_path.read_bytes()[:2] == b"PK"

        # a viewer: pseudonyms, no profile column, no moderation form
        viewer = await console.create_account("viewer")
        other = await browser.new_page(viewport={"width": 390, "height": 844})
        await browser_sign_in(other, base, viewer)
        await other.goto(f"{base}/staff/opinions?channel=web")
        await expect(other.locator("#opinions-table")).to_contain_text(real)
        await expect(other.locator("#opinions-table thead")).not_to_contain_text("Độ tuổi")
        await other.goto(f"{base}/staff/opinions/{real}")
        await expect(other.get_by_label("Lý do ẩn")).to_have_count(0)
        assert problems == [], problems
