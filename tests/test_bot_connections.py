"""An update holds one database connection at most, and none while it talks to Telegram (issue 9, item 11).

Measured with SQLAlchemy's pool events (checkout / checkin) against the moments the fake Telegram
server receives the bot's calls; and under load: 100 citizens at a time through the real webhook
(``gopy api`` in a child process) on a pool of 5 connections without overflow all get their receipts.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from core.clock import SystemClock
from core.i18n import t
from storage.db import create_engine, session_factory
from storage.models import FeedbackRow
from tests.conftest import load_bundled
from tests.e2e_support import ROOT, SUBMISSION_BUTTONS, PoolWatch, bot_settings, running_bot
from tests.fake_telegram import ChatMessage, FakeTelegramServer, FakeUser
from tests.staff_console import first_admin_env
from tests.webchat_client import free_port

pytestmark = pytest.mark.e2e

RECEIPT = "Mã biên nhận: "
CITIZENS = 100


async def _prepare(database_url: str) -> None:
    engine = create_engine(database_url)
    await load_bundled(session_factory(engine), SystemClock().now())
    await engine.dispose()


async def _until(condition: Callable[[], Any], what: str, timeout: float = 120.0) -> Any:
    """Wait for ``condition()`` to be truthy (a condition with a deadline, not a fixed sleep)."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.05)


def _keyboard(user: FakeUser) -> ChatMessage | None:
    return next((m for m in reversed(user.messages) if m.buttons), None)


def _shows(user: FakeUser, label: str, before: tuple[Any, ...] | None) -> bool:
    message = _keyboard(user)
    if message is None or _snapshot(message) == before:
        return False
    return any(label in button.text for row in message.buttons for button in row)  # as press() matches


def _snapshot(message: ChatMessage | None) -> tuple[Any, ...] | None:
    return None if message is None else (message.message_id, message.text, message.buttons)


async def _citizen_to_receipt(user: FakeUser) -> str:
    """/start, then press each button of SUBMISSION_BUTTONS once the bot shows it; return the receipt code."""
    await user.command("start")
    before: tuple[Any, ...] | None = None
    for label in SUBMISSION_BUTTONS:
        await _until(
            lambda label=label, before=before: _shows(user, label, before), f"{label!r} for {user.id}"
        )
        before = _snapshot(_keyboard(user))
        await user.press(label)
    text = await _until(
        lambda: next((m.text for m in user.messages if m.text and RECEIPT in m.text), None),
        f"the receipt of {user.id}",
    )
    return str(text).split(RECEIPT)[1].split()[0]


async def test_an_update_never_holds_two_connections_nor_one_across_a_bot_api_call(
    database_url: str,
) -> None:
    await _prepare(database_url)
    engine = create_engine(database_url)
    watch = PoolWatch(engine)
    try:
        async with FakeTelegramServer() as server:
            async with running_bot(bot_settings(database_url, server), engine=engine):
                user = server.user(2001, first_name="Lan")
                await user.command_and_wait("start")
                for label in SUBMISSION_BUTTONS[:6]:
                    await user.tap(label)
                await user.say("Đề nghị bổ sung số liệu cụ thể.")  # a typed text, too
                for label in SUBMISSION_BUTTONS[6:]:
                    await user.tap(label)
                assert RECEIPT in user.transcript()
            calls = [c for c in server.calls if c.method != "getUpdates"]
            held = {c.method: watch.out_at(c.at) for c in calls if watch.out_at(c.at)}
            assert not held, f"connections checked out while Telegram was called: {held}"
            assert watch.peak == 1, f"an update held {watch.peak} connections at once"
            assert watch.checkouts == len(server.updates), "one connection (one transaction) per update"
            assert len(calls) > len(server.updates)
    finally:
        await engine.dispose()


class ApiProcess:
    """``gopy api`` (FastAPI served by uvicorn) in a child process, with the Telegram webhook set."""

    def __init__(self, env: dict[str, str], workdir: Path) -> None:
        self.log = workdir / "api.log"
        with self.log.open("ab") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "cli.main", "api"],
                cwd=workdir,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)


@pytest.mark.postgres
@pytest.mark.timeout(300)  # 1,000 updates on a loaded 2-core machine; about 40 s when idle
async def test_100_citizens_at_a_time_through_the_webhook_on_a_pool_of_5(
    pg_database: str, tmp_path: Path
) -> None:
    await _prepare(pg_database)
    port = free_port()
    async with FakeTelegramServer(webhook_connections=40, webhook_timeout=120) as server:
        env = {k: v for k, v in os.environ.items() if not k.startswith("GOPY_")}
        env.pop("REDIS_URL", None)
        env.update(
            {
                "GOPY_DATABASE_URL": pg_database,
                "GOPY_DB_POOL_SIZE": "5",
                "GOPY_DB_MAX_OVERFLOW": "0",
                "TELEGRAM_BOT_TOKEN": server.token,
                "TELEGRAM_API_BASE": server.base_url,
                **first_admin_env(tmp_path),
                "GOPY_HASH_KEY": "test-hash-key",
                "GOPY_HOST": "127.0.0.1",
                "GOPY_PORT": str(port),
                "GOPY_WEBHOOK_URL": f"http://127.0.0.1:{port}/telegram/webhook",
                "GOPY_WEBHOOK_SECRET": "load-test-secret",
                "PYTHONPATH": str(ROOT),
            }
        )
        api = ApiProcess(env, tmp_path)
        try:
            await _until(
                lambda: server.webhook_url or api.proc.poll() is not None, "the webhook to be set", 60
            )
            assert api.proc.poll() is None, api.output()
            assert server.webhook_max_connections == 5  # Telegram is told the process admits 5 at once
            users = [server.user(3000 + i, first_name=f"N{i}") for i in range(CITIZENS)]
            started = time.monotonic()
            receipts = await asyncio.gather(*(_citizen_to_receipt(u) for u in users))
            elapsed = time.monotonic() - started
        finally:
            api.stop()
        log = api.output()
    print(f"{CITIZENS} citizens, {len(server.updates)} updates, pool 5+0: {elapsed:.1f} s")
    assert len(set(receipts)) == CITIZENS
    failures = {t(k, lang) for k in ("error.internal", "error.not_saved") for lang in ("vi", "en")}
    assert not any(f in u.transcript() for u in users for f in failures)
    assert "TimeoutError" not in log and "QueuePool limit" not in log, log[-3000:]
    engine = create_engine(pg_database)
    async with session_factory(engine)() as session:
        assert await session.scalar(select(func.count()).select_from(FeedbackRow)) == CITIZENS
    await engine.dispose()
