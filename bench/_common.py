"""What every benchmark of the suite shares: the repository on ``sys.path``, the machine's description,
and the one JSON object each script prints on stdout.

Every script takes ``--tiny`` (a run of seconds, used by tests/test_bench_suite.py to check that it runs
and that its JSON is well-formed — never its timings). Its object holds ``bench``, ``parameters``,
``figures``, ``reference`` (measured in the same run, or the limit it is held against) and ``ratio``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import platform
import signal
import statistics
import subprocess
import sys
import time
from collections import Counter
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

SEED = 20251120  # every data generator of the suite is seeded: the same data on every run


def machine() -> dict[str, Any]:
    """Enough to read a figure: CPUs, the load from other work on the (shared) machine, Python."""
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return {
        "cpus": cpus,
        "load_average_1m": round(os.getloadavg()[0], 2),
        "python": platform.python_version(),
        "platform": platform.platform(terse=True),
    }


def median_seconds(fn: Callable[[], object], runs: int) -> float:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def ratio(value: float | None, reference: float | None) -> float | None:
    if not value or not reference:
        return None
    return round(value / reference, 3)


def emit(
    bench: str,
    *,
    parameters: dict[str, Any],
    figures: dict[str, Any],
    reference: dict[str, Any] | None = None,
    ratio: float | dict[str, float | None] | None = None,
) -> None:
    """Print the benchmark's one JSON object on stdout (anything else goes to stderr)."""
    result = {
        "bench": bench,
        "parameters": parameters,
        "figures": figures,
        "reference": reference or {},
        "ratio": ratio,
        "machine": machine(),
    }
    print(json.dumps(result, ensure_ascii=False), flush=True)


def datasketch_grouping(texts: list[str], *, threshold: float = 0.6, num_perm: int = 64) -> int:
    """The grouping reference: datasketch MinHash + LSH alone on the same texts (lower-cased word
    bigrams, no Vietnamese word segmentation, no verification step); returns the number of groups."""
    from datasketch import MinHash, MinHashLSH

    lsh = MinHashLSH(threshold=threshold, num_perm=num_perm)
    parent = list(range(len(texts)))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for i, text in enumerate(texts):
        words = text.lower().split()
        shingles = {" ".join(words[j : j + 2]) for j in range(max(1, len(words) - 1))}
        signature = MinHash(num_perm=num_perm)
        signature.update_batch([s.encode() for s in shingles])
        for other in lsh.query(signature):
            parent[find(i)] = find(int(other))
        lsh.insert(str(i), signature)
    return len({find(i) for i in range(len(texts))})


