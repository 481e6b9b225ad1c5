"""Drain the outbox through the Telegram Bot API within its limits.

Crash safety: an attempt is recorded (and committed) *before* the message is sent, and the message is
marked sent (committed) right after. A crash between the two leaves one row "attempted, not sent":
the next run sends it again — so a crash duplicates at most the one message that was in flight, and
loses none. Messages are sent one at a time in outbox order.
"""

from __future__ import annotations

import asyncio
import logging
import time as monotonic_time
from collections.abc import Awaitable, Callable, Sequence
from datetime import timedelta

from aiogram import Bot
from aiogram.exceptions import (
    TelegramBadRequest,
    TelegramForbiddenError,
    TelegramNetworkError,
    TelegramRetryAfter,
    TelegramServerError,
)
from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.render import encode_choice
from core.clock import Clock
from core.i18n import t
from core.reporting import NewOutboxMessage, OutboxMessage, ReminderPolicy
from storage.uow import SqlUnitOfWork

log = logging.getLogger(__name__)
Sleep = Callable[[float], Awaitable[None]]


def _markup(message: OutboxMessage) -> InlineKeyboardMarkup | None:
    if not message.buttons:
        return None
    return InlineKeyboardMarkup(
        inline_keyboard=[
            [InlineKeyboardButton(text=label, callback_data=encode_choice(0, data)) for label, data in row]
            for row in message.buttons
        ]
    )


