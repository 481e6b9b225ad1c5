"""The lease epoch fences the outbox, on SQLite and PostgreSQL: a scheduler that lost its lease claims
nothing, a claim taken before a pause is given back, and the new leader never sends what the old one
claimed. Queued messages whose reason no longer holds are cancelled at send time, not sent."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import pytest
from aiogram import Bot
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.clock import FixedClock
from core.config import Settings
from core.reporting import NewOutboxMessage, OutboxMessage, UnitReport, materialise_reminders, reminder_policy
from scheduler.sender import OutboxSender
from storage.models_reporting import OutboxRow
from storage.repositories_reporting import Lease, acquire_lease
from storage.uow import SqlUnitOfWork
from tests.conftest import NOW
from tests.fake_telegram import FakeTelegramServer
from tests.reporting_helpers import bound_contact, load_with_units
from tests.test_reporting import PERIOD, local

TOKEN = "123456:TEST"
STAFF = 900
TTL = timedelta(seconds=30)


@pytest.fixture
async def server() -> AsyncIterator[FakeTelegramServer]:
    async with FakeTelegramServer(token=TOKEN, strict_chats=False) as server:
        yield server


@pytest.fixture
async def bot(server: FakeTelegramServer) -> AsyncIterator[Bot]:
    bot = Bot(TOKEN, session=AiohttpSession(api=TelegramAPIServer.from_base(server.base_url)))
    yield bot
    await bot.session.close()


def _sender(
    bot: Bot, sessions: async_sessionmaker[AsyncSession], clock: FixedClock, **kw: Any
) -> OutboxSender:
    settings = Settings(_env_file=None, staff_chat_ids=[STAFF])  # type: ignore[call-arg]
    kw.setdefault("rate", 500.0)
    return OutboxSender(
        bot=bot,
        sessions=sessions,
        clock=clock,
        policy=reminder_policy(settings),
        staff_chat_ids=[STAFF],
        chat_interval=0.0,
        **kw,
    )


async def _lease(sessions: async_sessionmaker[AsyncSession], holder: str, clock: FixedClock) -> Lease | None:
    async with sessions() as session:
        return await acquire_lease(session, name="reminders", holder=holder, now=clock.now(), ttl=TTL)


async def _queue(sessions: async_sessionmaker[AsyncSession], count: int) -> None:
    async with SqlUnitOfWork(sessions) as uow:
        for i in range(count):
            await uow.reporting.add_outbox(
                NewOutboxMessage(key=f"q:{i}", kind="notice", chat_id=700 + i, text=f"q{i}", not_before=NOW)
            )
        await uow.commit()


def _texts(server: FakeTelegramServer) -> list[str]:
    return [c.params["text"] for c in server.calls_of("sendMessage", ok=True)]


async def _rows(sessions: async_sessionmaker[AsyncSession]) -> list[tuple[str, str, int, str | None]]:
    async with sessions() as session:
        result = await session.execute(
            select(OutboxRow.key, OutboxRow.status, OutboxRow.attempts, OutboxRow.error).order_by(
                OutboxRow.id
            )
        )
        return [tuple(r) for r in result.all()]  # type: ignore[misc]


async def test_the_epoch_grows_only_when_the_lease_changes_hands(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    clock = FixedClock(NOW)
    a = await _lease(sessions, "a", clock)
    assert a == Lease("reminders", "a", 1)
    clock.advance(seconds=20)
    assert await _lease(sessions, "a", clock) == a  # renewed: same epoch
    assert await _lease(sessions, "b", clock) is None
    clock.advance(seconds=31)
    b = await _lease(sessions, "b", clock)
    assert b == Lease("reminders", "b", 2)
    clock.advance(seconds=31)
    assert await _lease(sessions, "a", clock) == Lease("reminders", "a", 3)


async def test_a_scheduler_that_lost_its_lease_claims_nothing(
    sessions: async_sessionmaker[AsyncSession], server: FakeTelegramServer, bot: Bot
) -> None:
    await _queue(sessions, 5)
    clock = FixedClock(NOW)
    old = await _lease(sessions, "a", clock)
    clock.advance(seconds=31)  # a is paused past its lease; b takes over
    new = await _lease(sessions, "b", clock)
    assert old is not None and new is not None and new.epoch == old.epoch + 1
    assert await _sender(bot, sessions, clock).drain(lease=old) == 0  # a wakes up: fenced off
    assert _texts(server) == []
    assert await _sender(bot, sessions, clock).drain(lease=new) == 5
    assert _texts(server) == [f"q{i}" for i in range(5)]
    assert {(status, attempts) for _k, status, attempts, _e in await _rows(sessions)} == {("sent", 1)}


async def test_a_claim_taken_before_a_pause_is_given_back_not_sent(
    sessions: async_sessionmaker[AsyncSession], server: FakeTelegramServer, bot: Bot
) -> None:
    """The old leader claims q0, then freezes before sending it; the new leader sends the rest but not
    q0; the old one wakes up, finds its claim fenced, gives it back unsent; the new leader sends it."""
    await _queue(sessions, 4)
    clock = FixedClock(NOW)
    old = await _lease(sessions, "a", clock)
    assert old is not None
    paused, resume = asyncio.Event(), asyncio.Event()

    class PausedAfterClaim(OutboxSender):
        async def _claim(self, message: OutboxMessage, lease: Lease) -> str:
            outcome = await super()._claim(message, lease)
            paused.set()
            await resume.wait()
            return outcome

    sender = PausedAfterClaim(
        bot=bot,
        sessions=sessions,
        clock=clock,
        policy=reminder_policy(Settings(_env_file=None)),  # type: ignore[call-arg]
        rate=500.0,
        chat_interval=0.0,
        recheck_after=0.0,
    )
    frozen = asyncio.create_task(sender.drain(lease=old))
    await asyncio.wait_for(paused.wait(), 10)
    assert [r[1] for r in await _rows(sessions)] == ["sending", "pending", "pending", "pending"]

    clock.advance(seconds=31)
    new = await _lease(sessions, "b", clock)
    assert new is not None
    assert await _sender(bot, sessions, clock).drain(lease=new) == 3
    assert _texts(server) == ["q1", "q2", "q3"]  # q0 is claimed by the paused sender: left alone

    resume.set()
    assert await asyncio.wait_for(frozen, 10) == 0  # woke up fenced: sent nothing
    assert _texts(server) == ["q1", "q2", "q3"]
    assert await _sender(bot, sessions, clock).drain(lease=new) == 1
    assert _texts(server) == ["q1", "q2", "q3", "q0"]
    assert {(status, attempts) for _k, status, attempts, _e in await _rows(sessions)} == {("sent", 1)}


async def test_queued_escalation_is_cancelled_when_every_unit_has_submitted(
    sessions: async_sessionmaker[AsyncSession], server: FakeTelegramServer, bot: Bot
) -> None:
    await load_with_units(sessions, NOW)
    contact = await bound_contact(sessions, unit="du-p-hong-bang", chat_id=502, now=NOW)
    settings = Settings(_env_file=None, staff_chat_ids=[STAFF])  # type: ignore[call-arg]
    policy = reminder_policy(settings)
    clock = FixedClock(local("2025-12-07 08:00"))  # late-2: a reminder to District 1
    async with SqlUnitOfWork(sessions) as uow:
        assert (
            await materialise_reminders(uow=uow, policy=policy, staff_chat_ids=[STAFF], now=clock.now()) == 1
        )
    clock.set(local("2025-12-09 08:00"))  # the escalation to staff: 13 units missing
    async with SqlUnitOfWork(sessions) as uow:
        assert (
            await materialise_reminders(uow=uow, policy=policy, staff_chat_ids=[STAFF], now=clock.now()) == 1
        )

    # before anything is sent, every unit of the period reports (District 1 through its contact)
    async with SqlUnitOfWork(sessions) as uow:
        period = next(p for p in await uow.plan.list_periods() if p.code == PERIOD)
        units = [u for u in await uow.reporting.list_units() if u.kind in period.unit_kinds]
        assert len(units) == 13
        for unit in units:
            await uow.reporting.add_report(
                UnitReport(
                    id=0,
                    period_id=period.id,
                    unit_id=unit.id,
                    version=0,
                    kind="offchannel",
                    submitted_at=clock.now(),
                    late=True,
                    contact_id=contact if unit.code == "du-p-hong-bang" else None,
                )
            )
        await uow.commit()

    lease = await _lease(sessions, "a", clock)
    assert lease is not None
    assert await _sender(bot, sessions, clock).drain(lease=lease) == 0
    assert _texts(server) == []
    rows = {
        key.split(":")[0]: (status, attempts, error) for key, status, attempts, error in await _rows(sessions)
    }
    assert rows == {
        "rem": ("cancelled", 0, "obsolete: submitted"),
        "esc": ("cancelled", 0, "obsolete: all_submitted"),
    }


async def test_queued_escalation_still_goes_while_a_unit_is_missing(
    sessions: async_sessionmaker[AsyncSession], server: FakeTelegramServer, bot: Bot
) -> None:
    await load_with_units(sessions, NOW)
    settings = Settings(_env_file=None, staff_chat_ids=[STAFF])  # type: ignore[call-arg]
    clock = FixedClock(local("2025-12-09 08:00"))
    async with SqlUnitOfWork(sessions) as uow:
        await materialise_reminders(
            uow=uow, policy=reminder_policy(settings), staff_chat_ids=[STAFF], now=clock.now()
        )
    lease = await _lease(sessions, "a", clock)
    assert lease is not None
    assert await _sender(bot, sessions, clock).drain(lease=lease) == 1
    assert [c.params["chat_id"] for c in server.calls_of("sendMessage", ok=True)] == [STAFF]
