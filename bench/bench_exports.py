"""Benchmark of the staff exports: time and peak Python memory of CSV / JSONL / XLSX exports, keyset pages.

Runs on a scratch SQLite file (or ``GOPY_BENCH_DATABASE_URL``, e.g. a scratch PostgreSQL database that
has been migrated). Prints one JSON object with medians. Peak memory is traced with ``tracemalloc`` for
two sizes: a constant-memory export keeps it flat as the number of rows grows.

References in the same run, on the same rows: CSV — a raw SELECT of the same table through the same
driver written by ``csv.writer``; JSONL — ``json.dumps`` of the presented rows from memory; XLSX —
XlsxWriter alone (constant memory) writing the same cells from memory.

    .venv/bin/python bench/bench_exports.py [--rows 10000 40000] [--repeat 3] [--tiny]
    .venv/bin/python bench/bench_exports.py --database postgresql --rows 200000 --formats csv jsonl
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import io
import json
import os
import statistics
import tempfile
import time
import tracemalloc
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import _common
import xlsxwriter
from _common import emit, ratio
from sqlalchemy import delete, insert, select

from core.config import BUNDLED_DATA_DIR
from core.exports import ExportFormat, FeedbackFilters, present_row, section_paths
from core.staff.feedback import PAGE_SIZE, count_rows
from formats.exports import XlsxExport, csv_chunks, jsonl_chunks
from storage.db import create_engine, session_factory
from storage.loaders import load_file
from storage.migrate import upgrade
from storage.models import FeedbackRow
from storage.views import SqlViewRepository, _feedback_select

assert _common.ROOT
FORMATS = list(ExportFormat)
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
            async for page in SqlViewRepository(session).iter_feedback_pages(
                filters, upto=upto, page_size=PAGE_SIZE
            ):
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


async def presented_rows(sessions) -> list[dict[str, object]]:  # type: ignore[no-untyped-def]
    rows: list[dict[str, object]] = []
    async with sessions() as session:
        async for page in SqlViewRepository(session).iter_feedback_pages(FeedbackFilters(), upto=None):
            rows.extend(present_row(r, pii=False, hash_key="bench", tz=TZ) for r in page)
    return rows


async def reference(sessions, fmt: ExportFormat, rows: list[dict[str, object]], out: Path) -> None:  # type: ignore[no-untyped-def]
    if fmt is ExportFormat.CSV:  # the same table, raw, through the same driver
        async with sessions() as session:
            result = await session.execute(select(FeedbackRow.__table__).order_by(FeedbackRow.id))
            with out.open("w", newline="", encoding="utf-8") as fh:
                csv.writer(fh).writerows(result.all())
    elif fmt is ExportFormat.JSONL:
        with out.open("wb") as fh:
            buffer = io.BytesIO()
            for row in rows:
                buffer.write(json.dumps(row, ensure_ascii=False, default=str).encode())
                buffer.write(b"\n")
            fh.write(buffer.getvalue())
    else:
        book = xlsxwriter.Workbook(str(out), {"constant_memory": True, "strings_to_formulas": False})
        sheet = book.add_worksheet()
        for i, row in enumerate(rows):
            sheet.write_row(
                i, 0, [v if isinstance(v, (int, float, str)) or v is None else str(v) for v in row.values()]
            )
        book.close()


async def copy_reference(sessions, out: Path) -> None:  # type: ignore[no-untyped-def]
    """PostgreSQL's own CSV: ``COPY (the export's SELECT, all pages at once) TO STDOUT``, same connection pool."""
    from sqlalchemy.dialects import postgresql

    stmt = _feedback_select().order_by(FeedbackRow.id)
    sql = str(stmt.compile(dialect=postgresql.dialect(), compile_kwargs={"literal_binds": True}))
    async with sessions() as session:
        conn = await session.connection()
        raw = await conn.get_raw_connection()
        with out.open("wb") as fh:

            async def write(chunk: bytes) -> None:
                fh.write(chunk)

            await raw.driver_connection.copy_from_query(sql, output=write, format="csv")  # type: ignore[union-attr]


async def scratch_postgresql() -> str:
    import asyncpg

    from tests.conftest import PG_ADMIN_DSN, pg_url

    name = f"gopy_bench_exports_{os.getpid()}"
    admin = await asyncpg.connect(PG_ADMIN_DSN)
    await admin.execute(f'DROP DATABASE IF EXISTS "{name}"')
    await admin.execute(f'CREATE DATABASE "{name}"')
    await admin.close()
    return pg_url(name)


async def drop_scratch(url: str) -> None:
    import asyncpg

    from tests.conftest import PG_ADMIN_DSN

    admin = await asyncpg.connect(PG_ADMIN_DSN)
    await admin.execute(f'DROP DATABASE IF EXISTS "{url.rsplit("/", 1)[1]}" WITH (FORCE)')
    await admin.close()


async def main(sizes: list[int], repeat: int, database: str) -> dict[str, object]:
    folder = Path(tempfile.mkdtemp(prefix="gopy-bench-"))
    url = os.environ.get("GOPY_BENCH_DATABASE_URL") or f"sqlite+aiosqlite:///{folder / 'bench.db'}"
    scratch = database == "postgresql" and not os.environ.get("GOPY_BENCH_DATABASE_URL")
    if scratch:
        url = await scratch_postgresql()
    if url.startswith("sqlite") or scratch:
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
        for fmt in FORMATS:
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
            in_memory = await presented_rows(sessions)
            ref_times = []
            for _ in range(repeat):
                started = time.perf_counter()
                await reference(sessions, fmt, in_memory, folder / f"ref.{fmt.value}")
                ref_times.append(time.perf_counter() - started)
            ref_median = statistics.median(ref_times)
            if fmt is ExportFormat.CSV and url.startswith("postgresql"):
                copy_times = []
                for _ in range(repeat):
                    started = time.perf_counter()
                    await copy_reference(sessions, folder / "copy.csv")
                    copy_times.append(time.perf_counter() - started)
                copy_median = statistics.median(copy_times)
                entry["copy_csv"] = {
                    "seconds": round(copy_median, 3),
                    "rows_per_second": round(rows / copy_median),
                    "file_mb": round((folder / "copy.csv").stat().st_size / 1e6, 2),
                    "export_csv_ratio": ratio(copy_median, median),
                }
            entry[fmt.value] = {
                "seconds": round(median, 3),
                "rows_per_second": round(rows / median),
                "file_mb": round(size / 1e6, 2),
                "peak_python_mb": round(peak / 1e6, 2),
                "reference_rows_per_second": round(rows / ref_median),
                "ratio": ratio(ref_median, median),
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
    if scratch:
        await drop_scratch(url)
    return results


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, nargs="+", default=[10_000, 40_000])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--tiny", action="store_true", help="200 rows, one run: checks that it runs")
    parser.add_argument(
        "--database",
        choices=("sqlite", "postgresql"),
        default="sqlite",
        help="postgresql: a scratch database",
    )
    parser.add_argument("--formats", nargs="+", default=[f.value for f in ExportFormat])
    args = parser.parse_args()
    sizes, repeat = ([200], 1) if args.tiny else (args.rows, args.repeat)
    FORMATS[:] = [ExportFormat(f) for f in args.formats]
    results = asyncio.run(main(sizes, repeat, args.database))
    database = results.pop("database")
    results.pop("repeat")
    emit(
        "exports",
        parameters={"rows": sizes, "repeat": repeat, "database": database},
        figures=results,
        reference={
            "csv": "raw SELECT of the same table, same driver, csv.writer",
            "jsonl": "json.dumps of the presented rows from memory",
            "xlsx": "XlsxWriter constant_memory alone, same cells from memory",
            "copy_csv": "PostgreSQL only: COPY (the export's SELECT) TO STDOUT WITH CSV, through asyncpg",
        },
        ratio={
            f"{size}:{fmt}": results[f"rows_{size}"][fmt]["ratio"]  # type: ignore[index]
            for size in sizes
            for fmt in (f.value for f in FORMATS)
        }
        | {
            f"{size}:csv_vs_copy": results[f"rows_{size}"]["copy_csv"]["export_csv_ratio"]  # type: ignore[index]
            for size in sizes
            if "copy_csv" in results[f"rows_{size}"]  # type: ignore[operator]
        },
    )
