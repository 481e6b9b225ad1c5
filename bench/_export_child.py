"""One export of bench/bench_exports.py ``--compare``, in a child process so that the code measured is
the one on ``PYTHONPATH`` (the tree under test, or an older tree for "before"): prints one JSON object
with the seconds, the file's size and SHA-256, the process's RSS growth during the export, and the CPU
seconds of the process and of the database's backends (read from /proc when PostgreSQL runs on this
machine; on a shared machine they show the work that wall time hides).

    PYTHONPATH=TREE python bench/_export_child.py export|copy URL csv|jsonl OUT [nohash]

``export`` runs the tree's own ``api.v1.exports.export_chunks`` (the bytes the API streams), codes
layout, pseudonyms, Asia/Ho_Chi_Minh; ``copy`` is the reference: ``COPY (the export's SELECT, all rows)
TO STDOUT WITH CSV`` through asyncpg. Both do the same with what they produce: every chunk written to
the same file and hashed (SHA-256) as it arrives (``nohash``: COPY's bytes written only, the
reference of ``--http``, whose client counts lines and keeps nothing).
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import sys
import time
from pathlib import Path
from zoneinfo import ZoneInfo


def _backends_cpu(database: str) -> float | None:
    """CPU seconds (user + system) of the PostgreSQL backends serving ``database`` on this machine, from
    /proc (None when the server is elsewhere): the database's work, which wall time on a shared machine
    hides."""
    total, seen, tick = 0, False, os.sysconf("SC_CLK_TCK")
    needle = f" {database} ".encode()
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            if needle not in Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ") + b" ":
                continue
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        seen = True
        total += int(fields[11]) + int(fields[12])
    return total / tick if seen else None


def _status(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) * 1024
    return 0


async def main(mode: str, url: str, fmt: str, out: Path, hashing: bool = True) -> dict[str, object]:
    from api.v1.exports import export_chunks
    from core.exports import ExportFormat, FeedbackFilters
    from core.staff.feedback import FeedbackExport, Presenter
    from storage.db import create_engine, session_factory
    from storage.models import FeedbackRow
    from storage.uow import SqlUnitOfWork
    from storage.views import _feedback_select

    engine = create_engine(url)
    sessions = session_factory(engine)
    async with SqlUnitOfWork(sessions) as uow:
        upto = await uow.views.last_feedback_id()
        rows = await uow.views.count_feedback(FeedbackFilters(), upto=upto)
    present = Presenter(pii=False, hash_key="bench", tz=ZoneInfo("Asia/Ho_Chi_Minh"))
    export = FeedbackExport(FeedbackFilters(), upto, rows, present)
    rss = _status("VmRSS")
    digest = hashlib.sha256()
    size = 0
    database = url.rsplit("/", 1)[1]
    backends = _backends_cpu(database)
    cpu = time.process_time()
    started = time.perf_counter()
    with out.open("wb") as fh:
        if mode == "export":
            async for chunk in export_chunks(sessions, export, ExportFormat(fmt)):
                fh.write(chunk)
                digest.update(chunk)
                size += len(chunk)
        else:
            from sqlalchemy.dialects import postgresql

            stmt = _feedback_select().order_by(FeedbackRow.id)
            sql = str(stmt.compile(dialect=postgresql.dialect(), compile_kwargs={"literal_binds": True}))
            async with sessions() as session:
                raw = await (await session.connection()).get_raw_connection()

                async def write(chunk: bytes) -> None:  # the same sink and hashing as the export's
                    nonlocal size
                    fh.write(chunk)
                    if hashing:
                        digest.update(chunk)
                    size += len(chunk)

                await raw.driver_connection.copy_from_query(sql, output=write, format="csv")  # type: ignore[union-attr]
    seconds = time.perf_counter() - started
    cpu = time.process_time() - cpu
    after = _backends_cpu(database)
    await engine.dispose()
    return {
        "seconds": seconds,
        "rows": rows,
        "bytes": size,
        "sha256": digest.hexdigest(),
        "rss_growth_mb": round((_status("VmHWM") - rss) / 1e6, 1),
        "client_cpu_seconds": round(cpu, 3),
        "database_cpu_seconds": None if backends is None or after is None else round(after - backends, 3),
    }


if __name__ == "__main__":
    hashing = sys.argv[5:6] != ["nohash"]
    print(json.dumps(asyncio.run(main(sys.argv[1], sys.argv[2], sys.argv[3], Path(sys.argv[4]), hashing))))
