"""Unit contacts on Zalo: binding by typing the invite code to the OA (the real app over HTTP), and
reminders within Zalo's messaging window (the real outbox sender against the fake OA)."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiogram import Bot
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from api.app import create_app
from bot.zalo.client import TokenKeeper, ZaloClient
from bot.zalo.reminders import ZaloReminders
from core.clock import FixedClock
from core.config import Settings
from core.reporting import NewOutboxMessage, invite_contact, materialise_reminders, reminder_policy
from scheduler.sender import OutboxSender
from scheduler.service import start_scheduler
from storage import zalo as store
from storage.db import create_engine, session_factory
from storage.models_reporting import ContactRow, OutboxRow, UnitReportRow, UnitRow
from storage.models_zalo import ZaloUserRow
from storage.repositories_reporting import acquire_lease
from storage.uow import SqlUnitOfWork
from tests.conftest import NOW
from tests.fake_zalo import FakeZaloServer
from tests.reporting_helpers import bound_contact, load_with_units
from tests.staff_console import console_app
from tests.webchat_client import free_port, serve
from tests.zalo_support import connect_oa, zalo_app, zalo_settings

STAFF = 900
ZALO_ID = "8123456789012345678901"


async def until(condition: Callable[[], Awaitable[bool]], checks: int = 750) -> None:
    """Wait on a condition read from the database (never a fixed sleep): re-read until it holds."""
    for _ in range(checks):
        if await condition():
            return
        await asyncio.sleep(0.02)
    raise AssertionError("the condition never held")


@pytest.fixture
async def zalo() -> AsyncIterator[FakeZaloServer]:
    async with FakeZaloServer() as server:
        yield server


async def test_a_contact_binds_by_typing_the_invite_code_to_the_oa(
    sqlite_database: str, zalo: FakeZaloServer
) -> None:
    engine = create_engine(sqlite_database)
    sessions = session_factory(engine)
    try:
        await load_with_units(sessions, NOW)
        async with SqlUnitOfWork(sessions) as uow:
            invite = await invite_contact(
                uow=uow, unit_code="doan-tn", name="Lan", now=datetime.now(UTC), ttl=timedelta(days=3)
            )
        await connect_oa(sqlite_database, zalo)
        async with zalo_app(sqlite_database, zalo, user_id=ZALO_ID) as (_webhook, user, _inbox):
            await user.follow()
            await user.say(f"  {invite.payload} ")
            assert "Thành đoàn" in user.texts(), user.texts()
            [confirm] = [b for b in user.buttons() if b != "Hủy" and b != "Huỷ"][:1]
            await user.tap(confirm)
            assert "Thành đoàn" in user.texts()
            assert "Đồng chí đã là đầu mối của Thành đoàn" in user.texts()
            # the contact's menu buttons go to the contact conversation, and so do its commands
            await user.tap(user.buttons()[0])
            assert "Hạn nộp báo cáo của Thành đoàn" in user.texts()
            await user.say("/unit")
            assert "Đầu mối báo cáo — Thành đoàn" in user.texts()
            # the citizen conversation is still there for the same person
            await user.say("/menu")
            assert "Kính chào Quý vị" in user.texts()
        async with sessions() as session:
            zalo_user = await session.scalar(select(ZaloUserRow).where(ZaloUserRow.zalo_user_id == ZALO_ID))
            assert zalo_user is not None
            contact = await session.get(ContactRow, invite.contact.id)
            assert contact is not None and contact.status == "active"
            assert contact.chat_id == store.ZALO_CHAT_BASE + zalo_user.id and contact.channel == "zalo"
    finally:
        await engine.dispose()


class World:
    def __init__(self, sessions: async_sessionmaker[AsyncSession], zalo: FakeZaloServer, http: Any) -> None:
        self.sessions = sessions
        self.zalo = zalo
        self.clock = FixedClock(NOW)
        tokens = TokenKeeper(
            sessions=sessions,
            http=http,
            oauth_base=zalo.base_url,
            app_id=zalo.app_id,
            app_secret=zalo.app_secret,
            clock=self.clock,
        )
        self.client = ZaloClient(http=http, tokens=tokens, api_base=zalo.base_url)
        self.bot = Bot("123456:UNUSED")  # Telegram is never called for Zalo contacts

    def sender(self, budget: int = 0) -> OutboxSender:
        settings = Settings(_env_file=None, staff_chat_ids=[STAFF], quiet_hours="")  # type: ignore[call-arg]
        reminders = ZaloReminders(
            sessions=self.sessions,
            client=self.client,
            clock=self.clock,
            tz=settings.tz,
            monthly_budget=budget,
        )
        return OutboxSender(
            bot=self.bot,
            sessions=self.sessions,
            clock=self.clock,
            policy=reminder_policy(settings),
            staff_chat_ids=[STAFF],
            chat_interval=0.0,
            rate=500.0,
            zalo=reminders,
        )

    async def contact(self, zalo_id: str, *, last_seen: timedelta, unit: str = "doan-tn") -> tuple[int, int]:
        """A Zalo user who last wrote ``last_seen`` ago, bound as a contact; (contact id, chat id)."""
        async with self.sessions() as session:
            key = await store.touch_user(
                session, zalo_id, now=self.clock.now() - last_seen, interacted=True, followed=True
            )
            await session.commit()
        self.zalo.set_last_interaction(zalo_id, self.zalo.now() - last_seen.total_seconds())
        chat = store.ZALO_CHAT_BASE + key
        return await bound_contact(self.sessions, unit=unit, chat_id=chat, now=self.clock.now()), chat

    async def remind(self, key: str, contact_id: int, chat_id: int) -> None:
        async with SqlUnitOfWork(self.sessions) as uow:
            await uow.reporting.add_outbox(
                NewOutboxMessage(
                    key=key,
                    kind="reminder",
                    chat_id=chat_id,
                    contact_id=contact_id,
                    text="Nhắc hạn: báo cáo tháng 11 hạn ngày 05/12.",
                    buttons=[[("Gửi báo cáo", "rp:r:1"), ("Đã gửi qua kênh khác", "rp:o:1")]],
                    not_before=self.clock.now(),
                )
            )
            await uow.commit()

    async def drain(self, budget: int = 0) -> int:
        async with self.sessions() as session:
            lease = await acquire_lease(
                session, name="reminders", holder="t", now=self.clock.now(), ttl=timedelta(minutes=5)
            )
        assert lease is not None
        return await self.sender(budget).drain(lease=lease)

    async def error(self, key: str) -> str | None:
        async with self.sessions() as session:
            return await session.scalar(select(OutboxRow.error).where(OutboxRow.key == key))

    async def outbox(self) -> dict[str, tuple[str, str | None]]:
        async with self.sessions() as session:
            rows = (await session.execute(select(OutboxRow.key, OutboxRow.status, OutboxRow.channel))).all()
            return {k: (status, channel) for k, status, channel in rows}

    async def reachable(self, contact_id: int) -> bool:
        async with self.sessions() as session:
            contact = await session.get(ContactRow, contact_id)
            assert contact is not None
            return contact.reachable


@pytest.fixture
async def world(zalo: FakeZaloServer, sessions: async_sessionmaker[AsyncSession]) -> AsyncIterator[World]:
    await load_with_units(sessions, NOW)
    access, refresh = zalo.issue_pair()
    await store.store_first_pair(
        sessions, access=access, refresh=refresh, expires_at=NOW + timedelta(hours=25), now=NOW
    )
    async with aiohttp.ClientSession() as http:
        world = World(sessions, zalo, http)
        yield world
        await world.bot.session.close()


async def test_a_reminder_within_48_hours_is_sent_with_its_buttons(world: World) -> None:
    contact, chat = await world.contact(ZALO_ID, last_seen=timedelta(hours=30))
    await world.remind("r1", contact, chat)
    assert await world.drain() == 1
    [sent] = world.zalo.messages(ZALO_ID)
    assert sent.text.startswith("Nhắc hạn")
    assert [(b["title"], b["payload"]) for b in sent.buttons] == [
        ("Gửi báo cáo", "gopy:c:0:rp:r:1"),
        ("Đã gửi qua kênh khác", "gopy:c:0:rp:o:1"),
    ]
    assert (await world.outbox())["r1"] == ("sent", "zalo")


async def test_no_reminder_goes_at_night_it_waits_for_the_morning(world: World) -> None:
    contact, chat = await world.contact(ZALO_ID, last_seen=timedelta(hours=2))
    world.clock.set(datetime(2025, 11, 20, 16, 30, tzinfo=UTC))  # 23:30 in Hanoi
    await world.remind("r1", contact, chat)
    assert await world.drain() == 0
    assert world.zalo.sent == [] and (await world.outbox())["r1"] == ("pending", "zalo")
    world.clock.set(datetime(2025, 11, 20, 23, 30, tzinfo=UTC))  # 06:30 in Hanoi
    assert await world.drain() == 1
    assert (await world.outbox())["r1"] == ("sent", "zalo")


async def test_between_48_hours_and_7_days_only_within_the_monthly_budget(world: World) -> None:
    first, first_chat = await world.contact(ZALO_ID, last_seen=timedelta(days=3))
    second, second_chat = await world.contact(
        "8100000000000000000009", last_seen=timedelta(days=4), unit="hoi-pn"
    )
    await world.remind("r1", first, first_chat)
    await world.remind("r2", second, second_chat)
    assert await world.drain(budget=1) == 1
    outbox = await world.outbox()
    assert outbox["r1"] == ("sent", "zalo")
    assert outbox["r2"] == ("unreachable", "zalo")  # the budget is spent: needs another channel
    assert await world.error("r2") == "zalo_budget"
    assert await world.reachable(first) and not await world.reachable(second)
    assert any(k.startswith("unreach:") for k in outbox)  # staff are told


async def test_past_7_days_the_contact_is_flagged_and_staff_are_told(world: World) -> None:
    contact, chat = await world.contact(ZALO_ID, last_seen=timedelta(days=8))
    await world.remind("r1", contact, chat)
    assert await world.drain(budget=100) == 0
    assert world.zalo.requests == []  # nothing was even tried: Zalo would refuse it (-230)
    outbox = await world.outbox()
    assert outbox["r1"] == ("unreachable", "zalo") and await world.error("r1") == "zalo_window"
    assert outbox[f"unreach:{contact}:{STAFF}"] == ("pending", "telegram")
    assert not await world.reachable(contact)
    # the next staff digest (08:30 in Hanoi) has its own line for it, worded by the reason
    world.clock.set(datetime(2025, 11, 21, 1, 30, tzinfo=UTC))
    settings = Settings(_env_file=None, staff_chat_ids=[STAFF], quiet_hours="")  # type: ignore[call-arg]
    async with SqlUnitOfWork(world.sessions) as uow:
        await materialise_reminders(
            uow=uow, policy=reminder_policy(settings), staff_chat_ids=[STAFF], now=world.clock.now()
        )
    async with world.sessions() as session:
        digest = await session.scalar(
            select(OutboxRow.text).where(OutboxRow.key == f"digest:2025-11-21:{STAFF}")
        )
    assert digest is not None
    assert "Cần kênh khác: đầu mối Lan (Thành đoàn" in digest
    assert "quá 7 ngày không nhắn tin cho OA trên Zalo" in digest, digest


async def test_a_zalo_only_deployment_runs_the_scheduler_and_reminds_zalo_contacts(
    world: World, database_url: str, tmp_path: Path
) -> None:
    """No Telegram token: the app still starts the scheduler beside the Zalo OA; the Zalo contact gets
    its reminder, and a message for a Telegram chat stays pending (not lost, no crash)."""
    contact, chat = await world.contact(ZALO_ID, last_seen=timedelta(hours=30))
    await world.remind("r1", contact, chat)
    async with SqlUnitOfWork(world.sessions) as uow:
        await uow.reporting.add_outbox(
            NewOutboxMessage(key="staff1", kind="notice", chat_id=STAFF, text="Báo cáo.", not_before=NOW)
        )
        await uow.commit()
    settings = zalo_settings(
        database_url,
        world.zalo,
        home=tmp_path,
        port=free_port(),
        staff_chat_ids=[STAFF],
        quiet_hours="",
    )
    assert settings.bot_token is None and settings.zalo_configured
    app = create_app(settings, clock=world.clock, background=start_scheduler)
    async with serve(app, settings.port):
        await world.zalo.wait_for(lambda: bool(world.zalo.messages(ZALO_ID)))
        [sent] = world.zalo.messages(ZALO_ID)
        assert sent.text.startswith("Nhắc hạn")
        assert [b["payload"] for b in sent.buttons] == ["gopy:c:0:rp:r:1", "gopy:c:0:rp:o:1"]

        async def recorded() -> bool:
            return (await world.outbox())["r1"] == ("sent", "zalo")

        await until(recorded)
    outbox = await world.outbox()
    assert outbox["staff1"] == ("pending", "telegram")  # waits for a bot, untouched
    async with world.sessions() as session:
        row = await session.scalar(select(OutboxRow).where(OutboxRow.key == "staff1"))
        assert row is not None and row.attempts == 0 and row.claim_epoch is None


async def test_the_reminder_button_reported_another_way_records_an_off_channel_claim(
    sqlite_database: str, zalo: FakeZaloServer
) -> None:
    """«Đã gửi qua kênh khác» over Zalo: the tap (its payload back as text) asks to confirm; the
    confirm tap records the off-channel claim for staff to confirm."""
    engine = create_engine(sqlite_database)
    sessions = session_factory(engine)
    try:
        await load_with_units(sessions, NOW)
        async with SqlUnitOfWork(sessions) as uow:
            invite = await invite_contact(
                uow=uow, unit_code="doan-tn", name="Lan", now=datetime.now(UTC), ttl=timedelta(days=3)
            )
            periods = await uow.plan.list_periods()
        async with sessions() as session:
            unit = await session.get(UnitRow, invite.contact.unit_id)
            assert unit is not None
        period = next(p for p in periods if unit.kind in p.unit_kinds)
        await connect_oa(sqlite_database, zalo)
        async with zalo_app(sqlite_database, zalo, user_id=ZALO_ID) as (_webhook, user, _inbox):
            await user.follow()
            await user.say(invite.payload)
            await user.tap(next(b for b in user.buttons() if b not in ("Hủy", "Huỷ")))
            assert "Đồng chí đã là đầu mối của Thành đoàn" in user.texts()
            # the reminder's button, as the sender renders it (see the 48-hour test): a tap comes
            # back as a user_send_text of its payload
            await user.say(f"gopy:c:0:rp:o:{period.id}")
            assert period.title_vi in user.texts(), user.texts()
            await user.tap("Xác nhận")
            assert "Đã ghi nhận: đơn vị gửi báo cáo qua kênh khác" in user.texts()
        async with sessions() as session:
            reports = list(await session.scalars(select(UnitReportRow)))
        assert [(r.kind, r.period_id, r.contact_id, r.confirmed_at) for r in reports] == [
            ("offchannel", period.id, invite.contact.id, None)
        ]
    finally:
        await engine.dispose()


async def test_the_console_invite_gives_the_zalo_code_and_the_oa_follow_link(
    database_url: str, sessions: async_sessionmaker[AsyncSession], zalo: FakeZaloServer
) -> None:
    await load_with_units(sessions, NOW)
    follow = f"https://zalo.me/{zalo.oa_id}"
    async with console_app(
        database_url,
        FixedClock(NOW),
        bot_username="gopy_test_bot",
        zalo_app_id=zalo.app_id,
        zalo_app_secret=zalo.app_secret,
        zalo_oa_secret_key=zalo.oa_secret_key,
        zalo_api_base=zalo.base_url,
        zalo_oauth_base=zalo.base_url,
        zalo_oa_follow_url=follow,
    ) as console:
        admin = await console.client("admin")
        made = await admin.post("/staff/contacts/invite", data={"unit_code": "hoi-pn", "name": "Mai"})
        assert made.status_code == 200, made.text
        assert 'id="invite-link">https://t.me/gopy_test_bot?start=u-' in made.text  # Telegram as before
        code = re.search(r'id="invite-zalo-code">(u-[A-Za-z0-9_-]{20,})<', made.text)
        assert code is not None and f"start={code.group(1)}<" in made.text  # the same single-use code
        assert f'id="invite-zalo-follow">{follow}<' in made.text
        assert "quan tâm Official Account của cơ quan" in made.text


async def test_the_console_contacts_list_shows_why_a_contact_needs_another_channel(
    world: World, database_url: str
) -> None:
    contact, chat = await world.contact(ZALO_ID, last_seen=timedelta(days=8))
    await world.remind("r1", contact, chat)
    await world.drain(budget=100)
    assert not await world.reachable(contact)
    async with console_app(database_url, world.clock) as console:
        admin = await console.client("admin")
        page = await admin.get("/staff/contacts")
        assert page.status_code == 200
        row = next(r for r in page.text.split("<tr>") if "Thành đoàn" in r and "Lan" in r)
        assert "Cần kênh khác: quá 7 ngày chưa nhắn tin cho OA trên Zalo" in row, row
        english = await admin.get("/staff/contacts", params={"lang": "en"})
        assert "Needs another channel: more than 7 days since writing to the Zalo OA" in english.text


async def test_a_zalo_only_console_invites_with_the_code_alone(
    database_url: str, sessions: async_sessionmaker[AsyncSession], zalo: FakeZaloServer
) -> None:
    """No Telegram bot: the console's invite still works, with the code to type to the OA (no t.me link)."""
    await load_with_units(sessions, NOW)
    async with console_app(
        database_url,
        FixedClock(NOW),
        zalo_app_id=zalo.app_id,
        zalo_app_secret=zalo.app_secret,
        zalo_oa_secret_key=zalo.oa_secret_key,
        zalo_api_base=zalo.base_url,
        zalo_oauth_base=zalo.base_url,
    ) as console:
        admin = await console.client("admin")
        made = await admin.post("/staff/contacts/invite", data={"unit_code": "hoi-pn", "name": "Mai"})
        assert made.status_code == 200, made.text
        assert "t.me/" not in made.text and 'id="invite-link"' not in made.text
        assert re.search(r'id="invite-zalo-code">u-[A-Za-z0-9_-]{20,}<', made.text)
        assert 'id="invite-zalo-follow"' not in made.text  # no follow link configured
