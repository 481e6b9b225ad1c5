"""Unknown ids and domain errors under /staff render the translated console error page (HTML), never the
API's JSON body; /v1 keeps its JSON."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from api.staff.security import LANG_COOKIE
from core.clock import FixedClock
from tests.staff_console import Console, console_app

UNKNOWN_GETS = [
    "/staff/drafts/999999",
    "/staff/opinions/ZZZZ-ZZZZ",
    "/staff/consolidation/999999/synthesis.docx",
    "/staff/consolidation/999999/consolidation.xlsx",
    "/staff/consolidation/jobs/999999",
    "/staff/consolidation/jobs/999999/progress",
    "/staff/consolidation/jobs/999999/file",
    "/staff/mood/NO-SUCH-PERIOD/report.docx",
    "/staff/units/NO-SUCH-PERIOD/compliance.xlsx",
    "/staff/units/reports/999999/file",
]


@pytest.fixture
async def pages(
    database_url: str, loaded: async_sessionmaker[AsyncSession], clock: FixedClock, tmp_path: Path
) -> AsyncIterator[Console]:
    async with console_app(database_url, clock, home=tmp_path) as console:
        yield console


@pytest.mark.parametrize("url", UNKNOWN_GETS)
async def test_unknown_id_renders_the_console_error_page(pages: Console, url: str) -> None:
    admin = await pages.client("admin")
    page = await admin.get(url)
    assert_error_page(page, 404)
    assert "Không tìm thấy" in page.text


def assert_error_page(page: httpx.Response, status: int) -> None:
    assert page.status_code == status, page.text[:300]
    assert page.headers["content-type"].startswith("text/html")
    assert 'class="flash flash-error"' in page.text
    assert '"message_vi"' not in page.text
    assert page.headers["X-Frame-Options"] == "DENY"  # the console's security headers


async def test_error_page_words_the_domain_error(pages: Console) -> None:
    admin = await pages.client("admin")
    page = await admin.get("/staff/opinions/ZZZZ-ZZZZ")
    assert "Không thực hiện được yêu cầu" in page.text and "Không tìm thấy ý kiến ZZZZ-ZZZZ." in page.text
    assert 'href="/staff/drafts"' in page.text  # the navigation of the signed-in user
    admin.http.cookies.set(LANG_COOKIE, "en")
    english = await admin.get("/staff/opinions/ZZZZ-ZZZZ")
    assert english.status_code == 404 and "Opinion ZZZZ-ZZZZ not found." in english.text


@pytest.mark.parametrize(
    "url", ["/staff/opinions/ZZZZ-ZZZZ/hide", "/staff/drafts/999999/publish", "/staff/drafts/999999/close"]
)
async def test_domain_error_of_an_action_renders_the_error_page(pages: Console, url: str) -> None:
    admin = await pages.client("admin")
    assert_error_page(await admin.post(url), 404)


async def test_unknown_path_and_malformed_id(pages: Console) -> None:
    admin = await pages.client("admin")
    for url in ("/staff/no-such-page", "/staff/drafts/not-a-number", "/staff/consolidation/jobs/x"):
        page = await admin.get(url)
        assert_error_page(page, 404)
        assert "Không tìm thấy trang hoặc mục được yêu cầu." in page.text


async def test_api_keeps_its_json(pages: Console) -> None:
    async with pages.anonymous() as http:
        refused = await http.get("/v1/feedback")
        assert refused.status_code == 401 and refused.json()["error"]["code"] == "api.error.unauthorized"
        missing = await http.get("/v1/no-such-endpoint")
        assert missing.status_code == 404 and missing.json()["error"]["code"] == "api.error.not_found"
