"""Benchmark of reminder sending with the default pacing against a fake Bot API that enforces Telegram's
limits: 30 msg/s overall and 1 msg/s per chat, ``429 retry_after`` beyond (tests/fake_telegram).

N contacts are due at once (one reminder each, queued in the outbox); a seeded 1 % of the chats are owed
two more messages right behind their first (the case where a head-of-line wait would hold up everyone).
The real ``OutboxSender`` drains the outbox over real HTTP (aiogram), with the default settings.

    .venv/bin/python bench/bench_reminders.py                 # 10,000 contacts (about 6 minutes)
    .venv/bin/python bench/bench_reminders.py --contacts 2000
    .venv/bin/python bench/bench_reminders.py --tiny

Figures: msg/s as the fake server saw them, 429 answers, duplicates, losses, and how long until every
chat had its first message (beside the ideal, chats / 30). Reference: the enforced 30 msg/s.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import tempfile
from collections import Counter
from datetime import UTC, datetime, timedelta

import _common
from _common import SEED, emit, ratio
from aiogram import Bot
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from sqlalchemy import func, insert, select

from core.clock import FixedClock
from core.config import Settings
from core.reporting import reminder_policy
from scheduler.sender import OutboxSender
from storage.db import create_engine, session_factory
from storage.migrate import upgrade
from storage.models_reporting import OutboxRow
from storage.repositories_reporting import acquire_lease
from tests.fake_telegram import FakeTelegramServer

AT = datetime(2025, 11, 28, 1, 0, tzinfo=UTC)  # 08:00 local: outside the quiet hours
TOKEN = "123456:BENCH"
LIMIT, PER_CHAT = 30.0, 1.0
assert _common.ROOT


def outbox_rows(contacts: int, seed: int = SEED) -> list[dict[str, object]]:
    """The queued messages: one per contact, and two more right behind for a seeded 1 % of the chats."""
    rng = random.Random(seed)
    several = set(rng.sample(range(contacts), max(1, contacts // 100)))
    rows: list[dict[str, object]] = []
    for i in range(contacts):
        chat = 100_000 + i
        for step in range(3 if i in several else 1):
            rows.append(
                {
                    "key": f"bench:{i}:{step}",
                    "kind": "notice",
                    "chat_id": chat,
                    "text": f"m{i}.{step}",
                    "buttons": [],
                    "not_before": AT,
                    "created_at": AT,
                }
            )
    return rows


async def run(contacts: int) -> dict[str, object]:
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite+aiosqlite:///{tmp}/bench.db"
        await asyncio.to_thread(upgrade, url)
        engine = create_engine(url)
        sessions = session_factory(engine)
        rows = outbox_rows(contacts)
        async with sessions() as session:
            for start in range(0, len(rows), 5000):
                await session.execute(insert(OutboxRow), rows[start : start + 5000])
            await session.commit()
        async with FakeTelegramServer(token=TOKEN, strict_chats=False) as server:
            server.set_rate_limits(global_per_second=LIMIT, per_chat_per_second=PER_CHAT, retry_after=1)
            bot = Bot(TOKEN, session=AiohttpSession(api=TelegramAPIServer.from_base(server.base_url)))
            sender = OutboxSender(
                bot=bot,
                sessions=sessions,
                clock=FixedClock(AT),
                policy=reminder_policy(settings),
                rate=settings.send_rate_per_second,
                chat_interval=settings.send_chat_interval_seconds,
                max_attempts=settings.send_max_attempts,
            )
            async with sessions() as session:
                lease = await acquire_lease(
                    session, name="reminders", holder="bench", now=AT, ttl=timedelta(hours=2)
                )
            assert lease is not None
            await sender.drain(lease=lease, limit=10**9)
            await bot.session.close()
            calls = server.calls_of("sendMessage")
        async with sessions() as session:
            statuses = dict(
                (
                    await session.execute(select(OutboxRow.status, func.count()).group_by(OutboxRow.status))
                ).all()
            )
        await engine.dispose()
    ok = [c for c in calls if c.status == 200]
    texts = Counter(c.params["text"] for c in ok)
    first_at: dict[int, float] = {}
    for c in ok:
        first_at.setdefault(int(c.params["chat_id"]), c.at)
    span = ok[-1].at - ok[0].at if len(ok) > 1 else 0.0
    chats = len({r["chat_id"] for r in rows})
    return {
        "messages": len(rows),
        "chats": chats,
        "delivered": len(ok),
        "duplicates": sum(n - 1 for n in texts.values()),
        "losses": len({r["text"] for r in rows} - set(texts)),
        "http_429": sum(c.status == 429 for c in calls),
        "outbox_statuses": statuses,
        "seconds": round(span, 2),
        "msg_per_second": round((len(ok) - 1) / span, 2) if span else None,
        "every_chat_served_seconds": round(max(first_at.values()) - ok[0].at, 2) if ok else None,
        "every_chat_served_ideal_seconds": round((chats - 1) / LIMIT, 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--contacts", type=int, default=10_000)
    parser.add_argument("--tiny", action="store_true", help="40 contacts: checks that it runs")
    args = parser.parse_args()
    contacts = 40 if args.tiny else args.contacts
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    figures = asyncio.run(run(contacts))
    emit(
        "reminders",
        parameters={
            "contacts": contacts,
            "seed": SEED,
            "database": "sqlite",
            "send_rate_per_second": settings.send_rate_per_second,
            "send_chat_interval_seconds": settings.send_chat_interval_seconds,
            "fake_limits": {"global_per_second": LIMIT, "per_chat_per_second": PER_CHAT, "retry_after": 1},
        },
        figures=figures,
        reference={"msg_per_second": LIMIT, "what": "the limit the fake Bot API enforces"},
        ratio=ratio(figures["msg_per_second"], LIMIT),  # type: ignore[arg-type]
    )


if __name__ == "__main__":
    main()
