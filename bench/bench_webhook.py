"""Benchmark of chat updates over the real Telegram webhook: simulated citizens completing whole
submissions through uvicorn + FastAPI + aiogram + the middlewares + the dialog storage + the database,
the bot's Bot API calls answered by the fake Bot API server (tests/fake_telegram) over real HTTP.

Usage::

    .venv/bin/python bench/bench_webhook.py                        # 100 citizens, 10 at a time, SQLite + PostgreSQL
    .venv/bin/python bench/bench_webhook.py --citizens 200 --concurrency 200 --databases postgresql
    .venv/bin/python bench/bench_webhook.py --databases postgresql --redis      # 1 worker, dialog state in Redis
    .venv/bin/python bench/bench_webhook.py --databases postgresql --workers 4  # 4 uvicorn workers + Redis
    .venv/bin/python bench/bench_webhook.py --tiny

The server runs in a child process (bench/_webhook_server.py), so its CPU time is its own; the load
generator and the fake Bot API share this process. ``--workers N`` runs uvicorn's supervisor with N
worker processes on one socket; then (or with ``--redis``) Gopy keeps the dialog state and the per-chat
lock in Redis (``REDIS_URL``: ``GOPY_BENCH_REDIS_URL``'s database ``--redis-db``, 12 by default, flushed
before each run and after the last). The echo runs with the same number of workers. Each worker counts its
own SQL statements and reports them on SIGUSR1 (bench/_webhook_server.py); the figures are the sums over
every worker, the server CPU and peak RSS those of every process of the server (from /proc).
``GOPY_WEBHOOK_CONCURRENCY``, the route's admission limit, is per worker (by default its pool's size +
overflow: ``--pool-size`` + ``--max-overflow``).

Each citizen sends /start and then presses the buttons the bot actually sent (read from the fake server's
chat state), types an opinion and sends it: 15 updates, each POSTed to the webhook as Telegram would (the
secret header, one update per request); an update's latency is its POST's round trip (the route answers
once the update is handled and its replies sent). A submission is complete when the last message carries
the receipt code. The load generator holds up to ``--concurrency`` connections at once (aiohttp's
connector limit set to it).

Reference in the same run: a bare aiogram echo bot behind the same route (same uvicorn, FastAPI and
aiogram; one sendMessage per update), driven by the same load generator with the same number of
citizens, updates and concurrency. Prints one JSON object: per database, updates/s, submissions/s,
p50/p99 per update, complete submissions, the updates each worker handled, server CPU ms and peak RSS,
SQL statements and transactions per update (SQLAlchemy engine events in the server), Bot API calls per
update (by method). ``--tiny`` runs SQLite with one worker and PostgreSQL with 2 workers + Redis.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import json
import os
import secrets
import signal
import statistics
import sys
import tempfile
import time
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import _common
import aiohttp
from _common import bundled_database, cpu_seconds, emit, median_of, peak_rss_mb, ratio, server_env, serving

from tests.fake_telegram import FakeTelegramServer, FakeUser
from tests.webchat_client import free_port

ROOT = _common.ROOT
TOKEN = "123456:BENCH"
RECEIPT = "Mã biên nhận: "
PROFILE_DIR = os.environ.get("GOPY_BENCH_PROFILE_DIR")  # cProfile every server worker into this folder
REDIS = os.environ.get("GOPY_BENCH_REDIS_URL", "redis://127.0.0.1:6379")
STATEMENTS = os.environ.get("GOPY_BENCH_STATEMENTS")  # print the server's statements by shape on stderr
# another source tree of Gopy (e.g. `git archive main`): measured too, in the same runs, as "<db>_baseline"
BASELINE_ROOT = os.environ.get("GOPY_BENCH_BASELINE_ROOT")
SCRIPT: tuple[tuple[str, str], ...] = (
    ("say", "/start"),
    ("tap", "Tôi đồng ý"),
    ("tap", "Góp ý dự thảo văn kiện"),
    ("tap", "[MẪU] Dự thảo Báo cáo chính trị"),
    ("tap", "Phần thứ nhất"),
    ("tap", "1. Về phát triển kinh tế"),
    ("tap", "Không tán thành"),
    ("say", "Cần đánh giá rõ hơn hạn chế trong thu hút đầu tư vào nông nghiệp công nghệ cao."),
    ("tap", "Xong"),
    ("tap", "Công nhân"),
    ("tap", "Đoàn Thanh niên"),
    ("tap", "Phường Hồng Bàng"),
    ("tap", "Bỏ qua"),
    ("tap", "Bỏ qua"),
    ("tap", "Gửi ý kiến"),
)


class Load:
    """POSTs updates to the webhook and times them; shared by every simulated citizen of a run."""

    def __init__(
        self, http: aiohttp.ClientSession, url: str, secret: str, fake: FakeTelegramServer | None = None
    ) -> None:
        self.http = http
        self.fake = fake  # runs a method the webhook answers with, as Telegram does
        self.url = url
        self.headers = {"X-Telegram-Bot-Api-Secret-Token": secret}
        self.ids = itertools.count(1)
        self.latencies: list[float] = []
        self.failed = 0
        self.redelivered = 0

    async def post(self, update: dict[str, Any]) -> int:
        update["update_id"] = next(self.ids)
        started = time.perf_counter()
        for attempt in range(3):  # as Telegram does: the same update again when the connection failed
            try:
                async with self.http.post(self.url, json=update, headers=self.headers) as response:
                    body = await response.read()
                    status = response.status
                break
            except (aiohttp.ClientOSError, aiohttp.ServerDisconnectedError):
                # typically a kept-alive connection that uvicorn closed while idle (its 5 s keep-alive)
                self.redelivered += 1
                if attempt == 2:
                    raise
        self.latencies.append(time.perf_counter() - started)
        if status != 200:
            self.failed += 1
        elif self.fake is not None:
            await self.fake.run_webhook_answer(body)  # after the timing: Telegram's work, not the bot's
        return update["update_id"]


class Citizen(FakeUser):
    """A person whose updates go straight to the webhook (not through the fake's delivery queue)."""

    load: Load

    async def _push(self, update: dict[str, Any]) -> int:
        self.last_update_id = await self.load.post(update)
        return self.last_update_id


async def submission(citizen: Citizen) -> bool:
    for action, value in SCRIPT:
        if action == "say":
            await citizen.send_text(value)
        else:
            await citizen.press(value)
    last = citizen.last_message
    return last is not None and RECEIPT in (last.text or "")


async def echo_session(citizen: Citizen) -> bool:
    for i in range(len(SCRIPT)):
        await citizen.send_text(f"tin nhắn {i}")
    return True


@dataclass(frozen=True)
class Setup:
    """How a server runs: its worker processes, Redis for the dialog state, each worker's pool."""

    workers: int = 1
    redis_db: int | None = None  # REDIS_URL's database (Gopy only), flushed before each run
    pool: tuple[int, int] = (5, 10)  # GOPY_DB_POOL_SIZE, GOPY_DB_MAX_OVERFLOW of each worker
    io: str = "fast"


class Server:
    """A running server child process: its address, its process tree and its workers' reports."""

    def __init__(self, base: str, pid: int, counts: Path, workers: list[int]) -> None:
        self.base, self.pid, self.counts, self.workers = base, pid, counts, workers
        self.asked = 0

    async def report(self, timeout: float = 60) -> tuple[Counter[str], Counter[str], list[int]]:
        """Every worker's counts so far, summed, and the webhook requests each has served: each worker
        is asked with SIGUSR1 and writes its own file."""
        self.asked += 1
        for pid in self.workers:
            os.kill(pid, signal.SIGUSR1)
        deadline = time.monotonic() + timeout
        counts: Counter[str] = Counter()
        shapes: Counter[str] = Counter()
        served = []
        for pid in self.workers:
            file = self.counts / f"{pid}.json"
            while True:
                with contextlib.suppress(OSError, ValueError):
                    written = json.loads(file.read_text(encoding="utf-8"))
                    if written["asked"] == self.asked:
                        break
                if time.monotonic() > deadline:
                    raise RuntimeError(f"worker {pid} did not report its counts")
                await asyncio.sleep(0.05)  # waiting for a child process to write, not a timing
            counts.update(written["counts"])
            shapes.update(written["shapes"])
            served.append(written["served"])
        return counts, shapes, served


@contextlib.asynccontextmanager
async def server_process(
    app: str,
    api_base: str,
    secret: str,
    database_url: str | None,
    home: Path,
    setup: Setup,
    source: Path = ROOT,
) -> AsyncIterator[Server]:
    port = free_port()
    counts = home / f"counts-{app}-{port}"
    counts.mkdir(parents=True)
    command = [sys.executable, str(ROOT / "bench" / "_webhook_server.py"), app, "--port", str(port)]
    command += ["--api-base", api_base, "--token", TOKEN, "--secret", secret, "--io", setup.io]
    command += ["--counts-dir", str(counts), "--workers", str(setup.workers)]
    command += ["--pool-size", str(setup.pool[0]), "--max-overflow", str(setup.pool[1])]
    if database_url:
        command += ["--database-url", database_url, "--home", str(home)]
    if PROFILE_DIR:
        command += ["--profile-dir", PROFILE_DIR]
    extra = {}
    if setup.redis_db is not None and app == "gopy":
        extra["REDIS_URL"] = f"{REDIS}/{setup.redis_db}"
    base = f"http://127.0.0.1:{port}"
    answers = 3 * setup.workers
    # a deadline for a server that hangs, not a timing: each worker imports aiogram's models (about 5 s
    # of CPU) at the same time as the others, and a loaded 2-core machine took over 120 s for 4 of them
    timeout = 60 + 90 * setup.workers
    env = server_env(source, extra)
    async with serving(command, env, home, base, answers=answers, timeout=timeout) as proc:
        deadline = time.monotonic() + timeout
        while len(ready := sorted(counts.glob("*.ready"))) < setup.workers:  # every worker has started
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"{len(ready)} of {setup.workers} workers started")
            await asyncio.sleep(0.1)  # waiting for child processes to start, not a timing
        yield Server(base, proc.pid, counts, [int(f.stem) for f in ready])