class OutboxSender:
    """Sends pending outbox rows: ~``rate`` msg/s overall, one per ``chat_interval`` s per chat."""

    def __init__(
        self,
        *,
        bot: Bot,
        sessions: async_sessionmaker[AsyncSession],
        clock: Clock,
        policy: ReminderPolicy,
        staff_chat_ids: Sequence[int] = (),
        rate: float = 25.0,
        chat_interval: float = 1.0,
        max_attempts: int = 5,
        backoff: float = 2.0,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        self.bot = bot
        self.sessions = sessions
        self.clock = clock
        self.policy = policy
        self.staff_chat_ids = list(staff_chat_ids)
        self.min_interval = 1.0 / rate if rate > 0 else 0.0
        self.chat_interval = chat_interval
        self.max_attempts = max_attempts
        self.backoff = backoff
        self.sleep = sleep
        self._last_send = 0.0
        self._last_by_chat: dict[int, float] = {}

    async def drain(self, *, limit: int = 1000, keep_going: Callable[[], bool] = lambda: True) -> int:
        """Send what is due now; return how many messages were delivered."""
        delivered = 0
        while keep_going():
            now = self.clock.now()
            if self.policy.in_quiet_hours(now):
                return delivered
            async with SqlUnitOfWork(self.sessions) as uow:
                batch = await uow.reporting.pending_outbox(now=now, limit=min(limit, 100))
            if not batch:
                return delivered
            progressed = False
            for message in batch:
                if not keep_going() or self.policy.in_quiet_hours(self.clock.now()):
                    return delivered
                outcome = await self._deliver(message)
                progressed = progressed or outcome != "deferred"
                delivered += outcome == "sent"
                limit -= 1
                if limit <= 0:
                    return delivered
            if not progressed:
                return delivered
        return delivered

    async def _still_wanted(self, message: OutboxMessage) -> bool:
        """A reminder is dropped when the unit has reported or the contact left / is unreachable."""
        if message.kind != "reminder":
            return True
        async with SqlUnitOfWork(self.sessions) as uow:
            if message.period_id is not None and message.unit_id is not None:
                reports = await uow.reporting.latest_reports(message.period_id)
                if (message.period_id, message.unit_id) in reports:
                    await uow.reporting.finish_outbox(message.id, status="cancelled", now=self.clock.now())
                    await uow.commit()
                    return False
            if message.contact_id is not None:
                contact = await uow.reporting.get_contact(message.contact_id)
                if contact is None or contact.status.value != "active" or not contact.reachable:
                    await uow.reporting.finish_outbox(message.id, status="cancelled", now=self.clock.now())
                    await uow.commit()
                    return False
        return True

    async def _pace(self, chat_id: int) -> None:
        now = monotonic_time.monotonic()
        wait = max(
            self._last_send + self.min_interval - now,
            self._last_by_chat.get(chat_id, -1e9) + self.chat_interval - now,
        )
        if wait > 0:
            await self.sleep(wait)

    async def _deliver(self, message: OutboxMessage) -> str:
        if not await self._still_wanted(message):
            return "cancelled"
        while True:
            await self._pace(message.chat_id)
            async with SqlUnitOfWork(self.sessions) as uow:
                await uow.reporting.record_attempt(message.id, now=self.clock.now())
                await uow.commit()
            attempts = message.attempts + 1
            try:
                self._last_send = monotonic_time.monotonic()
                self._last_by_chat[message.chat_id] = self._last_send
                await self.bot.send_message(message.chat_id, message.text, reply_markup=_markup(message))
            except TelegramRetryAfter as exc:
                log.info("rate limited by Telegram", extra={"retry_after": exc.retry_after})
                await self.sleep(float(exc.retry_after))
                continue  # the same message again: order is kept, nothing is lost
            except TelegramForbiddenError:
                await self._unreachable(message)
                return "unreachable"
            except (TelegramServerError, TelegramNetworkError) as exc:
                return await self._retry_later(message, attempts, type(exc).__name__)
            except TelegramBadRequest as exc:
                log.warning(
                    "outbox message rejected", extra={"outbox_id": message.id, "error": str(exc)[:100]}
                )
                async with SqlUnitOfWork(self.sessions) as uow:
                    await uow.reporting.finish_outbox(
                        message.id, status="failed", now=self.clock.now(), error=str(exc)[:300]
                    )
                    await uow.commit()
                return "failed"
            async with SqlUnitOfWork(self.sessions) as uow:
                await uow.reporting.finish_outbox(message.id, status="sent", now=self.clock.now())
                await uow.commit()
            return "sent"

    async def _retry_later(self, message: OutboxMessage, attempts: int, error: str) -> str:
        async with SqlUnitOfWork(self.sessions) as uow:
            if attempts >= self.max_attempts:
                await uow.reporting.finish_outbox(
                    message.id, status="failed", now=self.clock.now(), error=error
                )
                outcome = "failed"
            else:
                delay = timedelta(seconds=self.backoff * 2 ** (attempts - 1))
                await uow.reporting.defer_outbox(message.id, not_before=self.clock.now() + delay, error=error)
                outcome = "deferred"
            await uow.commit()
        log.info("outbox send failed", extra={"outbox_id": message.id, "attempts": attempts, "error": error})
        return outcome

    async def _unreachable(self, message: OutboxMessage) -> None:
        """403: the person blocked the bot. Mark the contact unreachable and tell staff."""
        now = self.clock.now()
        async with SqlUnitOfWork(self.sessions) as uow:
            await uow.reporting.finish_outbox(message.id, status="unreachable", now=now, error="forbidden")
            if message.contact_id is not None:
                contact = await uow.reporting.get_contact(message.contact_id)
                await uow.reporting.set_unreachable(message.contact_id)
                unit = await uow.reporting.get_unit_by_id(contact.unit_id) if contact else None
                for chat in self.staff_chat_ids:
                    await uow.reporting.add_outbox(
                        NewOutboxMessage(
                            key=f"unreach:{message.contact_id}:{chat}",
                            kind="notice",
                            chat_id=chat,
                            text=t(
                                "reporting.staff.unreachable",
                                "vi",
                                contact=contact.name if contact else "?",
                                unit=unit.name_vi if unit else "?",
                            ),
                            not_before=now,
                            created_at=now,
                            contact_id=message.contact_id,
                        )
                    )
            await uow.commit()
        log.info("contact unreachable", extra={"contact_id": message.contact_id})
