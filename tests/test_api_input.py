"""Regression tests of the staff API's input handling: no 500 for odd dates or odd characters, and every
accepted text is normalised as the bot normalises what people type."""

from __future__ import annotations

import io
from collections.abc import AsyncIterator

import httpx
import pytest
from docx import Document
from sqlalchemy import select, update

from storage.models import DocumentRow
from tests.staff_api import Keys, make_keys, seed, serve

CONTROL_TITLE = "Dự tha\u0309o\x01 bá\x08o cáo\x1b[31m\u200b chính trị\x7f\ufeff"
CLEAN_TITLE = "Dự thảo báo cáo[31m chính trị"


@pytest.fixture
async def client(database_url, loaded, clock) -> AsyncIterator[tuple[httpx.AsyncClient, Keys]]:  # type: ignore[no-untyped-def]
    keys = await make_keys(loaded)
    await seed(loaded, count=12)
    with serve(database_url, clock) as base:
        async with httpx.AsyncClient(base_url=base, timeout=60) as http:
            yield http, keys


@pytest.mark.parametrize(
    "params",
    [
        {"created_from": "0001-01-01T00:00:00"},
        {"created_to": "0001-01-01T00:00:00"},
        {"created_from": "9999-12-31T23:59:59-12:00"},
        {"created_to": "9999-12-31T23:59:59-12:00"},
    ],
)
async def test_dates_at_the_ends_of_the_calendar_are_422_not_500(
    client: tuple[httpx.AsyncClient, Keys], params: dict[str, str]
) -> None:
    http, keys = client
    for path in ("/v1/feedback", "/v1/exports/feedback"):
        response = await http.get(path, params=params, headers=keys.auth("admin"))
        assert response.status_code == 422, (path, response.text)
        error = response.json()["error"]
        assert error["code"] == "api.error.invalid_query" and error["message_vi"] and error["message_en"]


async def test_a_title_with_control_characters_is_stored_clean_and_its_synthesis_docx_opens(
    client: tuple[httpx.AsyncClient, Keys], loaded
) -> None:  # type: ignore[no-untyped-def]
    http, keys = client
    admin = keys.auth("admin")
    created = await http.post(
        "/v1/documents",
        json={"code": "ctl-draft", "title": CONTROL_TITLE, "level": " Thành\x00 phố "},
        headers=admin,
    )
    assert created.status_code == 201, created.text
    document = created.json()
    assert (document["title"], document["level"]) == (CLEAN_TITLE, "Thành phố")
    imported = await http.post(
        "/v1/documents/import",
        files={"file": ("d.md", "# Tiêu đề\n\n## Phần một\n\nNội dung.\n".encode(), "text/markdown")},
        data={"code": "ctl-import", "title": CONTROL_TITLE},
        headers=admin,
    )
    assert imported.status_code == 201, imported.text
    assert imported.json()["document"]["title"] == CLEAN_TITLE
    for doc_id in (document["id"], imported.json()["document"]["id"]):
        docx = await http.get(f"/v1/documents/{doc_id}/synthesis.docx", headers=admin)
        assert docx.status_code == 200, docx.text
        text = "\n".join(p.text for p in Document(io.BytesIO(docx.content)).paragraphs)
        assert CLEAN_TITLE.upper() in text.upper()
    # a title stored before this fix (or by another path) still gives a document, not a 500
    async with loaded() as session:
        await session.execute(
            update(DocumentRow).where(DocumentRow.code == "ctl-draft").values(title=CONTROL_TITLE)
        )
        await session.commit()
        assert await session.scalar(select(DocumentRow.title).where(DocumentRow.code == "ctl-draft")) == (
            CONTROL_TITLE
        )
    docx = await http.get(f"/v1/documents/{document['id']}/synthesis.docx", headers=admin)
    assert docx.status_code == 200, docx.text


async def test_blank_after_normalisation_is_refused(client: tuple[httpx.AsyncClient, Keys]) -> None:
    http, keys = client
    response = await http.post(
        "/v1/documents", json={"code": "blank", "title": " \u200b\x01 "}, headers=keys.auth("admin")
    )
    assert response.status_code == 422, response.text


async def test_query_filters_are_normalised_like_stored_texts(client: tuple[httpx.AsyncClient, Keys]) -> None:
    http, keys = client
    plain = await http.get("/v1/feedback", params={"locality": "p-hong-bang"}, headers=keys.auth("admin"))
    odd = await http.get(
        "/v1/feedback", params={"locality": "p-hong\u200b-bang\x00 "}, headers=keys.auth("admin")
    )
    assert plain.status_code == odd.status_code == 200, odd.text
    assert plain.json()["items"] and odd.json()["items"] == plain.json()["items"]
