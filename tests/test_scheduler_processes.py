"""Two ``gopy scheduler`` processes against one PostgreSQL database: exactly one sends, each message once;
when the active one dies, the other takes the lease over and carries on."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from core.config import BUNDLED_DATA_DIR, PROJECT_ROOT, Settings
from core.reporting import NewOutboxMessage, plan_messages, reminder_policy
from storage.db import create_engine, session_factory
from storage.loaders import load_file
from storage.models_reporting import OutboxRow, SchedulerLeaseRow
from storage.uow import SqlUnitOfWork
from tests.fake_telegram import FakeTelegramServer
from tests.reporting_helpers import bound_contact, load_with_units

pytestmark = [pytest.mark.postgres, pytest.mark.e2e, pytest.mark.timeout(300)]
TOKEN = "123456:TEST"
# Every process of the test runs at this moment (10:00 in Hanoi, hours from any reminder or quiet-hour
# boundary), whatever the hour the suite runs at: the test and the `gopy` processes share the offset.
PINNED = datetime(2026, 12, 2, 3, 0, tzinfo=UTC)


def pinned_offset() -> str:
    return str((PINNED - datetime.now(UTC)).total_seconds())


def _spawn(env: dict[str, str], heartbeat: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-c", "from cli.main import app; app()", "scheduler"],
        cwd=PROJECT_ROOT,
        env={**env, "GOPY_HEARTBEAT_FILE": str(heartbeat)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


async def _wait(predicate, within: float = 20.0) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + within
    while not await predicate():
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.1)


async def test_two_scheduler_processes_exactly_one_sends(pg_database: str, tmp_path: Path) -> None:
    engine = create_engine(pg_database)
    sessions = session_factory(engine)
    now = PINNED
    await load_with_units(sessions, now)
    async with sessions() as session:  # the demo plan: one front-organisation period is overdue today
        await load_file(session, BUNDLED_DATA_DIR / "plan-demo.yaml", now=now)
        await session.commit()
    await bound_contact(sessions, unit="mttq", chat_id=601, now=now)
    await bound_contact(sessions, unit="hoi-pn", chat_id=602, now=now)
    policy = reminder_policy(Settings(quiet_hours="", digest_time="", staff_chat_ids=[]))
    async with SqlUnitOfWork(sessions) as uow:  # what the schedulers will queue, from the same clock
        planned = await plan_messages(uow=uow, policy=policy, staff_chat_ids=[], now=PINNED)
    reminders = len(planned)
    # due before any process's 'now': a child under libfaketime restarts at the faked start, behind us
    due = PINNED - timedelta(hours=1)
    assert reminders >= 2  # the demo plan always has a period due for the two bound contacts
    async with SqlUnitOfWork(sessions) as uow:
        for i in range(10):
            await uow.reporting.add_outbox(
                NewOutboxMessage(key=f"n:{i}", kind="notice", chat_id=700 + i, text=f"n{i}", not_before=due)
            )
        await uow.commit()

    async with FakeTelegramServer(token=TOKEN, strict_chats=False) as server:
        env = {
            **os.environ,
            "GOPY_DATABASE_URL": pg_database,
            "GOPY_CLOCK_OFFSET_SECONDS": pinned_offset(),
            "TELEGRAM_BOT_TOKEN": TOKEN,
            "TELEGRAM_API_BASE": server.base_url,
            "GOPY_QUIET_HOURS": "",
            "GOPY_DIGEST_TIME": "",
            "GOPY_STAFF_CHAT_IDS": "[]",
            "GOPY_SCHEDULER_TICK_SECONDS": "0.3",
            "GOPY_SCHEDULER_LEASE_SECONDS": "3",
            "GOPY_SEND_CHAT_INTERVAL_SECONDS": "0",
        }
        beats = [tmp_path / "a.heartbeat", tmp_path / "b.heartbeat"]
        procs = [_spawn(env, beat) for beat in beats]
        try:

            async def all_sent() -> bool:
                async with sessions() as session:
                    statuses = list(await session.scalars(select(OutboxRow.status)))
                return len(statuses) == 10 + reminders and set(statuses) == {"sent"}

            await _wait(all_sent, within=150)  # interpreter start-up (aiogram import) is slow on a busy host
            await asyncio.sleep(1.0)  # a few more ticks of both processes
            texts = [c.params["text"] for c in server.calls_of("sendMessage", ok=True)]
            assert sorted(t for t in texts if t.startswith("n")) == sorted(f"n{i}" for i in range(10))
            assert len(texts) == 10 + reminders  # each exactly once
            assert sorted(t for t in texts if not t.startswith("n")) == sorted(
                m.message.text for m in planned
            )
            async with sessions() as session:
                assert set(await session.scalars(select(OutboxRow.attempts))) == {1}
                holder = await session.scalar(select(SchedulerLeaseRow.holder))
            states = [beat.read_text() for beat in beats]
            assert sum("leader=True" in s for s in states) == 1
            leader = next(i for i, s in enumerate(states) if "leader=True" in s)
            assert f"holder={holder} " in states[leader]

            # the active scheduler dies; the other takes the lease over once it expires and sends on
            procs[leader].kill()
            procs[leader].wait(5)
            async with SqlUnitOfWork(sessions) as uow:
                await uow.reporting.add_outbox(
                    NewOutboxMessage(
                        key="late", kind="notice", chat_id=799, text="after failover", not_before=due
                    )
                )
                await uow.commit()

            async def failed_over() -> bool:
                return any(
                    c.params.get("text") == "after failover" for c in server.calls_of("sendMessage", ok=True)
                )

            await _wait(failed_over, within=15)
            assert "leader=True" in beats[1 - leader].read_text()
        finally:
            for proc in procs:
                if proc.poll() is None:
                    proc.terminate()
                    try:
                        proc.wait(5)
                    except subprocess.TimeoutExpired:
                        proc.kill()
    await engine.dispose()
