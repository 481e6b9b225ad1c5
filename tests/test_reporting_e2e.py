"""End to end through the fake Telegram Bot API (real HTTP, the real dispatcher polling, the real sender):
invite → bind → reminder → submit a file → no more reminders; 429 keeps order and loses nothing;
403 marks the contact unreachable and tells staff; a crash between send and record duplicates at most
the one in-flight message and a restart resumes."""

from __future__ import annotations

import asyncio
import contextlib
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from aiogram import Bot, Dispatcher
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.runtime import build_dispatcher
from core.clock import FixedClock
from core.config import Settings
from core.reporting import (
    ComplianceStatus,
    NewOutboxMessage,
    confirm_offchannel,
    invite_contact,
    materialise_reminders,
    period_compliance,
    reminder_policy,
    report_id_of_receipt,
    report_receipt_code,
)
from scheduler.sender import OutboxSender
from storage.db import create_engine, session_factory
from storage.models_reporting import ContactRow, OutboxRow
from storage.repositories_reporting import acquire_lease
from storage.uow import SqlUnitOfWork
from tests.conftest import NOW
from tests.e2e_support import PoolWatch
from tests.fake_telegram import FakeTelegramServer
from tests.reporting_helpers import PDF, bound_contact, load_with_units
from tests.test_reporting import PERIOD, local

pytestmark = pytest.mark.e2e
TOKEN = "123456:TEST"
STAFF = 900


@dataclass
class World:
    server: FakeTelegramServer
    bot: Bot
    sessions: async_sessionmaker[AsyncSession]
    settings: Settings
    clock: FixedClock

    def sender(self, **kwargs: Any) -> OutboxSender:
        kwargs.setdefault("rate", 200.0)
        kwargs.setdefault("chat_interval", 0.0)
        return OutboxSender(
            bot=self.bot,
            sessions=self.sessions,
            clock=self.clock,
            policy=reminder_policy(self.settings),
            staff_chat_ids=[STAFF],
            backoff=0.01,
            **kwargs,
        )

    async def drain(
        self, sender: OutboxSender | None = None, *, holder: str = "test", ttl: float = 3600
    ) -> int:
        """Take (or renew) the scheduler lease as ``holder`` at the clock's time, then drain."""
        async with self.sessions() as session:
            lease = await acquire_lease(
                session, name="reminders", holder=holder, now=self.clock.now(), ttl=timedelta(seconds=ttl)
            )
        assert lease is not None
        return await (sender or self.sender()).drain(lease=lease)

    async def materialise(self) -> int:
        async with SqlUnitOfWork(self.sessions) as uow:
            return await materialise_reminders(
                uow=uow, policy=reminder_policy(self.settings), staff_chat_ids=[STAFF], now=self.clock.now()
            )

    def texts(self, chat_id: int | None = None) -> list[str]:
        return [c.params["text"] for c in self.server.calls_of("sendMessage", chat_id, ok=True)]


@pytest.fixture
async def world(sqlite_database: str, tmp_path: Path) -> AsyncIterator[World]:
    engine = create_engine(sqlite_database)
    sessions = session_factory(engine)
    await load_with_units(sessions, NOW)
    async with FakeTelegramServer(token=TOKEN, bot_username="gopy_test_bot", strict_chats=False) as server:
        settings = Settings(  # type: ignore[call-arg]
            _env_file=None,
            database_url=sqlite_database,
            telegram_bot_token=TOKEN,
            telegram_api_base=server.base_url,
            files_dir=tmp_path / "files",
            staff_chat_ids=[STAFF],
        )
        session = AiohttpSession(api=TelegramAPIServer.from_base(server.base_url))
        bot = Bot(TOKEN, session=session)
        yield World(server, bot, sessions, settings, FixedClock(local("2025-11-28 08:00")))
        if session._session is not None:
            await session._session.close()
    await engine.dispose()


@pytest.fixture
async def polling(world: World) -> AsyncIterator[Dispatcher]:
    dp = build_dispatcher(world.settings, world.sessions, clock=world.clock)
    task = asyncio.create_task(dp.start_polling(world.bot, handle_signals=False, close_bot_session=False))
    yield dp
    with contextlib.suppress(RuntimeError):
        await asyncio.wait_for(dp.stop_polling(), 5)
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


