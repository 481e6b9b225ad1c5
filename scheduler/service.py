"""The reminder scheduler: an APScheduler interval job that, while holding the database lease,
materialises due reminders into the outbox and drains it.

The outbox (unique keys) and the lease row give durability and single activity; APScheduler keeps its
jobs in memory with a stable id, so a restart simply starts ticking again.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import uuid
from contextlib import suppress
from datetime import UTC, time, timedelta
from pathlib import Path

import aiohttp
from aiogram import Bot
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.zalo.reminders import ZaloReminders, build_zalo_reminders
from core.clock import Clock, SystemClock
from core.config import Settings
from core.reporting import materialise_reminders, reminder_policy
from scheduler.sender import OutboxSender
from storage.repositories_reporting import Lease, acquire_lease, release_lease
from storage.retention import PurgeResult, RetentionPolicy, purge_expired
from storage.uow import SqlUnitOfWork

log = logging.getLogger(__name__)
LEASE_NAME = "reminders"
JOB_ID = "gopy-reminders-tick"
RETENTION_JOB_ID = "gopy-retention"
RETENTION_AGAIN_SECONDS = 60


class ReminderScheduler:
    """One instance per process; only the lease holder materialises and sends."""

    def __init__(
        self,
        *,
        settings: Settings,
        sessions: async_sessionmaker[AsyncSession],
        bot: Bot | None,
        clock: Clock | None = None,
        holder: str | None = None,
        zalo: ZaloReminders | None = None,
    ) -> None:
        self.settings = settings
        self.sessions = sessions
        self.clock = clock or settings.clock()
        self.holder = holder or f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"
        self.policy = reminder_policy(settings)
        self.sender = OutboxSender(
            bot=bot,
            sessions=sessions,
            clock=self.clock,
            policy=self.policy,
            staff_chat_ids=settings.staff_chat_ids,
            rate=settings.send_rate_per_second,
            chat_interval=settings.send_chat_interval_seconds,
            max_attempts=settings.send_max_attempts,
            claim_timeout=settings.send_claim_timeout_seconds,
            zalo=zalo,
        )
        self.zalo_http: aiohttp.ClientSession | None = None  # closed by stop() when set
        self.retention = RetentionPolicy.from_settings(settings)
        self.leader = False
        self.lease: Lease | None = None
        self._scheduler: AsyncIOScheduler | None = None
        self._lease_ttl = timedelta(seconds=settings.scheduler_lease_seconds)
        self._lease_until = self.clock.now()

    def _holds_lease(self) -> bool:
        return self.leader and self.clock.now() < self._lease_until

    async def tick(self) -> None:
        """Heartbeat, take or renew the lease, and when leader: materialise and send."""
        self.write_heartbeat()
        now = self.clock.now()
        # deliberately its own transaction: the lease is committed before any work done under it
        async with self.sessions() as session:
            self.lease = await acquire_lease(
                session, name=LEASE_NAME, holder=self.holder, now=now, ttl=self._lease_ttl
            )
        self.leader = self.lease is not None
        self.write_heartbeat()
        if self.lease is None:
            return
        self._lease_until = now + self._lease_ttl * 0.8
        async with SqlUnitOfWork(self.sessions) as uow:  # the job's one unit of work
            added = await materialise_reminders(
                uow=uow, policy=self.policy, staff_chat_ids=self.settings.staff_chat_ids, now=now
            )
        if added:
            log.info("reminders queued", extra={"count": added})
        await self.sender.drain(lease=self.lease, keep_going=self._holds_lease)

    async def purge(self) -> PurgeResult | None:
        """The retention purge, by the lease holder only: one connection, one bounded transaction.

        When it stopped at ``retention_max_rows``, it runs again shortly (each run is its own
        transaction), until nothing expired is left."""
        if self.lease is None or not self._holds_lease():
            return None
        async with self.sessions() as session:
            result = await purge_expired(
                session, policy=self.retention, now=self.clock.now(), lease=self.lease
            )
        if result is None:
            return None
        log.info(
            "retention purge",
            extra={
                "drafts": result.drafts,
                "dialog_states": result.dialog_states,
                "processed_updates": result.processed_updates,
                "zalo_events": result.zalo_events,
                "staff_sessions": result.staff_sessions,
                "export_jobs": result.export_jobs,
                "uploads": result.uploads,
                "complete": result.complete,
            },
        )
        if not result.complete and self._scheduler is not None:
            self._scheduler.add_job(
                self._safe_purge,
                "date",
                run_date=SystemClock().now() + timedelta(seconds=RETENTION_AGAIN_SECONDS),
                id=f"{RETENTION_JOB_ID}-more",
                replace_existing=True,
            )
        return result

    def write_heartbeat(self) -> None:
        path = Path(self.settings.heartbeat_file)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        line = f"{self.clock.now().astimezone(UTC).isoformat()} holder={self.holder} leader={self.leader}\n"
        tmp.write_text(line, encoding="utf-8")
        os.replace(tmp, path)

    def start(self) -> None:
        """Start the APScheduler job (memory job store, stable id, one instance at a time)."""
        scheduler = AsyncIOScheduler(timezone=UTC)
        scheduler.add_job(
            self._safe_tick,
            "interval",
            seconds=self.settings.scheduler_tick_seconds,
            id=JOB_ID,
            replace_existing=True,
            max_instances=1,
            coalesce=True,
            misfire_grace_time=max(1, int(self.settings.scheduler_tick_seconds)),
            next_run_time=SystemClock().now(),
        )
        if self.settings.retention_time:
            at = time.fromisoformat(self.settings.retention_time)
            scheduler.add_job(
                self._safe_purge,
                "cron",
                hour=at.hour,
                minute=at.minute,
                timezone=self.settings.tz,
                id=RETENTION_JOB_ID,
                replace_existing=True,
                max_instances=1,
                coalesce=True,
                misfire_grace_time=3600,
            )
        scheduler.start()
        self._scheduler = scheduler
        log.info("scheduler started", extra={"holder": self.holder})

    async def _safe_tick(self) -> None:
        try:
            await self.tick()
        except Exception:
            log.exception("scheduler tick failed")

    async def _safe_purge(self) -> None:
        try:
            await self.purge()
        except Exception:
            log.exception("retention purge failed")

    async def stop(self) -> None:
        if self._scheduler is not None:
            self._scheduler.shutdown(wait=False)
            self._scheduler = None
        if self.leader:
            with suppress(Exception):
                async with self.sessions() as session:
                    await release_lease(session, name=LEASE_NAME, holder=self.holder, now=self.clock.now())
            self.leader = False
            self.lease = None
        if self.zalo_http is not None:
            await self.zalo_http.close()
            self.zalo_http = None


def _with_zalo(
    settings: Settings, sessions: async_sessionmaker[AsyncSession], bot: Bot | None, clock: Clock | None
) -> ReminderScheduler:
    """A scheduler that also sends reminders to Zalo contacts when the Zalo channel is configured."""
    if not settings.zalo_configured:
        return ReminderScheduler(settings=settings, sessions=sessions, bot=bot, clock=clock)
    zalo, http = build_zalo_reminders(settings, sessions, clock or settings.clock())
    service = ReminderScheduler(settings=settings, sessions=sessions, bot=bot, clock=clock, zalo=zalo)
    service.zalo_http = http
    return service


def can_send(settings: Settings) -> bool:
    """A channel that can deliver reminders is configured: Telegram (a bot token) or the Zalo OA."""
    return bool(settings.bot_token) or settings.zalo_configured


def start_scheduler(
    settings: Settings, sessions: async_sessionmaker[AsyncSession], bot: Bot | None, clock: Clock
) -> ReminderScheduler:
    """``gopy run`` also runs the reminder scheduler (only the lease holder of all processes sends).

    Without a Telegram bot (a Zalo-only deployment) Zalo contacts get their reminders and messages
    for Telegram chats stay pending in the outbox until a bot is configured."""
    service = _with_zalo(settings, sessions, bot, clock)
    service.start()
    return service


async def run_forever(settings: Settings) -> None:
    """``gopy scheduler``: a standalone process; returns when cancelled."""
    from bot.runtime import build_bot
    from storage.db import create_engine, session_factory

    engine = create_engine(settings.database_url)
    bot = build_bot(settings) if settings.bot_token else None  # Zalo-only: Telegram messages wait
    service = _with_zalo(settings, session_factory(engine), bot, None)
    service.start()
    try:
        await asyncio.Event().wait()
    finally:
        await service.stop()
        if bot is not None:
            await bot.session.close()
        await engine.dispose()
