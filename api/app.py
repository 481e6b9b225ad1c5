"""The FastAPI application: health, metrics, the Telegram webhook; /v1 staff endpoints come from routers."""

from __future__ import annotations

import asyncio
import hmac
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass, field
from typing import Any, Protocol

from aiogram import Bot
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from api import docs as api_docs
from api import staff as api_staff
from api import v1 as api_v1
from api import webchat, zalo
from api.export_jobs import ExportJobRunner
from api.limits import ApiLimits
from api.logcontext import RequestContextMiddleware
from bot.runtime import (
    BotRuntime,
    build_runtime,
    serving_heap,
    set_webhook,
    start_polling,
    webhook_answer,
)
from core.clock import Clock
from core.config import Settings, get_settings
from storage.db import engine_from_settings, session_factory
from storage.models_reporting import OutboxRow
from telemetry.metrics import OUTBOX_BACKLOG

log = logging.getLogger(__name__)


@dataclass
class AppServices:
    """What the routes share: settings, clock, database, and the bot when one is configured."""

    settings: Settings
    clock: Clock
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    limits: ApiLimits
    bot: BotRuntime | None = None
    tasks: list[asyncio.Task[Any]] = field(default_factory=list)
    scheduler: BackgroundService | None = None
    export_jobs: ExportJobRunner | None = None  # background exports (api/export_jobs.py)
    # Telegram webhook updates handled at once; the others wait here, before taking a pool connection
    webhook_gate: asyncio.Semaphore = field(default_factory=lambda: asyncio.Semaphore(1))


class BackgroundService(Protocol):
    async def stop(self) -> None: ...


# what `gopy run` adds beside the bot (the reminder scheduler): wired by the CLI, never imported here
BackgroundFactory = Callable[
    [Settings, async_sessionmaker[AsyncSession], Bot | None, Clock], BackgroundService
]


def services(request: Request) -> AppServices:
    return request.app.state.services  # type: ignore[no-any-return]