async def test_invite_bind_remind_submit_then_silence(world: World, polling: Dispatcher) -> None:
    async with SqlUnitOfWork(world.sessions) as uow:
        invite = await invite_contact(
            uow=uow, unit_code="mttq", name="Lan", now=world.clock.now(), ttl=timedelta(days=3)
        )
    lan = world.server.user(1001, first_name="Lan", language_code="vi")

    # an unknown invite gets a clear message; the real one shows the unit and asks to confirm
    reply = await lan.command_and_wait("start", "u-not-a-real-token")
    assert "không hợp lệ" in reply.text
    reply = await lan.command_and_wait("start", invite.payload)
    assert "Ủy ban Mặt trận Tổ quốc Việt Nam thành phố" in reply.text
    # a short privacy notice, naming the issuing body, before anything about the person is stored
    assert "Thông báo về dữ liệu cá nhân" in reply.text and world.settings.org_name in reply.text
    assert "mã cuộc trò chuyện Telegram" in reply.text
    async with world.sessions() as session:
        row = await session.get(ContactRow, invite.contact.id)
        assert row is not None and row.chat_id is None and row.status == "invited"
    await lan.tap("Xác nhận")
    assert any("Đồng chí đã là đầu mối" in m.text for m in lan.last_reply)
    # the invite is single use
    reply = await lan.command_and_wait("start", invite.payload)
    assert "đã được sử dụng" in reply.text

    # T-7: the scheduler queues and sends the reminder with its three buttons
    assert await world.materialise() == 1
    assert await world.drain() == 1
    reminder = (await lan.wait_reply())[-1]
    assert "Hạn cuối: hết ngày 04/12/2025 (còn 6 ngày)" in reminder.text and "00:00" not in reminder.text
    assert reminder.button_texts() == ["Nộp báo cáo", "Đã gửi qua kênh khác", "Nhắc lại sau"]

    # "Nộp báo cáo" from the reminder starts the submission for that period
    reply = await lan.tap("Nộp báo cáo", reminder)
    assert "Gửi tệp báo cáo" in reply.text
    # a text file named .pdf is refused by content; nothing is stored
    await lan.send_document("bao-cao.pdf", b"just text pretending to be a PDF", "application/pdf")
    reply = (await lan.wait_reply())[-1]
    assert "không đúng định dạng" in reply.text
    assert not (world.settings.files_dir).exists() or not any(world.settings.files_dir.rglob("*"))
    # after a refused file: a button to send again (the request for the file, same period)
    assert reply.button_texts() == ["Gửi lại tệp", "Hủy"]
    reply = await lan.tap("Gửi lại tệp", reply)
    assert "Gửi tệp báo cáo" in reply.text and "Hạn cuối: hết ngày 04/12/2025" in reply.text
    # above the 20 MB a bot may download: refused before downloading
    downloads = len(world.server.calls_of("getFile"))
    await lan.send_document("bao-cao.pdf", PDF, "application/pdf", file_size=25 * 1024 * 1024)
    reply = (await lan.wait_reply())[-1]
    assert "quá lớn" in reply.text and reply.button_texts() == ["Gửi lại tệp", "Hủy"]
    assert len(world.server.calls_of("getFile")) == downloads
    await lan.send_document("Báo cáo tháng 11 - MTTQ.pdf", PDF, "application/pdf")
    reply = (await lan.wait_reply())[-1]
    assert "Đã nhận tệp PDF" in reply.text
    reply = await lan.say("Nhân dân phấn khởi, tin tưởng")
    assert "Số ý kiến" in reply.text
    reply = await lan.say("1250")
    # the check screen: the file by the name it was sent under, numbers with thousands separators
    assert "Tệp: Báo cáo tháng 11 - MTTQ.pdf (PDF, 1 KB)" in reply.text
    assert "Số ý kiến thu được: 1.250" in reply.text
    await lan.tap("Xác nhận nộp")
    [receipt] = [m.text for m in lan.last_reply if "Đã nhận báo cáo" in m.text]
    assert "lần nộp thứ 1" in receipt

    async with SqlUnitOfWork(world.sessions) as uow:
        rows = {
            r.unit_code: r
            for r in await period_compliance(uow=uow, period_code=PERIOD, now=world.clock.now())
        }
    assert rows["mttq"].status is ComplianceStatus.ON_TIME
    # the receipt is a proper code (BC-XXXXXX) that staff can read back to the report
    code = re.search(r"mã biên nhận (BC-[2-9A-Z]{6})", receipt)
    assert code is not None and "mã 1" not in receipt
    assert report_id_of_receipt(code.group(1)) == rows["mttq"].report_id
    assert code.group(1) == report_receipt_code(rows["mttq"].report_id or 0)
    assert len(list(world.settings.files_dir.rglob("*"))) >= 1

    # T-3, T-1: the unit has submitted, so nothing more is queued or sent
    for at in ("2025-12-01 08:00", "2025-12-04 08:00", "2025-12-06 08:00"):
        world.clock.set(local(at))
        await world.materialise()
        await world.drain()
    await lan.assert_no_reply()
    assert sum("Nhắc hạn" in text for text in world.texts(1001)) == 1

    # the citizen conversation still answers everything else
    reply = await lan.command_and_wait("start")
    assert reply.text and "đầu mối" not in reply.text


