"""The database writes CSV / JSONL exports itself on PostgreSQL (storage.export_sql): byte for byte what
the generic path (present_row + formats.exports) writes, on values made to differ — formulas, accents,
quotes, commas, newlines, backslashes, control characters, nulls, microseconds, offsets and DST."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import UTC, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import insert, select, text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from api.v1.exports import encoded_pages, export_chunks
from core.domain import Stance
from core.exports import ExportFormat, FeedbackFilters, HiddenFilter, hmac_pads
from core.staff.feedback import FeedbackExport, Presenter, export_wording
from formats.exports import csv_chunks, csv_header, jsonl_chunks
from storage import views
from storage.db import create_engine, session_factory
from storage.models import DocumentRow, FeedbackRow, RespondentRow, SectionRow
from storage.uow import SqlUnitOfWork
from storage.views import SqlViewRepository
from tests.conftest import NOW, load_bundled

TEXTS = [
    "=1+1",
    "+84 912",
    "-giảm",
    "@all",
    "\tTAB",
    "\rCR first",
    'Ý kiến "trích dẫn", có dấu phẩy',
    "hai dòng\nthứ hai\r\nthứ ba",
    "gạch chéo \\ và \\n chữ",
    "điều khiển \x01\x1f\x7f",
    "Đề nghị tiếp tục đẩy mạnh cải cách hành chính",
    "",
    " khoảng trắng ",
    'khóa "a" : b',
    '"kind" : "mood"',
]


@pytest.fixture
async def pg_sessions(pg_database: str) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    engine = create_engine(pg_database)
    sessions = session_factory(engine)
    await load_bundled(sessions)
    async with sessions() as session:
        doc = (await session.execute(select(DocumentRow.id, DocumentRow.code))).first()
        assert doc is not None
        section_ids = list((await session.scalars(select(SectionRow.id).limit(3))).all())
        respondents = []
        for i in range(3):
            result = await session.execute(
                insert(RespondentRow)
                .values(channel="telegram", user_hash=f"h{i}", created_at=NOW)
                .returning(RespondentRow.id)
            )
            respondents.append(result.scalar_one())
        rows: list[dict[str, Any]] = []
        for i, text in enumerate(TEXTS * 3):
            created = NOW + timedelta(days=i * 13, microseconds=0 if i % 2 else 123_456 * i % 1_000_000)
            rows.append(
                {
                    "receipt_code": f"GY-T{i:05d}",
                    "kind": "draft_opinion" if i % 5 else "mood",
                    "text": text,
                    "text_folded": "",
                    "channel": "telegram" if i % 2 else "web",
                    "source": "bot",
                    "stance": (None, "agree", "disagree", "partial", "other")[i % 5],
                    "category": (None, "worker", "=bad code")[i % 3],
                    "locality": (None, "79", "01")[i % 3],
                    # short values JSON must escape too (quotes, backslash, control characters)
                    "organisation": (None, 'Cty "Á", số 1', "gạch \\ và \x02 tab\t")[i % 3 if i % 4 else 0],
                    "respondent_id": (None, *respondents)[i % 4],
                    "document_id": None if i % 5 == 0 else doc.id,
                    "section_id": (None, *section_ids)[i % 4] if i % 5 else None,
                    "status": "active" if i % 7 else "withdrawn",
                    "created_at": created,
                    "updated_at": created + timedelta(hours=5) if i % 3 == 0 else None,
                    "withdrawn_at": created + timedelta(days=1) if i % 7 == 0 else None,
                    "hidden_at": created if i % 11 == 0 else None,
                    "hidden_reason": 'spam, "quảng cáo"\nlặp' if i % 11 == 0 else None,
                    "unit_code": None if i % 2 else "-unit",
                }
            )
        await session.execute(insert(FeedbackRow), rows)
        await session.commit()
    yield sessions
    await engine.dispose()


async def _generic(
    sessions: async_sessionmaker[AsyncSession], export: FeedbackExport, fmt: ExportFormat
) -> bytes:
    async def pages() -> AsyncIterator[list[dict[str, Any]]]:
        async with SqlUnitOfWork(sessions) as uow:
            async for page in uow.views.iter_feedback_pages(export.filters, upto=export.upto, page_size=4):
                yield [export.present(row) for row in page]

    body = csv_chunks(pages(), export.present.layout) if fmt is ExportFormat.CSV else jsonl_chunks(pages())
    return b"".join([chunk async for chunk in body])


async def _encoded(
    sessions: async_sessionmaker[AsyncSession], export: FeedbackExport, fmt: ExportFormat
) -> bytes:
    spec = export.present.sql_encoding(fmt)
    assert spec is not None
    out = [csv_header(export.present.layout)] if fmt is ExportFormat.CSV else []
    out += [data async for _count, data in encoded_pages(sessions, export, spec, page_size=4)]
    return b"".join(out)


async def _export(
    sessions: async_sessionmaker[AsyncSession], present: Presenter, filters: FeedbackFilters
) -> FeedbackExport:
    async with SqlUnitOfWork(sessions) as uow:
        upto = await uow.views.last_feedback_id()
        rows = await uow.views.count_feedback(filters, upto=upto)
    return FeedbackExport(filters, upto, rows, present)


@pytest.mark.postgres
@pytest.mark.parametrize(
    ("tz", "pii"),
    [("Asia/Ho_Chi_Minh", False), ("America/New_York", True), ("Asia/Kolkata", False), ("UTC", True)],
)
async def test_database_writes_the_same_bytes(
    pg_sessions: async_sessionmaker[AsyncSession], tz: str, pii: bool
) -> None:
    sessions = pg_sessions
    present = Presenter(pii=pii, hash_key="khóa bí mật", tz=ZoneInfo(tz))
    async with SqlUnitOfWork(sessions) as uow:
        assert uow.views.can_encode_feedback()
        worded = {lang: await export_wording(uow=uow, language=lang) for lang in ("vi", "en")}
    cases = [(ExportFormat.CSV, present), (ExportFormat.JSONL, present)]
    cases += [(ExportFormat.CSV, replace(present, wording=w)) for w in worded.values()]
    for filters in (
        FeedbackFilters(),
        FeedbackFilters(stance=Stance.AGREE),
        FeedbackFilters(hidden=HiddenFilter.INCLUDE),
        FeedbackFilters(category="worker", created_from=NOW + timedelta(days=30)),
    ):
        for fmt, presenter in cases:
            export = await _export(sessions, presenter, filters)
            generic = await _generic(sessions, export, fmt)
            assert generic.count(b"\n") > 3
            assert await _encoded(sessions, export, fmt) == generic, (fmt, presenter.wording is not None)
            # and the export the API streams takes the database's path with the same bytes
            streamed = b"".join([c async for c in export_chunks(sessions, export, fmt)])
            assert streamed == generic


@pytest.mark.postgres
async def test_long_keys_and_row_limits(pg_sessions: async_sessionmaker[AsyncSession]) -> None:
    """A key longer than SHA-256's block is hashed first (as hmac does); ``upto`` bounds the rows."""
    sessions = pg_sessions
    present = Presenter(pii=False, hash_key="k" * 100, tz=ZoneInfo("Asia/Ho_Chi_Minh"))
    export = await _export(sessions, present, FeedbackFilters(hidden=HiddenFilter.INCLUDE))
    export = replace(export, upto=export.upto - 5)
    generic = await _generic(sessions, export, ExportFormat.JSONL)
    assert generic.count(b"\n") == len(TEXTS) * 3 - 5
    assert await _encoded(sessions, export, ExportFormat.JSONL) == generic
    # the next export with the same filters and layout reuses the compiled statements, its own ``upto``
    kept = dict(views._PLANS)
    export = replace(export, upto=export.upto - 7)
    generic = await _generic(sessions, export, ExportFormat.JSONL)
    assert generic.count(b"\n") == len(TEXTS) * 3 - 12
    assert await _encoded(sessions, export, ExportFormat.JSONL) == generic
    assert dict(views._PLANS) == kept
    inner, outer = hmac_pads("k" * 100)
    assert len(inner) == len(outer) == 64


