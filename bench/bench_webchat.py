"""Benchmark of the web chat: whole submissions through the real API app over real HTTP.

Usage::

    .venv/bin/python bench/bench_webchat.py                                   # 100 users at once, PostgreSQL, 1 worker
    .venv/bin/python bench/bench_webchat.py --database sqlite --users 20
    .venv/bin/python bench/bench_webchat.py --workers 2                       # 2 uvicorn workers + Redis
    .venv/bin/python bench/bench_webchat.py --think-ms 1000                   # people who read before they click
    GOPY_BENCH_BASELINE_ROOT=/tmp/gopy-main .venv/bin/python bench/bench_webchat.py   # also another tree
    .venv/bin/python bench/bench_webchat.py --tiny

The server is the real app (``api.app.create_app``) under uvicorn in a child process
(bench/_webchat_server.py; ``--workers N`` runs N worker processes, each with a listening socket of its
own on the port (``SO_REUSEPORT``: the kernel spreads the connections over them, as a proxy in front of N
``gopy api`` would; ``--balance shared``: uvicorn's supervisor and one shared socket, where the first
worker awake accepts every connection the load generator opens at once), and then the dialog state, the
per-session lock and the rate limits are in Redis: ``REDIS_URL`` with a database of its own and a key
prefix of this run). The database is a scratch one (PostgreSQL: a
database with a unique name, dropped afterwards; SQLite: a file), migrated with the real Alembic
migrations and loaded with the bundled documents and lists.

The load generator is this process (aiohttp, one cookie jar per person): ``--users`` people at the same
time, each opens ``/chat``, consents and submits one opinion (15 events: the same clicks as the browser
test), ``--rounds`` times in a row (a new session each time), pausing before each event 0.5 to 1.5 times
``--think-ms`` (seeded, different for every person, so that people do not click in step).
An event's latency is the round trip of its ``POST /chat/api/events``.

Reference in the same run, against the same server, through the same client and connection pool:
``GET /healthz`` by the same number of people at once, as many requests as there were events (the HTTP
path of the app without any chat work). With ``GOPY_BENCH_BASELINE_ROOT`` the same runs are made with
another source tree of Gopy (e.g. ``git archive main``), alternately, as ``baseline``.

Prints one JSON object: events/s, submissions/s, p50/p95/p99 per event, server CPU ms per event (every
process of the server, from /proc), SQL statements and transactions per event (SQLAlchemy engine events
in each worker; the page opens are included), the events each worker answered (how evenly uvicorn's
workers share the connections), the garbage collector's CPU per event (its passes in the workers from
startup to shutdown, the reference's requests included), failures; medians over ``--runs``. ``GOPY_BENCH_PROFILE_DIR``
writes each worker's cProfile statistics there.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import hashlib
import hmac
import json
import os
import random
import re
import sys
import tempfile
import time
from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import _common
import aiohttp
from _common import bundled_database, cpu_seconds, emit, median_of, ratio, server_env, serving

from tests.webchat_client import free_port

ROOT = _common.ROOT
HASH_KEY = "bench-hash-key"  # the server's (bench/_webchat_server.py)
PROFILE_DIR = os.environ.get("GOPY_BENCH_PROFILE_DIR")
BASELINE_ROOT = os.environ.get("GOPY_BENCH_BASELINE_ROOT")
STATEMENTS = os.environ.get("GOPY_BENCH_STATEMENTS")  # print the server's statements by shape on stderr
REDIS = os.environ.get("GOPY_BENCH_REDIS_URL", "redis://127.0.0.1:6379")
START = ("command", "start")
STEPS: tuple[tuple[str, str], ...] = (
    START,
    ("press", "Tôi đồng ý"),
    ("press", "Góp ý dự thảo văn kiện"),
    ("press", "[MẪU] Dự thảo Báo cáo chính trị"),
    ("press", "Phần thứ nhất"),
    ("press", "Về phát triển kinh tế"),
    ("press", "Không tán thành"),
    ("say", "Đề nghị bổ sung giải pháp tạo việc làm cho thanh niên."),
    ("press", "Xong"),
    ("press", "Nông dân"),
    ("press", "Hội Nông dân"),
    ("press", "Phường Hồng Bàng"),
    ("press", "Bỏ qua"),
    ("press", "Bỏ qua"),
    ("press", "Gửi ý kiến"),
)
CSRF_RE = re.compile(r'name="csrf-token" content="([0-9a-f]+)"')


class Failed(Exception):
    """A person's submission did not go as the browser test's does."""


class Load:
    """The shared client of a run: one aiohttp connector; every person has its own cookie jar."""

    def __init__(self, base: str, connector: aiohttp.TCPConnector, think: float) -> None:
        self.base = base
        self.connector = connector
        self.think = think
        self.latencies: list[float] = []
        self.failures: Counter[str] = Counter()
        self.sessions: set[str] = set()  # every session id issued, to delete their Redis keys after

    def client(self) -> aiohttp.ClientSession:
        return aiohttp.ClientSession(
            self.base,
            connector=self.connector,
            connector_owner=False,
            cookie_jar=aiohttp.CookieJar(unsafe=True),  # cookies for 127.0.0.1
            timeout=aiohttp.ClientTimeout(total=120),
        )

    async def submission(self, pauses: random.Random) -> bool:
        async with self.client() as http:
            try:
                await self._submission(http, pauses)
                return True
            except (Failed, aiohttp.ClientError, TimeoutError) as exc:
                self.failures[f"{type(exc).__name__}: {str(exc)[:80]}"] += 1
                return False
            finally:
                for cookie in http.cookie_jar:
                    self.sessions.add(cookie.value)

    async def _submission(self, http: aiohttp.ClientSession, pauses: random.Random) -> None:
        async with http.get("/chat") as response:
            found = CSRF_RE.search(await response.text())
        if response.status != 200 or not found:
            raise Failed(f"GET /chat {response.status}")
        self.sessions.update(cookie.value for cookie in http.cookie_jar)  # before consent rotates it
        token, last = found.group(1), dict[str, Any]()
        for number, (kind, value) in enumerate(STEPS):
            if self.think:  # a person reading (0.5 to 1.5 times --think-ms, seeded): the load's shape
                await asyncio.sleep(self.think * pauses.uniform(0.5, 1.5))
            if kind == "command":
                body: dict[str, Any] = {"kind": "command", "value": value, "args": ""}
            elif kind == "say":
                body = {"kind": "text", "value": value}
            else:
                options = [c for r in last.get("replies", []) for row in r["choices"] for c in row]
                found_data = [c["data"] for c in options if value in c["label"]]
                if not found_data:
                    raise Failed(f"no button {value!r}")
                body = {"kind": "choice", "value": found_data[0], "screen": last["screen"]}
            started = time.perf_counter()
            async with http.post("/chat/api/events", json=body, headers={"X-CSRF-Token": token}) as response:
                payload = await response.read()
            self.latencies.append(time.perf_counter() - started)
            if response.status != 200:
                raise Failed(f"event {number}: {response.status} {payload[:80]!r}")
            last = json.loads(payload)
            token = last.get("csrf") or token  # consent rotated the session, as the page's script does
        if not any("GY-" in r["text"] for r in last.get("replies", [])):
            raise Failed("no receipt")

    async def healthz(self, requests: int, users: int) -> list[float]:
        latencies: list[float] = []
        share = -(-requests // users)

        async def probe() -> None:
            async with self.client() as http:
                for _ in range(share):
                    started = time.perf_counter()
                    async with http.get("/healthz") as response:
                        await response.read()
                        response.raise_for_status()
                    latencies.append(time.perf_counter() - started)

        await asyncio.gather(*(probe() for _ in range(users)))
        return latencies


@contextlib.asynccontextmanager
async def server_process(
    url: str,
    home: Path,
    workers: int,
    pool: tuple[int, int],
    env_extra: dict[str, str],
    source: Path,
    balance: str = "reuseport",
) -> AsyncIterator[tuple[str, int, Path]]:
    port = free_port()
    counts = home / f"counts-{port}"
    counts.mkdir(parents=True)
    command = [sys.executable, str(ROOT / "bench" / "_webchat_server.py"), "--port", str(port)]
    command += ["--database-url", url, "--home", str(home), "--workers", str(workers)]
    command += ["--balance", balance]
    command += ["--pool-size", str(pool[0]), "--max-overflow", str(pool[1])]
    command += ["--counts-dir", str(counts), "--profile-dir", PROFILE_DIR or ""]
    lock = source / "requirements.lock"
    if lock.exists() and "httptools==" not in lock.read_text():  # a tree from before httptools/uvloop
        command += ["--loop", "asyncio", "--http", "h11"]  # as it runs with its own locked dependencies
    base = f"http://127.0.0.1:{port}"
    env = server_env(source, env_extra)
    async with serving(command, env, home, base, answers=3 * workers, timeout=90) as proc:
        deadline = time.monotonic() + 90
        while len(list(counts.glob("*.ready"))) < workers:  # every worker takes connections before the load
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"{len(list(counts.glob('*.ready')))} of {workers} workers started")
            await asyncio.sleep(0.1)  # waiting for child processes to start, not a timing
        yield base, proc.pid, counts


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * share))] * 1000 if ordered else 0.0


async def run_once(
    url: str, home: Path, args: argparse.Namespace, source: Path, redis_db: int | None
) -> dict[str, Any]:
    env = {"GOPY_WEBCHAT_IP_LIMIT": str(args.users * args.rounds * 100)}  # everyone is 127.0.0.1 here
    if redis_db is not None:
        env["REDIS_URL"] = f"{REDIS}/{redis_db}"
        env["GOPY_WEBCHAT_REDIS_PREFIX"] = f"gopy-bench-{os.getpid()}:rl:"
    pool = (args.pool_size, args.max_overflow)
    async with server_process(url, home, args.workers, pool, env, source, args.balance) as (
        base,
        pid,
        counts,
    ):
        # no kept-alive connection reused after uvicorn's 5 s keep-alive could have closed it (a pause
        # of up to 4.5 s, plus a connection idle since another person's event)
        connector = aiohttp.TCPConnector(limit=args.users, keepalive_timeout=4)
        try:
            load = Load(base, connector, args.think_ms / 1000)
            cpu_before = cpu_seconds(pid)
            client_before = time.process_time()

            async def person(number: int) -> int:
                pauses = random.Random(_common.SEED + number)  # people do not click in step
                return sum([await load.submission(pauses) for _ in range(args.rounds)])

            started = time.perf_counter()
            done = sum(await asyncio.gather(*(person(n) for n in range(args.users))))
            elapsed = time.perf_counter() - started
            cpu = cpu_seconds(pid) - cpu_before
            client_cpu = time.process_time() - client_before
            events = max(len(load.latencies), 1)
            started = time.perf_counter()
            reference = await load.healthz(events, args.users)
            reference_elapsed = time.perf_counter() - started
        finally:
            await connector.close()
    if redis_db is not None:
        await forget_redis(redis_db, load.sessions)
    sql: Counter[str] = Counter()
    shapes: Counter[str] = Counter()
    serving = 0
    per_worker: list[int] = []
    for file in counts.glob("*.json"):
        written = json.loads(file.read_text())
        serving += written["counts"].get("web_events", 0) > 0
        per_worker.append(written["counts"].get("web_events", 0))
        sql.update(written["counts"])
        shapes.update(written["shapes"])
    gc_us = sum(sql[f"gc_us_{generation}"] for generation in range(3))
    if STATEMENTS:
        print(json.dumps(dict(shapes.most_common()), indent=1, ensure_ascii=False), file=sys.stderr)
    return {
        "events": len(load.latencies),
        "submissions_complete": done,
        "events_per_second": len(load.latencies) / elapsed,
        "submissions_per_second": done / elapsed,
        "event_ms_p50": percentile(load.latencies, 0.5),
        "event_ms_p95": percentile(load.latencies, 0.95),
        "event_ms_p99": percentile(load.latencies, 0.99),
        "server_cpu_ms_per_event": cpu * 1000 / events,
        "client_cpu_ms_per_event": client_cpu * 1000 / events,
        "sql_statements_per_event": round(sql["statements"] / events, 2),
        "sql_commits_per_event": round(sql["transactions_commit"] / events, 2),
        "db_connections_opened": sql["connections_opened"],
        "workers_serving": serving,
        "events_per_worker": sorted(per_worker, reverse=True),
        "server_gc_ms_per_event": round(gc_us / 1000 / events, 3),
        "gc_collections": [sql[f"gc_collections_{generation}"] for generation in range(3)],
        "failures": dict(load.failures),
        "reference_healthz_per_second": len(reference) / reference_elapsed,
        "reference_healthz_ms_p95": percentile(reference, 0.95),
    }


async def forget_redis(db: int, sessions: set[str]) -> None:
    """Delete this run's keys: the rate-limit windows (our prefix) and the dialog states of our sessions."""
    from aiogram.fsm.storage.base import DefaultKeyBuilder, StorageKey
    from redis.asyncio import Redis

    redis = Redis.from_url(f"{REDIS}/{db}")
    keys = DefaultKeyBuilder(prefix="gopy", with_bot_id=True, with_destiny=True)
    try:
        doomed = [key async for key in redis.scan_iter(match=f"gopy-bench-{os.getpid()}:rl:*", count=1000)]
        for sid in sessions:
            mac = hmac.new(HASH_KEY.encode(), f"webchat-key:{sid}".encode(), hashlib.sha256).hexdigest()
            chat = -(1 << 60) - int(mac[:14], 16)  # api.webchat.WebChat.storage_key
            key = StorageKey(bot_id=0, chat_id=chat, user_id=chat)
            doomed += [keys.build(key, part) for part in ("data", "state", "lock")]
        for i in range(0, len(doomed), 500):
            await redis.delete(*doomed[i : i + 500])
    finally:
        await redis.aclose()


