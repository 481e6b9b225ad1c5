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


PG_FILL = """
INSERT INTO feedback (receipt_code, kind, respondent_id, text, text_folded, text_search, channel, source,
                      stance, category, locality, status, anonymous, created_at, updated_at)
SELECT 'GY-B' || lpad(g::text, 7, '0'), 'draft_opinion', 1 + (g / 4) % :respondents,
       repeat(:text, 1 + g % 3) || CASE WHEN g % 50 = 0 THEN '=1+1' ELSE '' END, '', '',
       CASE WHEN g % 2 = 0 THEN 'telegram' ELSE 'web' END, 'bot',
       (ARRAY['agree', 'disagree', 'partial', 'other'])[1 + g % 4], 'worker', '79', 'active', false,
       CAST(:now AS timestamptz) - make_interval(secs => :rows - g) + make_interval(secs => (g % 7) * 0.123457),
       CASE WHEN g % 10 = 0 THEN CAST(:now AS timestamptz) ELSE NULL END
FROM generate_series(1, :rows) AS g
"""


async def pg_fill(sessions, rows: int) -> None:  # type: ignore[no-untyped-def]
    """``rows`` entries written by PostgreSQL itself (seconds for a million), from 10,000 respondents
    (four consecutive entries each, as a sitting on several sections): long accented texts with commas
    (quoted), some formula-looking, microseconds, some updated: every presenting step works."""
    from sqlalchemy import text

    respondents = min(10_000, rows)
    async with sessions() as session:
        await session.execute(text("DELETE FROM feedback"))
        await session.execute(text("DELETE FROM respondent"))
        await session.execute(
            text(
                "INSERT INTO respondent (id, channel, user_hash, language, anonymous, profile_done, created_at)"
                " SELECT g, 'telegram', 'h' || g, 'vi', false, false, :now FROM generate_series(1, :n) g"
            ),
            {"n": respondents, "now": NOW},
        )
        await session.execute(
            text(PG_FILL), {"rows": rows, "respondents": respondents, "text": TEXT, "now": NOW}
        )
        await session.commit()
        await session.execute(text("ANALYZE"))
        await session.commit()


