"""Two ``gopy scheduler`` processes against one PostgreSQL database: exactly one sends, each message once;
when the active one dies, the other takes the lease over and carries on; when the active one is frozen
(SIGSTOP) and resumed, neither sends what the other took."""

from __future__ import annotations

import asyncio
import os
import signal
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


FROZEN_SECONDS = 7.0  # the leader stays frozen at least this long: more than twice the 3 s lease


def _scheduler_env(pg_database: str, server: FakeTelegramServer) -> dict[str, str]:
    """Two schedulers sharing one database: a 3 s lease, fast ticks, no quiet hours, digest or pacing."""
    return {
        **os.environ,
        "GOPY_DATABASE_URL": pg_database,
        "TELEGRAM_BOT_TOKEN": TOKEN,
        "TELEGRAM_API_BASE": server.base_url,
        "GOPY_QUIET_HOURS": "",
        "GOPY_DIGEST_TIME": "",
        "GOPY_STAFF_CHAT_IDS": "[]",
        "GOPY_SCHEDULER_TICK_SECONDS": "0.3",
        "GOPY_SCHEDULER_LEASE_SECONDS": "3",
        "GOPY_SEND_CHAT_INTERVAL_SECONDS": "0",
    }


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
        env = {**_scheduler_env(pg_database, server), "GOPY_CLOCK_OFFSET_SECONDS": pinned_offset()}
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

            async def both_beat() -> bool:  # the second process may start after everything was sent
                return all(beat.exists() for beat in beats)

            await _wait(both_beat, within=150)
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


async def test_a_paused_leader_sends_nothing_the_other_took(pg_database: str, tmp_path: Path) -> None:
    """Lease 3 s, 40 queued messages; the leader is frozen (SIGSTOP) for at least 7 s while its request
    for message 10 is in flight, the other scheduler takes over, then the first is resumed (SIGCONT):
    every message reaches Telegram exactly once and every row ends up sent."""
    engine = create_engine(pg_database)
    sessions = session_factory(engine)
    # only "due" matters here (no plan, no contacts, no reminders): an hour ago, so that a child process
    # under libfaketime, whose clock restarts at the faked start, behind ours, finds them due too
    now = datetime.now(UTC) - timedelta(hours=1)
    texts = [f"m{i:02d}" for i in range(40)]
    async with SqlUnitOfWork(sessions) as uow:
        for i, text in enumerate(texts):
            await uow.reporting.add_outbox(
                NewOutboxMessage(key=f"f:{i}", kind="notice", chat_id=800 + i, text=text, not_before=now)
            )
        await uow.commit()

    async with FakeTelegramServer(token=TOKEN, strict_chats=False) as server:
        original = server._methods["sendmessage"][1]
        held, release = asyncio.Event(), asyncio.Event()

        async def hold_message_10(call):  # type: ignore[no-untyped-def]
            if call.params.get("chat_id") == 810 and not held.is_set():
                held.set()
                await release.wait()  # Telegram gets it; the answer reaches a frozen process
            return original(call)

        server.register_method("sendMessage", hold_message_10)
        env = _scheduler_env(pg_database, server)
        beats = [tmp_path / "a.heartbeat", tmp_path / "b.heartbeat"]
        procs = [_spawn(env, beat) for beat in beats]
        stopped: subprocess.Popen[bytes] | None = None
        try:

            async def request_held() -> bool:
                return held.is_set()

            await _wait(request_held, within=150)  # interpreter start-up is slow on a busy host
            async with sessions() as session:  # the lease is still with the one that claimed m10
                holder, epoch = (
                    await session.execute(select(SchedulerLeaseRow.holder, SchedulerLeaseRow.epoch))
                ).one()
                claimed = await session.scalar(select(OutboxRow.claim_epoch).where(OutboxRow.chat_id == 810))
            assert claimed == epoch, "the lease moved before the test could freeze its holder"
            stopped = next(p for p in procs if p.pid == int(holder.split(":")[-2]))
            os.kill(stopped.pid, signal.SIGSTOP)
            frozen_at = time.monotonic()
            release.set()

            def delivered() -> list[str]:
                return [c.params["text"] for c in server.calls_of("sendMessage", ok=True)]

            async def taken_over() -> bool:
                async with sessions() as session:
                    current = await session.scalar(select(SchedulerLeaseRow.holder))
                return (
                    current != holder
                    and set(delivered()) == set(texts)
                    and time.monotonic() - frozen_at >= FROZEN_SECONDS
                )

            await _wait(taken_over, within=60)
            os.kill(stopped.pid, signal.SIGCONT)
            stopped = None

            async def all_sent() -> bool:
                async with sessions() as session:
                    return set(await session.scalars(select(OutboxRow.status))) == {"sent"}

            await _wait(all_sent, within=30)
            for beat in beats:  # both schedulers tick at least twice more after the resume
                for _ in range(2):
                    before = beat.read_text()

                    async def ticked(beat: Path = beat, before: str = before) -> bool:
                        return beat.read_text() != before

                    await _wait(ticked, within=30)
            assert sorted(delivered()) == texts  # 0 duplicates, 0 losses
            async with sessions() as session:
                assert set(await session.scalars(select(OutboxRow.attempts))) == {1}
        finally:
            release.set()
            if stopped is not None:
                os.kill(stopped.pid, signal.SIGCONT)
            for proc in procs:
                if proc.poll() is None:
                    proc.terminate()
                    try:
                        proc.wait(5)
                    except subprocess.TimeoutExpired:
                        proc.kill()
    await engine.dispose()
