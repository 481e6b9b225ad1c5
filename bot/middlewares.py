"""Outer middlewares: one unit of work per update, re-delivery de-duplication, replies after the commit.

Their order (see ``bot.runtime.build_dispatcher``), outermost first:

1. :class:`UnitOfWorkMiddleware` gives the update its unit of work (one session; no connection yet)
   and is the safety net: whatever fails, even inside aiogram's FSM middleware (the dialog state
   cannot be read because PostgreSQL or Redis is down), the person is told the message was not saved
   and is asked to send it again, and the update is acknowledged rather than silently dropped.
2. aiogram's FSM middleware: the per-chat lock and the dialog state, read through that unit of work.
3. :class:`TransactionMiddleware` runs the handlers, records the update as handled (a re-delivered
   update is found there, by the insert, and rolled back), commits everything at once and gives the connection back to the pool, and only then
   sends the replies the handlers queued in :class:`Replies` (still inside the per-chat lock, in order).

So an update holds at most one database connection, and none while it talks to Telegram.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

from aiogram import BaseMiddleware, Bot
from aiogram.types import TelegramObject, Update
from sqlalchemy import Table, bindparam, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.fsm import bind_unit_of_work
from core.clock import Clock
from core.i18n import t
from storage.db import connection_of, insert_of
from storage.models import ProcessedUpdateRow
from storage.uow import EntrypointUnitOfWork
from telemetry.metrics import UPDATE_ERRORS, UPDATES_DUPLICATE

log = logging.getLogger(__name__)
Handler = Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]]


class Replies:
    """The Bot API calls of one update, made once its unit of work is committed and its connection returned."""

    def __init__(self) -> None:
        self._calls: list[Callable[[], Awaitable[object]]] = []

    def add(self, call: Callable[[], Awaitable[object]]) -> None:
        self._calls.append(call)

    async def send(self) -> None:
        calls, self._calls = self._calls, []
        for call in calls:
            await call()


class UnitOfWorkMiddleware(BaseMiddleware):
    """Give every update its own unit of work; tell the person, politely, when the update fails."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self.sessions = sessions

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        uow = EntrypointUnitOfWork(self.sessions)
        try:
            async with uow:
                data["uow"] = uow
                data["replies"] = Replies()
                with bind_unit_of_work(uow):
                    return await handler(event, data)
        except Exception as exc:
            # the session is closed by now: the connection (if any) is back in the pool
            update_id = event.update_id if isinstance(event, Update) else None
            if update_id is not None and not uow.completed and await self._handled_before(data, update_id):
                _duplicate(event)  # a re-delivered copy failed where the first succeeded: nothing to tell
                return None
            UPDATE_ERRORS.labels(channel="telegram").inc()
            log.exception(
                "update failed",
                extra={"update_id": update_id, "error": type(exc).__name__, "saved": uow.completed},
            )
            # before the commit nothing of this update is saved: ask for it again; after it, only a reply failed
            await _tell(data["bot"], event, "error.internal" if uow.completed else "error.not_saved")
            return None

    async def _handled_before(self, data: dict[str, Any], update_id: int) -> bool:
        try:
            return await was_handled(self.sessions, data["bot"].id, update_id)
        except Exception:
            return False  # the database is down: the person is told the update was not saved


class TransactionMiddleware(BaseMiddleware):
    """Skip a re-delivered update (Telegram re-sends webhook updates without a 2xx); commit, then reply."""

    def __init__(self, clock: Clock) -> None:
        self.clock = clock

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        assert isinstance(event, Update)  # an outer middleware of the dispatcher's update observer
        uow: EntrypointUnitOfWork = data["uow"]
        replies: Replies = data["replies"]
        bot: Bot = data["bot"]
        session = uow.session
        assert session is not None
        result = await handler(event, data)
        # the handled-update check is its insert: one statement at the end, so SQLite's write lock is taken
        # only for the update's own writes, not for its whole handling; a re-delivered update runs the
        # handlers again (rare) and is rolled back here
        if not await mark_handled(session, bot.id, event.update_id, self.clock.now()):
            _duplicate(event)  # handled before, or meanwhile by another worker: this copy's work is undone
            return None
        await uow.complete()
        await replies.send()
        return result


_PROCESSED: Table = ProcessedUpdateRow.__table__  # type: ignore[assignment]
_MARKS: dict[str, Any] = {}  # dialect -> the statement, built once (its compiled form is then cached)


def _mark_statement(dialect: str) -> Any:
    statement = _MARKS.get(dialect)
    if statement is None:
        columns = ("bot_id", "update_id", "handled_at")
        statement = _MARKS[dialect] = (
            insert_of(dialect)(_PROCESSED)
            .values({c: bindparam(c, type_=_PROCESSED.c[c].type) for c in columns})
            .on_conflict_do_nothing(index_elements=["bot_id", "update_id"])
            .returning(_PROCESSED.c.update_id)
        )
    return statement


async def mark_handled(session: AsyncSession, bot_id: int, update_id: int, now: datetime) -> bool:
    """Record the update as handled; False when it already was (``INSERT … ON CONFLICT DO NOTHING
    RETURNING``, PostgreSQL and SQLite ≥ 3.35)."""
    dialect = session.bind.dialect.name if session.bind else "sqlite"
    values = {"bot_id": bot_id, "update_id": update_id, "handled_at": now}
    connection = await connection_of(session)
    return (await connection.execute(_mark_statement(dialect), values)).scalar() is not None


async def was_handled(sessions: async_sessionmaker[AsyncSession], bot_id: int, update_id: int) -> bool:
    """Whether an update is recorded as handled (asked only when handling a copy of it failed)."""
    async with sessions() as session:
        found = await session.scalar(
            select(ProcessedUpdateRow.update_id).where(
                ProcessedUpdateRow.bot_id == bot_id, ProcessedUpdateRow.update_id == update_id
            )
        )
    return found is not None


def _duplicate(event: Update) -> None:
    UPDATES_DUPLICATE.labels(channel="telegram").inc()
    log.info("duplicate update skipped", extra={"update_id": event.update_id})


async def _tell(bot: Bot, event: TelegramObject, key: str) -> None:
    """Say ``key`` (Vietnamese first, then English) in the chat of the update, and stop a button's spinner."""
    if isinstance(event, Update) and event.callback_query is not None:
        try:
            await bot.answer_callback_query(event.callback_query.id)
        except Exception:
            log.warning("could not answer the callback query of a failed update")
    chat_id = chat_id_of(event)
    if chat_id is None:
        return
    try:
        await bot.send_message(chat_id, t(key, "vi") + "\n\n" + t(key, "en"))
    except Exception:
        log.warning("could not tell the person about the failure")


def chat_id_of(event: TelegramObject) -> int | None:
    """The chat an update came from (a message or a button press), if any."""
    if isinstance(event, Update):
        if event.message is not None:
            return event.message.chat.id
        if event.callback_query is not None and event.callback_query.message is not None:
            return event.callback_query.message.chat.id
    return None
