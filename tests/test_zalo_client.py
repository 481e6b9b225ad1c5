"""The Zalo client against the fake OA over real HTTP: splitting, buttons, errors, token rotation."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta

import aiohttp
import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.zalo.client import Button, TokenKeeper, ZaloClient, ZaloError, ZaloUnreachable, split_text
from core.clock import FixedClock
from storage import zalo as store
from storage.db import create_engine, session_factory
from tests.conftest import NOW
from tests.fake_zalo import FakeZaloServer

USER = "8123456789012345678901"  # longer than 64 bits: kept as a string end to end


@pytest.fixture
async def zalo() -> AsyncIterator[FakeZaloServer]:
    async with FakeZaloServer() as server:
        server.interacted(USER)
        yield server


def keeper(
    sessions: async_sessionmaker[AsyncSession], http: aiohttp.ClientSession, zalo: FakeZaloServer
) -> TokenKeeper:
    return TokenKeeper(
        sessions=sessions,
        http=http,
        oauth_base=zalo.base_url,
        app_id=zalo.app_id,
        app_secret=zalo.app_secret,
        clock=FixedClock(NOW),
        wait_step=0.01,
    )


async def connect(sessions: async_sessionmaker[AsyncSession], zalo: FakeZaloServer, hours: float = 24) -> str:
    access, refresh = zalo.issue_pair()
    await store.store_first_pair(
        sessions, access=access, refresh=refresh, expires_at=NOW + timedelta(hours=hours), now=NOW
    )
    return access


def test_split_text_on_word_boundaries() -> None:
    words = ("Góp ý " * 700).strip()  # 4,199 characters
    parts = split_text(words)
    assert len(parts) == 3
    assert all(len(p) <= 2000 for p in parts)
    assert " ".join(parts) == words
    assert all(not p.startswith(" ") and not p.endswith(" ") for p in parts)
    assert split_text("x" * 2001) == ["x" * 2000, "x"]


async def test_send_text_with_buttons_and_a_long_text(
    zalo: FakeZaloServer, sessions: async_sessionmaker[AsyncSession]
) -> None:
    await connect(sessions, zalo)
    async with aiohttp.ClientSession() as http:
        client = ZaloClient(http=http, tokens=keeper(sessions, http, zalo), api_base=zalo.base_url)
        buttons = [Button(f"Lựa chọn {i} " + "dài " * 40, f"p{i}") for i in range(5)]
        await client.send_text(USER, "Xin chào " * 300, buttons)
        with pytest.raises(ValueError):
            await client.send_text(USER, "x", [Button("a", "a")] * 6)
    sent = zalo.messages(USER)
    assert len(sent) == 2 and all(len(m.text) <= 2000 for m in sent)
    assert sent[0].buttons == [] and len(sent[1].buttons) == 5
    assert all(len(b["title"]) <= 100 for b in sent[1].buttons)
    assert [b["payload"] for b in sent[1].buttons] == ["p0", "p1", "p2", "p3", "p4"]


async def test_retries_only_rate_limits_and_server_errors(
    zalo: FakeZaloServer, sessions: async_sessionmaker[AsyncSession]
) -> None:
    await connect(sessions, zalo)
    async with aiohttp.ClientSession() as http:
        client = ZaloClient(
            http=http, tokens=keeper(sessions, http, zalo), api_base=zalo.base_url, backoff_seconds=0.001
        )
        zalo.faults = [-32, 502, -32]
        await client.send_text(USER, "Sau ba lần")
        assert [r.error if r.http_status == 200 else r.http_status for r in zalo.requests] == [
            -32,
            502,
            -32,
            0,
        ]
        zalo.faults = [-201]
        with pytest.raises(ZaloError) as err:
            await client.send_text(USER, "Không thử lại")
        assert err.value.code == -201 and len(zalo.requests) == 5
        for code in (-213, -227, -230, -232):
            zalo.faults = [code]
            with pytest.raises(ZaloUnreachable):
                await client.send_text(USER, "Ngoài cửa sổ")
        assert len(zalo.requests) == 9  # none of them retried
        zalo.set_last_interaction(USER, zalo.now() - 8 * 86400)
        with pytest.raises(ZaloUnreachable) as err:
            await client.send_text(USER, "Quá 7 ngày")
        assert err.value.code == -230


async def test_an_expired_token_is_refreshed_once_and_the_message_sent(
    zalo: FakeZaloServer, sessions: async_sessionmaker[AsyncSession]
) -> None:
    old = await connect(sessions, zalo)
    zalo.expire_access_tokens()
    async with aiohttp.ClientSession() as http:
        tokens = keeper(sessions, http, zalo)
        client = ZaloClient(http=http, tokens=tokens, api_base=zalo.base_url)
        await client.send_text(USER, "Sau khi làm mới")
        await client.send_text(USER, "Lần hai")
    assert [r.error for r in zalo.requests] == [-220, 0, 0]
    assert len(zalo.refreshes) == 1 and zalo.refreshes[0].error == 0
    pair = await store.read_token(sessions)
    assert pair is not None and pair.access_token != old and pair.refreshing_until is None
    assert zalo.requests[1].token == pair.access_token


@pytest.mark.postgres
async def test_two_processes_refresh_once(zalo: FakeZaloServer, pg_database: str) -> None:
    """Two keepers on two engines (as two processes) race for a token near expiry: one refresh reaches
    Zalo, the single-use refresh token is never sent twice, and both get the new access token."""
    engines = [create_engine(pg_database), create_engine(pg_database)]
    try:
        await connect(session_factory(engines[0]), zalo, hours=0.5)  # inside the refresh-ahead hour
        zalo.token_delay = 0.2  # the first refresh is in flight while the second process asks
        async with aiohttp.ClientSession() as http:
            keepers = [keeper(session_factory(e), http, zalo) for e in engines]
            tokens = await asyncio.gather(*(k.access_token() for k in keepers))
        assert len(zalo.refreshes) == 1 and zalo.refreshes[0].error == 0
        assert zalo.reused_refresh_tokens == []
        assert sum(k.refreshes for k in keepers) == 1
        pair = await store.read_token(session_factory(engines[0]))
        assert pair is not None and pair.access_token in zalo.access_tokens
        # the loser used the current token (still valid) or waited for the new one: both are accepted
        assert all(t in zalo.access_tokens for t in tokens)
    finally:
        for e in engines:
            await e.dispose()


@pytest.mark.postgres
async def test_two_processes_with_an_expired_token_both_get_the_new_one(
    zalo: FakeZaloServer, pg_database: str
) -> None:
    engines = [create_engine(pg_database), create_engine(pg_database)]
    try:
        await connect(session_factory(engines[0]), zalo, hours=-1)  # expired: nobody may use it
        zalo.token_delay = 0.2
        async with aiohttp.ClientSession() as http:
            keepers = [keeper(session_factory(e), http, zalo) for e in engines]
            tokens = await asyncio.gather(*(k.access_token() for k in keepers))
        assert len(zalo.refreshes) == 1 and zalo.reused_refresh_tokens == []
        pair = await store.read_token(session_factory(engines[0]))
        assert pair is not None and tokens == [pair.access_token, pair.access_token]
    finally:
        for e in engines:
            await e.dispose()
