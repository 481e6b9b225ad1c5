"""Benchmark of the web chat: whole submissions through the real app over real HTTP (uvicorn, one process).

Usage::

    .venv/bin/python bench/bench_webchat.py              # 20 people, 4 at a time, SQLite
    .venv/bin/python bench/bench_webchat.py 100 10       # 100 people, 10 at a time
    .venv/bin/python bench/bench_webchat.py --tiny

Each "person" opens /chat, consents, and submits one opinion (15 events: the same clicks as the browser
test). Prints one JSON object: events, event_ms_median, event_ms_p95, events_per_second,
submissions_per_second (medians over 3 runs). Reference in the same run: GET /healthz on the same
server through the same client, as many requests at a time (the HTTP path without any chat work).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import tempfile
import time

import _common
import httpx
from _common import emit, ratio

from storage.db import create_engine, session_factory
from storage.migrate import upgrade
from tests.conftest import load_bundled
from tests.webchat_client import ChatClient, served

assert _common.ROOT
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
            requests = max(len(timings), 1)
            async with httpx.AsyncClient(base_url=base, timeout=10) as http:

                async def probe(count: int) -> None:
                    for _ in range(count):
                        (await http.get("/healthz")).raise_for_status()

                started = time.perf_counter()
                share = -(-requests // concurrency)
                await asyncio.gather(*(probe(share) for _ in range(concurrency)))
                reference = share * concurrency / (time.perf_counter() - started)
    timings.sort()
    return {
        "events": len(timings),
        "event_ms_median": statistics.median(timings) * 1000,
        "event_ms_p95": timings[int(len(timings) * 0.95) - 1] * 1000,
        "events_per_second": len(timings) / elapsed,
        "submissions_per_second": people / elapsed,
        "reference_healthz_per_second": reference,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description="web chat over real HTTP")
    parser.add_argument("people", type=int, nargs="?", default=20)
    parser.add_argument("concurrency", type=int, nargs="?", default=4)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--tiny", action="store_true", help="2 people, one at a time, one run")
    args = parser.parse_args()
    people, concurrency, runs = (2, 1, 1) if args.tiny else (args.people, args.concurrency, args.runs)
    os.environ["GOPY_WEBCHAT_IP_LIMIT"] = str(people * 100)  # every person comes from 127.0.0.1 here
    results = [asyncio.run(run_once(people, concurrency)) for _ in range(runs)]
    figures = {key: round(statistics.median(r[key] for r in results), 2) for key in results[0]}
    reference = figures.pop("reference_healthz_per_second")
    emit(
        "webchat",
        parameters={"people": people, "concurrency": concurrency, "runs": runs, "database": "sqlite"},
        figures=figures,
        reference={"what": "GET /healthz, same server and client, same concurrency", "per_second": reference},
        ratio=ratio(figures["events_per_second"], reference),
    )


if __name__ == "__main__":
    main()