async def test_quiet_hours_snooze_offchannel_and_stop(world: World, polling: Dispatcher) -> None:
    await bound_contact(world.sessions, unit="hoi-pn", chat_id=1002, now=NOW, name="Hoa")
    hoa = world.server.user(1002, first_name="Hoa", language_code="vi", started=True)
    world.clock.set(local("2025-11-28 22:00"))  # the T-7 reminder (and the staff digest) are due: quiet hours
    assert await world.materialise() == 2
    assert await world.drain() == 0
    await hoa.assert_no_reply()
    world.clock.set(local("2025-11-29 07:00"))
    assert await world.drain() == 2
    assert "Tình hình nộp báo cáo ngày 28/11/2025" in world.texts(STAFF)[0]
    reminder = (await hoa.wait_reply())[-1]

    await hoa.press("Nhắc lại sau", reminder)
    await hoa.wait_reply()
    assert any("Sẽ nhắc lại lúc 11:00 29/11/2025" in a for a in hoa.callback_answers)
    # "Đã gửi qua kênh khác" asks first: one tap records nothing, «Hủy» leaves it so
    reply = await hoa.tap("Đã gửi qua kênh khác", reminder)
    assert "qua kênh khác" in reply.text and reply.button_texts() == ["Xác nhận", "Hủy"]
    async with SqlUnitOfWork(world.sessions) as uow:
        rows = {
            r.unit_code: r
            for r in await period_compliance(uow=uow, period_code=PERIOD, now=world.clock.now())
        }
    assert rows["hoi-pn"].status is ComplianceStatus.MISSING
    await hoa.tap("Hủy", reply)
    reply = await hoa.tap("Đã gửi qua kênh khác", reminder)
    reply = await hoa.tap("Xác nhận", reply)
    assert "Đã ghi nhận" in reply.text
    async with SqlUnitOfWork(world.sessions) as uow:
        rows = {
            r.unit_code: r
            for r in await period_compliance(uow=uow, period_code=PERIOD, now=world.clock.now())
        }
    assert rows["hoi-pn"].status is ComplianceStatus.CLAIMED and rows["hoi-pn"].report_id is not None
    async with SqlUnitOfWork(world.sessions) as uow:
        confirmed = await confirm_offchannel(
            uow=uow, report_id=rows["hoi-pn"].report_id, now=world.clock.now()
        )
    assert confirmed.confirmed_at is not None and not confirmed.late

    # the snoozed reminder comes due, but the unit has reported meanwhile: it is dropped
    world.clock.set(local("2025-11-29 11:00"))
    assert await world.drain() == 0
    async with world.sessions() as session:
        snoozed = await session.scalar(select(OutboxRow).where(OutboxRow.key.like("snz:%")))
    assert snoozed is not None and snoozed.status == "cancelled"

    # /stop_reminders asks first (leaving spends the invite); «Hủy» keeps the contact
    reply = await hoa.command_and_wait("stop_reminders")
    assert "lời mời mới" in reply.text and reply.button_texts() == ["Thôi nhận nhắc hạn", "Hủy"]
    reply = await hoa.tap("Hủy", reply)
    assert "Đầu mối báo cáo" in reply.text  # still the contact: the menu
    reply = await hoa.command_and_wait("stop_reminders")
    reply = await hoa.tap("Thôi nhận nhắc hạn", reply)
    assert "không nhận nhắc nhở nữa" in reply.text
    reply = await hoa.command_and_wait("unit")
    assert "chưa là đầu mối" in reply.text