async def flush_redis(db: int) -> None:
    """Empty the run's Redis database (dialog states, locks and flood counters of the run before)."""
    from redis.asyncio import Redis

    redis = Redis.from_url(f"{REDIS}/{db}")
    try:
        await redis.flushdb()
    finally:
        await redis.aclose()


async def run_once(
    app: str,
    citizens: int,
    concurrency: int,
    database_url: str | None,
    home: Path,
    setup: Setup,
    source: Path = ROOT,
) -> dict[str, Any]:
    secret = secrets.token_hex(16)
    if setup.redis_db is not None and app == "gopy":
        await flush_redis(setup.redis_db)
    async with FakeTelegramServer(token=TOKEN, strict_chats=False) as fake:
        async with server_process(app, fake.base_url, secret, database_url, home, setup, source) as server:
            # as many connections as citizens at once (aiohttp's default is 100), none reused after
            # uvicorn's 5 s keep-alive could have closed it
            connector = aiohttp.TCPConnector(limit=concurrency, keepalive_timeout=4)
            async with aiohttp.ClientSession(
                connector=connector, timeout=aiohttp.ClientTimeout(total=600)
            ) as http:
                before, _, served_before = await server.report()
                load = Load(http, server.base + "/telegram/webhook", secret, fake)
                people = []
                for i in range(citizens):
                    person = Citizen(fake, 10_000 + i, first_name=f"Dân {i}")
                    person.load = load
                    people.append(person)
                calls_before = len(fake.calls)
                cpu_before = cpu_seconds(server.pid)
                gate = asyncio.Semaphore(concurrency)

                failures: Counter[str] = Counter()

                async def one(person: Citizen) -> bool:
                    async with gate:
                        try:
                            done = await (submission(person) if app == "gopy" else echo_session(person))
                        except (AssertionError, aiohttp.ClientError, TimeoutError) as exc:
                            failures[type(exc).__name__] += 1
                            last = person.last_message
                            failures["last: " + (last.text or "")[:60] if last else "last: none"] += 1
                            return False
                        if not done:
                            failures["no receipt"] += 1
                        return done

                started = time.perf_counter()
                done = await asyncio.gather(*(one(p) for p in people))
                elapsed = time.perf_counter() - started
                cpu = cpu_seconds(server.pid) - cpu_before
                rss = peak_rss_mb(server.pid)
                after, shapes, served = await server.report()
                if STATEMENTS:
                    print(
                        json.dumps(dict(shapes.most_common()), indent=1, ensure_ascii=False), file=sys.stderr
                    )
    updates = max(len(load.latencies), 1)
    latencies = sorted(load.latencies)
    calls = Counter(c.method for c in fake.calls[calls_before:])
    sql = {k: round((after[k] - before.get(k, 0)) / updates, 2) for k in sorted(after)}
    return {
        "updates": len(load.latencies),
        "updates_per_second": len(load.latencies) / elapsed,
        "submissions_complete": sum(done),
        "submissions_per_second": sum(done) / elapsed,
        "update_ms_p50": statistics.median(latencies) * 1000 if latencies else None,
        "update_ms_p99": latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))] * 1000,
        "http_errors": load.failed,
        "failures": dict(failures),
        "redelivered": load.redelivered,
        "workers": len(server.workers),
        # the webhook updates each worker handled (uvicorn's workers share one socket: the kernel picks)
        "updates_by_worker": sorted(
            (a - b for a, b in zip(served, served_before, strict=True)), reverse=True
        ),
        "server_cpu_ms_per_update": cpu * 1000 / updates,
        "server_peak_rss_mb": rss,
        "bot_api_calls_per_update": round(sum(calls.values()) / updates, 2),
        "bot_api_calls_by_method": {k: round(v / updates, 2) for k, v in sorted(calls.items())},
        "sql_per_update": sql,
    }


