"""The grouping of a document's opinions read from the database page by page."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.near_duplicates import OpinionText, group_near_duplicates
from core.staff.consolidation import group_document_opinions
from storage.uow import SqlUnitOfWork
from tests.staff_api import seed


async def test_pages_cover_every_active_opinion_with_a_text_once(
    loaded: async_sessionmaker[AsyncSession],
) -> None:
    data = await seed(loaded)
    async with SqlUnitOfWork(loaded) as uow:
        rows = await uow.views.opinions_of_document(data.document_id)
        pages = [page async for page in uow.views.opinion_text_pages(data.document_id, page_size=3)]
        groups = await group_document_opinions(uow=uow, document_id=data.document_id, page_size=3)
    expected = [(str(r["receipt_code"]), str(r["text"])) for r in rows if r["text"]]
    assert expected and [pair for page in pages for pair in page] == expected
    assert all(len(page) <= 3 for page in pages)
    assert groups == group_near_duplicates([OpinionText(code, text) for code, text in expected], workers=1)