async def test_deadlines_show_upcoming_by_date_and_overdue_once(world: World, polling: Dispatcher) -> None:
    await bound_contact(world.sessions, unit="mttq", chat_id=1004, now=NOW, name="Nga")
    nga = world.server.user(1004, first_name="Nga", language_code="vi", started=True)
    reply = await nga.command_and_wait("unit")
    reply = await nga.tap("Hạn nộp sắp tới", reply)
    lines = reply.text.splitlines()
    assert lines[:2] == [
        "Hạn nộp báo cáo của Ủy ban Mặt trận Tổ quốc Việt Nam thành phố:",
        "Đang diễn ra và sắp tới:",
    ]
    gap = lines.index("")
    upcoming, overdue = lines[2:gap], lines[gap + 1 :]
    # the two periods not yet due, in date order, then the one overdue (the older ones are not listed)
    assert [re.sub(r"^• .* — ", "", line) for line in upcoming] == [
        "Hạn cuối: hết ngày 04/12/2025 (còn 6 ngày)",
        "Hạn cuối: hết ngày 04/02/2026 (còn 68 ngày)",
    ]
    assert overdue[0] == "Đã quá hạn, chưa nộp:"
    assert [re.sub(r"^• .* — ", "", line) for line in overdue[1:]] == [
        "Hạn cuối: hết ngày 04/11/2025 (đã quá hạn 23 ngày)"
    ]
    assert "00:00" not in reply.text and len(set(lines[2:])) == len(lines[2:])  # each period once


async def test_429_keeps_order_and_loses_nothing(world: World) -> None:
    async with SqlUnitOfWork(world.sessions) as uow:
        for i in range(10):
            msg = NewOutboxMessage(key=f"t:{i}", kind="notice", chat_id=700 + i, text=f"m{i}", not_before=NOW)
            await uow.reporting.add_outbox(msg)
        await uow.commit()
    world.server.set_rate_limits(global_per_second=4, retry_after=1)
    assert await world.drain() == 10
    assert world.texts() == [f"m{i}" for i in range(10)]
    assert any(c.status == 429 for c in world.server.calls_of("sendMessage"))
    async with world.sessions() as session:
        assert set(await session.scalars(select(OutboxRow.status))) == {"sent"}


async def test_403_marks_contact_unreachable_and_tells_staff(world: World) -> None:
    contact_id = await bound_contact(world.sessions, unit="du-p-hong-bang", chat_id=503, now=NOW)
    world.server.block_chat(503)
    assert await world.materialise() == 1
    await world.drain()
    async with world.sessions() as session:
        contact = await session.get(ContactRow, contact_id)
        assert contact is not None and contact.reachable is False
        statuses = dict((await session.execute(select(OutboxRow.kind, OutboxRow.status))).all())
    assert statuses == {"reminder": "unreachable", "notice": "sent"}
    assert any("đã chặn bot" in text for text in world.texts(STAFF))
    # an unreachable contact gets no further reminders
    world.clock.set(local("2025-12-01 08:00"))
    assert await world.materialise() == 0


