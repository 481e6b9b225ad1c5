"""The web chat's Redis turns (api.webchat.RedisTurns): the same keys, values, expiry and per-session lock
as aiogram's RedisStorage and RedisEventIsolation, in two round trips. On the shared Redis (db 0) under
chat ids of their own, deleted afterwards; every wait is on a condition, never on the clock."""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator

import pytest
from aiogram.fsm.storage.base import DefaultKeyBuilder, StorageKey
from aiogram.fsm.storage.redis import RedisEventIsolation, RedisStorage
from redis.exceptions import LockNotOwnedError

from api.webchat import RedisTurns, Refused
from storage.ratelimit import RateLimits

REDIS_URL = "redis://127.0.0.1:6379/0"


@pytest.fixture
async def storage() -> AsyncIterator[RedisStorage]:
    keys = DefaultKeyBuilder(prefix="gopy-test-turns", with_bot_id=True, with_destiny=True)
    storage = RedisStorage.from_url(REDIS_URL, key_builder=keys, state_ttl=3600, data_ttl=3600)
    try:
        yield storage
    finally:
        async for key in storage.redis.scan_iter(match="gopy-test-turns:*"):
            await storage.redis.delete(key)
        await storage.close()


def _key() -> StorageKey:
    chat_id = -(1 << 60) - random.randrange(1 << 40)
    return StorageKey(bot_id=0, chat_id=chat_id, user_id=chat_id)


async def test_a_turn_reads_and_writes_what_aiogram_reads_and_writes(storage: RedisStorage) -> None:
    isolation = RedisEventIsolation(storage.redis, key_builder=storage.key_builder)
    turns = RedisTurns(storage, isolation)
    key, rotated = _key(), _key()
    await storage.set_data(key, {"subject": "s", "conv": {"lang": "vi"}})
    token, data = await turns.begin(key)
    assert data == {"subject": "s", "conv": {"lang": "vi"}}
    assert await storage.redis.get(isolation.key_builder.build(key, "lock")) == token.encode()
    await turns.end(
        key, token, [(rotated, {"subject": "s", "conv": {"lang": "en"}}), (key, {"revoked": True})]
    )
    assert await storage.get_data(rotated) == {"subject": "s", "conv": {"lang": "en"}}
    assert await storage.get_data(key) == {"revoked": True}
    assert 3500 < await storage.redis.ttl(storage.key_builder.build(rotated, "data")) <= 3600
    assert not await storage.redis.exists(isolation.key_builder.build(key, "lock")), "released"
    fresh = _key()
    token, data = await turns.begin(fresh)
    assert data == {}  # a session with no state yet
    await turns.end(fresh, token, [])


async def test_the_lock_is_aiogram_s_lock_and_only_its_holder_releases_it(storage: RedisStorage) -> None:
    isolation = RedisEventIsolation(storage.redis, key_builder=storage.key_builder)
    turns = RedisTurns(storage, isolation)
    key = _key()
    order: list[str] = []
    refused = asyncio.Event()
    acquire = turns._acquire

    async def counted(**kwargs: object) -> list[object]:
        taken: list[object] = await acquire(**kwargs)
        if not taken[0]:
            refused.set()
        return taken

    turns._acquire = counted  # type: ignore[assignment]
    async with isolation.lock(key):  # another worker's event of the same session, through aiogram
        waiting = asyncio.create_task(turns.begin(key))
        await asyncio.wait_for(refused.wait(), 30)  # the turn tried, found the lock taken, and waits
        assert not waiting.done()
        order.append("aiogram")
    token, _data = await waiting
    order.append("turn")
    assert order == ["aiogram", "turn"]
    lock = isolation.key_builder.build(key, "lock")
    await storage.redis.set(lock, b"someone else")  # the lock expired and another event took it
    with pytest.raises(LockNotOwnedError):
        await turns.end(key, token, [(key, {"subject": "s"})])
    assert await storage.redis.get(lock) == b"someone else", "never released by a former holder"


async def test_an_event_is_counted_as_its_turn_takes_the_lock_once_and_refused_without_it(
    storage: RedisStorage,
) -> None:
    isolation = RedisEventIsolation(storage.redis, key_builder=storage.key_builder)
    turns = RedisTurns(storage, isolation)
    prefix = f"gopy-test-turns:rl:{random.randrange(1 << 30)}"
    limits = RateLimits(secret="s", redis_url=REDIS_URL, prefix=prefix)
    checks = (("s", "sid", 3, 60.0), ("ip", "127.0.0.1", 100, 60.0))
    key = _key()
    lock = isolation.key_builder.build(key, "lock")
    try:
        session_window = limits.windows(*checks).keys[0]  # type: ignore[union-attr]
        async with isolation.lock(key):  # held elsewhere: the turn counts once, then only retries the lock
            waiting = asyncio.create_task(turns.begin(key, limits.windows(*checks)))
            while not await storage.redis.exists(session_window):  # noqa: ASYNC110 (a condition in Redis)
                await asyncio.sleep(0.01)
            assert not waiting.done()
        token, _data = await waiting
        await turns.end(key, token, [])
        token, _data = await turns.begin(key, limits.windows(*checks))
        await turns.end(key, token, [])
        assert await limits.hit_each(*checks) == 0  # the third of 3: the turns counted 2, as hit_each would
        with pytest.raises(Refused) as refused:
            await turns.begin(key, limits.windows(*checks))
        assert refused.value.number == 1 and not await storage.redis.exists(lock), "the lock is not taken"
        assert 0 < await limits.refused_wait(limits.windows(*checks), 1) <= 60
        # each window holds the three allowed events (the refused one stopped at the first, as hit_each does)
        windows = limits.windows(*checks)
        assert windows is not None
        assert [await storage.redis.llen(key) for key in windows.keys] == [3, 3]
    finally:
        await limits.close()
