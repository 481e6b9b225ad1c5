"""Benchmark of ingest: opinions stored through the real submission use case (``core.feedback.submit_feedback``
in a ``SqlUnitOfWork``, one transaction each) by 16 concurrent writers, on SQLite (WAL) and PostgreSQL.

Usage::

    .venv/bin/python bench/bench_ingest.py                    # 16 writers x 100 opinions, both databases
    .venv/bin/python bench/bench_ingest.py --writers 16 --each 200 --databases postgresql
    .venv/bin/python bench/bench_ingest.py --tiny

Reference in the same run, same database, driver, pool and writers: a raw ``INSERT`` of the same
feedback row and a commit per row (what the database and driver can do without the use case's own work:
the document and section from the per-process cache, then one ``INSERT … SELECT`` that checks the consent
and the open document and copies the profile; before issue 11, four reads before a plain insert). Prints one JSON object:
opinions/s, statements and transactions per opinion (SQLAlchemy engine events), and the reference rows/s.
A second reference, ``driver_only_rows_per_second``: the same row and commit through the driver alone
(asyncpg: BEGIN, INSERT, COMMIT; aiosqlite: INSERT, COMMIT), what is left without SQLAlchemy's session.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import tempfile
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import _common
from _common import bundled_database, emit, ratio
from sqlalchemy import event, insert, select

from core.domain import Channel, Stance
from core.feedback import new_receipt_code, submit_feedback
from storage.db import create_engine, session_factory
from storage.models import DocumentRow, FeedbackRow, RespondentRow, SectionRow
from storage.uow import SqlUnitOfWork

assert _common.ROOT
NOW = datetime(2025, 11, 20, 3, 0, tzinfo=UTC)  # while the bundled sample draft is open
TEXT = "Đề nghị bổ sung giải pháp tạo việc làm cho thanh niên nông thôn, gắn với chuyển đổi số. "


async def prepare(sessions: Any, writers: int) -> tuple[list[int], int, int]:
    async with sessions() as session:
        document_id = int(await session.scalar(select(DocumentRow.id).order_by(DocumentRow.id)) or 0)
        section_id = int(
            await session.scalar(
                select(SectionRow.id).where(SectionRow.document_id == document_id).order_by(SectionRow.id)
            )
            or 0
        )
        ids = []
        for i in range(writers):
            row = RespondentRow(
                channel="telegram",
                user_hash=f"bench-{i:04d}",
                language="vi",
                consent_version="v1",
                consent_at=NOW,
                created_at=NOW,
            )
            session.add(row)
            await session.flush()
            ids.append(row.id)
        await session.commit()
    return ids, document_id, section_id


async def ingest(sessions: Any, respondent: int, document: int, section: int, each: int) -> None:
    for i in range(each):
        async with SqlUnitOfWork(sessions) as uow:
            await submit_feedback(
                uow=uow,  # type: ignore[arg-type]
                respondent_id=respondent,
                document_id=document,
                section_id=section,
                stance=Stance.DISAGREE,
                text=f"{TEXT}({i})",
                channel=Channel.TELEGRAM,
                now=NOW,
                max_length=4000,
            )
            await uow.commit()


async def raw_insert(sessions: Any, respondent: int, document: int, section: int, each: int) -> None:
    for i in range(each):
        async with sessions() as session:
            await session.execute(
                insert(FeedbackRow).values(
                    receipt_code=new_receipt_code()
                    + f"{respondent % 100:02d}{i:05d}",  # unique by construction
                    kind="draft_opinion",
                    respondent_id=respondent,
                    document_id=document,
                    section_id=section,
                    stance="disagree",
                    text=f"{TEXT}({i})",
                    text_folded="",
                    channel="telegram",
                    source="bot",
                    status="active",
                    created_at=NOW,
                )
            )
            await session.commit()


_DRIVER_INSERT = (
    "INSERT INTO feedback (receipt_code, kind, respondent_id, document_id, section_id, stance, text,"
    " text_folded, channel, source, status, anonymous, created_at) VALUES ({}, 'draft_opinion', {}, {}, {},"
    " 'disagree', {}, '', 'telegram', 'bot', 'active', {}, {})"
)


async def driver_insert(engine: Any, respondent: int, document: int, section: int, each: int) -> None:
    """The same row and commit through the driver alone (asyncpg: BEGIN, INSERT, COMMIT, as SQLAlchemy
    does; aiosqlite: INSERT, COMMIT): what the database and driver cost without SQLAlchemy's session."""
    async with engine.connect() as connection:
        driver = (await connection.get_raw_connection()).driver_connection
        for i in range(each):
            code = f"D{respondent:06d}{i:05d}"
            if engine.dialect.name == "postgresql":
                async with driver.transaction():
                    await driver.execute(
                        _DRIVER_INSERT.format("$1", "$2", "$3", "$4", "$5", "false", "$6"),
                        code, respondent, document, section, f"{TEXT}({i})", NOW,
                    )  # fmt: skip
            else:
                await driver.execute(
                    _DRIVER_INSERT.format("?", "?", "?", "?", "?", "0", "?"),
                    (code, respondent, document, section, f"{TEXT}({i})", NOW.isoformat(" ")),
                )
                await driver.commit()


