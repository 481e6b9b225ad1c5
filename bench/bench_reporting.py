"""Benchmark of the reminder pipeline: materialising due reminders into the outbox, and draining it
through the fake Telegram Bot API (real HTTP, aiogram) with the sender's pacing switched off.

Usage::

    .venv/bin/python bench/bench_reporting.py              # units = 100, 1000
    .venv/bin/python bench/bench_reporting.py 500 5000
    .venv/bin/python bench/bench_reporting.py --tiny

Prints one JSON object; per size: materialise and drain seconds (medians of 3 runs, SQLite file
database) and sent/s. Reference in the same run: a bare aiogram loop sending the same number of
messages to the same fake server (no database, no claims). Paced sending: bench/bench_reminders.py.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from datetime import UTC, datetime, timedelta

import _common
from _common import emit, ratio
from aiogram import Bot
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer

from core.clock import FixedClock
from core.config import BUNDLED_DATA_DIR
from core.reporting import ReminderPolicy, materialise_reminders
from scheduler.sender import OutboxSender
from storage.db import create_engine, session_factory
from storage.loaders import load_file
from storage.migrate import upgrade
from storage.models_reporting import ContactRow, UnitRow
from storage.repositories_reporting import acquire_lease
from storage.uow import SqlUnitOfWork
from tests.fake_telegram import FakeTelegramServer

assert _common.ROOT
NOW = datetime(2025, 11, 20, 3, 0, tzinfo=UTC)
AT = datetime(2025, 11, 28, 1, 0, tzinfo=UTC)  # 08:00 local, T-7 of the 14th Congress period
TOKEN = "123456:BENCH"


async def one_run(units: int) -> tuple[float, int, float]:
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite+aiosqlite:///{tmp}/bench.db"
        await asyncio.to_thread(upgrade, url)
        engine = create_engine(url)
        sessions = session_factory(engine)
        async with sessions() as session:
            await load_file(session, BUNDLED_DATA_DIR / "plan.yaml", now=NOW)
            for i in range(units):
                unit = UnitRow(code=f"u{i}", kind="district", name_vi=f"Đơn vị {i}", name_en=f"Unit {i}")
                session.add(unit)
                await session.flush()
                for j in range(2):
                    session.add(
                        ContactRow(
                            unit_id=unit.id,
                            name=f"c{j}",
                            chat_id=10_000 + 2 * i + j,
                            status="active",
                            created_at=NOW,
                            invite_expires_at=NOW + timedelta(days=1),
                        )
                    )
            await session.commit()
        policy = ReminderPolicy()
        started = time.perf_counter()
        async with SqlUnitOfWork(sessions) as uow:
            queued = await materialise_reminders(uow=uow, policy=policy, staff_chat_ids=[], now=AT)
        materialise = time.perf_counter() - started
        async with FakeTelegramServer(token=TOKEN, strict_chats=False) as server:
            session_ = AiohttpSession(api=TelegramAPIServer.from_base(server.base_url))
            bot = Bot(TOKEN, session=session_)
            sender = OutboxSender(
                bot=bot, sessions=sessions, clock=FixedClock(AT), policy=policy, rate=0, chat_interval=0
            )
            async with sessions() as session:
                lease = await acquire_lease(
                    session, name="reminders", holder="bench", now=AT, ttl=timedelta(hours=1)
                )
            assert lease is not None
            started = time.perf_counter()
            await sender.drain(lease=lease, limit=10**9)
            drain = time.perf_counter() - started
            await session_.close()
        await engine.dispose()
        return materialise, queued, drain


async def bare_sends(count: int) -> float:
    """The reference: ``count`` sendMessage calls in a row through aiogram to the same fake server."""
    async with FakeTelegramServer(token=TOKEN, strict_chats=False) as server:
        bot = Bot(TOKEN, session=AiohttpSession(api=TelegramAPIServer.from_base(server.base_url)))
        started = time.perf_counter()
        for i in range(count):
            await bot.send_message(10_000 + i, f"Nhắc hạn báo cáo {i}")
        elapsed = time.perf_counter() - started
        await bot.session.close()
    return elapsed


async def main(sizes: list[int], runs: int) -> None:
    sizes_out: dict[str, dict[str, object]] = {}
    ratios: dict[str, float | None] = {}
    for units in sizes:
        results = [await one_run(units) for _ in range(runs)]
        drain = statistics.median(r[2] for r in results)
        queued = results[0][1]
        bare = statistics.median([await bare_sends(queued) for _ in range(runs)])
        sent_per_second = round(queued / drain, 1) if drain else None
        bare_per_second = round(queued / bare, 1) if bare else None
        sizes_out[str(units)] = {
            "units": units,
            "contacts": 2 * units,
            "materialise_seconds_median": round(statistics.median(r[0] for r in results), 3),
            "queued": queued,
            "drain_seconds_median": round(drain, 3),
            "sent_per_second": sent_per_second,
            "reference_bare_sends_per_second": bare_per_second,
        }
        ratios[str(units)] = ratio(sent_per_second, bare_per_second)
    emit(
        "reporting",
        parameters={"units": sizes, "runs": runs, "database": "sqlite", "pacing": "off"},
        figures={"by_units": sizes_out},
        reference={"what": "bare aiogram sendMessage loop to the same fake server, same count"},
        ratio=ratios,
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="reminder pipeline without pacing")
    parser.add_argument("units", type=int, nargs="*", default=[100, 1000])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--tiny", action="store_true", help="20 units, one run: checks that it runs")
    args = parser.parse_args()
    asyncio.run(main([20] if args.tiny else args.units, 1 if args.tiny else args.runs))