async def measure(args: argparse.Namespace) -> dict[str, list[dict[str, Any]]]:
    redis_db = args.redis_db if args.workers > 1 else None
    sources = {"gopy": ROOT} | ({"baseline": Path(BASELINE_ROOT)} if BASELINE_ROOT else {})
    out: dict[str, list[dict[str, Any]]] = {name: [] for name in sources}
    for _ in range(args.runs):  # the trees alternate, so both see the same load from other work
        for name, source in sources.items():
            with tempfile.TemporaryDirectory() as folder:
                async with bundled_database(args.database, Path(folder) / "db", "gopy_bench_webchat") as url:
                    out[name].append(await run_once(url, Path(folder), args, source, redis_db))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description="web chat over real HTTP")
    parser.add_argument("--database", choices=("sqlite", "postgresql"), default="postgresql")
    parser.add_argument("--users", type=int, default=100, help="people at the same time")
    parser.add_argument("--rounds", type=int, default=1, help="submissions of each person, one after another")
    parser.add_argument("--workers", type=int, default=1, help="uvicorn worker processes (>1: with Redis)")
    parser.add_argument(
        "--balance",
        choices=("reuseport", "shared"),
        default="reuseport",
        help="with --workers > 1: a listening socket per worker (SO_REUSEPORT, the kernel spreads the "
        "connections), or uvicorn's supervisor with one shared socket (the first worker awake takes them)",
    )
    parser.add_argument("--pool-size", type=int, default=5, help="GOPY_DB_POOL_SIZE of each worker")
    parser.add_argument("--max-overflow", type=int, default=10, help="GOPY_DB_MAX_OVERFLOW of each worker")
    parser.add_argument("--think-ms", type=float, default=0, help="pause of a person between two events")
    parser.add_argument("--redis-db", type=int, default=int(os.environ.get("GOPY_BENCH_REDIS_DB", "13")))
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--tiny", action="store_true", help="2 people at once, SQLite, one run")
    args = parser.parse_args()
    if args.tiny:
        args.database, args.users, args.rounds, args.runs = "sqlite", 2, 1, 1
    results = asyncio.run(measure(args))
    runs = {name: median_of(each) for name, each in results.items()}
    figures = dict(runs["gopy"])
    reference = {
        "what": "GET /healthz, same server, client and number of people at once, as many requests as events",
        "per_second": figures.pop("reference_healthz_per_second"),
        "ms_p95": figures.pop("reference_healthz_ms_p95"),
    }
    ratios: dict[str, float | None] = {
        "events_per_healthz": ratio(figures["events_per_second"], reference["per_second"])
    }
    if "baseline" in runs:
        base = runs["baseline"]
        figures["baseline"] = base | {"source": BASELINE_ROOT}
        ratios["baseline_events_per_healthz"] = ratio(
            base["events_per_second"], base["reference_healthz_per_second"]
        )
        ratios["events_per_second_vs_baseline"] = ratio(
            figures["events_per_second"], base["events_per_second"]
        )
        ratios["p95_vs_baseline"] = ratio(figures["event_ms_p95"], base["event_ms_p95"])
    emit(
        "webchat",
        parameters={
            "database": args.database,
            "users": args.users,
            "rounds": args.rounds,
            "workers": args.workers,
            "balance": args.balance if args.workers > 1 else None,
            "think_ms": args.think_ms,
            "events_per_submission": len(STEPS),
            "runs": args.runs,
            "redis": args.workers > 1,
            "pool": [args.pool_size, args.max_overflow],
        },
        figures=figures,
        reference=reference,
        ratio=ratios,
    )


if __name__ == "__main__":
    main()
