"""Flood control of the bot: at most ``GOPY_BOT_FLOOD_LIMIT`` updates per person per
``GOPY_BOT_FLOOD_WINDOW_SECONDS``. Past it the person gets one polite notice (Vietnamese, then English) and
every further update is dropped, before de-duplication and the unit of work, so nothing is stored, until
the window lets them through again. Counted in ``storage.ratelimit`` (shared through Redis with REDIS_URL).
"""

from __future__ import annotations

import logging
import math
from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import BaseMiddleware, Bot, Dispatcher
from aiogram.types import TelegramObject, Update, User

from bot.middlewares import chat_id_of
from core.config import Settings
from core.i18n import t
from storage.ratelimit import RateLimits
from telemetry.metrics import UPDATES_FLOOD_DROPPED

log = logging.getLogger(__name__)
Handler = Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]]


class FloodMiddleware(BaseMiddleware):
    """An outer update middleware: count the sender's updates; past the limit, one notice then silence."""

    def __init__(self, limits: RateLimits, *, limit: int, window: float) -> None:
        self.limits = limits
        self.limit = limit
        self.window = window

    @classmethod
    def install(cls, dp: Dispatcher, settings: Settings) -> FloodMiddleware:
        """Register on ``dp`` (outside de-duplication and the unit of work); closed on ``dp["flood"]``."""
        limits = RateLimits(
            secret=settings.hash_key.get_secret_value(),
            redis_url=settings.redis_url,
            prefix=f"{settings.rate_limit_prefix}:bot",
        )
        middleware = cls(limits, limit=settings.bot_flood_limit, window=settings.bot_flood_window_seconds)
        dp.update.outer_middleware(middleware)
        dp["flood"] = middleware
        return middleware

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        user = _sender(event)
        if user is None:
            return await handler(event, data)
        who = str(user.id)
        wait = await self.limits.hit("user", who, self.limit, self.window)
        if not wait:
            return await handler(event, data)
        UPDATES_FLOOD_DROPPED.labels(channel="telegram").inc()
        if await self.limits.hit("notice", who, 1, self.window):
            log.info("update dropped", extra={"reason": "flood"})
            return None
        log.info("update dropped", extra={"reason": "flood", "notice": True})
        chat_id = chat_id_of(event)
        if chat_id is not None:
            seconds = max(1, math.ceil(wait))
            text = (
                t("bot.slow_down", "vi", seconds=seconds) + "\n\n" + t("bot.slow_down", "en", seconds=seconds)
            )
            bot: Bot = data["bot"]
            try:
                await bot.send_message(chat_id, text)
            except Exception:
                log.warning("could not send the slow-down notice")
        return None

    async def close(self) -> None:
        await self.limits.close()


def _sender(event: TelegramObject) -> User | None:
    if isinstance(event, Update):
        if event.message is not None:
            return event.message.from_user
        if event.callback_query is not None:
            return event.callback_query.from_user
    return None


async def close(dp: Dispatcher) -> None:
    """Close the flood limiter installed on ``dp`` (its Redis connections), if any."""
    middleware = dp.workflow_data.get("flood")
    if isinstance(middleware, FloodMiddleware):
        await middleware.close()
