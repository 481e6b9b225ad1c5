"""The PostgreSQL pool tests a connection before handing it out only when it sat idle, and a dropped idle
connection never reaches the request: the pool discards it and hands out a fresh one."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import text

import storage.db
from storage.db import create_engine

pytestmark = pytest.mark.postgres


async def test_a_connection_back_just_now_is_not_pinged_and_a_dropped_idle_one_is_replaced(
    pg_database: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine = create_engine(pg_database, pool_size=1, max_overflow=0)
    dialect = engine.sync_engine.dialect
    real_ping = dialect.do_ping
    pinged: list[Any] = []

    def counting_ping(dbapi_connection: Any) -> bool:
        pinged.append(dbapi_connection)
        return bool(real_ping(dbapi_connection))

    monkeypatch.setattr(dialect, "do_ping", counting_ping)
    try:
        async with engine.connect() as conn:
            first = await conn.scalar(text("SELECT pg_backend_pid()"))
        async with engine.connect() as conn:  # back in the pool moments ago: handed out as it is
            assert await conn.scalar(text("SELECT pg_backend_pid()")) == first
        assert pinged == []

        admin = create_engine(pg_database)  # the server drops the pooled connection (a restart, a timeout)
        try:
            async with admin.connect() as conn:
                assert await conn.scalar(text("SELECT pg_terminate_backend(:pid)"), {"pid": first})
        finally:
            await admin.dispose()

        monkeypatch.setattr(storage.db, "IDLE_PING_SECONDS", 0.0)  # as if it had sat idle
        async with engine.connect() as conn:
            assert await conn.scalar(text("SELECT 1")) == 1  # the request never sees the dead connection
            assert await conn.scalar(text("SELECT pg_backend_pid()")) != first
        assert pinged
    finally:
        await engine.dispose()


async def test_an_explicit_pre_ping_choice_stands(pg_database: str) -> None:
    engine = create_engine(pg_database, pool_pre_ping=True)
    try:
        assert engine.sync_engine.pool._pre_ping  # type: ignore[attr-defined]
    finally:
        await engine.dispose()
