"""/v1/exports: the filtered entries as CSV (UTF-8 with BOM), XLSX or JSONL, streamed in constant memory.

An export stops at the highest entry id present when it starts, so the audit row written before the
first byte (who, when, filters, row count) states exactly the number of rows the file holds.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import AsyncIterator, Callable
from dataclasses import replace
from pathlib import Path as FsPath
from typing import Annotated, Any, Literal

import anyio
from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import StreamingResponse
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from api.auth import require_scopes
from api.v1.deps import Filters, Uow, now, presenter, services
from api.v1.schemas import ERRORS
from core.api_keys import Principal, Scope
from core.exports import ExportFormat, LabelMode
from core.staff.feedback import (
    FeedbackExport,
    export_wording,
    read_export_counts,
    read_export_pages,
    start_feedback_export,
)
from formats.exports import XLSX_MAX_ROWS, XlsxExport, csv_chunks, jsonl_chunks
from storage.uow import SqlUnitOfWork
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
