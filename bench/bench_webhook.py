"""Benchmark of chat updates over the real Telegram webhook: simulated citizens completing whole
submissions through uvicorn + FastAPI + aiogram + the middlewares + the dialog storage + the database,
the bot's Bot API calls answered by the fake Bot API server (tests/fake_telegram) over real HTTP.

Usage::

    .venv/bin/python bench/bench_webhook.py                        # 100 citizens, 10 at a time, SQLite + PostgreSQL
    .venv/bin/python bench/bench_webhook.py --citizens 200 --concurrency 200 --databases postgresql
    .venv/bin/python bench/bench_webhook.py --tiny

The server runs in a child process (bench/_webhook_server.py), so its CPU time is its own; the load
generator and the fake Bot API share this process. Each citizen sends /start and then presses the
buttons the bot actually sent (read from the fake server's chat state), types an opinion and sends it:
15 updates, each POSTed to the webhook as Telegram would (the secret header, one update per request);
an update's latency is its POST's round trip (the route answers once the update is handled and its
replies sent). A submission is complete when the last message carries the receipt code.

Reference in the same run: a bare aiogram echo bot behind the same route (same uvicorn, FastAPI and
aiogram; one sendMessage per update), driven by the same load generator with the same number of
citizens, updates and concurrency. Prints one JSON object: per database, updates/s, submissions/s,
p50/p99 per update, complete submissions, server CPU ms and peak RSS, SQL statements and transactions
per update (SQLAlchemy engine events in the server), Bot API calls per update (by method).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import json
import os
import secrets
import statistics
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

from tests.fake_telegram import FakeTelegramServer, FakeUser
from tests.webchat_client import free_port

ROOT = _common.ROOT
TOKEN = "123456:BENCH"
RECEIPT = "Mã biên nhận: "
PROFILE_DIR = os.environ.get("GOPY_BENCH_PROFILE_DIR")  # cProfile the server into this folder
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


@contextlib.asynccontextmanager
async def server_process(
    app: str,
    api_base: str,
    secret: str,
    database_url: str | None,
    home: Path,
    source: Path = ROOT,
    io: str = "fast",
) -> AsyncIterator[tuple[str, int]]:
    port = free_port()
    command = [sys.executable, str(ROOT / "bench" / "_webhook_server.py"), app, "--port", str(port)]
    command += ["--api-base", api_base, "--token", TOKEN, "--secret", secret, "--io", io]
    if database_url:
        command += ["--database-url", database_url, "--home", str(home)]
    if PROFILE_DIR:
        command += ["--profile", str(Path(PROFILE_DIR) / f"{app}-{port}.prof")]
    base = f"http://127.0.0.1:{port}"
    async with serving(command, server_env(source), home, base) as proc:
        yield base, proc.pid


def peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return round(int(line.split()[1]) / 1024, 1)
    return 0.0


async def run_once(
    app: str,
    citizens: int,
    concurrency: int,
    database_url: str | None,
    home: Path,
    source: Path = ROOT,
    io: str = "fast",
) -> dict[str, Any]:
    secret = secrets.token_hex(16)
    async with FakeTelegramServer(token=TOKEN, strict_chats=False) as fake:
        server = server_process(app, fake.base_url, secret, database_url, home, source, io)
        async with server as (base, pid):
            connector = aiohttp.TCPConnector(limit=concurrency)
            async with aiohttp.ClientSession(
                connector=connector, timeout=aiohttp.ClientTimeout(total=300)
            ) as http:
                async with http.get(base + "/bench/counts") as response:
                    before = Counter(await response.json())
                load = Load(http, base + "/telegram/webhook", secret, fake)
                people = []
                for i in range(citizens):
                    person = Citizen(fake, 10_000 + i, first_name=f"Dân {i}")
                    person.load = load
                    people.append(person)
                calls_before = len(fake.calls)
                cpu_before = cpu_seconds(pid)
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
                cpu = cpu_seconds(pid) - cpu_before
                rss = peak_rss_mb(pid)
                async with http.get(base + "/bench/counts") as response:
                    after = Counter(await response.json())
                if STATEMENTS:
                    async with http.get(base + "/bench/statements") as response:
                        print(
                            json.dumps(await response.json(), indent=1, ensure_ascii=False), file=sys.stderr
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
        "server_cpu_ms_per_update": cpu * 1000 / updates,
        "server_peak_rss_mb": rss,
        "bot_api_calls_per_update": round(sum(calls.values()) / updates, 2),
        "bot_api_calls_by_method": {k: round(v / updates, 2) for k, v in sorted(calls.items())},
        "sql_per_update": sql,
    }


async def measure(
    kind: str, citizens: int, concurrency: int, runs: int, io: str, baseline_io: str
) -> dict[str, Any]:
    gopy, echo, baseline = [], [], []
    for _ in range(runs):  # Gopy and the echo alternate, so both see the same load from other work
        with tempfile.TemporaryDirectory() as folder:
            async with bundled_database(kind, Path(folder), "gopy_bench_webhook") as url:
                gopy.append(await run_once("gopy", citizens, concurrency, url, Path(folder), io=io))
            if BASELINE_ROOT:
                async with bundled_database(kind, Path(folder) / "baseline", "gopy_bench_webhook") as url:
                    source = Path(BASELINE_ROOT)
                    baseline.append(
                        await run_once("gopy", citizens, concurrency, url, Path(folder), source, baseline_io)
                    )
            echo.append(await run_once("echo", citizens, concurrency, None, Path(folder), io=io))
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
    parser.add_argument("--tiny", action="store_true", help="3 citizens, 3 at a time, one run each")
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
    by_database = {
        kind: asyncio.run(measure(kind, citizens, concurrency, runs, args.io, args.baseline_io))
        for kind in args.databases
    }
    figures = {kind: r["gopy"] for kind, r in by_database.items()}
    for kind, r in by_database.items():
        if "baseline" in r:
            figures[f"{kind}_baseline"] = r["baseline"] | {"source": BASELINE_ROOT}
    reference = {
        "what": "bare aiogram echo webhook (same uvicorn + FastAPI route, same load generator and concurrency)",
        **{kind: r["echo"] for kind, r in by_database.items()},
    }
    emit(
        "webhook",
        parameters={
            "citizens": citizens,
            "concurrency": concurrency,
            "updates_per_submission": len(SCRIPT),
            "runs": runs,
            "databases": args.databases,
        },
        figures=figures,
        reference=reference,
        ratio={
            kind: ratio(r["gopy"]["updates_per_second"], r["echo"]["updates_per_second"])
            for kind, r in by_database.items()
        },
    )


if __name__ == "__main__":
    main()
