"""The runner of background export jobs (core.staff.export_jobs), an asyncio task in the API process.

Each job is written page by page: a page is read in its own short transaction, presented, written to a
temporary file outside any transaction, then the progress and heartbeat are committed; no connection is
held while the file is written, none for the whole export. The file becomes ``export-<id>.<format>``
in ``GOPY_EXPORTS_DIR`` when complete.

Restarts: at start-up the runner marks failed (``interrupted``, retryable) the running jobs whose
heartbeat is older than ``GOPY_EXPORT_JOB_STALE_SECONDS`` (their process stopped; with several API
processes, a live runner's jobs keep a fresh heartbeat), and runs the queued ones; a graceful stop marks
the jobs in hand failed (``interrupted``) at once. ``POST /v1/exports/jobs/{id}/retry`` queues one again.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import suppress
from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from typing import Any

import anyio
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from api.v1.exports import ENCODED_PAGE_SIZE, encoded_pages, sql_encoding
from core.clock import Clock
from core.config import Settings
from core.exports import ExportFormat, LabelMode
from core.staff import export_jobs as jobs
from core.staff.feedback import (
    PAGE_SIZE,
    Presenter,
    export_wording,
    read_export_counts,
    start_feedback_export,
)
from formats.exports import XlsxExport, csv_chunks, csv_header, jsonl_chunks
from storage.uow import SqlUnitOfWork

log = logging.getLogger(__name__)

Progress = Callable[[int, int], Awaitable[None]]  # (job id, rows done), after each committed page


def _remove(path: Path) -> None:
    with suppress(OSError):
        path.unlink(missing_ok=True)


class ExportJobRunner:
    """Runs queued export jobs as tasks of this process; :meth:`submit` after a job is queued."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        settings: Settings,
        clock: Clock,
        *,
        page_size: int | None = None,
        on_progress: Progress | None = None,
    ) -> None:
        self.sessions = sessions
        self.settings = settings
        self.clock = clock
        self.page_size = page_size or PAGE_SIZE
        self.encoded_page_size = page_size or ENCODED_PAGE_SIZE
        self.on_progress = on_progress
        self.tasks: dict[int, asyncio.Task[None]] = {}
        self._recovery: asyncio.Task[None] | None = None

    def submit(self, job_id: int) -> None:
        if job_id in self.tasks and not self.tasks[job_id].done():
            return
        task = asyncio.create_task(self.run(job_id), name=f"export-job-{job_id}")
        self.tasks[job_id] = task
        task.add_done_callback(lambda _t, job_id=job_id: self.tasks.pop(job_id, None))

    def launch(self) -> None:
        """:meth:`start` in the background: the app starts (and ``/readyz`` answers) even when the
        database is unreachable or not migrated yet; the recovery is then only logged as failed."""
        self._recovery = asyncio.create_task(self._start_logged(), name="export-jobs-recovery")

    async def _start_logged(self) -> None:
        try:
            await self.start()
        except Exception as exc:  # the database is down or not migrated: jobs wait for the next start
            log.warning("export jobs not recovered", extra={"error": type(exc).__name__})

    async def start(self) -> None:
        """Fail the jobs interrupted by a stop (stale heartbeat) and run the queued ones."""
        stale = timedelta(seconds=self.settings.export_job_stale_seconds)
        async with SqlUnitOfWork(self.sessions) as uow:
            failed, queued = await jobs.recover_export_jobs(uow=uow, now=self.clock.now(), stale_after=stale)
        if failed:
            log.warning("export jobs interrupted", extra={"jobs": failed})
        for job_id in queued:
            self.submit(job_id)

    async def wait(self) -> None:
        """Until every job in hand has ended (tests, and a graceful stop)."""
        while self.tasks:
            await asyncio.wait(list(self.tasks.values()))

    async def stop(self) -> None:
        if self._recovery is not None:
            self._recovery.cancel()
            with suppress(asyncio.CancelledError, Exception):
                await self._recovery
        for task in list(self.tasks.values()):
            task.cancel()
        for task in list(self.tasks.values()):
            with suppress(asyncio.CancelledError, Exception):
                await task

    async def run(self, job_id: int) -> None:
        """Write one job's file; any failure leaves it failed (retryable) and no partial file."""
        async with SqlUnitOfWork(self.sessions) as uow:
            job = await jobs.claim_export_job(uow=uow, job_id=job_id, now=self.clock.now())
        if job is None:
            return
        directory = Path(self.settings.exports_dir)
        final = directory / f"export-{job.id}.{job.format.value}"
        partial = directory / f".export-{job.id}.{job.format.value}.part"
        try:
            directory.mkdir(parents=True, exist_ok=True)
            rows = await self._write(job, partial)
            os.replace(partial, final)
            async with SqlUnitOfWork(self.sessions) as uow:
                await jobs.finish_export_job(
                    uow=uow, job_id=job.id, file_path=str(final), rows_done=rows, now=self.clock.now()
                )
            log.info("export job done", extra={"job": job.id, "rows": rows})
        except asyncio.CancelledError:
            _remove(partial)
            await asyncio.shield(self._fail(job.id, jobs.INTERRUPTED))
            raise
        except Exception as exc:  # any failure of one job is recorded on the job, never raised
            _remove(partial)
            # the error's type only: a database error's text may quote the entries' values
            log.error("export job failed", extra={"job": job.id, "error": type(exc).__name__})
            await self._fail(job.id, type(exc).__name__)

    async def _fail(self, job_id: int, error: str) -> None:
        async with SqlUnitOfWork(self.sessions) as uow:
            await jobs.fail_export_job(uow=uow, job_id=job_id, error=error, now=self.clock.now())

    async def _write(self, job: jobs.ExportJob, path: Path) -> int:
        settings = self.settings
        present = Presenter(pii=job.pii, hash_key=settings.hash_key.get_secret_value(), tz=settings.tz)
        async with SqlUnitOfWork(self.sessions) as uow:
            if job.labels is LabelMode.LABELS and job.format is not ExportFormat.JSONL:
                present = replace(present, wording=await export_wording(uow=uow, language=job.language))
            export = await start_feedback_export(
                uow=uow,
                actor=job.created_by,
                filters=job.filters,
                fmt=job.format,
                present=present,
                now=self.clock.now(),
                file=f"job:{job.id}",
            )
        async with SqlUnitOfWork(self.sessions) as uow:
            await jobs.plan_export_job(
                uow=uow, job_id=job.id, upto=export.upto, rows_total=export.rows, now=self.clock.now()
            )
        done = 0

        async def progress(rows: int) -> None:
            nonlocal done
            done += rows
            async with SqlUnitOfWork(self.sessions) as uow:
                await jobs.record_export_progress(
                    uow=uow, job_id=job.id, rows_done=done, now=self.clock.now()
                )
            if self.on_progress is not None:
                await self.on_progress(job.id, done)

        spec = await sql_encoding(self.sessions, export, job.format)
        if spec is not None:  # PostgreSQL writes the lines (storage.export_sql)
            async with await anyio.open_file(path, "wb") as fh:
                if job.format is ExportFormat.CSV:
                    await fh.write(csv_header(present.layout))
                async for count, data in encoded_pages(
                    self.sessions, export, spec, page_size=self.encoded_page_size, prefetch=False
                ):
                    if count:
                        await fh.write(data)
                        await progress(count)
            return done

        async def pages() -> AsyncIterator[list[dict[str, Any]]]:
            """One short read per page; once the page is written, its progress in a second one."""
            after: int | None = None
            while True:
                async with SqlUnitOfWork(self.sessions) as uow:
                    rows = await uow.views.feedback_page(
                        export.filters, after=after, limit=self.page_size, upto=export.upto
                    )
                if not rows:
                    return
                yield [export.present(r) for r in rows]
                await progress(len(rows))
                if len(rows) < self.page_size:
                    return
                after = rows[-1]["id"]

        if job.format is ExportFormat.XLSX:
            workbook = XlsxExport(path, layout=present.layout)
            async for page in pages():
                await anyio.to_thread.run_sync(workbook.write_rows, page)
            async with SqlUnitOfWork(self.sessions) as uow:
                counts = await read_export_counts(uow=uow, export=export)
            await anyio.to_thread.run_sync(workbook.close, counts)
            return done
        body = (
            csv_chunks(pages(), present.layout) if job.format is ExportFormat.CSV else jsonl_chunks(pages())
        )
        async with await anyio.open_file(path, "wb") as fh:
            async for chunk in body:
                await fh.write(chunk)
        return done
