"""TOTP enrolment and the two-step sign-in in Debian's Chromium: the QR code on the account page is read
back by an independent decoder (zxing-cpp) from a screenshot, its secret gives the codes (pyotp at the
pinned clock). Screenshots under artifacts/staff/."""

from __future__ import annotations

import io
from urllib.parse import parse_qs, unquote, urlsplit

import pyotp
import pytest
from playwright.async_api import Browser, expect

from core.clock import FixedClock
from tests.conftest import load_bundled
from tests.staff_console import PASSWORD, browser_sign_in, served_console
from tests.test_staff_console_browser import SHOTS, browser  # noqa: F401 (the fixture)

pytestmark = [pytest.mark.browser, pytest.mark.e2e]


async def test_enrol_by_scanning_then_sign_in_with_a_code(
    browser: Browser,  # noqa: F811
    sqlite_database: str,
    clock: FixedClock,
) -> None:
    import zxingcpp
    from PIL import Image

    SHOTS.mkdir(parents=True, exist_ok=True)
    async with served_console(sqlite_database, clock) as (base, console):
        await load_bundled(console.sessions)
        email = await console.create_account("admin")
        page = await browser.new_page(viewport={"width": 1280, "height": 900})
        problems: list[str] = []
        page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
        await browser_sign_in(page, base, email)
        await page.get_by_role("link", name=email).click()
        await expect(page.get_by_role("heading", level=1)).to_have_text("Tài khoản của tôi")
        await page.get_by_role("link", name="Bật xác thực hai bước").click()
        qr = page.get_by_role("img", name="Mã QR để thêm tài khoản vào ứng dụng xác thực")
        await expect(qr).to_be_visible()
        await page.screenshot(path=str(SHOTS / "account-totp.png"), full_page=True)
        [found] = zxingcpp.read_barcodes(Image.open(io.BytesIO(await qr.screenshot())))
        uri = urlsplit(found.text)
        assert uri.scheme == "otpauth" and uri.netloc == "totp" and unquote(uri.path).endswith(":" + email)
        secret = parse_qs(uri.query)["secret"][0]
        manual = (await page.locator("#totp-key").inner_text()).replace(" ", "")
        assert manual == secret  # the key to type by hand is the scanned one
        await page.get_by_label("Mã 6 chữ số").fill(pyotp.TOTP(secret).at(clock.now()))
        await page.get_by_role("button", name="Xác nhận và bật").click()
        await expect(page.get_by_role("status")).to_contain_text("Đã bật xác thực hai bước")
        await page.get_by_role("button", name="Đăng xuất").click()
        await page.wait_for_url(f"{base}/staff/login")

        clock.advance(seconds=30)
        await page.get_by_label("Thư điện tử").fill(email)
        await page.get_by_label("Mật khẩu").fill(PASSWORD)
        await page.get_by_role("button", name="Đăng nhập").click()
        await expect(page.get_by_role("heading", level=1)).to_have_text("Nhập mã xác thực")
        await page.screenshot(path=str(SHOTS / "login-code.png"), full_page=True)
        await page.get_by_label("Mã 6 chữ số").fill("000000" if pyotp.TOTP(secret).now() != "000000" else "1")
        await page.get_by_role("button", name="Xác nhận").click()
        await expect(page.get_by_role("alert")).to_contain_text("không đúng")
        await page.get_by_label("Mã 6 chữ số").fill(pyotp.TOTP(secret).at(clock.now()))
        await page.get_by_role("button", name="Xác nhận").click()
        await page.wait_for_url(f"{base}/staff")
        await expect(page.get_by_role("heading", level=1)).to_have_text("Tổng quan")
        # the one expected error: the wrong code's 401; no CSP refusal, no missing asset
        assert [p for p in problems if "status of 401" not in p] == [], problems
