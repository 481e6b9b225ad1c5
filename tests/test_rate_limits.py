"""Floods and guessing: API limits per address and key, bot flood control per person, shared through Redis.

Every window here is an hour or more, so no test ever crosses one (the `limits` library reads time.time()).
The Redis tests use the shared server on 127.0.0.1:6379 under a prefix of their own, deleted afterwards.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable

import httpx
import pytest
from prometheus_client import REGISTRY
from redis.asyncio import Redis
from sqlalchemy import func, select

from core.i18n import t
from storage.db import create_engine, session_factory
from storage.models import DialogStateRow, ProcessedUpdateRow, RespondentRow
from storage.ratelimit import LocalWindows, RateLimits
from tests.conftest import load_bundled
from tests.e2e_support import bot_settings, running_bot
from tests.fake_telegram import FakeTelegramServer
from tests.staff_api import HASH_KEY, make_keys
from tests.webchat_client import served

pytestmark = pytest.mark.e2e

REDIS_URL = "redis://127.0.0.1:6379/0"
WRONG = {"Authorization": "Bearer gopy_00000000_not-a-real-key"}


@pytest.fixture
async def redis_prefix() -> AsyncIterator[str]:
    """A key prefix of this test's own in the shared Redis; its keys are deleted afterwards."""
    prefix = f"gopy-test:{uuid.uuid4().hex}"
    yield prefix
    redis = Redis.from_url(REDIS_URL)
    try:
        keys = [key async for key in redis.scan_iter(match=f"{prefix}*")]
        if keys:
            await redis.delete(*keys)
    finally:
        await redis.aclose()


async def _keys(database_url: str):  # type: ignore[no-untyped-def]
    engine = create_engine(database_url)
    try:
        sessions = session_factory(engine)
        await load_bundled(sessions)
        return await make_keys(sessions)
    finally:
        await engine.dispose()


async def _count(database_url: str, column: object) -> int:
    engine = create_engine(database_url)
    try:
        async with session_factory(engine)() as session:
            return int(await session.scalar(select(func.count(column))) or 0)  # type: ignore[arg-type]
    finally:
        await engine.dispose()


def _assert_rate_limited(response: httpx.Response, window: int) -> None:
    assert response.status_code == 429, response.text
    retry_after = int(response.headers["retry-after"])
    assert 1 <= retry_after <= window
    error = response.json()["error"]
    assert error["code"] == "api.error.rate_limited" and error["retry_after"] == retry_after
    assert f"{retry_after} giây" in error["message_vi"] and f"{retry_after} seconds" in error["message_en"]


# ---------------------------------------------------------------------------------------- the library


async def test_limits_count_per_key_say_how_long_to_wait_and_keep_no_identifier(redis_prefix: str) -> None:
    memory = RateLimits(secret="k")
    assert [await memory.hit("ip", "10.0.0.1", 2, 3600) for _ in range(2)] == [0.0, 0.0]
    assert 3590 < await memory.hit("ip", "10.0.0.1", 2, 3600) <= 3600
    assert 3590 < await memory.exceeded("ip", "10.0.0.1", 2, 3600) <= 3600
    assert await memory.hit("ip", "10.0.0.2", 2, 3600) == 0.0
    assert await memory.exceeded("ip", "10.0.0.3", 2, 3600) == 0.0  # testing does not count
    assert await memory.hit("ip", "10.0.0.3", 1, 3600) == 0.0
    # two processes on one Redis share the counts; keys carry a keyed hash, never the address
    first = RateLimits(secret="k", redis_url=REDIS_URL, prefix=redis_prefix)
    second = RateLimits(secret="k", redis_url=REDIS_URL, prefix=redis_prefix)
    try:
        assert [await first.hit("ip", "10.0.0.1", 3, 3600) for _ in range(3)] == [0.0] * 3
        assert 3590 < await second.hit("ip", "10.0.0.1", 3, 3600) <= 3600
        redis = Redis.from_url(REDIS_URL)
        keys = [key.decode() async for key in redis.scan_iter(match=f"{redis_prefix}*")]
        await redis.aclose()
        assert keys and all("10.0.0.1" not in key for key in keys)
    finally:
        await first.close()
        await second.close()


async def test_a_redis_outage_lets_events_through() -> None:
    down = RateLimits(secret="k", redis_url="redis://127.0.0.1:1/0", prefix="gopy-test:down")
    try:
        assert await down.hit("ip", "10.0.0.1", 1, 3600) == 0.0
        assert await down.hit("ip", "10.0.0.1", 1, 3600) == 0.0
        assert await down.hit_each(("s", "sid", 1, 3600), ("ip", "10.0.0.1", 1, 3600)) == 0.0
    finally:
        await down.close()