def _child(tree: Path, *args: str) -> dict[str, object]:
    """One run of bench/_export_child.py with ``tree`` on PYTHONPATH (its own code measured)."""
    import subprocess
    import sys

    env = dict(os.environ, PYTHONPATH=str(tree))
    script = Path(__file__).with_name("_export_child.py")
    done = subprocess.run(
        [sys.executable, str(script), *args], env=env, cwd=tree, capture_output=True, text=True, check=True
    )
    return json.loads(done.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def _median_of(runs: list[dict[str, object]], key: str) -> float | None:
    values = [float(r[key]) for r in runs if r.get(key) is not None]  # type: ignore[arg-type]
    return round(statistics.median(values), 3) if values else None


async def compare(rows: int, repeat: int, before: Path | None) -> dict[str, object]:
    """Before (``before``: an older tree) and after (this tree), alternated on the same rows, with
    PostgreSQL's COPY of the same SELECT in the same rounds; each in a child process of its own."""
    url = await scratch_postgresql()
    folder = Path(tempfile.mkdtemp(prefix="gopy-bench-"))
    try:
        await asyncio.to_thread(upgrade, url)
        engine = create_engine(url)
        await pg_fill(session_factory(engine), rows)
        await engine.dispose()
        runs: dict[str, list[dict[str, object]]] = {}
        for _ in range(repeat):
            for fmt in ("csv", "jsonl"):
                sides = [("after", _child(_common.ROOT, "export", url, fmt, str(folder / f"a.{fmt}")))]
                if before is not None:
                    sides.append(("before", _child(before, "export", url, fmt, str(folder / f"b.{fmt}"))))
                for side, run in sides:
                    runs.setdefault(f"{fmt}_{side}", []).append(run)
            runs.setdefault("copy_csv", []).append(
                _child(_common.ROOT, "copy", url, "csv", str(folder / "c.csv"))
            )
        out: dict[str, object] = {"rows": rows}
        copy_seconds = statistics.median(float(r["seconds"]) for r in runs["copy_csv"])  # type: ignore[arg-type]
        for name, measured in runs.items():
            seconds = statistics.median(float(r["seconds"]) for r in measured)  # type: ignore[arg-type]
            out[name] = {
                "seconds": round(seconds, 3),
                "rows_per_second": round(rows / seconds),
                "file_mb": round(int(measured[0]["bytes"]) / 1e6, 1),  # type: ignore[call-overload]
                "rss_growth_mb": max(float(r["rss_growth_mb"]) for r in measured),  # type: ignore[arg-type]
                "ratio_to_copy": ratio(copy_seconds, seconds),
                "client_cpu_seconds": _median_of(measured, "client_cpu_seconds"),
                "database_cpu_seconds": _median_of(measured, "database_cpu_seconds"),
            }
        for fmt in ("csv", "jsonl"):
            if before is not None:
                a, b = runs[f"{fmt}_after"], runs[f"{fmt}_before"]
                out[f"{fmt}_identical_to_before"] = {r["sha256"] for r in a} == {r["sha256"] for r in b}
                out[f"{fmt}_after_over_before"] = ratio(
                    statistics.median(float(r["seconds"]) for r in b),  # type: ignore[arg-type]
                    statistics.median(float(r["seconds"]) for r in a),  # type: ignore[arg-type]
                )
        return out
    finally:
        await drop_scratch(url)


def xlsx_cells(rows: int, repeat: int, before: Path | None) -> dict[str, object]:
    """The workbook writer alone on the same presented rows from memory (codes layout, local datetimes
    as dates): this tree's XlsxExport, the one of ``before`` (its formats/exports.py loaded beside), and
    XlsxWriter alone (constant memory, ``write_row`` of the same values), alternated, medians."""
    import importlib.util

    from formats.exports import XlsxExport as After

    writers: dict[str, object] = {"after": After}
    if before is not None:
        spec = importlib.util.spec_from_file_location("before_formats_exports", before / "formats/exports.py")
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        writers["before"] = module.XlsxExport
    stored = [
        {
            "id": i,
            "receipt_code": f"GY-B{i:07d}",
            "kind": "draft_opinion",
            "text": TEXT * (1 + i % 3) + ("=1+1" if i % 50 == 0 else ""),
            "respondent_id": 1 + i // 4,
            "channel": "telegram",
            "source": "bot",
            "stance": ("agree", "disagree", "partial", "other")[i % 4],
            "category": "worker",
            "locality": "79",
            "status": "active",
            "created_at": NOW - timedelta(seconds=rows - i),
            "updated_at": NOW if i % 10 == 0 else None,
        }
        for i in range(rows)
    ]
    presented = [present_row(r, pii=False, hash_key="bench", tz=TZ, iso_times=False) for r in stored]
    folder = Path(tempfile.mkdtemp(prefix="gopy-bench-xlsx-"))
    times: dict[str, list[float]] = {}

    def reference() -> None:
        book = xlsxwriter.Workbook(
            str(folder / "ref.xlsx"), {"constant_memory": True, "strings_to_formulas": False}
        )
        sheet = book.add_worksheet()
        for i, row in enumerate(presented, start=1):
            sheet.write_row(i, 0, list(row.values()))
        book.close()

    for _ in range(repeat):
        for name, writer in writers.items():
            started = time.perf_counter()
            book = writer(folder / f"{name}.xlsx")  # type: ignore[operator]
            for start in range(0, rows, PAGE_SIZE):
                book.write_rows(presented[start : start + PAGE_SIZE])
            book.close([])
            times.setdefault(name, []).append(time.perf_counter() - started)
        started = time.perf_counter()
        reference()
        times.setdefault("xlsxwriter_alone", []).append(time.perf_counter() - started)
    ref = statistics.median(times["xlsxwriter_alone"])
    return {
        name: {
            "seconds": round(statistics.median(t), 3),
            "rows_per_second": round(rows / statistics.median(t)),
            "ratio_to_xlsxwriter": ratio(ref, statistics.median(t)),
        }
        for name, t in times.items()
    } | {"rows": rows, "cells_per_row": len(presented[0])}


def _rss(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    return 0


async def http(rows: int, repeat: int, formats: list[str]) -> dict[str, object]:
    """The real app under uvicorn in a child process on a scratch PostgreSQL database; a client streams
    ``GET /v1/exports/feedback`` (codes layout) and counts the lines, keeping nothing (writing and
    hashing 1.25 GB in this process, beside the server, the database and COPY's child on the same
    cores, doubled the measured times); COPY's child is told to hash nothing either; the server's RSS
    is sampled."""
    import signal
    import socket
    import sys

    import httpx

    from core.api_keys import generate_key
    from storage.uow import SqlUnitOfWork

    url = await scratch_postgresql()
    home = Path(tempfile.mkdtemp(prefix="gopy-bench-home-"))
    try:
        await asyncio.to_thread(upgrade, url)
        engine = create_engine(url)
        sessions = session_factory(engine)
        await pg_fill(sessions, rows)
        key = generate_key()
        async with SqlUnitOfWork(sessions) as uow:
            await uow.api_keys.add(
                name="bench", prefix=key.prefix, key_hash=key.key_hash, scopes=["feedback:read"], now=NOW
            )
            await uow.commit()
        await engine.dispose()
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        server = await asyncio.create_subprocess_exec(
            sys.executable,
            str(Path(__file__).with_name("_export_server.py")),
            "--port",
            str(port),
            "--database-url",
            url,
            "--home",
            str(home),
            env=dict(os.environ, PYTHONPATH=str(_common.ROOT)),
            cwd=_common.ROOT,
        )
        base = f"http://127.0.0.1:{port}"
        out: dict[str, object] = {"rows": rows}
        try:
            async with httpx.AsyncClient(base_url=base, timeout=600) as client:
                for _ in range(300):  # until it answers (bounded: 30 s)
                    try:
                        if (await client.get("/healthz")).status_code < 500:
                            break
                    except httpx.TransportError:
                        pass
                    await asyncio.sleep(0.1)
                headers = {"Authorization": f"Bearer {key.secret}"}
                for fmt in formats:
                    measured = []
                    for _ in range(repeat):
                        start_rss = peak = _rss(server.pid)
                        lines = size = 0
                        started = time.perf_counter()
                        params = {"format": fmt, "labels": "codes"}
                        async with client.stream(
                            "GET", "/v1/exports/feedback", params=params, headers=headers
                        ) as r:
                            r.raise_for_status()
                            async for chunk in r.aiter_raw():
                                lines += chunk.count(b"\n")
                                size += len(chunk)
                                peak = max(peak, _rss(server.pid))
                        seconds = time.perf_counter() - started
                        data_rows = lines - (1 if fmt == "csv" else 0)
                        assert data_rows == rows, (data_rows, rows)
                        measured.append((seconds, (peak - start_rss) / 1e6, size))
                    median = statistics.median(m[0] for m in measured)
                    out[fmt] = {
                        "seconds": round(median, 2),
                        "rows_per_second": round(rows / median),
                        "file_mb": round(measured[0][2] / 1e6, 1),
                        "server_rss_growth_mb": round(max(m[1] for m in measured), 1),
                    }
        finally:
            server.send_signal(signal.SIGINT)
            await asyncio.wait_for(server.wait(), timeout=60)
        copy = [
            _child(_common.ROOT, "copy", url, "csv", str(home / "copy.csv"), "nohash") for _ in range(repeat)
        ]
        copy_seconds = statistics.median(float(c["seconds"]) for c in copy)  # type: ignore[arg-type]
        out["copy_csv"] = {"seconds": round(copy_seconds, 2), "rows_per_second": round(rows / copy_seconds)}
        for fmt in formats:
            out[fmt]["ratio_to_copy"] = ratio(copy_seconds, out[fmt]["seconds"])  # type: ignore[index]
        return out
    finally:
        await drop_scratch(url)


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
    parser.add_argument(
        "--compare",
        action="store_true",
        help="PostgreSQL: this tree against --before and COPY, CSV and JSONL, each run in a child process",
    )
    parser.add_argument("--before", type=Path, help="--compare: an older source tree (git archive)")
    parser.add_argument(
        "--http", action="store_true", help="PostgreSQL: exports through the API under uvicorn, streamed"
    )
    args = parser.parse_args()
    if args.compare or args.http:
        size = args.rows[0]
        if args.compare and "xlsx" in args.formats and len(args.formats) == 1:
            figures = xlsx_cells(size, args.repeat, args.before)
            reference = {"xlsxwriter_alone": "XlsxWriter constant_memory, write_row of the same values"}
            ratios = {k: v["ratio_to_xlsxwriter"] for k, v in figures.items() if isinstance(v, dict)}
        elif args.compare:
            figures = asyncio.run(compare(size, args.repeat, args.before))
            reference = {"copy_csv": "COPY (the export's SELECT, all rows) TO STDOUT WITH CSV, asyncpg"}
            ratios = {k: v["ratio_to_copy"] for k, v in figures.items() if isinstance(v, dict)}
        else:
            formats = [f for f in args.formats if f != "xlsx"] or ["csv"]
            figures = asyncio.run(http(size, args.repeat, formats))
            reference = {"rows": "every row arrived (lines counted by the client)"}
            ratios = {}
        emit(
            "exports",
            parameters={
                "rows": size,
                "repeat": args.repeat,
                "database": "postgresql",
                "before": str(args.before),
            },
            figures=figures,
            reference=reference,
            ratio=ratios,
        )
        raise SystemExit(0)
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
