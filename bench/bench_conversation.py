"""Benchmark of the citizen conversation: events/s through the state machine, on fakes and on SQLite.

Prints one JSON object per scenario (median of repeated runs). Not part of the test suite.
Usage: .venv/bin/python bench/bench_conversation.py [CONVERSATIONS]
"""

from __future__ import annotations

import asyncio
import json
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from core.conversation.citizen import CitizenConversation
from core.conversation.model import Context, Event
from core.domain import Channel
from storage.db import create_engine, session_factory
from storage.migrate import upgrade
from storage.uow import SqlUnitOfWork
from tests.conftest import load_bundled
from tests.fakes import FakeUnitOfWork, sample_store

NOW = datetime(2025, 11, 20, 3, 0, tzinfo=UTC)
SCRIPT = [
    ("cmd", "start"),
    ("press", "Tôi đồng ý"),
    ("press", "Góp ý dự thảo"),
    ("press", "0"),  # first document
    ("press", "0"),  # "general comment on the whole draft"
    ("press", "Không tán thành"),
    ("text", "Đề nghị bổ sung giải pháp phát triển giao thông công cộng và giảm ùn tắc."),
    ("press", "Xong"),
    ("press", "Ẩn danh"),
    ("press", "Gửi ý kiến"),
]


async def converse(uow_factory, user_hash: str) -> int:  # type: ignore[no-untyped-def]
    conversation = CitizenConversation()
    state: dict = {}  # type: ignore[type-arg]
    last = None
    events = 0
    for kind, value in SCRIPT:
        if kind == "cmd":
            event = Event.command(value)
        elif kind == "text":
            event = Event.text(value)
        else:
            options = [c for r in last.replies for row in r.choices for c in row]
            if value.isdigit():
                choice = options[int(value)]
            else:
                choice = next(c for c in options if value in c.label)
            event = Event.choice(choice.data, last.screen)
        async with uow_factory() as uow:
            last = await conversation.handle(state, event, Context(uow, Channel.WEB, user_hash, NOW))
        state = last.state
        events += 1
    assert any("GY-" in r.text for r in last.replies), [r.text for r in last.replies]
    return events


async def run_fake(n: int) -> float:
    store = sample_store(NOW)
    start = time.perf_counter()
    events = 0
    for i in range(n):
        events += await converse(lambda: FakeUnitOfWork(store), f"u{i}")
    return events / (time.perf_counter() - start)


async def run_sql(n: int, url: str) -> float:
    engine = create_engine(url)
    sessions = session_factory(engine)
    start = time.perf_counter()
    events = 0
    for i in range(n):
        events += await converse(lambda: SqlUnitOfWork(sessions), f"s{time.time_ns()}-{i}")
    await engine.dispose()
    return events / (time.perf_counter() - start)


async def prepare(url: str) -> None:
    await asyncio.to_thread(upgrade, url)
    engine = create_engine(url)
    await load_bundled(session_factory(engine), NOW)
    await engine.dispose()


async def main() -> None:
    import asyncpg

    from tests.conftest import PG_ADMIN_DSN, pg_url

    n = int(sys.argv[1]) if len(sys.argv) > 1 else 100
    pg_name = f"gopy_bench_{time.time_ns()}"
    admin = await asyncpg.connect(PG_ADMIN_DSN)
    await admin.execute(f'CREATE DATABASE "{pg_name}"')
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite+aiosqlite:///{tmp}/bench.db"
        await prepare(url)
        await prepare(pg_url(pg_name))
        scenarios = (
            ("fake_uow", lambda: run_fake(n)),
            ("sqlite", lambda: run_sql(n, url)),
            ("postgresql", lambda: run_sql(n, pg_url(pg_name))),
        )
        for name, fn in scenarios:
            rates = [await fn() for _ in range(3)]
            print(
                json.dumps(
                    {
                        "bench": "conversation",
                        "storage": name,
                        "conversations": n,
                        "events_per_conversation": len(SCRIPT),
                        "events_per_second_median": round(statistics.median(rates), 1),
                        "submissions_per_second_median": round(statistics.median(rates) / len(SCRIPT), 2),
                    }
                )
            )
    await admin.execute(f'DROP DATABASE "{pg_name}" WITH (FORCE)')
    await admin.close()


if __name__ == "__main__":
    asyncio.run(main())
