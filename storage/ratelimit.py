"""Rate limits on the ``limits`` library: a moving window per key, in this process or shared through Redis.

The staff API (failed authentication and requests per address, requests per key), the bot (updates per
person) and the web chat (events per session and per address) count their events here. Who is counted is
never stored in clear: each key is a keyed hash of the identifier (an address, a chat id, a session id).
With ``REDIS_URL`` every process shares the counts (limits' async Redis storage over redis-py); without
it each process counts on its own (limits' memory storage). A storage that does not answer lets the event
through (logged): a Redis outage must not lock staff and citizens out.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import math
import time

from limits import RateLimitItem, RateLimitItemPerSecond
from limits.aio.storage import MemoryStorage, RedisStorage, Storage
from limits.aio.strategies import MovingWindowRateLimiter
from limits.errors import StorageError

log = logging.getLogger(__name__)

#: how often the in-process storage drops expired entries (they never count: the moving window reads
#: their times; the sweep only gives their memory back)
SWEEP_SECONDS = 5.0


class SweptMemoryStorage(MemoryStorage):
    """limits' in-process storage, its sweep of expired entries run at most every ``SWEEP_SECONDS``.

    limits starts a sweep after every counted event as soon as the previous one has ended, and a sweep
    visits every key through a worker thread (``asyncio.to_thread``, one hop per key): with the bot's
    one key per person, each update paid a thread hop for every person counted in the window (measured
    in bench/bench_webhook.py). The windows are exact without it: ``acquire_entry`` and
    ``get_moving_window`` read the entries' own times."""

    def __init__(self) -> None:
        super().__init__()
        self._next_sweep = 0.0

    async def _MemoryStorage__schedule_expiry(self) -> None:  # limits' (name-mangled) hook
        now = time.monotonic()
        if now < self._next_sweep:
            return
        self._next_sweep = now + SWEEP_SECONDS
        await super()._MemoryStorage__schedule_expiry()  # type: ignore[misc]


class RateLimits:
    """``hit(kind, who, limit, window)`` → 0 when allowed, else the seconds to wait (moving window)."""

    def __init__(self, *, secret: str, redis_url: str | None = None, prefix: str = "gopy:rl") -> None:
        self._secret = secret.encode()
        self._pool = None
        storage: Storage
        if redis_url:
            from redis.asyncio import ConnectionPool

            self._pool = ConnectionPool.from_url(redis_url)
            storage = RedisStorage(
                "async+redis://",
                wrap_exceptions=True,
                implementation="redispy",
                key_prefix=prefix.rstrip(":"),
                connection_pool=self._pool,  # type: ignore[arg-type]
            )
        else:
            storage = SweptMemoryStorage()
        self._limiter = MovingWindowRateLimiter(storage)

    def _key(self, kind: str, who: str) -> str:
        digest = hmac.new(self._secret, f"rl:{kind}:{who}".encode(), hashlib.sha256).hexdigest()
        return f"{kind}:{digest[:24]}"

    @staticmethod
    def _item(limit: int, window: float) -> RateLimitItem:
        return RateLimitItemPerSecond(limit, max(1, math.ceil(window)))

    async def hit(self, kind: str, who: str, limit: int, window: float) -> float:
        """Count one event of ``who``; 0 when it is within ``limit`` per ``window`` seconds."""
        item, key = self._item(limit, window), self._key(kind, who)
        try:
            if await self._limiter.hit(item, key):
                return 0.0
            return await self._wait(item, key)
        except StorageError:
            log.warning("rate limit storage unavailable; event let through", extra={"kind": kind})
            return 0.0

    async def exceeded(self, kind: str, who: str, limit: int, window: float) -> float:
        """Without counting: the seconds to wait when ``who`` has used up ``limit``, else 0."""
        item, key = self._item(limit, window), self._key(kind, who)
        try:
            if await self._limiter.test(item, key):
                return 0.0
            return await self._wait(item, key)
        except StorageError:
            log.warning("rate limit storage unavailable; event let through", extra={"kind": kind})
            return 0.0

    async def _wait(self, item: RateLimitItem, key: str) -> float:
        stats = await self._limiter.get_window_stats(item, key)
        return max(0.001, stats.reset_time - time.time())

    async def close(self) -> None:
        if self._pool is not None:
            await self._pool.aclose()