def median_of(results: list[dict[str, Any]]) -> dict[str, Any]:
    """The median of each number over the runs; any other value from the middle run."""
    out: dict[str, Any] = {}
    for key, value in results[0].items():
        if isinstance(value, int | float) and not isinstance(value, bool):
            out[key] = round(statistics.median(r[key] for r in results), 2)
        else:
            out[key] = results[len(results) // 2][key]
    return out


#: what :func:`count_sql` counts in a server process: statements, statements by kind, transactions begun /
#: committed / rolled back, connections opened; and statements by their first 100 characters
COUNTS: Counter[str] = Counter()
SHAPES: Counter[str] = Counter()


def count_sql() -> None:
    """Count, with SQLAlchemy events on every engine and pool of the process, into COUNTS and SHAPES."""
    from sqlalchemy import event
    from sqlalchemy.engine import Engine
    from sqlalchemy.pool import Pool

    def statement(conn: Any, cursor: Any, statement: str, *_args: Any) -> None:
        COUNTS["statements"] += 1
        SHAPES[" ".join(statement.split())[:100]] += 1
        COUNTS["statements_" + statement.lstrip().split(None, 1)[0].lower()] += 1

    event.listen(Engine, "before_cursor_execute", statement)
    event.listen(Pool, "connect", lambda *_a: COUNTS.update({"connections_opened": 1}))
    for name in ("begin", "commit", "rollback"):
        event.listen(Engine, name, lambda conn, _n=name: COUNTS.update({"transactions_" + _n: 1}))


@contextlib.asynccontextmanager
async def bundled_database(kind: str, folder: Path, prefix: str) -> AsyncIterator[str]:
    """A migrated database with the bundled documents and lists: a SQLite file in ``folder``, or a
    scratch PostgreSQL database with a unique name starting with ``prefix`` (dropped afterwards) on
    GOPY_TEST_POSTGRES_DSN's server."""
    from storage.db import create_engine, session_factory
    from storage.migrate import upgrade
    from tests.conftest import PG_ADMIN_DSN, load_bundled, pg_url

    folder.mkdir(parents=True, exist_ok=True)
    name = None
    if kind == "sqlite":
        url = f"sqlite+aiosqlite:///{folder}/bench.db"
    else:
        import asyncpg

        name = f"{prefix}_{os.getpid()}_{time.monotonic_ns() % 10**9}"
        admin = await asyncpg.connect(PG_ADMIN_DSN)
        await admin.execute(f'CREATE DATABASE "{name}"')
        await admin.close()
        url = pg_url(name)
    try:
        await asyncio.to_thread(upgrade, url)
        engine = create_engine(url)
        await load_bundled(session_factory(engine))
        await engine.dispose()
        yield url
    finally:
        if name is not None:
            import asyncpg

            admin = await asyncpg.connect(PG_ADMIN_DSN)
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            await admin.close()


def server_env(source: Path, extra: dict[str, str] | None = None) -> dict[str, str]:
    """The environment of a benchmark's server process: no GOPY_* or REDIS_URL of the caller's, ``extra``
    added, and ``source``'s code first on the path (a baseline tree, or this one)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("GOPY_") and k != "REDIS_URL"}
    env |= extra or {}
    env["PYTHONPATH"] = f"{source}:{ROOT}" if source != ROOT else str(ROOT)
    return env


def _start(command: list[str], env: dict[str, str], home: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(command, env=env, cwd=home)


@contextlib.asynccontextmanager
async def serving(
    command: list[str], env: dict[str, str], home: Path, base: str, *, answers: int = 1, timeout: float = 60
) -> AsyncIterator[subprocess.Popen[bytes]]:
    """Run a server child process until the block ends (SIGINT, then SIGKILL after 30 s), once its
    ``GET /healthz`` has answered 200 ``answers`` times in a row (with several workers: each has started)."""
    import aiohttp

    proc = _start(command, env, home)
    try:
        async with aiohttp.ClientSession() as http:
            deadline = time.monotonic() + timeout
            ready = 0
            while ready < answers:
                try:
                    async with http.get(base + "/healthz") as response:
                        ready = ready + 1 if response.status == 200 else 0
                except aiohttp.ClientError:
                    ready = 0
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"the server {Path(command[1]).name} did not start")
                await asyncio.sleep(0.1)  # waiting for a child process to listen, not a timing
        yield proc
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _process_tree(pid: int) -> list[int]:
    pids = [pid]
    for task in Path(f"/proc/{pid}/task").iterdir():
        with contextlib.suppress(OSError):
            for child in (task / "children").read_text().split():
                pids += _process_tree(int(child))
    return pids


def cpu_seconds(pid: int) -> float:
    """CPU time (user + system) of a server: the process and every process under it (its workers)."""
    total = 0
    for each in _process_tree(pid):
        with contextlib.suppress(OSError):
            fields = Path(f"/proc/{each}/stat").read_text().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])
    return total / os.sysconf("SC_CLK_TCK")


def peak_rss_mb(pid: int) -> float:
    """Peak resident memory of a server (VmHWM): the process's and every process's under it, summed."""
    total = 0
    for each in _process_tree(pid):
        with contextlib.suppress(OSError):
            for line in Path(f"/proc/{each}/status").read_text().splitlines():
                if line.startswith("VmHWM:"):
                    total += int(line.split()[1])
    return round(total / 1024, 1)
