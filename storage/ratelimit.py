"""Rate limits on the ``limits`` library: a moving window per key, in this process or shared through Redis.

The staff API (failed authentication and requests per address, requests per key), the bot (updates per
person) and the web chat (events per session and per address) count their events here. Who is counted is
never stored in clear: each key is a keyed hash of the identifier (an address, a chat id, a session id).
With ``REDIS_URL`` every process shares the counts (limits' async Redis storage over redis-py); without
it each process counts on its own (:class:`LocalWindows`, the same moving window in a dict). A storage that
does not answer lets the event through (logged): a Redis outage must not lock staff and citizens out.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import math
import time
from collections import OrderedDict, deque
from dataclasses import dataclass
from typing import Any

from limits import RateLimitItem, RateLimitItemPerSecond
from limits.aio.storage import RedisStorage
from limits.aio.strategies import MovingWindowRateLimiter
from limits.errors import StorageError
from redis.exceptions import RedisError

log = logging.getLogger(__name__)

# limits' acquire_moving_window.lua (amount 1) for each key in turn, in one round trip: stops at the first
# key whose window is full (neither it nor the later keys count the event) and answers its number, else 0
HIT_IN_TURN = """
local timestamp = tonumber(ARGV[1])
for i = 1, #KEYS do
  local limit = tonumber(ARGV[2 * i])
  local expiry = tonumber(ARGV[2 * i + 1])
  local entry = redis.call('lindex', KEYS[i], limit - 1)
  if entry and tonumber(entry) >= timestamp - expiry then
    return i
  end
  redis.call('lpush', KEYS[i], timestamp)
  redis.call('ltrim', KEYS[i], 0, limit - 1)
  redis.call('expire', KEYS[i], expiry)
