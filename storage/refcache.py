"""Per-process cache of the reference data every chat update reads: documents, sections (with their
child counts) and reference lists — the same rows for every citizen.

Invalidation:

- **In this process, at once.** Every engine gets statement and pool listeners: a statement that writes
  ``document``, ``section`` or ``reference_item`` (any INSERT / UPDATE / DELETE, ORM or Core, a loader
  or the staff console) and any DDL drop every cache of the process and mark the connection. While a
  marked connection has not gone back to the pool (its transaction neither committed nor rolled back)
  the caches neither answer nor fill; when it is checked in (after its COMMIT or ROLLBACK has landed)
  they are dropped again and their generation moves on, so a read that began before cannot fill them
  with the old rows.
- **Other processes** (several workers, ``gopy load``, another server on the same database): an entry
  lives ``TTL_SECONDS``. Where staleness would matter the database decides, not the cache: an opinion
  is inserted with ``INSERT … SELECT … WHERE`` the document is open (``SqlFeedbackRepository.
  add_opinion``), so a document closed elsewhere refuses the submission even while it is cached as open.

A marked connection that is never checked in (detached, or lost) leaves the caches bypassed, the safe
side. Cached values are frozen domain objects (and tuples of them); callers get list copies.
"""

from __future__ import annotations

import re
import time
import weakref
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.ext.asyncio import AsyncSession

T = TypeVar("T")

TTL_SECONDS = 5.0
_WRITES = re.compile(
    r'^\s*(?:INSERT\s+(?:OR\s+\w+\s+)?INTO|UPDATE|DELETE\s+FROM)\s+"?(?:document|section|reference_item)"?(?![\w])'
    r"|^\s*(?:CREATE|DROP|ALTER|TRUNCATE)\b",
    re.IGNORECASE,
)
_DIRTY = "gopy_reference_written"
_MISSING = object()


class ReferenceCache:
    """Values by key, each for ``TTL_SECONDS``; ``clock`` is injectable (seconds, monotonic)."""

    def __init__(self, clock: Callable[[], float] = time.monotonic, ttl: float = TTL_SECONDS) -> None:
        self.clock = clock
        self.ttl = ttl
        self._values: dict[tuple[Any, ...], tuple[float, Any]] = {}

    def clear(self) -> None:
        self._values.clear()

    async def get(self, key: tuple[Any, ...], load: Callable[[], Awaitable[T]]) -> T:
        """The cached value of ``key``, or ``load()``'s (kept unless a write happened meanwhile)."""
        if _STATE.writers == 0:
            found = self._values.get(key)
            if found is not None and found[0] > self.clock():
                return found[1]  # type: ignore[no-any-return]
        generation = _STATE.generation
        value = await load()
        if _STATE.writers == 0 and _STATE.generation == generation:
            self._values[key] = (self.clock() + self.ttl, value)
        return value


class _State:
    """What all the caches of the process share: connections with uncommitted reference writes."""

    def __init__(self) -> None:
        self.writers = 0
        self.generation = 0
        self.caches: weakref.WeakKeyDictionary[Engine, ReferenceCache] = weakref.WeakKeyDictionary()
        self.watched: weakref.WeakSet[Engine] = weakref.WeakSet()

    def drop_all(self) -> None:
        self.generation += 1
        for cache in list(self.caches.values()):
            cache.clear()


_STATE = _State()


def drop_all() -> None:
    """Forget every cached value of the process (data loaded or edited outside SQL statements)."""
    _STATE.drop_all()


def cache_of(session: AsyncSession) -> ReferenceCache | None:
    """The cache of the session's engine (None when the session is bound to something else)."""
    engine = getattr(session.bind, "sync_engine", None)
    if not isinstance(engine, Engine):
        return None
    cache = _STATE.caches.get(engine)
    if cache is None:
        cache = _STATE.caches[engine] = ReferenceCache()
        watch(engine)
    return cache


def watch(engine: Engine) -> None:
    """Listen to the engine's statements and pool (storage.db.create_engine does it for every engine, so
    that a write through an engine that never reads the cache still drops the others' caches)."""
    if engine in _STATE.watched:
        return
    _STATE.watched.add(engine)

    def before_execute(conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if statement[:6].upper() == "SELECT" or not _WRITES.match(statement):
            return
        info = conn.info
        if not info.get(_DIRTY):
            info[_DIRTY] = True
            _STATE.writers += 1
        _STATE.drop_all()

    def checkin(_dbapi_connection: Any, record: Any) -> None:
        if record is not None and record.info.pop(_DIRTY, False):
            _STATE.writers -= 1
            _STATE.drop_all()

    def closed(_dbapi_connection: Any, record: Any, *_exception: Any) -> None:
        # "close" passes (dbapi connection, record); "invalidate" also the exception
        checkin(_dbapi_connection, record)

    event.listen(engine, "before_cursor_execute", before_execute)
    event.listen(engine, "checkin", checkin)
    event.listen(engine, "invalidate", closed)
    event.listen(engine, "close", closed)
