"""Full-text search (``q``): every word, case, diacritics and punctuation ignored; the stored key follows
submissions, edits and the migration's backfill; on SQLite and PostgreSQL, and over HTTP."""

from __future__ import annotations

import asyncio

import httpx
import pytest
from sqlalchemy import select, text

from core import errors
from core import feedback as uc
from core.domain import Channel, Stance
from core.exports import FeedbackFilters
from storage.db import create_engine
from storage.migrate import upgrade
from storage.models import DocumentRow, FeedbackRow, SectionRow
from storage.uow import SqlUnitOfWork
from tests.conftest import NOW
from tests.staff_api import make_keys, seed, serve


async def _receipts(sessions, q: str) -> set[str]:  # type: ignore[no-untyped-def]
    async with SqlUnitOfWork(sessions) as uow:
        rows = await uow.views.feedback_page(FeedbackFilters(q=q), after=None, limit=500)
        assert await uow.views.count_feedback(FeedbackFilters(q=q)) == len(rows)
    return {r["receipt_code"] for r in rows}


async def test_q_ignores_case_diacritics_and_punctuation_and_needs_every_word(loaded) -> None:  # type: ignore[no-untyped-def]
    async with loaded() as session:
        doc = await session.scalar(select(DocumentRow).where(DocumentRow.code == "sample-political-report"))
        section = await session.scalar(
            select(SectionRow).where(SectionRow.document_id == doc.id, SectionRow.parent_id.is_not(None))
        )
    async with SqlUnitOfWork(loaded) as uow:
        respondent = await uc.record_consent(
            uow=uow, channel=Channel.WEB, user_hash="q-1", language="vi", version="v1", now=NOW
        )
        assert respondent.id is not None
        receipt = await uc.submit_feedback(
            uow=uow,
            respondent_id=respondent.id,
            document_id=doc.id,
            section_id=section.id,
            stance=Stance.PARTIAL,
            text="Đề nghị tăng cường CHỐNG NGẬP, úng cho Quận Lê Chân!",
            channel=Channel.WEB,
            max_length=4000,
            now=NOW,
        )
    code = receipt.receipt_code
    for q in ("chong ngap", "CHỐNG ngập", "de nghi", "Đề-nghị", "ngap le chan", "úng", "ung,", "Lê   Chân"):
        assert await _receipts(loaded, q) == {code}, q
    for q in ("chong ngap xyz", "ngapung", "Lê Chân Hải Phòng"):
        assert await _receipts(loaded, q) == set(), q
    assert await _receipts(loaded, "ngập%_") == {code}  # LIKE wildcards are punctuation, never patterns

    async with SqlUnitOfWork(loaded) as uow:  # an edit moves the search key with the text
        await uc.edit_feedback(
            uow=uow,
            respondent_id=respondent.id,
            receipt_code=code,
            stance=Stance.AGREE,
            text="Ủng hộ xây dựng đô thị thông minh",
            now=NOW,
            max_length=4000,
        )
    assert await _receipts(loaded, "chong ngap") == set()
    assert await _receipts(loaded, "do thi thong minh") == {code}


async def test_q_on_seeded_entries_and_over_http(database_url, loaded, clock) -> None:  # type: ignore[no-untyped-def]
    keys = await make_keys(loaded)
    data = await seed(loaded)
    expected = {r["receipt_code"] for r in data.rows if "phát triển" in r["text"]}
    assert expected and await _receipts(loaded, "PHAT TRIEN kinh te") == expected
    with serve(database_url, clock) as base:
        async with httpx.AsyncClient(base_url=base, timeout=60) as client:
            response = await client.get(
                "/v1/feedback", params={"q": "Phát triển", "limit": 500}, headers=keys.auth("reader")
            )
            assert response.status_code == 200, response.text
            assert {i["receipt_code"] for i in response.json()["items"]} == expected
            both = await client.get(
                "/v1/feedback",
                params={"q": "phat trien", "stance": "agree", "limit": 500},
                headers=keys.auth("reader"),
            )
            agree = {
                r["receipt_code"]
                for r in data.rows
                if r["receipt_code"] in expected and r["stance"] == "agree"
            }
            assert {i["receipt_code"] for i in both.json()["items"]} == agree
            too_long = await client.get("/v1/feedback", params={"q": "x" * 201}, headers=keys.auth("reader"))
            assert too_long.status_code == 422
            exported = await client.get(
                "/v1/exports/feedback",
                params={"format": "jsonl", "q": "phat trien"},
                headers=keys.auth("reader"),
            )
            assert exported.status_code == 200 and len(exported.text.strip().splitlines()) == len(expected)


def test_a_q_over_the_limit_is_refused() -> None:
    with pytest.raises(errors.InvalidQuery):
        FeedbackFilters(q="a" * 201)


async def test_the_migration_backfills_the_search_key(tmp_path) -> None:  # type: ignore[no-untyped-def]
    url = f"sqlite+aiosqlite:///{tmp_path / 'backfill.db'}"
    await asyncio.to_thread(upgrade, url, "0007")
    engine = create_engine(url)
    async with engine.begin() as conn:
        for i, body in enumerate(("Chống ngập úng", "Đô thị xanh")):
            await conn.execute(
                text(
                    "INSERT INTO feedback (receipt_code, kind, text, text_folded, channel, source, status,"
                    " anonymous, created_at) VALUES (:r, 'draft_opinion', :t, '', 'web', 'web', 'active', 0,"
                    " '2026-03-01 00:00:00')"
                ),
                {"r": f"GY-B{i}", "t": body},
            )
    await engine.dispose()
    await asyncio.to_thread(upgrade, url, "0009")
    engine = create_engine(url)
    async with engine.connect() as conn:
        keys = dict((await conn.execute(select(FeedbackRow.receipt_code, FeedbackRow.text_search))).all())
    await engine.dispose()
    assert keys == {"GY-B0": "chong ngap ung", "GY-B1": "do thi xanh"}
