"""Build the aiogram bot and dispatcher from settings; polling and webhook both feed the same dispatcher."""

from __future__ import annotations

import asyncio
import gc
import json
import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http import HTTPStatus
from pathlib import Path
from typing import Any, ClassVar, cast

from aiogram import Bot, Dispatcher
from aiogram.client.default import Default
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.exceptions import TelegramAPIError, TelegramNetworkError
from aiogram.fsm.storage.base import DEFAULT_DESTINY, BaseEventIsolation, BaseStorage
from aiogram.fsm.storage.memory import SimpleEventIsolation
from aiogram.methods import AnswerCallbackQuery, Response, TelegramMethod
from aiogram.methods.base import TelegramType
from aiogram.types import BotCommand, BotCommandScopeDefault
from aiohttp import ClientError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot import contacts, flood, handlers
from bot.fsm import SqlStorage
from bot.logcontext import UpdateContextMiddleware
from bot.middlewares import TransactionMiddleware, UnitOfWorkMiddleware
from core.clock import Clock
from core.config import Settings
from core.conversation.citizen import CitizenConversation
from core.conversation.model import ConversationSettings
from core.i18n import t
from storage.dialogs import SqlDialogStore

log = logging.getLogger(__name__)


#: allocations (less deallocations) between two runs of the cyclic collector's youngest generation while
#: serving; Python's default is 700
SERVING_GC_THRESHOLD = 20_000


@contextmanager
def serving_heap() -> Iterator[None]:
    """While a process serves: what its startup built is frozen out of the cyclic garbage collector's
    sweeps, and the youngest generation is collected every ``SERVING_GC_THRESHOLD`` allocations.

    The modules, aiogram's and pydantic's models and the app are hundreds of thousands of objects that
    live as long as the process: a full sweep of them took about 0.5 s of CPU (one every few hundred
    updates in bench/bench_webhook.py), and the young generation, run every 700 allocations, about a
    millisecond of every update (thousands of allocations each). Both come back
    as they were when serving ends, so that a process which starts serving again (the test suite) can
    collect what it no longer uses. Nothing else changes: refcounting frees what it always freed, and
    the collector still finds every cycle, only less often."""
    thresholds = gc.get_threshold()
    # no gc.collect() before the freeze: one here lost the replies of some citizens under load
    # (tests/test_bot_connections.py), for a cause not yet found
    gc.freeze()
    gc.set_threshold(SERVING_GC_THRESHOLD, *thresholds[1:])
    try:
        yield
    finally:
        gc.set_threshold(*thresholds)
        gc.unfreeze()


def conversation_settings(settings: Settings) -> ConversationSettings:
    return ConversationSettings(
        max_text_length=settings.max_text_length,
        page_size=settings.sections_page_size,
        privacy_version=settings.privacy_version,
        timezone=settings.timezone,
        org_name=settings.org_name,
        org_name_en=settings.org_name_en,
        org_contact=settings.org_contact,
    )


