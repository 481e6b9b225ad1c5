"""The issuing body in the web chat over real HTTP: name, logo (a file or an https address), icon,
contact line, the embed snippet, and the full privacy notice at /privacy."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest

from tests.webchat_client import ChatClient, served

pytestmark = pytest.mark.e2e

ORG = "Ban Dân vận Thành ủy Hải Phòng"
ORG_EN = "Mass Mobilization Commission of the Hai Phong City Party Committee"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


async def test_the_page_title_header_icon_and_embed_name_the_body_with_its_logo_file(
    sqlite_database: str, tmp_path: Path
) -> None:
    logo = tmp_path / "logo.png"
    logo.write_bytes(PNG)
    settings = {"org_name": ORG, "org_name_en": ORG_EN, "org_logo": str(logo), "org_contact": "0225 3745 000"}
    async with served(sqlite_database, **settings) as base, ChatClient(base) as chat:
        page = (await chat.open()).text
        assert f"<title>Góp ý dự thảo văn kiện — {ORG}</title>" in page
        assert '<link rel="icon" href="/chat/logo">' in page
        assert '<img class="logo" src="/chat/logo" alt=""' in page
        assert f'data-ui="org">{ORG}</p>' in page and "Liên hệ: 0225 3745 000" in page
        assert '<a id="privacy-link" href="/privacy?lang=vi"' in page
        assert f'"org": "{ORG_EN}"' in page and f'"title": "Comment on draft documents — {ORG_EN}"' in page
        served_logo = await chat.http.get("/chat/logo")
        assert served_logo.status_code == 200 and served_logo.headers["content-type"] == "image/png"
        assert served_logo.content == PNG
        embed = (await chat.http.get("/chat/embed.js")).text
        assert f"var title = {json.dumps('Góp ý dự thảo văn kiện — ' + ORG)};" in embed
        assert f'var icon = "{base}/chat/logo";' in embed


async def test_a_logo_address_is_allowed_by_the_content_policy_and_no_logo_gives_the_plain_mark(
    sqlite_database: str,
) -> None:
    async with served(sqlite_database, org_logo="https://cdn.haiphong.gov.vn/logo.svg") as base:
        async with ChatClient(base) as chat:
            response = await chat.open()
            assert '<link rel="icon" href="https://cdn.haiphong.gov.vn/logo.svg">' in response.text
            assert (
                "img-src 'self' data: https://cdn.haiphong.gov.vn;"
                in response.headers["content-security-policy"]
            )
            assert (await chat.http.get("/chat/logo")).status_code == 404
    async with served(sqlite_database) as base, ChatClient(base) as chat:
        response = await chat.open()
        assert (
            '<link rel="icon" href="/chat/static/favicon.svg">' in response.text
            and "<img" not in response.text
        )
        assert "<title>Góp ý dự thảo văn kiện — Ban Dân vận Thành ủy</title>" in response.text
        icon = await chat.http.get("/chat/static/favicon.svg")
        assert icon.status_code == 200 and icon.headers["content-type"].startswith("image/svg+xml")


async def test_the_privacy_page_renders_the_versioned_notice_in_full(sqlite_database: str) -> None:
    async with served(sqlite_database, org_name=ORG, privacy_version="2026-01") as base:
        async with httpx.AsyncClient(base_url=base) as http:
            vi = await http.get("/privacy")
            assert vi.status_code == 200 and vi.headers["content-type"].startswith("text/html")
            assert "script-src 'self'" in vi.headers["content-security-policy"]
            assert '<html lang="vi">' in vi.text and "phiên bản 2026-01" in vi.text
            assert vi.text.count("<h2>") == 9 and "<h2>9. Liên hệ</h2>" in vi.text
            assert f"<p>{ORG} (sau đây gọi là «chúng tôi»)" in vi.text
            assert f"qua các kênh liên hệ chính thức của {ORG}" in vi.text  # no contact line configured
            assert "<script" not in vi.text
            en = await http.get("/privacy", params={"lang": "en"})
            assert (
                '<html lang="en">' in en.text
                and "PERSONAL DATA NOTICE" in en.text
                and "version 2026-01" in en.text
            )
