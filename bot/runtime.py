"""Build the aiogram bot and dispatcher from settings; polling and webhook both feed the same dispatcher."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from aiogram import Bot, Dispatcher
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.fsm.storage.base import BaseEventIsolation, BaseStorage
from aiogram.fsm.storage.memory import SimpleEventIsolation
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot import contacts, handlers
from bot.fsm import SqlStorage
from bot.middlewares import DedupeMiddleware, ErrorMiddleware, UnitOfWorkMiddleware
from core.clock import Clock, SystemClock
from core.config import Settings
from core.conversation.citizen import CitizenConversation
from core.conversation.model import ConversationSettings
from storage.dialogs import SqlDialogStore

log = logging.getLogger(__name__)


def conversation_settings(settings: Settings) -> ConversationSettings:
    return ConversationSettings(
        max_text_length=settings.max_text_length,
        page_size=settings.sections_page_size,
        privacy_version=settings.privacy_version,
        timezone=settings.timezone,
    )


def contact_adapter(settings: Settings, clock: Clock) -> contacts.ContactAdapter:
    from core.reporting import MAX_REPORT_BYTES, reminder_policy
    from storage.repositories_reporting import LocalFileStore

    return contacts.ContactAdapter(
        files=LocalFileStore(settings.files_dir),
        policy=reminder_policy(settings),
        clock=clock,
        max_bytes=MAX_REPORT_BYTES,
    )


def build_storage(
    settings: Settings, sessions: async_sessionmaker[AsyncSession], clock: Clock
) -> tuple[BaseStorage, BaseEventIsolation]:
    """SQL storage by default; aiogram's RedisStorage (with a cross-process per-chat lock) with REDIS_URL."""
    if settings.redis_url:
        from aiogram.fsm.storage.base import DefaultKeyBuilder
        from aiogram.fsm.storage.redis import RedisEventIsolation, RedisStorage

        keys = DefaultKeyBuilder(prefix="gopy", with_bot_id=True, with_destiny=True)
        ttl = 86400 * settings.retention_dialog_days  # Redis expires idle dialog states itself
        storage = RedisStorage.from_url(settings.redis_url, key_builder=keys, state_ttl=ttl, data_ttl=ttl)
        return storage, RedisEventIsolation(storage.redis)
    store = SqlDialogStore(sessions, clock)
    return SqlStorage(store, hash_key=settings.hash_key.get_secret_value()), SimpleEventIsolation()


def build_bot(settings: Settings) -> Bot:
    token = settings.bot_token
    if not token:
        raise RuntimeError("TELEGRAM_BOT_TOKEN is not set")
    session = (
        AiohttpSession(api=TelegramAPIServer.from_base(settings.telegram_api_base))
        if settings.telegram_api_base
        else AiohttpSession()
    )
    return Bot(token, session=session)


@dataclass
class BotRuntime:
    bot: Bot
    dispatcher: Dispatcher

    async def close(self) -> None:
        await self.dispatcher.storage.close()
        await self.dispatcher.fsm.events_isolation.close()
        await self.bot.session.close()


def build_dispatcher(
    settings: Settings,
    sessions: async_sessionmaker[AsyncSession],
    *,
    clock: Clock | None = None,
    storage: tuple[BaseStorage, BaseEventIsolation] | None = None,
) -> Dispatcher:
    """The dispatcher with its middlewares and feature routers."""
    clock = clock or SystemClock()
    fsm_storage, isolation = storage or build_storage(settings, sessions, clock)
    dp = Dispatcher(storage=fsm_storage, events_isolation=isolation)
    dp.update.outer_middleware(ErrorMiddleware())
    dp.update.outer_middleware(DedupeMiddleware(sessions, clock))
    dp.update.outer_middleware(UnitOfWorkMiddleware(sessions))
    adapter = handlers.TelegramAdapter(
        conversation=CitizenConversation(),
        settings=conversation_settings(settings),
        hash_key=settings.hash_key.get_secret_value(),
        clock=clock,
    )
    dp.include_router(contacts.setup(contact_adapter(settings, clock)))
    dp.include_router(handlers.setup(adapter))
    return dp


def build_runtime(
    settings: Settings, sessions: async_sessionmaker[AsyncSession], *, clock: Clock | None = None
) -> BotRuntime:
    return BotRuntime(build_bot(settings), build_dispatcher(settings, sessions, clock=clock))


async def start_polling(runtime: BotRuntime) -> None:
    """Poll Telegram (removing any webhook first); returns when cancelled."""
    await runtime.bot.delete_webhook(drop_pending_updates=False)
    await runtime.dispatcher.start_polling(runtime.bot, handle_signals=False, close_bot_session=False)


async def set_webhook(runtime: BotRuntime, url: str, secret: str | None) -> None:
    await runtime.bot.set_webhook(url, secret_token=secret, allowed_updates=["message", "callback_query"])
