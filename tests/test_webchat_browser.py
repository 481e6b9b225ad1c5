"""The web chat page in real headless Chromium (Debian's package), driven as a person on a phone would.

Screenshots of every step go to ``artifacts/webchat/`` (git-ignored; CI keeps ``artifacts/``).
Never runs ``playwright install``: the browser is ``/usr/bin/chromium`` (``.ci/browser`` installs it).
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.responses import HTMLResponse
from playwright.async_api import Browser, Page, async_playwright, expect
from sqlalchemy import select, update

from core.clock import FixedClock
from core.config import PROJECT_ROOT
from storage.db import create_engine, session_factory
from storage.models import DocumentRow, FeedbackRow, RespondentRow
from tests.conftest import load_bundled
from tests.webchat_client import free_port, serve, served

pytestmark = [pytest.mark.browser, pytest.mark.e2e]

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
SHOTS = PROJECT_ROOT / "artifacts" / "webchat"
PHONE = {"width": 390, "height": 844}


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    assert Path(CHROMIUM).exists(), "Debian's chromium is required: run .ci/browser"
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield browser
        await browser.close()


async def _loaded(database_url: str) -> None:
    engine = create_engine(database_url)
    try:
        await load_bundled(session_factory(engine))
    finally:
        await engine.dispose()


def _slug(label: str) -> str:
    ascii_label = unicodedata.normalize("NFKD", label.replace("Đ", "D").replace("đ", "d"))
    return re.sub(r"[^a-z0-9]+", "-", ascii_label.encode("ascii", "ignore").decode().lower()).strip("-")


class Person:
    """Clicks the buttons it sees, types in the text box, and photographs each step."""

    def __init__(self, page: Page, folder: Path) -> None:
        self.page = page
        self.folder = folder
        self.step = 0
        self.problems: list[str] = []
        folder.mkdir(parents=True, exist_ok=True)
        for old in folder.glob("*.png"):
            old.unlink()
        page.on("pageerror", lambda exc: self.problems.append(f"page error: {exc}"))
        page.on(
            "console",
            lambda msg: (
                self.problems.append(f"console {msg.type}: {msg.text}") if msg.type == "error" else None
            ),
        )

    async def shot(self, name: str) -> None:
        self.step += 1
        await self.page.screenshot(path=self.folder / f"{self.step:02d}-{name}.png")

    async def settled(self) -> None:
        await expect(self.page.locator("body")).not_to_have_attribute("aria-busy", "true")

    def button(self, label: str):  # type: ignore[no-untyped-def]
        return self.page.locator(".choices button:enabled").filter(has_text=label).first

    async def press(self, label: str, shot: str | None = None) -> None:
        button = self.button(label)
        await expect(button).to_be_visible()
        async with self.page.expect_response("**/chat/api/events") as response:
            await button.click()
        assert (await response.value).status == 200
        await self.settled()
        await self.shot(shot or _slug(label))

    def last_bot_text(self):  # type: ignore[no-untyped-def]
        return self.page.locator(".bubble.bot").last


async def test_a_citizen_gives_an_opinion_in_the_browser(
    sqlite_database: str, browser: Browser, monkeypatch: pytest.MonkeyPatch
) -> None:
    await _loaded(sqlite_database)
    monkeypatch.setenv("GOPY_WEBCHAT_SESSION_LIMIT", "200")
    async with served(sqlite_database, max_text_length=300) as base:
        context = await browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True, locale="vi-VN")
        page = await context.new_page()
        me = Person(page, SHOTS)
        await page.goto(base + "/chat")
        await expect(me.button("Tôi đồng ý")).to_be_visible()
        await expect(page.get_by_role("log")).to_contain_text("THÔNG BÁO VỀ XỬ LÝ DỮ LIỆU")
        assert await page.get_attribute("html", "lang") == "vi"
        await me.shot("consent")

        await me.press("Tôi đồng ý", "menu")
        # the pressed button is gone: focus moves to the new screen (keyboard and screen readers)
        await expect(page.locator(".choices button").first).to_be_focused()
        await me.press("Góp ý dự thảo văn kiện", "documents")
        await me.press("[MẪU] Dự thảo Báo cáo chính trị", "parts")
        await me.press("Phần thứ nhất")
        await me.press("Về phát triển kinh tế", "stance")
        await expect(page.locator("#composer")).to_be_hidden()
        await me.press("Không tán thành")

        box = page.get_by_label("Ý kiến của Quý vị")
        await expect(box).to_be_visible()
        await expect(box).to_be_focused()
        counter = page.locator("#counter")
        await expect(counter).to_have_text("0/300 ký tự")
        await me.shot("text-prompt")
        await box.click()
        await box.fill("x" * 301)
        await expect(counter).to_contain_text("301/300")
        await expect(page.get_by_role("button", name="Gửi")).to_be_disabled()
        await me.shot("over-limit")
        await box.fill("")
        await box.press_sequentially("Đề nghị bổ sung giải pháp tạo việc làm cho thanh niên nông thôn.")
        await expect(counter).to_have_text("64/300 ký tự")
        await me.shot("typed")
        async with page.expect_response("**/chat/api/events"):
            await page.get_by_role("button", name="Gửi").click()
        await me.settled()
        await expect(me.last_bot_text()).to_contain_text("64")
        await expect(box).to_have_value("")
        await expect(counter).to_have_text("64/300 ký tự")
        await me.shot("text-received")

        # a reload (or a server restart) shows the same step again
        await page.reload()
        await expect(me.button("Xong")).to_be_visible()
        await expect(counter).to_have_text("64/300 ký tự")
        await me.press("Xong", "profile-category")
        await me.press("Nông dân")
        await me.press("Hội Nông dân")
        await me.press("Phường Hồng Bàng", "profile-age")
        await me.press("Bỏ qua")
        await me.press("Bỏ qua", "confirm")
        await expect(me.last_bot_text()).to_contain_text("Vui lòng kiểm tra")
        await me.press("Gửi ý kiến", "receipt")
        receipt = await me.last_bot_text().inner_text()
        code = re.search(r"GY-[0-9A-Z]{6}", receipt)
        assert code, receipt

        await page.locator("#lang-button").click()
        await me.settled()
        await me.press("English")
        await expect(page.locator("h1")).to_have_text("Comment on draft documents")
        assert await page.get_attribute("html", "lang") == "en"
        assert me.problems == [], me.problems
        await context.close()

    engine = create_engine(sqlite_database)
    try:
        async with session_factory(engine)() as session:
            row = await session.scalar(select(FeedbackRow).where(FeedbackRow.receipt_code == code.group(0)))
            assert row is not None
            assert (row.channel, row.source, row.stance) == ("web", "web", "disagree")
            assert row.text == "Đề nghị bổ sung giải pháp tạo việc làm cho thanh niên nông thôn."
            respondent = await session.get(RespondentRow, row.respondent_id)
            assert respondent is not None
            assert (respondent.channel, respondent.category, respondent.locality) == (
                "web",
                "farmer",
                "p-hong-bang",
            )
    finally:
        await engine.dispose()


async def test_the_slow_down_reply_is_shown_in_the_page(
    sqlite_database: str, browser: Browser, monkeypatch: pytest.MonkeyPatch
) -> None:
    await _loaded(sqlite_database)
    monkeypatch.setenv("GOPY_WEBCHAT_SESSION_LIMIT", "2")
    monkeypatch.setenv("GOPY_WEBCHAT_WINDOW_SECONDS", "60")
    async with served(sqlite_database) as base:
        context = await browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True)
        page = await context.new_page()
        me = Person(page, SHOTS / "slow-down")
        await page.goto(base + "/chat")
        await me.press("Tôi đồng ý")  # consent gives a new session id, counted afresh
        await me.press("Góp ý dự thảo văn kiện")
        await me.press("[MẪU] Dự thảo Báo cáo chính trị")
        button = me.button("Phần thứ nhất")
        async with page.expect_response("**/chat/api/events") as response:
            await button.click()
        assert (await response.value).status == 429
        await expect(page.locator(".bubble.system").last).to_contain_text("Quý vị thao tác quá nhanh")
        await expect(button).to_be_enabled()
        await me.shot("slow-down")
        await context.close()


async def test_the_embed_snippet_opens_the_chat_on_a_portal_page(
    sqlite_database: str, browser: Browser, monkeypatch: pytest.MonkeyPatch
) -> None:
    await _loaded(sqlite_database)
    portal_port = free_port()
    portal_origin = f"http://127.0.0.1:{portal_port}"
    monkeypatch.setenv("GOPY_WEBCHAT_EMBED_ORIGINS", json.dumps([portal_origin]))
    async with served(sqlite_database) as base:
        portal = FastAPI()

        @portal.get("/")
        async def home() -> HTMLResponse:
            return HTMLResponse(
                "<!doctype html><html lang='vi'><head><meta name='viewport' content='width=device-width'>"
                "<link rel='icon' href='data:,'>"
                f"<title>Cổng thông tin</title></head><body><h1>Cổng thông tin thành phố</h1>"
                f"<script src='{base}/chat/embed.js' async></script></body></html>"
            )

        async with serve(portal, port=portal_port) as portal_base:
            assert portal_base == portal_origin
            context = await browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True)
            page = await context.new_page()
            me = Person(page, SHOTS / "embed")
            await page.goto(portal_base + "/")
            opener = page.locator("#gopy-chat-button")
            await expect(opener).to_have_text("Góp ý dự thảo")
            # the button and its frame carry the issuing body's name (and its icon)
            await expect(opener).to_have_attribute(
                "aria-label", "Góp ý dự thảo văn kiện — Ban Dân vận Thành ủy"
            )
            await expect(opener.locator("img")).to_have_attribute("src", base + "/chat/static/favicon.svg")
            await opener.click()
            await expect(page.locator("#gopy-chat-frame")).to_have_attribute(
                "title", "Góp ý dự thảo văn kiện — Ban Dân vận Thành ủy"
            )
            frame = page.frame_locator("#gopy-chat-frame")
            accept = frame.locator(".choices button:enabled").filter(has_text="Tôi đồng ý").first
            await expect(accept).to_be_visible()
            await me.shot("embed-open")
            await accept.click()
            await expect(
                frame.locator(".choices button:enabled").filter(has_text="Góp ý dự thảo văn kiện").first
            ).to_be_visible()
            await me.shot("embed-menu")
            assert me.problems == [], me.problems
            await context.close()

    engine = create_engine(sqlite_database)
    try:
        async with session_factory(engine)() as session:
            assert list(await session.scalars(select(RespondentRow.channel))) == ["web"]
    finally:
        await engine.dispose()


async def test_declining_stores_nothing_and_menu_starts_again(sqlite_database: str, browser: Browser) -> None:
    await _loaded(sqlite_database)
    async with served(sqlite_database) as base:
        context = await browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True)
        page = await context.new_page()
        me = Person(page, SHOTS / "decline")
        await page.goto(base + "/chat")
        await me.press("Không đồng ý")
        await expect(me.last_bot_text()).to_contain_text("không lưu bất kỳ thông tin")
        await expect(page.locator(".choices button")).to_have_count(0)
        await expect(page.locator("#hint")).to_have_text("Bấm «Menu» ở trên để bắt đầu lại.")
        await page.locator("#menu-button").click()
        await expect(me.button("Tôi đồng ý")).to_be_visible()
        await expect(page.locator("#hint")).to_have_text("Chọn một nút ở trên để tiếp tục.")
        await me.shot("consent-again")
        assert me.problems == [], me.problems
        await context.close()

    engine = create_engine(sqlite_database)
    try:
        async with session_factory(engine)() as session:
            assert list(await session.scalars(select(RespondentRow.id))) == []
    finally:
        await engine.dispose()


ORG = "Ban Dân vận Thành ủy Hải Phòng"
CONTACT = "0225 3745 000 · bandanvan@haiphong.gov.vn"
NOW = datetime(2025, 11, 20, 3, 0, tzinfo=UTC)  # the served app's clock: the sample draft is open


async def _closing_on_1_december(database_url: str) -> None:
    """The sample draft closes at 00:00 on 1 December (Hanoi): open until the end of 30 November."""
    engine = create_engine(database_url)
    try:
        async with session_factory(engine)() as session:
            await session.execute(
                update(DocumentRow).values(closes_at=datetime(2025, 11, 30, 17, 0, tzinfo=UTC))
            )
            await session.commit()
    finally:
        await engine.dispose()


async def test_the_page_says_who_is_asking_until_when_and_links_the_full_notice(
    sqlite_database: str, browser: Browser
) -> None:
    await _loaded(sqlite_database)
    await _closing_on_1_december(sqlite_database)
    async with served(sqlite_database, FixedClock(NOW), org_name=ORG, org_contact=CONTACT) as base:
        context = await browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True, locale="vi-VN")
        page = await context.new_page()
        me = Person(page, SHOTS / "identity")
        await page.goto(base + "/chat")
        await expect(me.button("Tôi đồng ý")).to_be_visible()
        assert await page.title() == f"Góp ý dự thảo văn kiện — {ORG}"
        assert await page.get_attribute("link[rel=icon]", "href") == "/chat/static/favicon.svg"
        await expect(page.locator("header .org")).to_have_text(ORG)
        await expect(page.locator("h1")).to_have_text("Góp ý dự thảo văn kiện")
        await expect(page.locator(".subbar")).to_contain_text(CONTACT)
        widths = await page.evaluate(
            "() => [document.documentElement.scrollWidth, window.innerWidth,"
            " document.getElementById('lang-button').getBoundingClientRect().right]"
        )
        assert widths[0] <= widths[1] and widths[2] <= widths[1], widths  # the header fits the phone
        first = page.locator(".bubble.bot").first
        await expect(first).to_contain_text("Kính chào Quý vị.")
        await expect(first).to_contain_text(f"{ORG} lấy ý kiến Nhân dân")
        await expect(first).to_contain_text("(đến hết ngày 30/11/2025)")
        await me.shot("first-screen")
        await page.locator(".bubble.bot").first.evaluate("el => el.scrollIntoView()")
        await me.press("Đọc toàn văn thông báo", "full-notice-in-chat")
        await expect(me.last_bot_text()).to_contain_text("9. Liên hệ")
        await me.press("Quay lại", "consent-again")

        link = page.locator("#privacy-link")
        await expect(link).to_have_text("Thông báo về xử lý dữ liệu cá nhân")
        async with context.expect_page() as opened:
            await link.click()
        notice = await opened.value
        await notice.wait_for_load_state()
        assert await notice.title() == f"Thông báo về xử lý dữ liệu cá nhân — {ORG}"
        await expect(notice.locator("h1")).to_have_text("THÔNG BÁO VỀ XỬ LÝ DỮ LIỆU CÁ NHÂN")
        await expect(notice.locator("h2")).to_have_count(9)
        await expect(notice.locator("main")).to_contain_text(CONTACT)
        await expect(notice.locator("main")).to_contain_text("phiên bản 2025-07")
        await notice.screenshot(path=SHOTS / "identity" / "privacy-page.png", full_page=True)
        await notice.emulate_media(media="print")
        await expect(notice.locator(".page-tools")).to_be_hidden()  # printable: no page chrome
        await notice.screenshot(path=SHOTS / "identity" / "privacy-print.png", full_page=True)
        assert me.problems == [], me.problems
        await context.close()


async def test_finding_a_section_by_typing_wrapped_labels_and_the_back_button(
    sqlite_database: str, browser: Browser, monkeypatch: pytest.MonkeyPatch
) -> None:
    await _loaded(sqlite_database)
    await _closing_on_1_december(sqlite_database)
    monkeypatch.setenv("GOPY_WEBCHAT_SESSION_LIMIT", "200")
    async with served(sqlite_database, FixedClock(NOW), org_name=ORG) as base:
        context = await browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True, locale="vi-VN")
        page = await context.new_page()
        me = Person(page, SHOTS / "wayfinding")
        await page.goto(base + "/chat")
        await me.press("Tôi đồng ý", "menu")
        await me.press("Góp ý dự thảo văn kiện", "documents")
        # a long title is shown whole, on two lines, with its closing date (nothing cut off)
        title = "[MẪU] Dự thảo Báo cáo chính trị (tài liệu mẫu để thử Gopy) (đến hết ngày 30/11/2025)"
        button = me.button("[MẪU] Dự thảo Báo cáo chính trị")
        await expect(button).to_have_text(title)
        fits = await button.evaluate("b => b.scrollWidth <= b.clientWidth && b.clientHeight > 50")
        assert fits, "the label wraps instead of being cut"
        await me.press("[MẪU] Dự thảo Báo cáo chính trị", "sections")

        box = page.locator("#text")
        await expect(box).to_be_visible()
        assert await box.get_attribute("placeholder") == "Gõ số mục hoặc từ khóa để tìm"
        await box.fill("chinh quyen")  # typed without diacritics
        async with page.expect_response("**/chat/api/events"):
            await page.get_by_role("button", name="Gửi").click()
        await me.settled()
        await expect(me.last_bot_text()).to_contain_text("Các mục khớp với «chinh quyen»")
        await expect(me.button("Phần thứ ba")).to_be_visible()
        await me.shot("search-results")

        # the browser's back button steps back one screen: from the results to the list, then to drafts
        async with page.expect_response("**/chat/api/events"):
            await page.evaluate("history.back()")
        await me.settled()
        await expect(me.last_bot_text()).to_contain_text("Chọn mục muốn góp ý")
        await me.press("Phần thứ nhất", "part")
        await expect(me.last_bot_text()).to_contain_text("Phần thứ nhất. Đánh giá kết quả")
        async with page.expect_response("**/chat/api/events"):
            await page.evaluate("history.back()")
        await me.settled()
        await expect(me.button("Góp ý chung cho toàn văn dự thảo")).to_be_visible()
        await me.shot("back-button")
        assert page.url.startswith(base + "/chat")  # still on the page
        await me.press("Phần thứ nhất")
        await me.press("Về phát triển kinh tế", "stance-with-path")
        await expect(me.last_bot_text()).to_contain_text("Phần thứ nhất › 1. Về phát triển kinh tế")
        assert me.problems == [], me.problems
        await context.close()


async def test_the_locality_is_found_by_typing_in_the_browser(
    sqlite_database: str, browser: Browser, monkeypatch: pytest.MonkeyPatch
) -> None:
    await _loaded(sqlite_database)
    monkeypatch.setenv("GOPY_WEBCHAT_SESSION_LIMIT", "200")
    async with served(sqlite_database) as base:
        context = await browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True, locale="vi-VN")
        page = await context.new_page()
        me = Person(page, SHOTS / "locality")
        await page.goto(base + "/chat")
        await me.press("Tôi đồng ý")
        await me.press("Góp ý dự thảo văn kiện")
        await me.press("[MẪU] Dự thảo Báo cáo chính trị")
        await me.press("Phần thứ nhất")
        await me.press("Về phát triển kinh tế")
        await me.press("Tán thành")
        await me.press("Xong")
        await me.press("Nông dân")
        await me.press("Hội Nông dân", "locality")
        await expect(me.button("Bỏ qua")).to_be_visible()
        box = page.locator("#text")
        await box.fill("le chan")
        async with page.expect_response("**/chat/api/events"):
            await page.get_by_role("button", name="Gửi").click()
        await me.settled()
        await expect(me.last_bot_text()).to_contain_text("Các phường, xã khớp với «le chan»")
        await me.shot("locality-found")
        await me.press("Phường Lê Chân", "age")
        await expect(me.last_bot_text()).to_contain_text("Độ tuổi của Quý vị?")
        assert me.problems == [], me.problems
        await context.close()