async def run_once(kind: str, writers: int, each: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as folder:
        async with bundled_database(kind, Path(folder), "gopy_bench_ingest") as url:
            engine = create_engine(url, pool_size=writers, max_overflow=0)  # a connection per writer
            sessions = session_factory(engine)
            counts: Counter[str] = Counter()
            event.listen(
                engine.sync_engine, "before_cursor_execute", lambda *_a: counts.update(["statements"])
            )
            event.listen(engine.sync_engine, "begin", lambda *_a: counts.update(["transactions"]))
            ids, document, section = await prepare(sessions, writers)
            figures: dict[str, Any] = {}
            for name, writer, target in (
                ("submit_feedback", ingest, sessions),
                ("raw_insert", raw_insert, sessions),
                ("driver_only", driver_insert, engine),
            ):
                counts.clear()
                started = time.perf_counter()
                await asyncio.gather(*(writer(target, rid, document, section, each) for rid in ids))
                elapsed = time.perf_counter() - started
                total = writers * each
                figures[name] = {
                    "per_second": total / elapsed,
                    "statements_per_row": counts["statements"] / total,
                    "transactions_per_row": counts["transactions"] / total,
                }
            async with sessions() as session:
                stored = len((await session.scalars(select(FeedbackRow.id))).all())
            figures["stored"] = stored
            await engine.dispose()
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description="opinions through submit_feedback vs raw INSERT")
    parser.add_argument("--writers", type=int, default=16)
    parser.add_argument("--each", type=int, default=100, help="opinions per writer")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--databases", nargs="+", default=["sqlite", "postgresql"])
    parser.add_argument("--tiny", action="store_true", help="4 writers x 5 opinions, one run")
    args = parser.parse_args()
    writers, each, runs = (4, 5, 1) if args.tiny else (args.writers, args.each, args.runs)
    figures: dict[str, Any] = {}
    reference: dict[str, Any] = {
        "what": "raw INSERT of the same row + commit, same driver, pool and writers",
        "driver_only": "the same row + commit through the driver alone (no SQLAlchemy session)",
    }
    ratios: dict[str, float | None] = {}
    for kind in args.databases:
        results = [asyncio.run(run_once(kind, writers, each)) for _ in range(runs)]
        gopy = statistics.median(r["submit_feedback"]["per_second"] for r in results)
        raw = statistics.median(r["raw_insert"]["per_second"] for r in results)
        driver = statistics.median(r["driver_only"]["per_second"] for r in results)
        last = results[-1]
        figures[kind] = {
            "opinions_per_second": round(gopy, 1),
            "statements_per_opinion": round(last["submit_feedback"]["statements_per_row"], 2),
            "transactions_per_opinion": round(last["submit_feedback"]["transactions_per_row"], 2),
            "stored": last["stored"],
        }
        reference[kind] = {
            "rows_per_second": round(raw, 1),
            "statements_per_row": round(last["raw_insert"]["statements_per_row"], 2),
            "driver_only_rows_per_second": round(driver, 1),
        }
        ratios[kind] = ratio(gopy, raw)
    emit(
        "ingest",
        parameters={"writers": writers, "each": each, "runs": runs, "databases": args.databases},
        figures=figures,
        reference=reference,
        ratio=ratios,
    )


if __name__ == "__main__":
    os.environ.pop("GOPY_DATABASE_URL", None)
    main()
