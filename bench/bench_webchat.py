"""Benchmark of the web chat: whole submissions through the real app over real HTTP (uvicorn, one process).

Usage::

    .venv/bin/python bench/bench_webchat.py              # 20 people, 4 at a time, SQLite
    .venv/bin/python bench/bench_webchat.py 100 10       # 100 people, 10 at a time

Each "person" opens /chat, consents, and submits one opinion (15 events: the same clicks as the browser
test). Prints one JSON line: {"people", "concurrency", "events", "event_ms_median", "event_ms_p95",
"events_per_second", "submissions_per_second"} over 3 runs (medians). Not part of the test suite.
"""

from __future__ import annotations

import asyncio
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from storage.db import create_engine, session_factory
from storage.migrate import upgrade
from tests.conftest import load_bundled
from tests.webchat_client import ChatClient, served

RUNS = 3
STEPS = (
    "Tôi đồng ý",
    "Góp ý dự thảo văn kiện",
    "[MẪU] Dự thảo Báo cáo chính trị",
    "Phần thứ nhất",
    "Về phát triển kinh tế",
    "Không tán thành",
)
PROFILE = ("Xong", "Nông dân", "Hội Nông dân", "Phường Hồng Bàng", "Bỏ qua", "Bỏ qua", "Gửi ý kiến")


async def person(base: str, timings: list[float]) -> None:
    async with ChatClient(base) as chat:
        await chat.open()

        async def timed(step):  # type: ignore[no-untyped-def]
            started = time.perf_counter()
            await step
            timings.append(time.perf_counter() - started)

        await timed(chat.start())
        for label in STEPS:
            await timed(chat.press(label))
        await timed(chat.say("Đề nghị bổ sung giải pháp tạo việc làm cho thanh niên."))
        for label in PROFILE:
            await timed(chat.press(label))
        assert "GY-" in chat.texts()


async def run_once(people: int, concurrency: int) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite+aiosqlite:///{folder}/bench.db"
        await asyncio.to_thread(upgrade, url)
        engine = create_engine(url)
        await load_bundled(session_factory(engine))
        await engine.dispose()
        timings: list[float] = []
        gate = asyncio.Semaphore(concurrency)

        async def one() -> None:
            async with gate:
                await person(base, timings)

        async with served(url) as base:
            started = time.perf_counter()
            await asyncio.gather(*(one() for _ in range(people)))
            elapsed = time.perf_counter() - started
    timings.sort()
    return {
        "events": len(timings),
        "event_ms_median": statistics.median(timings) * 1000,
        "event_ms_p95": timings[int(len(timings) * 0.95) - 1] * 1000,
        "events_per_second": len(timings) / elapsed,
        "submissions_per_second": people / elapsed,
    }


def main() -> None:
    people = int(sys.argv[1]) if len(sys.argv) > 1 else 20
    concurrency = int(sys.argv[2]) if len(sys.argv) > 2 else 4
    os.environ["GOPY_WEBCHAT_IP_LIMIT"] = str(people * 100)  # every person comes from 127.0.0.1 here
    runs = [asyncio.run(run_once(people, concurrency)) for _ in range(RUNS)]
    result: dict[str, float | int | str] = {
        "people": people,
        "concurrency": concurrency,
        "database": "sqlite",
    }
    for key in runs[0]:
        result[key] = round(statistics.median(r[key] for r in runs), 2)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