end
return 0
"""


@dataclass(frozen=True)
class Windows:
    """Moving windows to count one event in (``RateLimits.windows``): the keys of ``HIT_IN_TURN`` and its
    arguments after the first (``[timestamp, limit, expiry, limit, expiry, ...]``)."""

    keys: list[str]
    args: list[float | int]
    items: list[tuple[RateLimitItem, str]]
    kind: str


#: keys counted in one process at most; past it the longest unused ones are forgotten (let through again)
MAX_LOCAL_KEYS = 100_000


class LocalWindows:
    """Moving windows in this process, with the semantics of ``limits``' moving window (``time.time``):
    an event is allowed when fewer than ``limit`` were allowed in the last ``window`` seconds, and a
    refused one waits until the oldest of those leaves the window.

    ``limits``' own memory storage costs more than the event it guards: it inserts at the head of a list,
    and after every hit a background pass hands each key to a thread (``asyncio.to_thread``) to trim it.
    Here each key keeps the times of its last ``limit`` allowed events (a bounded deque, newest last);
    keys idle for a whole window are dropped once per window, and at most ``max_keys`` are kept (the
    least recently counted go first). Nothing awaits, so a check and its count are atomic on the loop.
    """

    def __init__(self, max_keys: int = MAX_LOCAL_KEYS) -> None:
        self.max_keys = max_keys
        # key -> (times of its last allowed events, its window), the least recently counted first
        self._events: OrderedDict[str, tuple[deque[float], float]] = OrderedDict()
        self._sweep_at = 0.0

    def hit(self, key: str, limit: int, window: float) -> float:
        """Count one event; 0 when allowed, else the seconds until a slot frees (nothing counted)."""
        now = time.time()
        found = self._events.get(key)
        if found is None or found[0].maxlen != limit:
            found = (deque(found[0] if found else (), maxlen=limit), window)
            self._events[key] = found
        self._events.move_to_end(key)
        times = found[0]
        if len(times) == limit and times[0] > now - window:
            return max(0.001, times[0] + window - now)
        times.append(now)
        self._bound(now)
        return 0.0

    def exceeded(self, key: str, limit: int, window: float) -> float:
        """Without counting: the seconds to wait when ``limit`` events are in the window, else 0."""
        now = time.time()
        found = self._events.get(key)
        inside = [at for at in found[0] if at > now - window] if found else []
        if len(inside) < limit:
            return 0.0
        return max(0.001, inside[0] + window - now)

    def _bound(self, now: float) -> None:
        if now >= self._sweep_at:  # once per window: forget the keys with no event left in theirs
            longest = 1.0
            for key, (times, window) in list(self._events.items()):
                longest = max(longest, window)
                if not times or times[-1] <= now - window:
                    del self._events[key]
            self._sweep_at = now + longest
        while len(self._events) > self.max_keys:
            self._events.popitem(last=False)


class RateLimits:
    """``hit(kind, who, limit, window)`` → 0 when allowed, else the seconds to wait (moving window)."""

    def __init__(self, *, secret: str, redis_url: str | None = None, prefix: str = "gopy:rl") -> None:
        self._secret = secret.encode()
        self._pool = None
        self._prefix = prefix.rstrip(":")
        self._hit_in_turn: Any = None
        self._local: LocalWindows | None = None
        self._limiter: MovingWindowRateLimiter | None = None
        if redis_url:
            from redis.asyncio import Redis

            from storage.redis_pool import connection_pool

            self._pool = connection_pool(redis_url)
            storage = RedisStorage(
                "async+redis://",
                wrap_exceptions=True,
                implementation="redispy",
                key_prefix=prefix.rstrip(":"),
                connection_pool=self._pool,  # type: ignore[arg-type]
            )
            self._limiter = MovingWindowRateLimiter(storage)
            self._hit_in_turn = Redis(connection_pool=self._pool).register_script(HIT_IN_TURN)
        else:
            self._local = LocalWindows()

    def _key(self, kind: str, who: str) -> str:
        digest = hmac.new(self._secret, f"rl:{kind}:{who}".encode(), hashlib.sha256).hexdigest()
        return f"{kind}:{digest[:24]}"

    @staticmethod
    def _item(limit: int, window: float) -> RateLimitItem:
        return RateLimitItemPerSecond(limit, max(1, math.ceil(window)))

    async def hit(self, kind: str, who: str, limit: int, window: float) -> float:
        """Count one event of ``who``; 0 when it is within ``limit`` per ``window`` seconds."""
        if self._local is not None:
            return self._local.hit(self._key(kind, who), limit, max(1, math.ceil(window)))
        assert self._limiter is not None
        item, key = self._item(limit, window), self._key(kind, who)
        try:
            if await self._limiter.hit(item, key):
                return 0.0
            return await self._wait(item, key)
        except StorageError:
            log.warning("rate limit storage unavailable; event let through", extra={"kind": kind})
            return 0.0

    async def hit_each(self, *checks: tuple[str, str, int, float]) -> float:
        """Count one event against each ``(kind, who, limit, window)`` in turn, as ``hit`` after ``hit``
        would, stopping at the first that refuses it (neither it nor the later ones count it): 0, or the
        seconds that one asks to wait. With Redis: one round trip (and one more to tell the wait)."""
        if self._local is not None:
            for kind, who, limit, window in checks:
                wait = self._local.hit(self._key(kind, who), limit, max(1, math.ceil(window)))
                if wait:
                    return wait
            return 0.0
        windows = self.windows(*checks)
        assert windows is not None
        try:
            refused = int(await self._hit_in_turn(keys=windows.keys, args=windows.args))
            if not refused:
                return 0.0
            return await self._wait(*windows.items[refused - 1])
        except (RedisError, OSError, StorageError):
            log.warning("rate limit storage unavailable; event let through", extra={"kind": checks[0][0]})
            return 0.0

    def windows(self, *checks: tuple[str, str, int, float]) -> Windows | None:
        """The Redis keys and arguments of ``hit_each(*checks)``'s script, for a script that counts the
        event as it does something else in the same round trip (``None`` without Redis)."""
        if self._limiter is None:
            return None
        items = [(self._item(limit, window), self._key(kind, who)) for kind, who, limit, window in checks]
        keys = [f"{self._prefix}:{item.key_for(key)}" for item, key in items]
        args: list[float | int] = [time.time()]
        for item, _key in items:
            args += [item.amount, item.get_expiry()]
        return Windows(keys, args, items, checks[0][0])

    async def refused_wait(self, windows: Windows, refused: int) -> float:
        """The seconds to wait of the ``refused``-th window (1-based) of a script that refused the event;
        0 (let through, as ``hit_each``) when the storage does not answer."""
        try:
            return await self._wait(*windows.items[refused - 1])
        except (RedisError, OSError, StorageError):
            log.warning("rate limit storage unavailable; event let through", extra={"kind": windows.kind})
            return 0.0

    async def exceeded(self, kind: str, who: str, limit: int, window: float) -> float:
        """Without counting: the seconds to wait when ``who`` has used up ``limit``, else 0."""
        if self._local is not None:
            return self._local.exceeded(self._key(kind, who), limit, max(1, math.ceil(window)))
        assert self._limiter is not None
        item, key = self._item(limit, window), self._key(kind, who)
        try:
            if await self._limiter.test(item, key):
                return 0.0
            return await self._wait(item, key)
        except StorageError:
            log.warning("rate limit storage unavailable; event let through", extra={"kind": kind})
            return 0.0

    async def _wait(self, item: RateLimitItem, key: str) -> float:
        assert self._limiter is not None
        stats = await self._limiter.get_window_stats(item, key)
        return max(0.001, stats.reset_time - time.time())

    async def close(self) -> None:
        if self._pool is not None:
            await self._pool.aclose()