# ---------------------------------------------------------------------------------------- staff API


async def test_500_wrong_keys_get_429_with_retry_after_past_the_threshold(sqlite_database: str) -> None:
    keys = await _keys(sqlite_database)
    async with served(sqlite_database, hash_key=HASH_KEY) as base:
        async with httpx.AsyncClient(base_url=base, timeout=30) as client:
            statuses = []
            for _ in range(500):
                response = await client.get("/v1/feedback", headers=WRONG)
                statuses.append(response.status_code)
                if response.status_code == 429:
                    _assert_rate_limited(response, 900)
            assert statuses == [401] * 10 + [429] * 490  # GOPY_API_AUTH_FAILURE_LIMIT defaults to 10
            # the address is locked out, even with a good key: guessing cannot go on in between
            _assert_rate_limited(await client.get("/v1/documents", headers=keys.auth("admin")), 900)
        # another address is not
        transport = httpx.AsyncHTTPTransport(local_address="127.0.0.2")
        async with httpx.AsyncClient(base_url=base, transport=transport, timeout=30) as other:
            assert (await other.get("/v1/documents", headers=keys.auth("admin"))).status_code == 200
            assert (await other.get("/v1/feedback", headers=WRONG)).status_code == 401


async def test_requests_are_limited_per_key_and_per_address(sqlite_database: str) -> None:
    keys = await _keys(sqlite_database)
    limits = {"api_key_rate_limit": 3, "api_address_rate_limit": 5, "api_rate_window_seconds": 3600}
    async with served(sqlite_database, hash_key=HASH_KEY, **limits) as base:
        async with httpx.AsyncClient(base_url=base, timeout=30) as client:
            for _ in range(3):
                assert (await client.get("/v1/documents", headers=keys.auth("admin"))).status_code == 200
            _assert_rate_limited(await client.get("/v1/documents", headers=keys.auth("admin")), 3600)
            # another key from the same address goes on, up to the address's limit
            assert (await client.get("/v1/documents", headers=keys.auth("reader"))).status_code == 200
            _assert_rate_limited(await client.get("/v1/documents", headers=keys.auth("reader")), 3600)
        # health and metrics stay outside the staff API's limits
        async with httpx.AsyncClient(base_url=base, timeout=30) as client:
            assert (await client.get("/healthz")).status_code == 200


async def test_two_app_instances_share_the_limits_through_redis(
    sqlite_database: str, redis_prefix: str
) -> None:
    """Wrong keys counted by either instance lock the address out of both (the web chat: test_webchat.py)."""
    keys = await _keys(sqlite_database)
    shared = {
        "hash_key": HASH_KEY,
        "redis_url": REDIS_URL,
        "rate_limit_prefix": redis_prefix,
        "api_auth_failure_limit": 4,
        "api_auth_failure_window_seconds": 3600,
    }
    async with served(sqlite_database, **shared) as first, served(sqlite_database, **shared) as second:
        async with httpx.AsyncClient(timeout=30) as client:
            for base in (first, second, first, second):
                assert (await client.get(f"{base}/v1/feedback", headers=WRONG)).status_code == 401
            for base in (first, second):
                _assert_rate_limited(await client.get(f"{base}/v1/feedback", headers=WRONG), 3600)
                _assert_rate_limited(
                    await client.get(f"{base}/v1/documents", headers=keys.auth("admin")), 3600
                )


# ---------------------------------------------------------------------------------------- the bot


def _dropped() -> float:
    return REGISTRY.get_sample_value("gopy_updates_flood_dropped_total", {"channel": "telegram"}) or 0.0


async def _until(condition: Callable[[], Awaitable[bool]], what: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not await condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.05)


