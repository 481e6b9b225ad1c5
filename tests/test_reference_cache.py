"""The per-process cache of documents, sections and reference lists (storage/refcache.py): a hit costs no
statement, a staff edit in this process drops it at once, entries expire (injected clock), and a document
closed behind the cache's back (another process) still refuses a submission — counted, never timed."""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest
from sqlalchemy import event, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker, create_async_engine

from core import errors
from core import feedback as uc
from core.domain import Channel, DocumentStatus, Stance
from core.staff.documents import change_document_status
from storage import refcache
from storage.models import DocumentRow, FeedbackRow, RespondentRow, SectionRow
from storage.uow import SqlUnitOfWork
from tests.conftest import NOW


@pytest.fixture(autouse=True)
def _frozen_cache_clock(loaded: async_sessionmaker[AsyncSession]) -> None:
    """Entries never expire here unless a test moves the clock (the cache's clock is injected)."""
    cache = refcache.cache_of(loaded())
    assert cache is not None
    cache.clock = lambda: 0.0


def _count(sessions: async_sessionmaker[AsyncSession]) -> Counter[str]:
    seen: Counter[str] = Counter()

    def count(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        words = statement.split()
        table = words[words.index("FROM") + 1] if words[0] == "SELECT" and "FROM" in words else ""
        seen[words[0] + " " + table] += 1

    bind = sessions.kw["bind"]
    event.listen(bind.sync_engine, "before_cursor_execute", count)
    return seen


async def _sample(sessions: async_sessionmaker[AsyncSession]) -> tuple[int, int]:
    async with sessions() as session:
        doc = await session.scalar(select(DocumentRow).where(DocumentRow.code == "sample-political-report"))
        assert doc is not None
        section = await session.scalar(
            select(SectionRow).where(SectionRow.document_id == doc.id, SectionRow.parent_id.is_not(None))
        )
        assert section is not None
        return doc.id, section.id


async def _respondent(sessions: async_sessionmaker[AsyncSession], user_hash: str) -> int:
    async with SqlUnitOfWork(sessions) as uow:
        r = await uc.record_consent(
            uow=uow, channel=Channel.TELEGRAM, user_hash=user_hash, language="vi", version="v1", now=NOW
        )
    assert r.id is not None
    return r.id


async def _submit(uow: SqlUnitOfWork, rid: int, doc_id: int, section_id: int) -> str:
    receipt = await uc.submit_feedback(
        uow=uow,
        respondent_id=rid,
        document_id=doc_id,
        section_id=section_id,
        stance=Stance.AGREE,
        text="",
        channel=Channel.TELEGRAM,
        now=NOW,
        max_length=4000,
    )
    return receipt.receipt_code


async def test_a_cached_read_costs_no_statement(loaded: async_sessionmaker[AsyncSession]) -> None:
    doc_id, section_id = await _sample(loaded)
    rid = await _respondent(loaded, "cache-1")
    async with SqlUnitOfWork(loaded) as uow:  # the first citizen fills the cache
        await uow.documents.list_visible()
        await uow.reference.list("organisations")
        await _submit(uow, rid, doc_id, section_id)
    seen = _count(loaded)
    async with SqlUnitOfWork(loaded) as uow:
        assert [d.id for d in await uow.documents.list_visible()] == [doc_id]
        assert (await uow.reference.list("organisations"))[0].code
        await _submit(uow, rid, doc_id, section_id)
    # one statement: the insert checks the consent and that the document is open and copies the profile;
    # no respondent, document, section, list or receipt-code read
    assert seen == Counter({"INSERT ": 1}), seen


async def test_a_submission_without_consent_is_refused(loaded: async_sessionmaker[AsyncSession]) -> None:
    doc_id, section_id = await _sample(loaded)
    rid = await _respondent(loaded, "cache-4")
    async with loaded() as session:
        await session.execute(update(RespondentRow).where(RespondentRow.id == rid).values(consent_at=None))
        await session.commit()
    async with SqlUnitOfWork(loaded) as uow:
        with pytest.raises(errors.ConsentRequired):
            await _submit(uow, rid, doc_id, section_id)


async def test_a_staff_edit_in_this_process_drops_the_cache(loaded: async_sessionmaker[AsyncSession]) -> None:
    doc_id, _ = await _sample(loaded)
    async with SqlUnitOfWork(loaded) as uow:
        assert (await uow.documents.get(doc_id)).status is DocumentStatus.OPEN  # type: ignore[union-attr]
        assert [d.id for d in await uow.documents.list_visible()] == [doc_id]
    async with SqlUnitOfWork(loaded) as uow:
        await change_document_status(uow=uow, actor="admin", document_id=doc_id, action="close", now=NOW)
    async with SqlUnitOfWork(loaded) as uow:
        assert (await uow.documents.get(doc_id)).status is DocumentStatus.CLOSED  # type: ignore[union-attr]
        assert [d.status for d in await uow.documents.list_visible()] == [DocumentStatus.CLOSED]


async def test_a_write_through_another_engine_of_this_process_drops_the_cache(
    loaded: async_sessionmaker[AsyncSession], database_url: str
) -> None:
    from storage.db import create_engine

    doc_id, _ = await _sample(loaded)
    async with SqlUnitOfWork(loaded) as uow:
        await uow.documents.get(doc_id)
    other = create_engine(database_url)  # e.g. `gopy load` or a test's own engine, never reading the cache
    try:
        async with other.begin() as conn:
            await conn.execute(update(DocumentRow).where(DocumentRow.id == doc_id).values(title="Tên mới"))
    finally:
        await other.dispose()
    async with SqlUnitOfWork(loaded) as uow:
        assert (await uow.documents.get(doc_id)).title == "Tên mới"  # type: ignore[union-attr]


async def test_a_rolled_back_edit_leaves_no_trace(loaded: async_sessionmaker[AsyncSession]) -> None:
    doc_id, _ = await _sample(loaded)
    async with SqlUnitOfWork(loaded) as uow:
        await uow.documents.set_status(doc_id, "closed")
        # read inside the writing transaction: not kept, since it is not committed
        assert (await uow.documents.get(doc_id)).status is DocumentStatus.CLOSED  # type: ignore[union-attr]
    async with SqlUnitOfWork(loaded) as uow:  # left without commit: rolled back
        assert (await uow.documents.get(doc_id)).status is DocumentStatus.OPEN  # type: ignore[union-attr]


async def test_entries_expire(loaded: async_sessionmaker[AsyncSession], database_url: str) -> None:
    doc_id, _ = await _sample(loaded)
    now = [0.0]
    async with SqlUnitOfWork(loaded) as uow:
        cache = refcache.cache_of(uow.session)  # type: ignore[arg-type]
        assert cache is not None
        cache.clock = lambda: now[0]
        await uow.documents.get(doc_id)
    # another process's write (an engine not made by storage.db.create_engine): this process hears nothing
    other = create_async_engine(database_url)
    try:
        async with other.begin() as conn:
            await conn.execute(update(DocumentRow).where(DocumentRow.id == doc_id).values(title="Đổi tên"))
    finally:
        await other.dispose()
    async with SqlUnitOfWork(loaded) as uow:
        assert (await uow.documents.get(doc_id)).title != "Đổi tên"  # type: ignore[union-attr]
        now[0] = cache.ttl + 1
        assert (await uow.documents.get(doc_id)).title == "Đổi tên"  # type: ignore[union-attr]


async def test_a_document_closed_elsewhere_refuses_a_submission_while_cached_open(
    loaded: async_sessionmaker[AsyncSession], database_url: str
) -> None:
    doc_id, section_id = await _sample(loaded)
    rid = await _respondent(loaded, "cache-2")
    async with SqlUnitOfWork(loaded) as uow:
        assert (await uow.documents.get(doc_id)).status is DocumentStatus.OPEN  # type: ignore[union-attr]
        assert (await uow.sections.get(section_id)) is not None
    other = create_async_engine(database_url)  # e.g. a staff console in another worker process closes it
    try:
        async with other.begin() as conn:
            await conn.execute(update(DocumentRow).where(DocumentRow.id == doc_id).values(status="closed"))
    finally:
        await other.dispose()
    async with SqlUnitOfWork(loaded) as uow:
        assert (await uow.documents.get(doc_id)).status is DocumentStatus.OPEN  # type: ignore[union-attr]
        with pytest.raises(errors.DocumentClosed):
            await _submit(uow, rid, doc_id, section_id)
    async with loaded() as session:
        assert await session.scalar(select(FeedbackRow.id)) is None


async def test_a_taken_receipt_code_is_drawn_again(
    loaded: async_sessionmaker[AsyncSession], monkeypatch: pytest.MonkeyPatch
) -> None:
    doc_id, section_id = await _sample(loaded)
    rid = await _respondent(loaded, "cache-3")
    codes = iter(["AAAAAA", "AAAAAA", "BBBBBB"])
    monkeypatch.setattr(uc, "new_receipt_code", lambda: next(codes))
    async with SqlUnitOfWork(loaded) as uow:
        assert await _submit(uow, rid, doc_id, section_id) == "AAAAAA"
    async with SqlUnitOfWork(loaded) as uow:  # the unique index refuses AAAAAA: a second code is drawn
        assert await _submit(uow, rid, doc_id, section_id) == "BBBBBB"
