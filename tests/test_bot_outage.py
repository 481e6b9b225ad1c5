"""A message sent while PostgreSQL or Redis is down is answered, not lost (issue 9, item 8).

The dialog state is read inside aiogram's FSM middleware; when its storage is down, the failure used
to escape the project's error handling and aiogram dropped the update without a word. Now the citizen
is told, in Vietnamese then English, that the message was not saved and to send it again; once the
server is back the same press goes on. The real bot, over real HTTP against the fake Telegram server,
in polling and in webhook mode, against a PostgreSQL cluster and a Redis server of the test's own,
which the test stops and starts.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from typing import Any

import pytest

from api.app import create_app
from core.clock import SystemClock
from core.config import Settings
from core.i18n import t
from storage.db import create_engine, session_factory
from storage.migrate import upgrade
from tests.conftest import load_bundled
from tests.e2e_support import bot_settings, running_bot
from tests.fake_telegram import FakeTelegramServer, FakeUser
from tests.private_servers import PrivatePostgres, PrivateRedis
from tests.webchat_client import free_port, serve

# one pytest-xdist worker runs the whole module: its private cluster is started once
pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("private-postgres")]

NOT_SAVED = t("error.not_saved", "vi") + "\n\n" + t("error.not_saved", "en")
TIMEOUT = 60.0  # generous: a failing connection may be retried before it gives up


@pytest.fixture(scope="module")
def private_pg() -> Iterator[PrivatePostgres]:
    pg = PrivatePostgres()
    try:
        pg.init()
        pg.start()
        yield pg
    finally:
        pg.remove()


async def _prepare(database_url: str) -> None:
    engine = create_engine(database_url)
    await load_bundled(session_factory(engine), SystemClock().now())
    await engine.dispose()


@asynccontextmanager
async def _bot(
    mode: str, database_url: str, server: FakeTelegramServer, **overrides: Any
) -> AsyncIterator[None]:
    """The real bot, polling in this process or behind the real webhook (the app served by uvicorn)."""
    if mode == "polling":
        async with running_bot(bot_settings(database_url, server, **overrides)):
            yield
        return
    port = free_port()
    settings: Settings = bot_settings(
        database_url,
        server,
        webhook_url=f"http://127.0.0.1:{port}/telegram/webhook",
        webhook_secret="outage-secret",
        **overrides,
    )
    async with serve(create_app(settings), port):
        yield


async def _to_menu(user: FakeUser) -> None:
    await user.command_and_wait("start", timeout=TIMEOUT)
    msg = await user.tap("Tôi đồng ý", timeout=TIMEOUT)
    assert "Quý vị muốn làm gì?" in (msg.text or "")


async def _outage_answered(user: FakeUser) -> None:
    """A press and a typed text while the server is down: each gets the "not saved, send again" reply."""
    msg = await user.tap("Góp ý dự thảo văn kiện", timeout=TIMEOUT)
    assert msg.text == NOT_SAVED, user.transcript()
    msg = await user.say("Ý kiến gửi trong lúc hệ thống gặp sự cố.", timeout=TIMEOUT)
    assert msg.text == NOT_SAVED, user.transcript()


async def _goes_on_to_a_receipt(user: FakeUser) -> None:
    """The same press again, once the server is back: the conversation goes on where it was."""
    msg = await user.tap("Góp ý dự thảo văn kiện", timeout=TIMEOUT)  # the menu's button, still shown
    assert "[MẪU] Dự thảo Báo cáo chính trị" in str(msg.buttons), user.transcript()
    for label in ("[MẪU] Dự thảo Báo cáo chính trị", "Phần thứ nhất", "1. Về phát triển kinh tế"):
        await user.tap(label, timeout=TIMEOUT)
    await user.tap("Tán thành", timeout=TIMEOUT)
    await user.tap("Xong", timeout=TIMEOUT)
    await user.tap("Ẩn danh", timeout=TIMEOUT)
    msg = await user.tap("Gửi ý kiến", timeout=TIMEOUT)
    assert "Mã biên nhận: " in (msg.text or ""), user.transcript()


@pytest.mark.parametrize("mode", ["polling", "webhook"])
async def test_postgres_down_the_citizen_is_told_to_send_again(
    private_pg: PrivatePostgres, mode: str
) -> None:
    url = await private_pg.create_database(f"gopy_outage_{uuid.uuid4().hex[:8]}")
    await asyncio.to_thread(upgrade, url)
    await _prepare(url)
    async with FakeTelegramServer() as server, _bot(mode, url, server):
        user = server.user(5001, first_name="Lan")
        await _to_menu(user)
        await asyncio.to_thread(private_pg.stop)
        try:
            await _outage_answered(user)
        finally:
            await asyncio.to_thread(private_pg.start)
        await _goes_on_to_a_receipt(user)
        if (
            mode == "webhook"
        ):  # acknowledged, so Telegram does not re-send what the citizen was told to resend
            assert all(d.status == 200 for d in server.webhook_deliveries)


@pytest.mark.parametrize("mode", ["polling", "webhook"])
async def test_redis_down_the_citizen_is_told_to_send_again(sqlite_database: str, mode: str) -> None:
    await _prepare(sqlite_database)
    redis = PrivateRedis()
    try:
        await redis.start()
        async with FakeTelegramServer() as server, _bot(mode, sqlite_database, server, redis_url=redis.url):
            user = server.user(5002, first_name="Minh")
            await _to_menu(user)
            await redis.stop()
            try:
                await _outage_answered(user)
            finally:
                await redis.start()
            await _goes_on_to_a_receipt(user)
    finally:
        redis.remove()
