"""/v1/exports: the filtered entries as CSV (UTF-8 with BOM), XLSX or JSONL, streamed in constant memory.

An export stops at the highest entry id present when it starts, so the audit row written before the
first byte (who, when, filters, row count) states exactly the number of rows the file holds.
"""

from __future__ import annotations

import asyncio
import os
import tempfile
from collections.abc import AsyncIterator, Callable
from contextlib import suppress
from dataclasses import replace
from pathlib import Path as FsPath
from typing import Annotated, Any, Literal

import anyio
from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import FileResponse, StreamingResponse
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from api.auth import require_scopes
from api.v1.deps import Filters, Uow, now, presenter, services
from api.v1.schemas import ERRORS, ExportEstimateRead, ExportJobRead
from core.api_keys import Principal, Scope
from core.exports import ExportFormat, LabelMode, SqlEncoding
from core.staff import export_jobs as jobs
from core.staff.feedback import (
    FeedbackExport,
    export_wording,
    read_export_counts,
    read_export_pages,
    start_feedback_export,
)
from formats.exports import XLSX_MAX_ROWS, XlsxExport, csv_chunks, csv_header, jsonl_chunks
from storage.uow import SqlUnitOfWork
from storage.views import PageBounds, SqlViewRepository
from telemetry.metrics import EXPORTS

router = APIRouter(prefix="/exports", tags=["exports"], responses=ERRORS)

FILE_CHUNK = 256 * 1024
OnPage = Callable[[int], None]
Language = Literal["vi", "en"]


async def _pages(
    uow: SqlUnitOfWork, export: FeedbackExport, on_page: OnPage | None
) -> AsyncIterator[list[dict[str, Any]]]:
    async for page in read_export_pages(uow=uow, export=export):
        if on_page is not None:
            on_page(len(page))
        yield page


async def _xlsx(
    uow: SqlUnitOfWork, export: FeedbackExport, on_page: OnPage | None, max_rows: int
) -> AsyncIterator[bytes]:
    """Write the workbook to a temporary file page by page, then stream the file and delete it."""
    handle, name = tempfile.mkstemp(prefix="gopy-export-", suffix=".xlsx")
    os.close(handle)
    path = FsPath(name)
    try:
        workbook = XlsxExport(path, max_rows=max_rows, layout=export.present.layout)
        async for page in _pages(uow, export, on_page):
            await anyio.to_thread.run_sync(workbook.write_rows, page)  # keep the event loop free
        counts = await read_export_counts(uow=uow, export=export)
        await anyio.to_thread.run_sync(workbook.close, counts)
        async with await anyio.open_file(path, "rb") as fh:
            while chunk := await fh.read(FILE_CHUNK):
                yield chunk
    finally:
        path.unlink(missing_ok=True)


ENCODED_PAGE_SIZE = 5000
"""Rows per page the database writes itself (one value of a few MB per page)."""


async def encoded_pages(
    sessions: async_sessionmaker[AsyncSession],
    export: FeedbackExport,
    spec: SqlEncoding,
    *,
    page_size: int = ENCODED_PAGE_SIZE,
    prefetch: bool = True,
) -> AsyncIterator[tuple[int, bytes]]:
    """(rows, bytes) of each page of a CSV / JSONL export written by the database (storage.export_sql).

    The first page is one transaction (its bounds, then its lines): an export of one page is one read.
    After it, a page is one short transaction on one connection at a time: one statement gives its
    lines and the next page's bounds (its last id and respondents); only when that statement could not
    give them (the row ending the page no longer matches the filters) are they read first, by a narrow
    statement of their own. With ``prefetch`` the next page is read while the caller sends the current
    one (so at most two pages in memory and one connection held); without it, one page after the other
    and nothing read while the caller has a page. A connection is held for a query, never while the
    bytes go to the client or the disk."""
    filters, upto = export.filters, export.upto
    Page = tuple[int, int | None, bytes, PageBounds | None]

    async def page(after: int, bounds: PageBounds | None, sent: asyncio.Event | None = None) -> Page:
        if bounds is None:
            async with SqlUnitOfWork(sessions) as uow:
                bounds = await uow.views.encoded_feedback_keys(
                    filters, spec, after=after, limit=page_size, upto=upto
                )
        count, last, respondents = bounds
        if not count or last is None:
            return 0, None, b"", None
        async with SqlUnitOfWork(sessions) as uow:
            data, ahead = await uow.views.encoded_feedback_lines(
                filters,
                spec,
                after=after,
                last=last,
                limit=page_size,
                upto=upto,
                respondents=respondents,
                on_sent=None if sent is None else sent.set,
            )
        return count, last, data, ahead

    async def under_way(task: asyncio.Task[Page], sent: asyncio.Event) -> None:
        """Until the next page's lines statement has gone to the database (or the task ended): the
        database then writes them while the caller has the current page, even when the caller does
        not give the event loop back until it is done with it (a file written and hashed)."""
        waiter = asyncio.ensure_future(sent.wait())
        try:
            await asyncio.wait((task, waiter), return_when=asyncio.FIRST_COMPLETED)
        finally:
            waiter.cancel()

    async with SqlUnitOfWork(sessions) as uow:
        count, last, data, ahead = await uow.views.encoded_feedback_page(
            filters, spec, after=None, limit=page_size, upto=upto
        )
    more = count >= page_size and last is not None
    if not prefetch or not more or last is None:
        if count:
            yield count, data
        while more and last is not None:
            count, last, data, ahead = await page(last, ahead)
            if not count:
                return
            yield count, data
            more = count >= page_size
        return
    sent = asyncio.Event()
    upcoming: asyncio.Task[Page] | None = asyncio.create_task(page(last, ahead, sent))
    try:
        await under_way(upcoming, sent)
        yield count, data
        while upcoming is not None:
            count, last, data, ahead = await upcoming
            upcoming = None
            if not count:
                return
            if count >= page_size and last is not None:
                sent = asyncio.Event()
                upcoming = asyncio.create_task(page(last, ahead, sent))
                await under_way(upcoming, sent)
            yield count, data
    finally:
        if upcoming is not None:
            upcoming.cancel()
            with suppress(asyncio.CancelledError):
                await upcoming


