"""`/docs` on an intranet: Swagger UI comes from the package, so the page works with no outside network."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest
from playwright.async_api import Browser, Route, expect

from core.config import PROJECT_ROOT
from tests.test_webchat_browser import browser  # noqa: F401  (the Chromium fixture)
from tests.webchat_client import served

pytestmark = [pytest.mark.browser, pytest.mark.e2e]


async def test_api_docs_render_with_every_outside_request_blocked(
    browser: Browser,  # noqa: F811
    sqlite_database: str,
) -> None:
    async with served(sqlite_database) as base:
        page = await browser.new_page()
        outside: list[str] = []

        async def only_loopback(route: Route) -> None:
            if urlsplit(route.request.url).hostname == "127.0.0.1":
                await route.continue_()
            else:  # what an intranet does to a CDN request
                outside.append(route.request.url)
                await route.abort()

        await page.route("**/*", only_loopback)
        await page.goto(f"{base}/docs")
        await expect(page.locator(".swagger-ui .info .title")).to_contain_text("Gopy API", timeout=20_000)
        await expect(page.locator(".opblock").first).to_be_visible()
        assert await page.locator(".opblock-summary-path", has_text="/v1/feedback").count() >= 1
        # not in artifacts/webchat/, whose screenshots the web chat's browser test clears first
        shots = PROJECT_ROOT / "artifacts" / "api"
        shots.mkdir(parents=True, exist_ok=True)
        await page.screenshot(path=str(shots / "docs.png"))
        assert outside == []
        await page.close()
