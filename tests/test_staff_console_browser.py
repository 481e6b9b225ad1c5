"""The staff console in Debian's Chromium (Playwright): sign in through the form, see the overview,
switch to English, open the administration; no CSP violation. Screenshots under artifacts/staff/."""

from __future__ import annotations

import pytest
from playwright.async_api import Browser, expect

from core.clock import FixedClock
from core.config import PROJECT_ROOT
from tests.conftest import load_bundled
from tests.staff_console import browser_sign_in, served_console
from tests.test_webchat_browser import browser  # noqa: F401  (the Chromium fixture)

pytestmark = [pytest.mark.browser, pytest.mark.e2e]

SHOTS = PROJECT_ROOT / "artifacts" / "staff"


async def test_sign_in_and_overview(
    browser: Browser,  # noqa: F811  (the fixture)
    sqlite_database: str,
    clock: FixedClock,
) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    async with served_console(sqlite_database, clock) as (base, console):
        await load_bundled(console.sessions)
        email = await console.create_account("admin")
        page = await browser.new_page(viewport={"width": 1280, "height": 900})
        problems: list[str] = []
        page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
        await page.goto(f"{base}/staff/admin")
        assert "/staff/login?next=/staff/admin" in page.url
        await page.screenshot(path=str(SHOTS / "login.png"), full_page=True)
        await page.get_by_label("Thư điện tử").fill(email)
        await page.get_by_label("Mật khẩu").fill("not the password")
        await page.get_by_role("button", name="Đăng nhập").click()
        await expect(page.get_by_role("alert")).to_contain_text("không đúng")
        await browser_sign_in(page, base, email)
        await expect(page.get_by_role("heading", level=1)).to_have_text("Tổng quan")
        await expect(page.get_by_role("navigation")).to_contain_text("Quản trị")
        await expect(page.get_by_text("Các đợt lấy ý kiến đang mở")).to_be_visible()
        await page.screenshot(path=str(SHOTS / "overview.png"), full_page=True)
        assert await page.evaluate("typeof window.htmx") == "object"  # the vendored htmx loaded under the CSP
        headers = await page.evaluate("JSON.parse(document.body.getAttribute('hx-headers'))")
        assert len(headers["X-CSRF-Token"]) > 20
        await page.get_by_role("link", name="English").click()
        await expect(page.get_by_role("heading", level=1)).to_have_text("Overview")
        await page.get_by_role("link", name="Administration").click()
        await expect(page.get_by_role("heading", name="Staff accounts")).to_be_visible()
        await page.screenshot(path=str(SHOTS / "admin.png"), full_page=True)
        tablet = await browser.new_page(viewport={"width": 768, "height": 1024})
        await browser_sign_in(tablet, base, email)
        await tablet.screenshot(path=str(SHOTS / "overview-tablet.png"), full_page=True)
        await page.get_by_role("button", name="Sign out").click()
        await page.wait_for_url(f"{base}/staff/login")
        # the one expected error: the wrong password's 401; no CSP refusal, no missing asset
        assert [p for p in problems if "status of 401" not in p] == [], problems
        assert len(problems) == 1