async def test_100_messages_from_one_person_get_one_slow_down_notice_and_nothing_more(
    sqlite_database: str,
) -> None:
    engine = create_engine(sqlite_database)
    await load_bundled(session_factory(engine))
    await engine.dispose()
    before = _dropped()
    async with FakeTelegramServer() as server:
        settings = bot_settings(sqlite_database, server, bot_flood_limit=5, bot_flood_window_seconds=3600)
        async with running_bot(settings):
            flooder = server.user(2001, first_name="Nam")
            for i in range(100):
                await flooder.send_text(f"Tin nhắn số {i}")

            async def all_seen() -> bool:
                handled = await _count(sqlite_database, ProcessedUpdateRow.update_id)
                return _dropped() - before >= 95 and handled >= 5

            await _until(all_seen, "the bot to handle 5 updates and drop 95")
            assert _dropped() - before == 95
            notice = t("bot.slow_down", "vi", seconds=1).split(" 1 ")[0]
            texts = [m.text or "" for m in server.chat_messages(flooder.chat_id)]
            notices = [text for text in texts if text.startswith(notice)]
            assert len(notices) == 1, texts
            assert "You are sending messages too quickly" in notices[0]
            # the 5 updates within the limit were answered as usual; none of the 95 others was
            answered = [text for text in texts if not text.startswith(notice)]
            assert 5 <= len(answered) <= 10, texts  # at most two replies per handled update
            assert await _count(sqlite_database, ProcessedUpdateRow.update_id) == 5
            assert await _count(sqlite_database, DialogStateRow.key) <= 1
            assert await _count(sqlite_database, RespondentRow.id) == 0
            # someone else is served meanwhile
            other = server.user(2002, first_name="Lan")
            reply = await other.command_and_wait("start")
            assert "THÔNG BÁO VỀ XỬ LÝ DỮ LIỆU CÁ NHÂN" in (reply.text or "")


async def test_the_moving_window_frees_slots_as_time_passes() -> None:
    """The window really moves: the clock of the `limits` library (time.time) is pinned and moved."""
    import time_machine

    start = time.time()
    with time_machine.travel(start, tick=False) as traveller:
        limits = RateLimits(secret="test")
        assert [await limits.hit("chat", "s1", 3, 20) for _ in range(3)] == [0.0, 0.0, 0.0]
        wait = await limits.hit("chat", "s1", 3, 20)
        assert 0 < wait <= 20
        assert await limits.hit("chat", "s2", 3, 20) == 0.0  # another session is counted apart
        traveller.shift(10)
        assert await limits.hit("chat", "s1", 3, 20) > 0  # still within the window
        traveller.shift(wait)
        assert await limits.hit("chat", "s1", 3, 20) == 0.0  # the oldest events left the window


async def test_the_in_process_windows_stay_bounded() -> None:
    """Keys idle for a whole window are forgotten at the next sweep; past ``max_keys`` the least recently
    counted go first (and are let through again); a refused event is not counted."""
    import time_machine

    start = time.time()
    with time_machine.travel(start, tick=False) as traveller:
        windows = LocalWindows(max_keys=3)
        assert [windows.hit("a", 2, 10) for _ in range(2)] == [0.0, 0.0]
        assert windows.hit("a", 2, 10) == 10  # full: waits for the oldest event to leave the window
        assert windows.exceeded("a", 2, 10) == 10 and windows.exceeded("b", 2, 10) == 0.0
        for key in ("b", "c", "d"):
            assert windows.hit(key, 2, 10) == 0.0
        assert len(windows._events) == 3 and "a" not in windows._events  # "a" was counted least recently
        assert windows.hit("a", 2, 10) == 0.0  # forgotten, so let through again
        traveller.shift(5)
        assert windows.hit("a", 2, 10) == 0.0
        assert windows.hit("a", 2, 10) == 5  # the refused hit at 0 s was not counted
        traveller.shift(11)  # every key idle for a whole window: the next sweep drops them
        assert windows.hit("e", 1, 10) == 0.0
        assert list(windows._events) == ["e"]


@pytest.mark.parametrize("shared", [False, True], ids=["in-process", "redis"])
async def test_counting_in_turn_stops_at_the_first_full_window(shared: bool, redis_prefix: str) -> None:
    """``hit_each`` counts as ``hit`` after ``hit`` would (one round trip with Redis, on the same keys):
    the session's window refuses the third event, which the address's window then does not count."""
    url = REDIS_URL if shared else None
    limits, other = (RateLimits(secret="k", redis_url=url, prefix=redis_prefix) for _ in range(2))
    session, address = ("s", "sid-1", 2, 3600), ("ip", "10.0.0.9", 3, 3600)
    try:
        assert [await limits.hit_each(session, address) for _ in range(2)] == [0.0, 0.0]
        assert 3590 < await limits.hit_each(session, address) <= 3600
        later = other if shared else limits  # another process sees the same counts, through ``hit``
        assert 3590 < await later.hit(*session) <= 3600
        assert await later.hit(*address) == 0.0  # the refused event was not counted for the address
        assert 3590 < await later.hit_each(("s", "sid-2", 2, 3600), address) <= 3600
    finally:
        await limits.close()
        await other.close()