def create_app(
    settings: Settings | None = None,
    *,
    clock: Clock | None = None,
    poll: bool = False,
    background: BackgroundFactory | None = None,
    settle: bool = False,
) -> FastAPI:
    """Build the app. ``poll=True`` (``gopy run``) also polls Telegram when no webhook URL is set;
    ``background`` starts when a channel can send: the Telegram bot or the Zalo OA (``gopy run``
    passes the reminder scheduler). ``settle=True`` (the server commands) serves within
    :func:`bot.runtime.serving_heap` once every part of the app has started; tests and embedders leave
    the process's collector alone."""
    settings = settings or get_settings()
    settings.require_hash_key()
    clock = clock or settings.clock()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        engine = engine_from_settings(settings)
        svc = AppServices(
            settings,
            clock,
            engine,
            session_factory(engine),
            ApiLimits.from_settings(settings),
            webhook_gate=asyncio.Semaphore(settings.webhook_admission),
        )
        app.state.services = svc
        svc.export_jobs = ExportJobRunner(svc.sessions, settings, clock)
        svc.export_jobs.launch()
        if settings.bot_token:
            svc.bot = build_runtime(settings, svc.sessions, clock=clock)
            if settings.webhook_url:
                secret = settings.webhook_secret.get_secret_value() if settings.webhook_secret else None
                await set_webhook(
                    svc.bot,
                    settings.webhook_url,
                    secret,
                    settings.bot_identity_file,
                    max_connections=settings.webhook_connections,
                )
                log.info("telegram webhook set")
            elif poll:
                svc.tasks.append(
                    asyncio.create_task(
                        start_polling(svc.bot, settings.bot_identity_file), name="telegram-polling"
                    )
                )
                log.info("telegram polling started")
        # beside any channel that can send: a Zalo-only deployment (no Telegram token) reminds too
        if background is not None and (svc.bot is not None or settings.zalo_configured):
            svc.scheduler = background(settings, svc.sessions, svc.bot.bot if svc.bot else None, clock)
        try:
            yield
        finally:
            await svc.export_jobs.stop()
            if svc.scheduler is not None:
                await svc.scheduler.stop()
            if svc.bot is not None and svc.tasks and await svc.bot.stop_polling():
                await asyncio.wait(svc.tasks, timeout=30)  # the polling task finishes the updates in hand
            for task in svc.tasks:
                task.cancel()
            for task in svc.tasks:
                with suppress(asyncio.CancelledError, Exception):
                    await task
            if svc.bot is not None:
                await svc.bot.close()
            await svc.limits.close()
            await engine.dispose()

    app = FastAPI(
        title="Gopy API",
        version="1.0",
        description="Góp ý của Nhân dân vào dự thảo văn kiện — export and consolidation API for staff.",
        lifespan=lifespan,
        docs_url=None,  # served by api.docs from the package, never from a CDN
        redoc_url=None,
    )
    api_docs.setup(app)
    app.add_middleware(RequestContextMiddleware)  # a request id in every log record and response
    # Routes are matched in the order they are added, one path regex after another (about 10 µs each):
    # the health checks, the webhooks and the web chat (every click of every citizen) come before the
    # staff API's 46 routes and the console's pages. No two of these groups share a path.

    @app.get("/healthz", tags=["health"])
    async def healthz() -> dict[str, str]:
        """The process is up."""
        return {"status": "ok"}

    @app.get("/readyz", tags=["health"])
    async def readyz(request: Request) -> JSONResponse:
        """The database answers."""
        try:
            async with services(request).engine.connect() as conn:
                await conn.execute(text("SELECT 1"))
        except Exception:
            log.warning("readiness check failed")
            return JSONResponse({"status": "unavailable", "database": "unreachable"}, status_code=503)
        return JSONResponse({"status": "ok", "database": "ok"})

    @app.get("/metrics", tags=["health"], include_in_schema=False)
    async def metrics(request: Request) -> Response:
        """Prometheus metrics; the outbox backlog is read from the database at each scrape."""
        try:
            async with services(request).sessions() as session:
                backlog = await session.scalar(
                    select(func.count()).select_from(OutboxRow).where(OutboxRow.status == "pending")
                )
            OUTBOX_BACKLOG.set(backlog or 0)
        except Exception:
            log.warning("outbox backlog unavailable")
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    @app.post("/telegram/webhook", tags=["telegram"], include_in_schema=False)
    async def telegram_webhook(request: Request) -> JSONResponse:
        svc = services(request)
        expected = svc.settings.webhook_secret.get_secret_value() if svc.settings.webhook_secret else None
        given = request.headers.get("X-Telegram-Bot-Api-Secret-Token", "")
        if svc.bot is None:
            return JSONResponse({"ok": False, "error": "bot_not_configured"}, status_code=503)
        if not expected or not hmac.compare_digest(given.encode(), expected.encode()):
            return JSONResponse({"ok": False, "error": "unauthorized"}, status_code=401)
        try:
            payload = await request.json()
        except ValueError:
            return JSONResponse({"ok": False, "error": "bad_json"}, status_code=400)
        if not isinstance(payload, dict) or "update_id" not in payload:
            return JSONResponse({"ok": False, "error": "not_an_update"}, status_code=400)
        async with svc.webhook_gate:  # beyond the admission limit an update waits, never a pool timeout
            result = await svc.bot.dispatcher.feed_webhook_update(svc.bot.bot, payload)
            answer = await webhook_answer(svc.bot.bot, result)  # a button press's answerCallbackQuery
        return JSONResponse(answer or {"ok": True})

    app.include_router(webchat.setup())
    app.include_router(zalo.setup())
    api_v1.setup(app)
    api_staff.setup(app)
    if settle:
        app.router.lifespan_context = _settling(app.router.lifespan_context)
    return app


def _settling(lifespan: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """``lifespan`` (the app's, with its routers'), then :func:`bot.runtime.serving_heap` from the
    first request to shutdown: what every part built at startup stays out of the collector's sweeps."""

    @asynccontextmanager
    async def settled(app: Any) -> AsyncIterator[Any]:
        async with lifespan(app) as state:
            with serving_heap():
                yield state

    return settled
