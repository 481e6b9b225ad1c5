"""The Telegram webhook admits a bounded number of updates at once: the others wait their turn (no pool
checkout timeout under a crowd), and Telegram is told the same bound as ``max_connections``."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest

from api.app import create_app
from bot.runtime import build_runtime, set_webhook
from core.config import Settings
from storage.db import create_engine, session_factory
from tests.e2e_support import bot_settings
from tests.fake_telegram import FakeTelegramServer
from tests.webchat_client import free_port, serve

SECRET = "admission-secret"


def _update(update_id: int) -> dict[str, Any]:
    chat = {"id": 5000 + update_id, "type": "private"}
    return {"update_id": update_id, "message": {"message_id": 1, "date": 0, "chat": chat}}


class SlowStep:
    """Stands in for the dispatcher's handling: each update waits until the test lets one go."""

    def __init__(self) -> None:
        self.in_flight = 0
        self.peak = 0
        self.finished = 0
        self.changed = asyncio.Condition()
        self.go = asyncio.Semaphore(0)

    async def __call__(self, _bot: object, _update: dict[str, Any]) -> None:
        async with self.changed:
            self.in_flight += 1
            self.peak = max(self.peak, self.in_flight)
            self.changed.notify_all()
        await self.go.acquire()
        async with self.changed:
            self.in_flight -= 1
            self.finished += 1
            self.changed.notify_all()

    async def until(self, in_flight: int, finished: int) -> None:
        async with self.changed:
            await self.changed.wait_for(lambda: (self.in_flight, self.finished) == (in_flight, finished))


@pytest.mark.timeout(60)
async def test_at_most_the_limit_in_flight_and_the_rest_wait_their_turn(sqlite_database: str) -> None:
    limit, crowd = 3, 8
    port = free_port()
    async with FakeTelegramServer() as server:
        settings = bot_settings(
            sqlite_database,
            server,
            webhook_url=f"http://127.0.0.1:{port}/telegram/webhook",
            webhook_secret=SECRET,
            webhook_concurrency=limit,
        )
        app = create_app(settings)
        async with serve(app, port) as base, httpx.AsyncClient(base_url=base, timeout=30) as client:
            assert server.webhook_max_connections == limit
            step = SlowStep()
            app.state.services.bot.dispatcher.feed_webhook_update = step
            headers = {"X-Telegram-Bot-Api-Secret-Token": SECRET}
            posts = [
                asyncio.create_task(client.post("/telegram/webhook", json=_update(i), headers=headers))
                for i in range(crowd)
            ]
            await step.until(in_flight=limit, finished=0)
            for done in range(1, crowd + 1):
                step.go.release()  # one update finishes; one waiting update (if any) takes its place
                await step.until(in_flight=min(limit, crowd - done), finished=done)
            answers = await asyncio.gather(*posts)
    assert [a.status_code for a in answers] == [200] * crowd
    assert step.peak == limit


def test_the_default_limit_is_what_the_pool_can_lend() -> None:
    base: dict[str, Any] = {"_env_file": None, "database_url": "sqlite+aiosqlite://"}
    assert Settings(**base).webhook_admission == 15  # pool 5 + overflow 10
    assert Settings(**base, db_pool_size=8, db_max_overflow=0).webhook_admission == 8
    assert Settings(**base, webhook_concurrency=40).webhook_admission == 40


def test_telegram_is_told_the_whole_deployments_connections_when_set() -> None:
    """Telegram's ``max_connections`` bounds its connections to every webhook worker together: by
    default one process's admission limit, else ``GOPY_WEBHOOK_MAX_CONNECTIONS`` (N workers × the limit)."""
    base: dict[str, Any] = {"_env_file": None, "database_url": "sqlite+aiosqlite://"}
    assert Settings(**base).webhook_connections == 15
    assert Settings(**base, webhook_concurrency=12).webhook_connections == 12
    four = Settings(**base, webhook_concurrency=12, webhook_max_connections=48)
    assert (four.webhook_admission, four.webhook_connections) == (12, 48)
    with pytest.raises(ValueError):
        Settings(**base, webhook_max_connections=101)  # beyond what Telegram accepts


@pytest.mark.parametrize(("asked", "sent"), [(15, 15), (0, 1), (500, 100), (None, None)])
async def test_set_webhook_tells_telegram_the_limit_clamped(
    sqlite_database: str, asked: int | None, sent: int | None
) -> None:
    async with FakeTelegramServer() as server:
        engine = create_engine(sqlite_database)
        runtime = build_runtime(bot_settings(sqlite_database, server), session_factory(engine))
        try:
            await set_webhook(runtime, "http://127.0.0.1:9/telegram/webhook", SECRET, max_connections=asked)
            assert server.webhook_max_connections == sent
        finally:
            await runtime.close()
            await engine.dispose()
