"""No personal data in logs or error messages when a statement fails (SQLite and PostgreSQL).

A trigger makes every insert of the tested table fail; the opinion, the locality and the profile then go
through the real web chat and the real staff API, and every captured log record (all levels, tracebacks
included) and the raised exception are scanned for them.
"""

from __future__ import annotations

import logging
import traceback

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine

from storage.db import HIDDEN, create_engine, session_factory
from storage.models import FeedbackRow
from tests.conftest import NOW, load_bundled
from tests.staff_api import make_keys, serve
from tests.test_webchat import submit_until_text
from tests.webchat_client import ChatClient, served

OPINION = "Ý kiến bí mật số 7319 về việc làm của thanh niên"
LOCALITY = "p-hong-bang"


async def _refuse_inserts(engine: AsyncEngine, table: str) -> None:
    """A trigger that makes every INSERT into ``table`` fail, with a message carrying no value."""
    async with engine.begin() as conn:
        if engine.dialect.name == "sqlite":
            await conn.execute(
                text(
                    f"CREATE TRIGGER test_refuse_{table} BEFORE INSERT ON {table} "
                    "BEGIN SELECT RAISE(ABORT, 'refused by the test'); END"
                )
            )
        else:
            await conn.execute(
                text(
                    "CREATE OR REPLACE FUNCTION test_refuse() RETURNS trigger AS $$ "
                    "BEGIN RAISE EXCEPTION 'refused by the test'; END $$ LANGUAGE plpgsql"
                )
            )
            await conn.execute(
                text(
                    f"CREATE TRIGGER test_refuse_{table} BEFORE INSERT ON {table} "
                    "FOR EACH ROW EXECUTE FUNCTION test_refuse()"
                )
            )


def _logged(caplog: pytest.LogCaptureFixture) -> str:
    """Everything the records say: messages, context fields and formatted tracebacks."""
    parts = []
    for record in caplog.records:
        parts.append(record.getMessage())
        parts.append(repr(record.__dict__))
        if record.exc_info:
            parts.append("".join(traceback.format_exception(*record.exc_info)))
    return "\n".join(parts) + caplog.text


def _assert_clean(haystack: str, *secrets: str) -> None:
    for secret in secrets:
        assert secret not in haystack, f"{secret!r} leaked"


async def test_a_failed_insert_through_the_web_chat_logs_no_opinion_locality_or_profile(
    database_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    engine = create_engine(database_url)
    try:
        await load_bundled(session_factory(engine))
        await _refuse_inserts(engine, "feedback")
    finally:
        await engine.dispose()
    caplog.set_level(logging.DEBUG)
    async with served(database_url) as base, ChatClient(base) as chat:
        await chat.open()
        await submit_until_text(chat)
        await chat.say(OPINION)
        await chat.press("Xong")
        await chat.press("Nông dân")
        await chat.press("Hội Nông dân")
        await chat.press("Phường Hồng Bàng")
        await chat.press("Bỏ qua")
        await chat.press("Bỏ qua")
        refused = await chat.press_raw("Gửi ý kiến")
        assert refused.status_code == 500
    failures = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert failures and any(r.exc_info for r in failures), "the failure itself is logged"
    _assert_clean(_logged(caplog), OPINION, LOCALITY, "farmer", "Phường Hồng Bàng")


async def test_a_failed_insert_through_the_staff_api_logs_no_title(
    database_url: str, caplog: pytest.LogCaptureFixture, clock
) -> None:  # type: ignore[no-untyped-def]
    engine = create_engine(database_url)
    try:
        sessions = session_factory(engine)
        await load_bundled(sessions)
        keys = await make_keys(sessions)
        await _refuse_inserts(engine, "document")
    finally:
        await engine.dispose()
    caplog.set_level(logging.DEBUG)
    with serve(database_url, clock) as base:
        async with httpx.AsyncClient(base_url=base, timeout=30) as client:
            response = await client.post(
                "/v1/documents", json={"code": "secret-draft", "title": OPINION}, headers=keys.auth("admin")
            )
    assert response.status_code == 500 and OPINION not in response.text
    assert any(r.levelno >= logging.ERROR for r in caplog.records)
    _assert_clean(_logged(caplog), OPINION, "secret-draft")


async def test_the_raised_exception_carries_no_parameter(database_url: str) -> None:
    engine = create_engine(database_url)
    try:
        async with session_factory(engine)() as session:
            row = FeedbackRow(
                receipt_code="GY-SECRET",
                kind="draft_opinion",
                respondent_id=999_999,  # no such respondent: the foreign key refuses the insert
                text=OPINION,
                text_folded=OPINION.lower(),
                locality=LOCALITY,
                channel="web",
                source="web",
                status="active",
                created_at=NOW,
            )
            session.add(row)
            with pytest.raises(DBAPIError) as failed:
                await session.flush()
        everything = "".join(traceback.format_exception(failed.value)) + repr(failed.value)
        _assert_clean(everything, OPINION, LOCALITY, "GY-SECRET")
        if engine.dialect.name == "postgresql":
            # PostgreSQL quotes values in its own messages, and asyncpg in its client-side checks
            for statement in ("SELECT CAST(CAST(:v AS text) AS integer)", "SELECT CAST(:v AS integer)"):
                async with engine.connect() as conn:
                    with pytest.raises(DBAPIError) as failed:
                        await conn.execute(text(statement), {"v": OPINION})
                everything = "".join(traceback.format_exception(failed.value))
                _assert_clean(everything, OPINION)
                assert HIDDEN in everything
    finally:
        await engine.dispose()
