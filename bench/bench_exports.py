"""Benchmark of the staff exports: time and peak Python memory of CSV / JSONL / XLSX exports, keyset pages.

Runs on a scratch SQLite file (or ``GOPY_BENCH_DATABASE_URL``, e.g. a scratch PostgreSQL database that
has been migrated). Prints one JSON object with medians. Peak memory is traced with ``tracemalloc`` for
two sizes: a constant-memory export keeps it flat as the number of rows grows.

    .venv/bin/python bench/bench_exports.py [--rows 10000 40000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import tempfile
import time
import tracemalloc
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import delete, insert

from core.config import BUNDLED_DATA_DIR
from core.exports import ExportFormat, FeedbackFilters, present_row, section_paths
from core.staff.feedback import count_rows
from formats.exports import XlsxExport, csv_chunks, jsonl_chunks
from storage.db import create_engine, session_factory
from storage.loaders import load_file
from storage.migrate import upgrade
from storage.models import FeedbackRow
from storage.views import SqlViewRepository

NOW = datetime(2025, 11, 20, 3, 0, tzinfo=UTC)
TZ = ZoneInfo("Asia/Ho_Chi_Minh")
TEXT = (
    "Đề nghị tiếp tục đẩy mạnh cải cách hành chính, chuyển đổi số và nâng cao chất lượng phục vụ Nhân dân. "
)


async def fill(sessions, rows: int) -> None:  # type: ignore[no-untyped-def]
    async with sessions() as session:
        await session.execute(delete(FeedbackRow))
        batch = []
        for i in range(rows):
            batch.append(
                {
                    "receipt_code": f"GY-B{i:07d}",
                    "kind": "draft_opinion",
                    "text": TEXT * (1 + i % 3) + ("=1+1" if i % 50 == 0 else ""),
                    "text_folded": "",
                    "channel": "telegram",
                    "source": "bot",
                    "stance": ("agree", "disagree", "partial", "other")[i % 4],
                    "category": "worker",
                    "status": "active",
                    "created_at": NOW - timedelta(seconds=rows - i),
                }
            )
            if len(batch) == 5000:
                await session.execute(insert(FeedbackRow), batch)
                batch = []
        if batch:
            await session.execute(insert(FeedbackRow), batch)
        await session.commit()


async def export(sessions, fmt: ExportFormat, out: Path) -> int:  # type: ignore[no-untyped-def]
    filters = FeedbackFilters()
    async with sessions() as session:
        upto = await SqlViewRepository(session).last_feedback_id()

    async def pages():  # type: ignore[no-untyped-def]
        async with sessions() as session:
            async for page in SqlViewRepository(session).iter_feedback_pages(filters, upto=upto):
                yield [present_row(r, pii=False, hash_key="bench", tz=TZ) for r in page]

    if fmt is ExportFormat.XLSX:
        book = XlsxExport(out)
        async for page in pages():
            book.write_rows(page)
        async with sessions() as session:
            views = SqlViewRepository(session)
            raw = await views.counts_by_section_and_stance(filters, upto=upto)
            sections = section_paths(await views.section_outline())
            book.close(count_rows(raw, sections=sections, wording=None))
    else:
        encoder = csv_chunks if fmt is ExportFormat.CSV else jsonl_chunks
        with out.open("wb") as fh:
            async for chunk in encoder(pages()):
                fh.write(chunk)
    return out.stat().st_size


async def main(sizes: list[int], repeat: int) -> dict[str, object]:
    folder = Path(tempfile.mkdtemp(prefix="gopy-bench-"))
    url = os.environ.get("GOPY_BENCH_DATABASE_URL") or f"sqlite+aiosqlite:///{folder / 'bench.db'}"
    if url.startswith("sqlite"):
        await asyncio.to_thread(upgrade, url)
    engine = create_engine(url)
    sessions = session_factory(engine)
    async with sessions() as session:
        await load_file(session, BUNDLED_DATA_DIR / "lists.yaml", now=NOW)
        await session.commit()
    results: dict[str, object] = {"database": url.split(":", 1)[0], "repeat": repeat}
    for rows in sizes:
        await fill(sessions, rows)
        entry: dict[str, object] = {}
        for fmt in ExportFormat:
            out = folder / f"out.{fmt.value}"
            times = []
            for _ in range(repeat):
                started = time.perf_counter()
                size = await export(sessions, fmt, out)
                times.append(time.perf_counter() - started)
            tracemalloc.start()
            await export(sessions, fmt, out)
            _, peak = tracemalloc.get_traced_memory()
            tracemalloc.stop()
            median = statistics.median(times)
            entry[fmt.value] = {
                "seconds": round(median, 3),
                "rows_per_second": round(rows / median),
                "file_mb": round(size / 1e6, 2),
                "peak_python_mb": round(peak / 1e6, 2),
            }
        page_times = []
        async with sessions() as session:
            for _ in range(max(5, repeat)):
                started = time.perf_counter()
                await SqlViewRepository(session).feedback_page(FeedbackFilters(), after=rows // 2, limit=100)
                page_times.append(time.perf_counter() - started)
        entry["page_of_100_ms"] = round(statistics.median(page_times) * 1000, 2)
        results[f"rows_{rows}"] = entry
    await engine.dispose()
    return results


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, nargs="+", default=[10_000, 40_000])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    print(json.dumps(asyncio.run(main(args.rows, args.repeat)), indent=2))