async def sql_encoding(
    sessions: async_sessionmaker[AsyncSession], export: FeedbackExport, fmt: ExportFormat
) -> SqlEncoding | None:
    """The export's :class:`SqlEncoding` when the database can write it (PostgreSQL), else None."""
    spec = export.present.sql_encoding(fmt)
    if spec is None:
        return None
    async with sessions() as session:  # asks the engine: no transaction begun
        return spec if SqlViewRepository(session).can_encode_feedback() else None


async def export_chunks(
    sessions: async_sessionmaker[AsyncSession],
    export: FeedbackExport,
    fmt: ExportFormat,
    *,
    on_page: OnPage | None = None,
    max_rows: int = XLSX_MAX_ROWS,
) -> AsyncIterator[bytes]:
    """The bytes of an export started by :func:`start_feedback_export` (the API streams them, the CLI
    writes them to a file)."""
    spec = await sql_encoding(sessions, export, fmt)
    if spec is not None:  # PostgreSQL writes the lines; one short transaction per page
        if fmt is ExportFormat.CSV:
            yield csv_header(export.present.layout)
        async for count, data in encoded_pages(sessions, export, spec):
            if on_page is not None:
                on_page(count)
            if data:
                yield data
        return
    # a second, read-only transaction: the export's audit row is committed before its first byte
    async with SqlUnitOfWork(sessions) as uow:
        if fmt is ExportFormat.XLSX:
            body = _xlsx(uow, export, on_page, max_rows)
        elif fmt is ExportFormat.CSV:
            body = csv_chunks(_pages(uow, export, on_page), export.present.layout)
        else:
            body = jsonl_chunks(_pages(uow, export, on_page))
        async for chunk in body:
            yield chunk


@router.get(
    "/feedback",
    response_class=StreamingResponse,
    responses={
        200: {"content": {"text/csv": {}, ExportFormat.XLSX.media_type: {}, "application/x-ndjson": {}}}
    },
)
async def export_feedback(
    request: Request,
    uow: Uow,
    filters: Filters,
    format: Annotated[ExportFormat, Query(description="csv, xlsx or jsonl")] = ExportFormat.CSV,
    labels: Annotated[
        LabelMode,
        Query(description="labels: headers and names for people (CSV, XLSX); codes: the machine layout"),
    ] = LabelMode.LABELS,
    lang: Annotated[Language, Query(description="language of the headers and names: vi or en")] = "vi",
    principal: Principal = Depends(require_scopes(Scope.FEEDBACK_READ)),
) -> StreamingResponse:
    """The entries matching the filters (same filters as the list), streamed; audited with the row count.

    CSV and XLSX are for people by default (Vietnamese headers and names, section paths, local dates);
    ``labels=codes`` gives the machine layout; JSON Lines is always the machine layout."""
    present = presenter(request, principal)
    if labels is LabelMode.LABELS and format is not ExportFormat.JSONL:
        present = replace(present, wording=await export_wording(uow=uow, language=lang))
    export = await start_feedback_export(
        uow=uow,
        actor=principal.actor,
        filters=filters,
        fmt=format,
        present=present,
        now=now(request),
    )
    EXPORTS.labels(kind="feedback", format=format.value).inc()
    return StreamingResponse(
        export_chunks(services(request).sessions, export, format),
        media_type=format.media_type,
        headers={"Content-Disposition": f'attachment; filename="gopy-feedback.{format.value}"'},
    )


