"""The update middleware of the bot: the update id for every log record of the update, and one log line
per update (its kind and duration; never a text, a chat or a user id)."""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import BaseMiddleware
from aiogram.types import TelegramObject, Update

from core import logcontext

log = logging.getLogger("bot.update")
Handler = Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]]


class UpdateContextMiddleware(BaseMiddleware):
    """Outermost update middleware: sets ``core.logcontext.update_id`` while the update is handled."""

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        if not isinstance(event, Update):
            return await handler(event, data)
        token = logcontext.update_id.set(event.update_id)
        started = time.perf_counter()
        try:
            return await handler(event, data)
        finally:
            duration = round((time.perf_counter() - started) * 1000, 1)
            log.info("update", extra={"kind": event.event_type, "duration_ms": duration})
            logcontext.update_id.reset(token)
