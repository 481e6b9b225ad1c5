"""The opinions filters in Debian's Chromium (Playwright): choosing a draft fills the sections select
(htmx, no page load), the reference lists are selects by name, and the chosen filters narrow the table."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.async_api import Browser, expect

from core.clock import FixedClock
from tests.conftest import load_bundled
from tests.staff_api import seed
from tests.staff_console import browser_sign_in, served_console
from tests.test_staff_console_browser import browser  # noqa: F401  (the fixture)

pytestmark = [pytest.mark.browser, pytest.mark.e2e]


async def test_document_select_fills_the_sections(
    browser: Browser,  # noqa: F811
    sqlite_database: str,
    clock: FixedClock,
    tmp_path: Path,
) -> None:
    async with served_console(sqlite_database, clock, home=tmp_path) as (base, console):
        await load_bundled(console.sessions)
        seeded = await seed(console.sessions)
        problems: list[str] = []
        email = await console.create_account("viewer")
        page = await browser.new_page(viewport={"width": 1280, "height": 900})
        page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
        await browser_sign_in(page, base, email)
        await page.goto(f"{base}/staff/opinions")
        sections = page.locator("#f-section option")
        await expect(sections).to_have_count(1)
        await page.locator("#f-document").select_option(str(seeded.document_id))
        await expect(sections).to_have_count(1 + len(seeded.section_ids))  # swapped in, same page
        assert page.url == f"{base}/staff/opinions"
        await page.locator("#f-section").select_option(str(seeded.section_ids[0]))
        await page.locator("#f-category").select_option(label="Công nhân")
        await page.get_by_role("button", name="Lọc").click()
        await page.wait_for_url(lambda url: "category=worker" in url)
        assert f"section_id={seeded.section_ids[0]}" in page.url
        await expect(page.locator("#f-category")).to_have_value("worker")
        await expect(page.locator("#f-section")).to_have_value(str(seeded.section_ids[0]))
        await page.locator("#f-document").select_option("")
        await expect(sections).to_have_count(1)
        assert not problems, problems
