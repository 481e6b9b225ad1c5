"""The opinions page's filters over HTTP: category, organisation and locality chosen from the reference
lists (not typed codes), the sections of the chosen draft, every channel."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.clock import FixedClock
from core.domain import Channel
from tests.staff_api import Seeded, seed
from tests.staff_console import Console, console_app


@pytest.fixture
async def pages(
    database_url: str, loaded: async_sessionmaker[AsyncSession], clock: FixedClock, tmp_path: Path
) -> AsyncIterator[Console]:
    async with console_app(database_url, clock, home=tmp_path) as console:
        yield console


def select_of(html: str, name: str) -> str:
    found = re.search(rf'<select id="f-[a-z]+" name="{name}"[^>]*>(.*?)</select>', html, re.S)
    assert found, name
    return found.group(1)


def options(html: str, name: str) -> dict[str, str]:
    return dict(re.findall(r'<option value="([^"]*)"[^>]*>([^<]*)</option>', select_of(html, name)))


def chosen(html: str, name: str) -> list[str]:
    return re.findall(r'<option value="([^"]*)" selected>', select_of(html, name))


async def test_reference_filters_are_selects_of_the_lists(pages: Console, seeded: Seeded) -> None:
    viewer = await pages.client("viewer")
    page = await viewer.get("/staff/opinions")
    assert page.status_code == 200
    assert 'name="category" maxlength' not in page.text  # no typed code any more
    categories = options(page.text, "category")
    assert categories["worker"] == "Công nhân" and categories["farmer"] == "Nông dân" and "" in categories
    assert options(page.text, "organisation")["dtn"] == "Đoàn Thanh niên"
    assert options(page.text, "locality")["p-hong-bang"] == "Phường Hồng Bàng"
    assert set(options(page.text, "channel")) == {"", *(c.value for c in Channel)}  # zalo and web too
    assert "zalo" in options(page.text, "channel") and "web" in options(page.text, "channel")

    filtered = await viewer.get("/staff/opinions", params={"category": "worker", "locality": "p-hong-bang"})
    assert chosen(filtered.text, "category") == ["worker"] and chosen(filtered.text, "locality") == [
        "p-hong-bang"
    ]
    shown = set(re.findall(r"/staff/opinions/([A-Z0-9-]{6,})\"", filtered.text))
    expected = seeded.receipts(category="worker", locality="p-hong-bang")
    assert shown and shown <= expected

    gone = await viewer.get("/staff/opinions", params={"organisation": "retired-code"})
    assert gone.status_code == 200 and chosen(gone.text, "organisation") == ["retired-code"]


async def test_sections_select_holds_the_chosen_drafts_sections(pages: Console, seeded: Seeded) -> None:
    viewer = await pages.client("viewer")
    none = await viewer.get("/staff/opinions")
    assert set(options(none.text, "section_id")) == {""}
    page = await viewer.get("/staff/opinions", params={"document_id": seeded.document_id})
    sections = options(page.text, "section_id")
    assert {str(i) for i in seeded.section_ids} == set(sections) - {""}
    other = await viewer.get("/staff/opinions", params={"document_id": seeded.other_document_id})
    assert set(options(other.text, "section_id")) == {""}  # that draft has no sections
    assert 'hx-get="/staff/opinions-sections" hx-target="#f-section"' in page.text


async def test_sections_fragment_follows_the_document_select(pages: Console, seeded: Seeded) -> None:
    viewer = await pages.client("viewer")
    fragment = await viewer.get("/staff/opinions-sections", params={"document_id": seeded.document_id})
    assert fragment.status_code == 200 and "<html" not in fragment.text
    found = dict(re.findall(r'<option value="([^"]*)">([^<]*)</option>', fragment.text))
    assert {str(i) for i in seeded.section_ids} == set(found) - {""}
    for bad in ("", "abc", "0", str(2**40)):
        empty = await viewer.get("/staff/opinions-sections", params={"document_id": bad})
        assert empty.status_code == 200 and re.findall(r'<option value="([^"]*)"', empty.text) == [""]
    anonymous = pages.anonymous()
    async with anonymous as http:
        assert (await http.get("/staff/opinions-sections")).status_code == 303  # signed-in staff only


@pytest.fixture
async def seeded(pages: Console) -> Seeded:
    return await seed(pages.sessions)
