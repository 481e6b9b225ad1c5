"""Engine and session factory.

Personal data never reaches an error message: the engine hides bound parameters
(``hide_parameters=True``), and a failed statement's exception chain has every string parameter value
(and asyncpg's "invalid input for query argument $n: <value>") replaced by ``(value hidden)`` before it
is raised, so a logged traceback cannot carry an opinion, a locality or a profile. aiosqlite's DEBUG
records print each call with its arguments: that logger never goes below INFO.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import ExceptionContext, make_url
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.ext.asyncio import (
    AsyncConnection,
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from core.config import Settings
from storage import refcache
from storage.sqlite_cursor import one_hop

logging.getLogger("aiosqlite").setLevel(logging.INFO)  # its DEBUG lines hold the bound parameters

HIDDEN = "(value hidden)"
_ASYNCPG_ARGUMENT = re.compile(r"(invalid input for query argument \$\d+): .*", re.DOTALL)
_MIN_REDACTED = 3  # shorter values ("a", "vi") would only garble the message


def _string_values(parameters: Any) -> Iterator[str]:
    if isinstance(parameters, str):
        yield parameters
    elif isinstance(parameters, dict):
        for value in parameters.values():
            yield from _string_values(value)
    elif isinstance(parameters, Iterable) and not isinstance(parameters, bytes | bytearray):
        for value in parameters:
            yield from _string_values(value)


def _chain(exc: BaseException | None) -> Iterator[BaseException]:
    seen: set[int] = set()
    stack = [exc]
    while stack:
        current = stack.pop()
        if current is None or id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        stack += [current.__cause__, current.__context__]


def redact_statement_error(context: ExceptionContext) -> None:
    """``handle_error`` hook: remove the statement's string parameters from every message of the error."""
    values = sorted(
        {v for v in _string_values(context.parameters) if len(v) >= _MIN_REDACTED}, key=len, reverse=True
    )
    pattern = re.compile("|".join(map(re.escape, values))) if values else None

    def clean(text: str) -> str:
        text = _ASYNCPG_ARGUMENT.sub(rf"\1: {HIDDEN}", text)
        return pattern.sub(HIDDEN, text) if pattern else text

    for root in (context.sqlalchemy_exception, context.original_exception):
        for exc in _chain(root):
            exc.args = tuple(clean(a) if isinstance(a, str) else a for a in exc.args)


def create_engine(database_url: str, **kwargs: Any) -> AsyncEngine:
    """Create the async engine (parameters hidden from errors); for SQLite make the folder, enable WAL and
    foreign keys."""
    url = make_url(database_url)
    kwargs.setdefault("hide_parameters", True)
    if url.get_backend_name() == "sqlite":
        if url.database and url.database != ":memory:":
            Path(url.database).parent.mkdir(parents=True, exist_ok=True)
        kwargs.setdefault("connect_args", {"timeout": 30})
        engine = create_async_engine(url, **kwargs)
        event.listen(engine.sync_engine, "handle_error", redact_statement_error)
        refcache.watch(engine.sync_engine)  # writes to documents, sections, lists drop the process's cache

        @event.listens_for(engine.sync_engine, "connect")
        def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
            one_hop(dbapi_connection)  # a statement in one call to aiosqlite's thread, not four
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.execute("PRAGMA busy_timeout=30000")
            cursor.close()

        return engine
    ping_idle = "pool_pre_ping" not in kwargs  # a caller's explicit choice stands
    if url.get_driver_name() == "asyncpg":
        # The exports' lines statements (storage.export_sql) run on the driver itself and reach 20 KB with
        # a worded layout: asyncpg caches a prepared statement up to 15 KB only, and would parse and
        # describe a larger one again on every page.
        kwargs["connect_args"] = {"max_cacheable_statement_size": 64 * 1024, **kwargs.get("connect_args", {})}
    engine = create_async_engine(url, **kwargs)
    event.listen(engine.sync_engine, "handle_error", redact_statement_error)
    refcache.watch(engine.sync_engine)
    if ping_idle:
        _ping_idle_connections(engine)
    return engine


#: a pooled connection unused for longer than this is tested before it is handed out
IDLE_PING_SECONDS = 10.0


def _ping_idle_connections(engine: AsyncEngine) -> None:
    """Pessimistic disconnect handling for the connections that may have gone stale only.

    SQLAlchemy's ``pool_pre_ping`` tests every checkout: with asyncpg three round trips (BEGIN, an empty
    query, ROLLBACK) before each request's or update's first statement. A connection given back moments
    ago (the steady state under load) cannot have been dropped by a server restart or an idle timeout any
    more than during the request that just used it, so only a connection idle for ``IDLE_PING_SECONDS``
    is pinged; a failed ping discards it and the pool hands out another (a fresh one when the server
    restarted), so the request itself never sees the dead connection.
    """
    dialect = engine.sync_engine.dialect

    @event.listens_for(engine.sync_engine, "checkin")
    def _returned(_dbapi_connection: Any, record: Any) -> None:
        record.info["returned_at"] = time.monotonic()

    @event.listens_for(engine.sync_engine, "checkout")
    def _checked_out(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        returned = record.info.get("returned_at")
        if returned is None or time.monotonic() - returned < IDLE_PING_SECONDS:
            return  # new, or back in the pool just now
        try:
            dialect.do_ping(dbapi_connection)
        except Exception as exc:
            raise DisconnectionError("stale pooled connection") from exc


def insert_of(dialect: str) -> Callable[..., Any]:
    """The ``insert`` construct of a dialect by name: PostgreSQL's or SQLite's, both with
    ``on_conflict_do_nothing`` / ``on_conflict_do_update``."""
    return pg_insert if dialect == "postgresql" else sqlite_insert


def dialect_insert(session: AsyncSession) -> Callable[..., Any]:
    """The ``insert`` construct of the database the session is bound to (see :func:`insert_of`)."""
    return insert_of(session.bind.dialect.name if session.bind else "sqlite")


_KEPT = "gopy_transaction_connection"


async def connection_of(session: AsyncSession) -> AsyncConnection:
    """The connection of the session's transaction (begun if there is none), for a Core statement.

    ``AsyncSession.execute`` takes a statement through the ORM's execute path (its compile state, its
    events, the transaction's connection looked up again) before the connection runs it; a Core statement
    built once needs none of that. The connection is kept in ``session.info`` with the transaction it
    belongs to, and handed out again while that transaction is the session's and still open: one call
    to the session per transaction instead of one per statement. Same connection, same transaction;
    nothing else changes (the session's ``autoflush`` is off, see :func:`session_factory`)."""
    transaction = session.sync_session.get_transaction()
    kept = session.info.get(_KEPT)
    if (
        kept is not None
        and transaction is not None
        and kept[0] is transaction
        and transaction.is_active
        and not kept[1].closed
    ):
        return kept[1]  # type: ignore[no-any-return]
    connection = await session.connection()
    session.info[_KEPT] = (session.sync_session.get_transaction(), connection)
    return connection


def engine_from_settings(settings: Settings) -> AsyncEngine:
    """The engine of a service process, with the configured connection pool (PostgreSQL)."""
    if make_url(settings.database_url).get_backend_name() == "sqlite":
        return create_engine(settings.database_url)
    return create_engine(
        settings.database_url,
        pool_size=settings.db_pool_size,
        max_overflow=settings.db_max_overflow,
        pool_timeout=settings.db_pool_timeout,
    )


def session_factory(engine: AsyncEngine) -> async_sessionmaker:  # type: ignore[type-arg]
    return async_sessionmaker(engine, expire_on_commit=False, autoflush=False)