def contact_adapter(settings: Settings, clock: Clock) -> contacts.ContactAdapter:
    from core.archives import ArchiveLimits
    from core.reporting import MAX_REPORT_BYTES, reminder_policy
    from storage.repositories_reporting import LocalFileStore

    return contacts.ContactAdapter(
        files=LocalFileStore(settings.files_dir),
        policy=reminder_policy(settings),
        clock=clock,
        max_bytes=MAX_REPORT_BYTES,
        archive_limits=ArchiveLimits.from_settings(settings),
        settings=conversation_settings(settings),
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
        from redis.asyncio import Redis

        from storage.redis_pool import connection_pool

        pool = connection_pool(settings.redis_url)  # RedisStorage.from_url's pool, one client description
        storage = RedisStorage(Redis(connection_pool=pool), key_builder=keys, state_ttl=ttl, data_ttl=ttl)
        return storage, RedisEventIsolation(storage.redis)
    store = SqlDialogStore(clock)
    # one read per update: a text message also asks for the contact conversation's row (bot/contacts.py)
    destinies = (DEFAULT_DESTINY, contacts.DESTINY)
    storage = SqlStorage(store, hash_key=settings.hash_key.get_secret_value(), destinies=destinies)
    return storage, SimpleEventIsolation()


class _NotPlain(Exception):
    """A value the JSON body does not carry as is (a file, a date, a default set on the bot...)."""


_JSON_HEADERS = {"Content-Type": "application/json"}


def _plain(value: Any, bot: Bot) -> Any:
    """``value`` as aiogram's form would send it, as a JSON value: None entries dropped; a default the
    bot leaves unset resolved to None. Raises :class:`_NotPlain` on anything else."""
    kind = type(value)
    if value is None or kind is str or kind is int or kind is bool or kind is float:
        return value
    if kind is dict:
        return {k: p for k, item in value.items() if (p := _plain(item, bot)) is not None}
    if kind is list:
        return [p for item in value if (p := _plain(item, bot)) is not None]
    if kind is Default and bot.default[value.name] is None:
        return None
    raise _NotPlain


class BotSession(AiohttpSession):
    """aiogram's aiohttp session, with a JSON body for a call without files, and the ``Response[T]``
    model of every Bot API method it has called kept.

    aiogram posts every call as a url-encoded form, each nested value (a keyboard) JSON-encoded and then
    percent-encoded, and checks every value for a file on the way; a call whose parameters are plain
    values (text, numbers, keyboards) goes as one JSON object instead, which the Bot API reads alike
    (the same parameters, None ones left out as the form leaves them out); anything else goes as
    aiogram sends it.

    aiogram validates each answer with ``Response[method.__returning__]``; pydantic caches parametrised
    generic models only weakly, so once the garbage collector has taken one, the next call rebuilds it
    (its whole schema: milliseconds of CPU, a tenth of an update's cost in bench/bench_webhook.py).
    Holding the class here keeps pydantic's cache warm, and a successful answer is validated with it
    directly; any other answer goes through aiogram's own check (its errors unchanged).
    """

    _response_models: ClassVar[dict[Any, type[Response[Any]]]] = {}

    def _response_model(self, method: TelegramMethod[TelegramType]) -> type[Response[TelegramType]]:
        returning = method.__returning__
        model = self._response_models.get(returning)
        if model is None:
            model = self._response_models[returning] = Response[returning]  # type: ignore[valid-type]
        return model

    def check_response(
        self, bot: Bot, method: TelegramMethod[TelegramType], status_code: int, content: str
    ) -> Response[TelegramType]:
        model = self._response_model(method)
        if HTTPStatus.OK <= status_code <= HTTPStatus.IM_USED:
            try:
                response = model.model_validate(self.json_loads(content), context={"bot": bot})
            except Exception:
                response = None
            if response is not None and response.ok:
                return response
        return super().check_response(bot, method, status_code, content)

    def json_body(self, bot: Bot, method: TelegramMethod[TelegramType]) -> bytes | None:
        """The call's parameters as a JSON object, or None when one of them is not a plain value."""
        try:
            params = {
                key: prepared
                for key, value in method.model_dump(warnings=False).items()
                if (prepared := _plain(value, bot)) is not None and prepared != ""
            }
        except _NotPlain:
            return None
        return json.dumps(params, ensure_ascii=False).encode()

    async def make_request(
        self, bot: Bot, method: TelegramMethod[TelegramType], timeout: int | None = None
    ) -> TelegramType:
        body = self.json_body(bot, method)
        if body is None:
            return await super().make_request(bot, method, timeout)
        session = await self.create_session()
        url = self.api.api_url(token=bot.token, method=method.__api_method__)
        try:
            async with session.post(
                url, data=body, headers=_JSON_HEADERS, timeout=self.timeout if timeout is None else timeout
            ) as resp:
                raw_result = await resp.text()
        except TimeoutError as e:
            raise TelegramNetworkError(method=method, message="Request timeout error") from e
        except ClientError as e:
            raise TelegramNetworkError(method=method, message=f"{type(e).__name__}: {e}") from e
        response = self.check_response(bot=bot, method=method, status_code=resp.status, content=raw_result)
        return cast(TelegramType, response.result)


async def webhook_answer(bot: Bot, result: object) -> dict[str, Any] | None:
    """What the webhook answers an update with, given what its handlers returned.

    An ``answerCallbackQuery`` goes in the response itself (``{"method": …}``: Telegram makes the call,
    and its result is not needed), which saves the bot a request per button press; any other method
    returned is called here, as aiogram does when polling; None when there is nothing to answer with."""
    if isinstance(result, AnswerCallbackQuery):
        return {"method": result.__api_method__, **result.model_dump(mode="json", exclude_none=True)}
    if isinstance(result, TelegramMethod):
        try:
            await bot(result)
        except TelegramAPIError as exc:  # the update is handled and committed: only this call failed
            log.warning("a returned Bot API call failed", extra={"error": type(exc).__name__})
    return None


def build_bot(settings: Settings) -> Bot:
    token = settings.bot_token
    if not token:
        raise RuntimeError("TELEGRAM_BOT_TOKEN is not set")
    session = (
        BotSession(api=TelegramAPIServer.from_base(settings.telegram_api_base))
        if settings.telegram_api_base
        else BotSession()
    )
    return Bot(token, session=session)


@dataclass
class BotRuntime:
    bot: Bot
    dispatcher: Dispatcher

    async def finish_updates(self, timeout: float = 30.0) -> None:
        """Wait for the updates in hand (aiogram handles each polled update as a task of its own)."""
        in_hand = set(getattr(self.dispatcher, "_handle_update_tasks", ()))
        if in_hand:
            await asyncio.wait(in_hand, timeout=timeout)

    async def stop_polling(self) -> bool:
        """Stop fetching updates; the polling call then finishes the updates in hand and returns.
        False when it was not polling."""
        try:
            await self.dispatcher.stop_polling()
        except RuntimeError:
            return False
        return True

    async def close(self) -> None:
        await flood.close(self.dispatcher)
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
    clock = clock or settings.clock()
    fsm_storage, isolation = storage or build_storage(settings, sessions, clock)
    # aiogram's FSM middleware is registered by hand, inside the update's unit of work (see bot.middlewares)
    dp = Dispatcher(storage=fsm_storage, events_isolation=isolation, disable_fsm=True)
    dp.update.outer_middleware(UpdateContextMiddleware())  # the update id in every log record
    flood.FloodMiddleware.install(dp, settings)  # before anything is read or stored
    dp.update.outer_middleware(UnitOfWorkMiddleware(sessions))
    dp.update.outer_middleware(dp.fsm)
    dp.update.outer_middleware(TransactionMiddleware(clock))
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


# the command menu (setMyCommands), in the order people see it; descriptions come from the catalogs
MENU_COMMANDS = ("start", "menu", "mydata", "privacy", "language", "help", "cancel", "unit")


def menu_commands(language: str) -> list[BotCommand]:
    return [BotCommand(command=name, description=t(f"command.{name}", language)) for name in MENU_COMMANDS]


async def announce(runtime: BotRuntime, username_cache: Path | None = None) -> None:
    """Register the command menu in Vietnamese (the default) and English, and remember the bot's
    username for invite links. A failure is logged and never stops the bot."""
    try:
        await runtime.bot.set_my_commands(menu_commands("vi"), scope=BotCommandScopeDefault())
        await runtime.bot.set_my_commands(
            menu_commands("en"), scope=BotCommandScopeDefault(), language_code="en"
        )
        me = await runtime.bot.me()
        if username_cache is not None and me.username:
            remember_username(username_cache, runtime.bot.id, me.username)
    except (TelegramAPIError, OSError) as exc:
        log.warning("could not register the bot's command menu", extra={"error": type(exc).__name__})


def remember_username(cache: Path, bot_id: int, username: str) -> None:
    cache.parent.mkdir(parents=True, exist_ok=True)
    tmp = cache.with_suffix(f".{os.getpid()}.tmp")  # several workers may start at once
    tmp.write_text(json.dumps({"bot_id": bot_id, "username": username}), encoding="utf-8")
    os.replace(tmp, cache)


def remembered_username(cache: Path, bot_id: int) -> str | None:
    """The username cached for this bot (a different token means a different bot: not reused)."""
    try:
        data = json.loads(cache.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if isinstance(data, dict) and data.get("bot_id") == bot_id and isinstance(data.get("username"), str):
        return str(data["username"])
    return None


async def start_polling(
    runtime: BotRuntime, username_cache: Path | None = None, *, handle_signals: bool = False
) -> None:
    """Poll Telegram (removing any webhook first) until stopped (SIGINT/SIGTERM with ``handle_signals``,
    or :meth:`BotRuntime.stop_polling`); then finish the updates in hand and return."""
    await announce(runtime, username_cache)
    await runtime.bot.delete_webhook(drop_pending_updates=False)
    await runtime.dispatcher.start_polling(
        runtime.bot, handle_signals=handle_signals, close_bot_session=False
    )
    await runtime.finish_updates()


# Telegram opens 1 to 100 concurrent connections to a webhook (``max_connections``, 40 by default)
TELEGRAM_MAX_CONNECTIONS = (1, 100)


async def set_webhook(
    runtime: BotRuntime,
    url: str,
    secret: str | None,
    username_cache: Path | None = None,
    *,
    max_connections: int | None = None,
) -> None:
    """Point Telegram at ``url``; ``max_connections`` (clamped to Telegram's 1..100) keeps it from
    sending more updates at once than the process admits."""
    await announce(runtime, username_cache)
    if max_connections is not None:
        low, high = TELEGRAM_MAX_CONNECTIONS
        max_connections = min(max(max_connections, low), high)
    await runtime.bot.set_webhook(
        url,
        secret_token=secret,
        allowed_updates=["message", "callback_query"],
        max_connections=max_connections,
    )


async def poll_until_signalled(settings: Settings) -> None:
    """``gopy bot``: poll until SIGINT/SIGTERM, finish the updates in hand, close everything."""
    from storage.db import engine_from_settings, session_factory

    engine = engine_from_settings(settings)
    runtime = build_runtime(settings, session_factory(engine))
    try:
        with serving_heap():
            await start_polling(runtime, settings.bot_identity_file, handle_signals=True)
    finally:
        await runtime.close()
        await engine.dispose()