JobId = Annotated[int, Path(ge=1, le=2**31 - 1)]


@router.get("/estimate", response_model=ExportEstimateRead)
async def estimate_export(
    request: Request,
    uow: Uow,
    filters: Filters,
    principal: Principal = Depends(require_scopes(Scope.FEEDBACK_READ)),
) -> dict[str, Any]:
    """How many rows an export with these filters holds, and whether to run it as a background job."""
    threshold = services(request).settings.export_background_rows
    estimate = await jobs.estimate_export(uow=uow, filters=filters, background_rows=threshold)
    return {"rows": estimate.rows, "background": estimate.background, "background_rows": threshold}


@router.post("/jobs", response_model=ExportJobRead, status_code=202)
async def start_export_job(
    request: Request,
    uow: Uow,
    filters: Filters,
    format: Annotated[ExportFormat, Query(description="csv, xlsx or jsonl")] = ExportFormat.XLSX,
    labels: Annotated[LabelMode, Query(description="labels (for people) or codes")] = LabelMode.LABELS,
    lang: Annotated[Language, Query(description="language of the headers and names")] = "vi",
    principal: Principal = Depends(require_scopes(Scope.FEEDBACK_READ)),
) -> dict[str, Any]:
    """Queue an export written to a file in the background (same filters and file as
    ``GET /v1/exports/feedback``); follow it with ``GET /v1/exports/jobs/{id}``."""
    job = await jobs.start_export_job(
        uow=uow,
        actor=principal.actor,
        filters=filters,
        fmt=format,
        labels=labels,
        language=lang,
        pii=principal.has(Scope.FEEDBACK_PII),
        now=now(request),
    )
    services(request).export_jobs.submit(job.id)
    EXPORTS.labels(kind="feedback_job", format=format.value).inc()
    return job.as_json()


@router.get("/jobs", response_model=list[ExportJobRead])
async def list_export_jobs(
    uow: Uow,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    _principal: Principal = Depends(require_scopes(Scope.FEEDBACK_READ)),
) -> list[dict[str, Any]]:
    """The latest background exports, newest first."""
    return [job.as_json() for job in await jobs.list_export_jobs(uow=uow, limit=limit)]


@router.get("/jobs/{job_id}", response_model=ExportJobRead)
async def get_export_job(
    uow: Uow, job_id: JobId, _principal: Principal = Depends(require_scopes(Scope.FEEDBACK_READ))
) -> dict[str, Any]:
    """A background export's status and progress (``rows_done`` of ``rows_total``)."""
    return (await jobs.get_export_job(uow=uow, job_id=job_id)).as_json()


@router.post("/jobs/{job_id}/retry", response_model=ExportJobRead, status_code=202)
async def retry_export_job(
    request: Request,
    uow: Uow,
    job_id: JobId,
    principal: Principal = Depends(require_scopes(Scope.FEEDBACK_READ)),
) -> dict[str, Any]:
    """Run a failed job again from the start (e.g. one ``interrupted`` by a restart)."""
    job = await jobs.retry_export_job(uow=uow, actor=principal.actor, job_id=job_id, now=now(request))
    services(request).export_jobs.submit(job.id)
    return job.as_json()


@router.get(
    "/jobs/{job_id}/file",
    response_class=FileResponse,
    responses={
        200: {"content": {"text/csv": {}, ExportFormat.XLSX.media_type: {}, "application/x-ndjson": {}}},
        409: {"description": "the job is not done"},
    },
)
async def export_job_file(
    request: Request,
    uow: Uow,
    job_id: JobId,
    principal: Principal = Depends(require_scopes(Scope.FEEDBACK_READ)),
) -> FileResponse:
    """The file of a finished job (audited); a job with respondent ids needs ``feedback:pii``."""
    job = await jobs.open_export_job_file(
        uow=uow,
        actor=principal.actor,
        job_id=job_id,
        pii_allowed=principal.has(Scope.FEEDBACK_PII),
        now=now(request),
        file_exists=lambda path: FsPath(path).is_file(),  # removed, or GOPY_EXPORTS_DIR moved
    )
    assert job.file_path is not None
    return FileResponse(
        job.file_path,
        media_type=job.format.media_type,
        filename=f"gopy-feedback-{job.id}.{job.format.value}",
    )
