"""Benchmark of the citizen conversation: events/s through the state machine, on fakes and on SQLite.

Prints one JSON object: events/s per storage (median of 3 runs). The reference in the same run is the
state machine alone on in-memory fakes (what the storage costs is the rest).
Usage: .venv/bin/python bench/bench_conversation.py [CONVERSATIONS] [--runs 3] [--tiny]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from datetime import UTC, datetime

import _common
from _common import emit, ratio

from core.conversation.citizen import CitizenConversation
from core.conversation.model import Context, Event
from core.domain import Channel
from storage.db import create_engine, session_factory
from storage.migrate import upgrade
from storage.uow import SqlUnitOfWork
from tests.conftest import load_bundled
from tests.fakes import FakeUnitOfWork, sample_store

assert _common.ROOT
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


async def main(n: int, runs: int) -> None:
    import asyncpg

    from tests.conftest import PG_ADMIN_DSN, pg_url

    pg_name = f"gopy_bench_{time.time_ns()}"
    admin = await asyncpg.connect(PG_ADMIN_DSN)
    await admin.execute(f'CREATE DATABASE "{pg_name}"')
    figures: dict[str, dict[str, float]] = {}
    try:
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
                rate = statistics.median([await fn() for _ in range(runs)])
                figures[name] = {
                    "events_per_second_median": round(rate, 1),
                    "submissions_per_second_median": round(rate / len(SCRIPT), 2),
                }
    finally:
        await admin.execute(f'DROP DATABASE "{pg_name}" WITH (FORCE)')
        await admin.close()
    reference = figures.pop("fake_uow")
    emit(
        "conversation",
        parameters={"conversations": n, "events_per_conversation": len(SCRIPT), "runs": runs},
        figures=figures,
        reference={"what": "the state machine alone on in-memory fakes", **reference},
        ratio={
            name: ratio(f["events_per_second_median"], reference["events_per_second_median"])
            for name, f in figures.items()
        },
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="citizen conversation events/s")
    parser.add_argument("conversations", type=int, nargs="?", default=100)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--tiny", action="store_true", help="3 conversations, one run")
    args = parser.parse_args()
    asyncio.run(main(3 if args.tiny else args.conversations, 1 if args.tiny else args.runs))