def test_no_sql_encoding_for_xlsx_or_unnamed_zones() -> None:
    present = Presenter(pii=False, hash_key="k", tz=ZoneInfo("Asia/Ho_Chi_Minh"))
    assert present.sql_encoding(ExportFormat.XLSX) is None
    assert replace(present, tz=UTC).sql_encoding(ExportFormat.CSV) is None  # type: ignore[arg-type]
    assert present.sql_encoding(ExportFormat.CSV) is not None


async def test_sqlite_keeps_the_generic_path(sqlite_database: str) -> None:
    engine = create_engine(sqlite_database)
    try:
        async with SqlUnitOfWork(session_factory(engine)) as uow:
            assert not uow.views.can_encode_feedback()
    finally:
        await engine.dispose()


@pytest.mark.postgres
async def test_an_export_holds_one_connection_at_a_time(pg_database: str) -> None:
    """The next page is read while the caller has the current one, but never on a second connection:
    each page's two statements run one after the other, and a page sent holds none."""
    engine = create_engine(pg_database)
    sessions = session_factory(engine)
    try:
        await load_bundled(sessions)
        async with sessions() as session:
            result = await session.execute(
                insert(RespondentRow)
                .values(channel="telegram", user_hash="one", created_at=NOW)
                .returning(RespondentRow.id)
            )
            respondent = result.scalar_one()
            rows = [
                {
                    "receipt_code": f"GY-C{i:05d}",
                    "kind": "mood",
                    "text": f"ý kiến {i}",
                    "text_folded": "",
                    "channel": "telegram",
                    "source": "bot",
                    "respondent_id": respondent,
                    "status": "active",
                    "created_at": NOW + timedelta(minutes=i),
                }
                for i in range(23)
            ]
            await session.execute(insert(FeedbackRow), rows)
            await session.commit()
        present = Presenter(pii=False, hash_key="khóa", tz=ZoneInfo("Asia/Ho_Chi_Minh"))
        export = await _export(sessions, present, FeedbackFilters())
        spec = export.present.sql_encoding(ExportFormat.CSV)
        assert spec is not None
        most = 0

        def checkout(*_args: Any) -> None:
            nonlocal most
            most = max(most, engine.pool.checkedout())

        from sqlalchemy import event

        event.listen(engine.sync_engine, "checkout", checkout)
        pages = 0
        async for count, _data in encoded_pages(sessions, export, spec, page_size=4):
            pages += 1
            assert count
            for _ in range(20):  # a slow client: the prefetched page is read meanwhile
                await asyncio.sleep(0)
        assert pages == 6  # 23 rows in pages of 4
        assert most == 1
    finally:
        await engine.dispose()


