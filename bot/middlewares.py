"""Outer middlewares: a unit of work per update, re-delivery de-duplication, and a safety net."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import BaseMiddleware, Bot
from aiogram.types import TelegramObject, Update
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.metrics import UPDATE_ERRORS, UPDATES_DUPLICATE
from core.clock import Clock
from core.i18n import t
from storage.models import ProcessedUpdateRow
from storage.uow import SqlUnitOfWork

log = logging.getLogger(__name__)
Handler = Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]]


class UnitOfWorkMiddleware(BaseMiddleware):
    """Give every update its own unit of work; whatever a use case did not commit is rolled back."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self.sessions = sessions

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        async with SqlUnitOfWork(self.sessions) as uow:
            data["uow"] = uow
            return await handler(event, data)


class DedupeMiddleware(BaseMiddleware):
    """Skip an update whose id was already handled (Telegram re-sends webhook updates without a 2xx)."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession], clock: Clock) -> None:
        self.sessions = sessions
        self.clock = clock

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        if not isinstance(event, Update):
            return await handler(event, data)
        bot: Bot = data["bot"]
        async with self.sessions() as session:
            seen = await session.scalar(
                select(ProcessedUpdateRow.update_id).where(
                    ProcessedUpdateRow.bot_id == bot.id, ProcessedUpdateRow.update_id == event.update_id
                )
            )
        if seen is not None:
            UPDATES_DUPLICATE.labels(channel="telegram").inc()
            log.info("duplicate update skipped", extra={"update_id": event.update_id})
            return None
        result = await handler(event, data)
        async with self.sessions() as session:
            session.add(
                ProcessedUpdateRow(bot_id=bot.id, update_id=event.update_id, handled_at=self.clock.now())
            )
            try:
                await session.commit()
            except IntegrityError:
                await session.rollback()
        return result


class ErrorMiddleware(BaseMiddleware):
    """Log an unexpected failure with context (never message texts) and tell the person, politely."""

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        try:
            return await handler(event, data)
        except Exception:
            UPDATE_ERRORS.labels(channel="telegram").inc()
            update_id = event.update_id if isinstance(event, Update) else None
            log.exception("update failed", extra={"update_id": update_id, "type": type(event).__name__})
            chat_id = _chat_id(event)
            if chat_id is not None:
                try:
                    await data["bot"].send_message(
                        chat_id, t("error.internal", "vi") + "\n\n" + t("error.internal", "en")
                    )
                except Exception:
                    log.warning("could not tell the person about the failure")
            return None


def _chat_id(event: TelegramObject) -> int | None:
    if isinstance(event, Update):
        if event.message is not None:
            return event.message.chat.id
        if event.callback_query is not None and event.callback_query.message is not None:
            return event.callback_query.message.chat.id
    return None
