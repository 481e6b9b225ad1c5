"""The sender's pacing, on an injected clock (no timing assertions): a chat owed several messages never
holds up the others, each chat still gets at most one message per interval, in its own outbox order."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import pytest
from aiogram import Bot
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.clock import FixedClock
from core.config import Settings
from core.reporting import NewOutboxMessage, reminder_policy
from scheduler.sender import OutboxSender
from storage.repositories_reporting import acquire_lease
from storage.uow import SqlUnitOfWork
from tests.conftest import NOW
from tests.fake_telegram import FakeTelegramServer

TOKEN = "123456:TEST"


class FakeTime:
    """A monotonic clock that moves only when the sender sleeps."""

    def __init__(self) -> None:
        self.now = 0.0
        self.sends: list[tuple[float, int, str]] = []

    def monotonic(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.now += max(0.0, seconds)
        await asyncio.sleep(0)


@pytest.fixture
async def server() -> AsyncIterator[FakeTelegramServer]:
    async with FakeTelegramServer(token=TOKEN, strict_chats=False) as server:
        yield server


@pytest.fixture
async def bot(server: FakeTelegramServer) -> AsyncIterator[Bot]:
    bot = Bot(TOKEN, session=AiohttpSession(api=TelegramAPIServer.from_base(server.base_url)))
    yield bot
    await bot.session.close()


async def _queue(sessions: async_sessionmaker[AsyncSession], messages: list[tuple[int, str]]) -> None:
    async with SqlUnitOfWork(sessions) as uow:
        for i, (chat_id, text) in enumerate(messages):
            await uow.reporting.add_outbox(
                NewOutboxMessage(key=f"p:{i}", kind="notice", chat_id=chat_id, text=text, not_before=NOW)
            )
        await uow.commit()


async def _drain(bot: Bot, sessions: async_sessionmaker[AsyncSession], fake: FakeTime, **kw: Any) -> int:
    clock = FixedClock(NOW)
    send = bot.send_message

    async def recording_send(chat_id: int, text: str, **kwargs: Any) -> Any:
        fake.sends.append((fake.now, chat_id, text))
        return await send(chat_id, text, **kwargs)

    bot.send_message = recording_send  # type: ignore[method-assign]
    sender = OutboxSender(
        bot=bot,
        sessions=sessions,
        clock=clock,
        policy=reminder_policy(Settings(_env_file=None)),  # type: ignore[call-arg]
        sleep=fake.sleep,
        monotonic=fake.monotonic,
        **kw,
    )
    async with sessions() as session:
        lease = await acquire_lease(
            session, name="reminders", holder="a", now=clock.now(), ttl=timedelta(hours=1)
        )
    assert lease is not None
    return await sender.drain(lease=lease, limit=10_000)


def _per_chat_gaps(sends: list[tuple[float, int, str]]) -> list[float]:
    last: dict[int, float] = {}
    gaps = []
    for at, chat, _text in sends:
        if chat in last:
            gaps.append(at - last[chat])
        last[chat] = at
    return gaps


async def test_a_chat_owed_several_messages_does_not_hold_up_the_others(
    sessions: async_sessionmaker[AsyncSession], server: FakeTelegramServer, bot: Bot
) -> None:
    await _queue(sessions, [(700, "a0"), (700, "a1"), (700, "a2"), (701, "b"), (702, "c"), (703, "d")])
    fake = FakeTime()
    assert await _drain(bot, sessions, fake, rate=10.0, chat_interval=1.0) == 6
    texts = [c.params["text"] for c in server.calls_of("sendMessage", ok=True)]
    assert texts == ["a0", "b", "c", "d", "a1", "a2"]  # b, c, d do not wait behind chat 700
    assert [round(at, 3) for at, _chat, _text in fake.sends[:4]] == [0.0, 0.1, 0.2, 0.3]  # 10/s overall
    assert all(gap >= 1.0 for gap in _per_chat_gaps(fake.sends))  # still one per second per chat
    assert fake.now == pytest.approx(2.0)  # only chat 700's own spacing was waited for


async def test_more_messages_for_one_chat_than_a_batch_do_not_hide_the_next_chat(
    sessions: async_sessionmaker[AsyncSession], server: FakeTelegramServer, bot: Bot
) -> None:
    await _queue(sessions, [(700, f"a{i}") for i in range(105)] + [(701, "b")])
    fake = FakeTime()
    assert await _drain(bot, sessions, fake, rate=10.0, chat_interval=1.0) == 106
    texts = [c.params["text"] for c in server.calls_of("sendMessage", ok=True)]
    assert texts[:2] == ["a0", "b"]
    assert texts[2:] == [f"a{i}" for i in range(1, 105)]  # the chat's own order is kept
    assert all(gap >= 1.0 for gap in _per_chat_gaps(fake.sends))