@pytest.mark.postgres
async def test_a_page_whose_last_row_left_the_filters_reads_the_next_bounds_again(
    pg_sessions: async_sessionmaker[AsyncSession], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A page's statement also reads the next page's bounds, on the row ending the page: when that row
    no longer matches the filters (hidden meanwhile), the next bounds are read by a statement of their
    own, and the file is the generic path's of the rows as they now are (one page after the other: a
    prefetched page may have been read before the change)."""
    sessions = pg_sessions
    present = Presenter(pii=False, hash_key="khóa", tz=ZoneInfo("Asia/Ho_Chi_Minh"))
    export = await _export(sessions, present, FeedbackFilters())
    spec = export.present.sql_encoding(ExportFormat.JSONL)
    assert spec is not None
    ids = [r["id"] for r in await _rows(sessions, export)]
    bounds_read = 0
    keys = SqlViewRepository.encoded_feedback_keys

    async def counted(self: SqlViewRepository, *args: Any, **kwargs: Any) -> Any:
        nonlocal bounds_read
        bounds_read += 1
        return await keys(self, *args, **kwargs)

    monkeypatch.setattr(SqlViewRepository, "encoded_feedback_keys", counted)
    out = []
    async for _count, data in encoded_pages(sessions, export, spec, page_size=4, prefetch=False):
        if not out:  # the row ending the second page leaves the filters once the first page is read
            async with sessions() as session:
                await session.execute(
                    FeedbackRow.__table__.update().where(FeedbackRow.id == ids[7]).values(hidden_at=NOW)
                )
                await session.commit()
        out.append(data)
    assert ids[7] not in [r["id"] for r in await _rows(sessions, export)]
    assert b"".join(out) == await _generic(sessions, export, ExportFormat.JSONL)
    assert bounds_read == 2  # the first page's, then the third page's once the second lost its last row


async def _rows(sessions: async_sessionmaker[AsyncSession], export: FeedbackExport) -> list[Any]:
    async with SqlUnitOfWork(sessions) as uow:
        return await uow.views.feedback_page(export.filters, after=None, limit=1000, upto=export.upto)


@pytest.mark.postgres
async def test_the_lines_statement_is_prepared_once_per_connection(pg_database: str) -> None:
    """A worded CSV's lines statement (about 20 KB) is kept by the driver as a prepared statement, not
    parsed again for every page (asyncpg keeps only statements up to 15 KB unless told otherwise)."""
    engine = create_engine(pg_database, pool_size=1, max_overflow=0)
    sessions = session_factory(engine)
    try:
        await load_bundled(sessions)
        async with sessions() as session:
            rows = [
                {
                    "receipt_code": f"GY-P{i:05d}",
                    "kind": "draft_opinion",
                    "text": f"ý kiến {i}",
                    "text_folded": "",
                    "channel": "telegram",
                    "source": "bot",
                    "status": "active",
                    "created_at": NOW + timedelta(minutes=i),
                }
                for i in range(10)
            ]
            await session.execute(insert(FeedbackRow), rows)
            await session.commit()
        async with SqlUnitOfWork(sessions) as uow:
            wording = await export_wording(uow=uow, language="vi")
        present = Presenter(pii=False, hash_key="khóa", tz=ZoneInfo("Asia/Ho_Chi_Minh"), wording=wording)
        export = await _export(sessions, present, FeedbackFilters())
        spec = export.present.sql_encoding(ExportFormat.CSV)
        assert spec is not None
        pages = [data async for _count, data in encoded_pages(sessions, export, spec, page_size=4)]
        assert len(pages) == 3
        async with sessions() as session:
            prepared = await session.scalar(
                text(
                    "SELECT count(*) FROM pg_prepared_statements"
                    " WHERE statement LIKE '%textsend(%' AND statement NOT LIKE '%pg_prepared%'"
                )
            )
        assert prepared == 1
    finally:
        await engine.dispose()
