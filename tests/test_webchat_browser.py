"""The web chat page in real headless Chromium (Debian's package), driven as a person on a phone would.

Screenshots of every step go to ``artifacts/webchat/`` (git-ignored; CI keeps ``artifacts/``).
Never runs ``playwright install``: the browser is ``/usr/bin/chromium`` (``.ci/browser`` installs it).
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.responses import HTMLResponse
from playwright.async_api import Browser, Page, async_playwright, expect
from sqlalchemy import select

from core.config import PROJECT_ROOT
from storage.db import create_engine, session_factory
from storage.models import FeedbackRow, RespondentRow
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
        await me.press("Phường Bến Thành", "profile-age")
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
                "p-ben-thanh",
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
            await opener.click()
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
