"""One export of bench/bench_exports.py ``--compare``, in a child process so that the code measured is
the one on ``PYTHONPATH`` (the tree under test, or an older tree for "before"): prints one JSON object
with the seconds, the file's size and SHA-256, and the process's RSS growth during the export.

    PYTHONPATH=TREE python bench/_export_child.py export|copy URL csv|jsonl OUT

``export`` runs the tree's own ``api.v1.exports.export_chunks`` (the bytes the API streams), codes
layout, pseudonyms, Asia/Ho_Chi_Minh; ``copy`` is the reference: ``COPY (the export's SELECT, all rows)
TO STDOUT WITH CSV`` through asyncpg.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import sys
import time
from pathlib import Path
from zoneinfo import ZoneInfo


def _status(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) * 1024
    return 0


async def main(mode: str, url: str, fmt: str, out: Path) -> dict[str, object]:
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

                async def write(chunk: bytes) -> None:
                    nonlocal size
                    fh.write(chunk)
                    size += len(chunk)

                await raw.driver_connection.copy_from_query(sql, output=write, format="csv")  # type: ignore[union-attr]
    seconds = time.perf_counter() - started
    await engine.dispose()
    return {
        "seconds": seconds,
        "rows": rows,
        "bytes": size,
        "sha256": digest.hexdigest(),
        "rss_growth_mb": round((_status("VmHWM") - rss) / 1e6, 1),
    }


if __name__ == "__main__":
    print(json.dumps(asyncio.run(main(sys.argv[1], sys.argv[2], sys.argv[3], Path(sys.argv[4])))))