async def measure(
    kind: str, citizens: int, concurrency: int, runs: int, setup: Setup, baseline_io: str
) -> dict[str, Any]:
    gopy, echo, baseline = [], [], []
    echo_setup = Setup(workers=setup.workers, io=setup.io)  # the same processes; no database, no Redis
    for _ in range(runs):  # Gopy and the echo alternate, so both see the same load from other work
        with tempfile.TemporaryDirectory() as folder:
            async with bundled_database(kind, Path(folder), "gopy_bench_webhook") as url:
                gopy.append(await run_once("gopy", citizens, concurrency, url, Path(folder), setup))
            if BASELINE_ROOT:
                async with bundled_database(kind, Path(folder) / "baseline", "gopy_bench_webhook") as url:
                    source = Path(BASELINE_ROOT)
                    base_setup = replace(setup, io=baseline_io)
                    baseline.append(
                        await run_once("gopy", citizens, concurrency, url, Path(folder), base_setup, source)
                    )
            echo.append(await run_once("echo", citizens, concurrency, None, Path(folder), echo_setup))
    if setup.redis_db is not None:
        await flush_redis(setup.redis_db)  # nothing of the runs left behind
    out = {"gopy": median_of(gopy), "echo": median_of(echo)}
    if baseline:
        out["baseline"] = median_of(baseline)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description="chat updates over the real Telegram webhook")
    parser.add_argument("--citizens", type=int, default=100)
    parser.add_argument("--concurrency", type=int, default=10)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--databases", nargs="+", default=["sqlite", "postgresql"])
    parser.add_argument(
        "--workers", type=int, default=1, help="uvicorn worker processes of each server (>1: with Redis)"
    )
    parser.add_argument("--redis", action="store_true", help="the dialog state in Redis with 1 worker too")
    parser.add_argument(
        "--redis-db",
        type=int,
        default=int(os.environ.get("GOPY_BENCH_REDIS_DB", "12")),
        help="REDIS_URL's database number, flushed before each run (GOPY_BENCH_REDIS_URL: the server)",
    )
    parser.add_argument("--pool-size", type=int, default=5, help="GOPY_DB_POOL_SIZE of each worker")
    parser.add_argument("--max-overflow", type=int, default=10, help="GOPY_DB_MAX_OVERFLOW of each worker")
    parser.add_argument(
        "--tiny",
        action="store_true",
        help="3 citizens, 3 at a time, one run each: SQLite with 1 worker, PostgreSQL with 2 + Redis",
    )
    parser.add_argument(
        "--io",
        choices=("fast", "plain"),
        default="fast",
        help="uvloop + httptools (as `gopy run`) or asyncio + h11",
    )
    parser.add_argument(
        "--baseline-io", choices=("fast", "plain"), default="plain", help="for GOPY_BENCH_BASELINE_ROOT"
    )
    args = parser.parse_args()
    citizens, concurrency, runs = (3, 3, 1) if args.tiny else (args.citizens, args.concurrency, args.runs)
    redis = args.redis or args.workers > 1
    setup = Setup(
        args.workers, args.redis_db if redis else None, (args.pool_size, args.max_overflow), args.io
    )
    variants = {kind: (kind, setup) for kind in args.databases}
    if args.tiny:  # SQLite in one process (dialog state in SQL); PostgreSQL in 2 workers + Redis
        variants = {
            "sqlite": ("sqlite", replace(setup, workers=1, redis_db=None)),
            "postgresql": ("postgresql", replace(setup, workers=2, redis_db=args.redis_db)),
        }
    by_variant = {
        name: asyncio.run(measure(kind, citizens, concurrency, runs, each, args.baseline_io))
        for name, (kind, each) in variants.items()
    }
    figures = {name: r["gopy"] for name, r in by_variant.items()}
    for name, r in by_variant.items():
        if "baseline" in r:
            figures[f"{name}_baseline"] = r["baseline"] | {"source": BASELINE_ROOT}
    reference = {
        "what": "bare aiogram echo webhook (same uvicorn + FastAPI route and worker processes, same load "
        "generator and concurrency)",
        **{name: r["echo"] for name, r in by_variant.items()},
    }
    emit(
        "webhook",
        parameters={
            "citizens": citizens,
            "concurrency": concurrency,
            "updates_per_submission": len(SCRIPT),
            "runs": runs,
            "databases": [kind for kind, _ in variants.values()],
            "pool": [args.pool_size, args.max_overflow],
            "variants": {
                name: {"database": kind, "workers": each.workers, "redis": each.redis_db is not None}
                for name, (kind, each) in variants.items()
            },
        },
        figures=figures,
        reference=reference,
        ratio={
            name: ratio(r["gopy"]["updates_per_second"], r["echo"]["updates_per_second"])
            for name, r in by_variant.items()
        },
    )


if __name__ == "__main__":
    main()
