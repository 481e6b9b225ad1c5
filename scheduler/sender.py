"""Drain the outbox through the Telegram Bot API within its limits.

Exactly one sender may send a message. Before each send the sender *claims* the row in the database:
one UPDATE turns it from ``pending`` to ``sending`` only while the sender's scheduler lease is still
current (same holder, same epoch, unexpired), and commits. A scheduler that was paused (GC, SIGSTOP, a
VM migration) and lost its lease to another one finds its next claim refused, and the new leader never
touches a row claimed by someone else: so neither sends what the other took.

In the same transaction the sender decides whether the message is still wanted (a reminder to a unit
that has reported meanwhile, an escalation once every unit reported): if not, the row is recorded
``cancelled`` and nothing is sent.

Crash safety: a row stays ``sending`` when its sender dies between the claim and recording the outcome;
the lease holder puts it back to ``pending`` after ``claim_timeout`` seconds and sends it again. So a
crash duplicates at most the one message that was in flight, and loses none. The claim timeout must be
longer than any pause a live sender may make between its claim and its send (the Bot API request
timeout included).

Pacing: messages are sent one at a time, evenly spaced at ``rate`` per second overall, and each chat
waits ``chat_interval`` seconds after its previous message (counted from Telegram's answer, so the
server never sees two closer than that). A chat that is not yet allowed is skipped, not waited for:
the sender goes on with the other chats and comes back to it, so a chat owed several messages never
holds up the others. Within one chat, messages keep their outbox order.

Zalo contacts (chat ids from :data:`storage.zalo.ZALO_CHAT_BASE`) are sent through the Zalo OA by
:class:`bot.zalo.reminders.ZaloReminders`, within Zalo's messaging window: a reminder that must wait
(the night) is given back to the outbox untouched; one past the window is recorded unreachable.
"""

from __future__ import annotations

import asyncio
import logging
import time
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
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.render import encode_choice
from bot.zalo.reminders import ZaloReminders
from core.clock import Clock
from core.reporting import (
    OutboxMessage,
    ReminderPolicy,
    obsolete_reason,
    record_send_failure,
    record_unreachable,
)
from storage.models_reporting import OutboxRow
from storage.repositories_reporting import Lease
from storage.uow import SqlUnitOfWork
from storage.zalo import is_zalo_chat