async def test_transient_errors_are_retried_with_backoff(world: World) -> None:
    async with SqlUnitOfWork(world.sessions) as uow:
        await uow.reporting.add_outbox(
            NewOutboxMessage(key="x", kind="notice", chat_id=42, text="hi", not_before=NOW)
        )
        await uow.commit()
    world.server.fail_next("sendMessage", 502, count=2)
    sender = world.sender()
    assert await world.drain(sender) == 0  # deferred after the first failure
    for _ in range(2):
        world.clock.advance(seconds=60)
        await world.drain(sender)
    assert world.texts(42) == ["hi"]


async def test_crash_between_send_and_record_duplicates_at_most_one(world: World) -> None:
    async with SqlUnitOfWork(world.sessions) as uow:
        for i in range(6):
            msg = NewOutboxMessage(key=f"c:{i}", kind="notice", chat_id=800 + i, text=f"c{i}", not_before=NOW)
            await uow.reporting.add_outbox(msg)
        await uow.commit()
    first = world.sender()
    drain = asyncio.create_task(world.drain(first, ttl=90))
    original = world.server._methods["sendmessage"][1]
    delivered = 0

    def crash_after_third(call: Any) -> Any:
        nonlocal delivered
        result = original(call)
        delivered += 1
        if delivered == 3:
            drain.cancel()  # the process dies after Telegram got message 3, before it is recorded
        return result

    world.server.register_method("sendMessage", crash_after_third)
    with contextlib.suppress(asyncio.CancelledError):
        await drain
    world.server.register_method("sendMessage", original)
    assert world.texts() == ["c0", "c1", "c2"]

    # the restarted scheduler (a new holder, so a new lease epoch) leaves c2 alone while the dead
    # sender's claim may still be live, and puts it back once the claim timeout has passed
    world.clock.advance(seconds=91)  # the dead scheduler's lease expires
    assert await world.drain(holder="restarted") == 3
    assert world.texts() == ["c0", "c1", "c2", "c3", "c4", "c5"]
    world.clock.advance(seconds=300)
    assert await world.drain(holder="restarted") == 1  # c2 again: the one that was in flight
    assert world.texts() == ["c0", "c1", "c2", "c3", "c4", "c5", "c2"]
    async with world.sessions() as session:
        assert set(await session.scalars(select(OutboxRow.status))) == {"sent"}


async def test_gopy_run_also_runs_the_scheduler(world: World, tmp_path: Path) -> None:
    from api.app import create_app
    from scheduler.service import start_scheduler

    heartbeat = tmp_path / "var" / "scheduler.heartbeat"
    settings = world.settings.model_copy(update={"heartbeat_file": heartbeat, "scheduler_tick_seconds": 0.2})
    await bound_contact(world.sessions, unit="du-p-ngo-quyen", chat_id=1003, now=NOW)
    app = create_app(settings, clock=world.clock, poll=True, background=start_scheduler)  # as `gopy run`
    async with app.router.lifespan_context(app):
        for _ in range(100):
            if world.texts(1003):
                break
            await asyncio.sleep(0.05)
        assert "leader=True" in heartbeat.read_text()
    assert len(world.texts(1003)) == 1 and "Nhắc hạn" in world.texts(1003)[0]


async def test_a_report_is_downloaded_with_no_database_connection_held(
    world: World, polling: Dispatcher
) -> None:
    await bound_contact(world.sessions, unit="hoi-pn", chat_id=1003, now=NOW, name="Mai")
    mai = world.server.user(1003, first_name="Mai", language_code="vi", started=True)
    assert await world.materialise() == 1  # the T-7 reminder
    assert await world.drain() == 1
    reminder = (await mai.wait_reply())[-1]
    watch = PoolWatch(world.sessions.kw["bind"])  # from here on only the bot's updates use the database
    await mai.tap("Nộp báo cáo", reminder)
    await mai.send_document("bao-cao.pdf", PDF, "application/pdf")
    reply = (await mai.wait_reply())[-1]
    assert "Đã nhận tệp PDF" in reply.text
    [get_file] = world.server.calls_of("getFile")
    assert watch.out_at(get_file.at) == 0  # the update gave its connection back before downloading
    assert watch.peak == 1