log = logging.getLogger(__name__)
Sleep = Callable[[float], Awaitable[None]]
Monotonic = Callable[[], float]


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
        bot: Bot | None,
        sessions: async_sessionmaker[AsyncSession],
        clock: Clock,
        policy: ReminderPolicy,
        staff_chat_ids: Sequence[int] = (),
        rate: float = 29.0,
        chat_interval: float = 1.0,
        max_attempts: int = 5,
        backoff: float = 2.0,
        claim_timeout: float = 300.0,
        recheck_after: float = 0.5,
        sleep: Sleep = asyncio.sleep,
        monotonic: Monotonic = time.monotonic,
        zalo: ZaloReminders | None = None,
    ) -> None:
        self.bot = bot
        self.zalo = zalo
        self.sessions = sessions
        self.clock = clock
        self.policy = policy
        self.staff_chat_ids = list(staff_chat_ids)
        self.min_interval = 1.0 / rate if rate > 0 else 0.0
        self.chat_interval = chat_interval
        self.max_attempts = max_attempts
        self.backoff = backoff
        self.claim_timeout = timedelta(seconds=claim_timeout)
        self.recheck_after = recheck_after
        self.sleep = sleep
        self.monotonic = monotonic
        self._next_send = 0.0  # monotonic time of the next send allowed overall
        self._next_by_chat: dict[int, float] = {}  # chats not yet allowed: monotonic time they are
        # Telegram chats passed over in this drain because no bot is configured (a Zalo-only
        # deployment): their messages stay pending, untouched, until a bot is configured
        self._no_channel: set[int] = set()

    async def drain(
        self, *, lease: Lease, limit: int = 1000, keep_going: Callable[[], bool] = lambda: True
    ) -> int:
        """Send what is due now while ``lease`` is held; return how many messages were delivered."""
        await self._requeue_stale(lease)
        self._no_channel = set()
        try:
            return await self._drain(lease=lease, limit=limit, keep_going=keep_going)
        finally:
            if self._no_channel:
                log.info(
                    "telegram messages wait: no Telegram bot is configured",
                    extra={"chats": len(self._no_channel), "reason": "telegram_not_configured"},
                )

    async def _drain(self, *, lease: Lease, limit: int, keep_going: Callable[[], bool]) -> int:
        delivered = 0
        while keep_going():
            now = self.clock.now()
            if self.policy.in_quiet_hours(now):
                return delivered
            held = self._held_chats()
            waiting: Sequence[OutboxMessage] = ()
            async with SqlUnitOfWork(self.sessions) as uow:  # read only; each message then has its own
                batch = await uow.reporting.pending_outbox(
                    now=now, limit=min(limit, 100), skip_chats=held.keys() | self._no_channel
                )
                if not batch and held:  # is anything owed to the chats not yet allowed?
                    waiting = await uow.reporting.pending_outbox(now=now, limit=100)
            if not batch:
                owed = [held[m.chat_id] for m in waiting if m.chat_id in held]
                if not owed:
                    return delivered
                await self.sleep(max(0.0, min(owed) - self.monotonic()))
                continue
            progressed = False
            skipped: set[int] = set()  # chats passed over in this batch: their later messages wait too
            for message in batch:
                if not keep_going() or self.policy.in_quiet_hours(self.clock.now()):
                    return delivered
                if self.bot is None and not is_zalo_chat(message.chat_id):
                    self._no_channel.add(message.chat_id)  # left pending: the next batch skips it
                    progressed = True
                    continue
                if message.chat_id in skipped or not self._chat_allowed(message.chat_id):
                    skipped.add(message.chat_id)  # come back to it; the other chats go on meanwhile
                    continue
                outcome = await self._deliver(message, lease, keep_going)
                if outcome in ("fenced", "stopped"):
                    if outcome == "fenced":
                        log.info("scheduler lease lost; sending stops", extra={"epoch": lease.epoch})
                    return delivered
                progressed = progressed or outcome != "deferred"
                delivered += outcome == "sent"
                limit -= 1
                if limit <= 0:
                    return delivered
            if not progressed and not skipped:
                return delivered
        return delivered

    def _held_chats(self) -> dict[int, float]:
        """The chats not yet allowed another message (forgetting those whose time has come)."""
        now = self.monotonic()
        self._next_by_chat = {chat: at for chat, at in self._next_by_chat.items() if at > now}
        return self._next_by_chat

    def _chat_allowed(self, chat_id: int) -> bool:
        return self._next_by_chat.get(chat_id, 0.0) <= self.monotonic()

    async def _requeue_stale(self, lease: Lease) -> None:
        now = self.clock.now()
        async with SqlUnitOfWork(self.sessions) as uow:
            count = await uow.reporting.requeue_stale_claims(
                lease=lease, claimed_before=now - self.claim_timeout, now=now
            )
            await uow.commit()
        if count:
            log.warning("outbox claims of a stopped sender put back", extra={"count": count})

    async def _claim(self, message: OutboxMessage, lease: Lease) -> str:
        """One transaction: decide whether the message is still wanted, then claim or cancel it under
        the lease. ``claimed``, ``cancelled``, ``gone`` (sent, cancelled or deferred meanwhile) or
        ``fenced`` (the lease is no longer ours)."""
        now = self.clock.now()
        # committed before the send (send-then-record): a second sender never takes the same row
        async with SqlUnitOfWork(self.sessions) as uow:
            reason = await obsolete_reason(uow=uow, message=message)
            if reason is not None:
                done = await uow.reporting.cancel_outbox(message.id, lease=lease, now=now, reason=reason)
            else:
                done = await uow.reporting.claim_outbox(message.id, lease=lease, now=now)
            if not done:
                return "gone" if await uow.reporting.lease_held(lease, now=now) else "fenced"
            await uow.commit()
        if reason is not None:
            log.info("outbox message cancelled", extra={"outbox_id": message.id, "reason": reason})
            return "cancelled"
        return "claimed"

    async def _still_ours(self, message: OutboxMessage, lease: Lease) -> bool:
        """After a pause between claim and send: is the claim still ours? If not, give it back."""
        now = self.clock.now()
        async with SqlUnitOfWork(self.sessions) as uow:
            if await uow.reporting.refresh_claim(message.id, lease=lease, now=now):
                await uow.commit()
                return True
            await uow.reporting.release_claim(message.id, lease=lease)
            await uow.commit()
        return False

    async def _release(self, message: OutboxMessage, lease: Lease) -> None:
        async with SqlUnitOfWork(self.sessions) as uow:
            await uow.reporting.release_claim(message.id, lease=lease, attempted=True)
            await uow.commit()

    async def _pace(self, chat_id: int) -> None:
        """Wait for the next overall send slot (the chat is allowed, except when retrying after a 429)."""
        wait = max(self._next_send, self._next_by_chat.get(chat_id, 0.0)) - self.monotonic()
        if wait > 0:
            await self.sleep(wait)

    async def _deliver(self, message: OutboxMessage, lease: Lease, keep_going: Callable[[], bool]) -> str:
        markup = _markup(message)
        attempts = message.attempts
        while True:
            await self._pace(message.chat_id)
            claiming = self.monotonic()
            claim = await self._claim(message, lease)
            if claim != "claimed":
                return claim
            attempts += 1
            try:
                # the last moment before the request: a sender paused since its claim checks it again
                if self.monotonic() - claiming > self.recheck_after and not await self._still_ours(
                    message, lease
                ):
                    return "fenced"
                # the slots stay on their grid when a sleep overruns a little (no drift below the
                # rate); after a longer stall at most one slot is made up (never a burst)
                self._next_send = (
                    max(self.monotonic() - self.min_interval, self._next_send) + self.min_interval
                )
                if is_zalo_chat(message.chat_id):
                    return await self._deliver_zalo(message, lease, attempts)
                if self.bot is None:  # not reached from drain(), which leaves these pending
                    await self._release(message, lease)
                    return "deferred"
                try:
                    await self.bot.send_message(message.chat_id, message.text, reply_markup=markup)
                finally:  # from the answer: Telegram saw the request no later than that
                    self._next_by_chat[message.chat_id] = self.monotonic() + self.chat_interval
            except TelegramRetryAfter as exc:
                log.info("rate limited by Telegram", extra={"retry_after": exc.retry_after})
                await self._release(message, lease)
                await self.sleep(float(exc.retry_after))
                if not keep_going():
                    return "stopped"
                continue  # the same message again: order is kept, nothing is lost
            except TelegramForbiddenError:
                await self._unreachable(message, lease)
                return "unreachable"
            except (TelegramServerError, TelegramNetworkError) as exc:
                return await self._retry_later(message, lease, attempts, type(exc).__name__)
            except TelegramBadRequest as exc:
                log.warning(
                    "outbox message rejected", extra={"outbox_id": message.id, "error": str(exc)[:100]}
                )
                async with SqlUnitOfWork(self.sessions) as uow:
                    await uow.reporting.finish_outbox(
                        message.id,
                        status="failed",
                        now=self.clock.now(),
                        error=str(exc)[:300],
                        claim_epoch=lease.epoch,
                    )
                    await uow.commit()
                return "failed"
            # deliberately a second transaction: the claim was committed before the send, the outcome after it
            async with SqlUnitOfWork(self.sessions) as uow:
                recorded = await uow.reporting.finish_outbox(
                    message.id, status="sent", now=self.clock.now(), claim_epoch=lease.epoch
                )
                await uow.commit()
            if not recorded:  # only after a pause longer than the claim timeout
                log.warning(
                    "outbox message sent after its claim was put back", extra={"outbox_id": message.id}
                )
            return "sent"

    async def _deliver_zalo(self, message: OutboxMessage, lease: Lease, attempts: int) -> str:
        """A reminder to a Zalo contact, within the OA's messaging window (the claim is ours)."""
        if self.zalo is None:
            delivery_verdict, reason = "failed", "zalo_not_configured"
        else:
            delivery = await self.zalo.deliver(message)
            delivery_verdict, reason = delivery.verdict, delivery.reason
        if delivery_verdict == "later":  # back to the outbox as it was: tried again at a later tick
            async with SqlUnitOfWork(self.sessions) as uow:
                await uow.reporting.release_claim(message.id, lease=lease)
                await uow.commit()
            return "deferred"
        if delivery_verdict == "unreachable":
            log.info("zalo contact needs another channel", extra={"reason": reason})
            await self._unreachable(message, lease)
            async with self.sessions() as session:  # why, in the outbox: window, budget, unfollowed
                await session.execute(
                    update(OutboxRow).where(OutboxRow.id == message.id).values(error=reason)
                )
                await session.commit()
            return "unreachable"
        if delivery_verdict == "retry":
            return await self._retry_later(message, lease, attempts, reason)
        async with SqlUnitOfWork(self.sessions) as uow:
            await uow.reporting.finish_outbox(
                message.id,
                status="sent" if delivery_verdict == "sent" else "failed",
                now=self.clock.now(),
                error=None if delivery_verdict == "sent" else reason,
                claim_epoch=lease.epoch,
            )
            await uow.commit()
        return "sent" if delivery_verdict == "sent" else "failed"

    async def _retry_later(self, message: OutboxMessage, lease: Lease, attempts: int, error: str) -> str:
        async with SqlUnitOfWork(self.sessions) as uow:
            outcome = await record_send_failure(
                uow=uow,
                message=message,
                attempts=attempts,
                max_attempts=self.max_attempts,
                backoff_seconds=self.backoff,
                error=error,
                now=self.clock.now(),
                claim_epoch=lease.epoch,
            )
        log.info("outbox send failed", extra={"outbox_id": message.id, "attempts": attempts, "error": error})
        return outcome

    async def _unreachable(self, message: OutboxMessage, lease: Lease) -> None:
        """403: the person blocked the bot. Mark the contact unreachable and tell staff."""
        async with SqlUnitOfWork(self.sessions) as uow:
            await record_unreachable(
                uow=uow,
                message=message,
                staff_chat_ids=self.staff_chat_ids,
                now=self.clock.now(),
                claim_epoch=lease.epoch,
            )
        log.info("contact unreachable", extra={"contact_id": message.contact_id})
