"""/v1/exports: the filtered entries as CSV (UTF-8 with BOM), XLSX or JSONL, streamed in constant memory.

An export stops at the highest entry id present when it starts, so the audit row written before the
first byte (who, when, filters, row count) states exactly the number of rows the file holds.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import AsyncIterator
from pathlib import Path as FsPath
from typing import Annotated, Any

import anyio
from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import StreamingResponse
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from api.auth import audit, require_scopes
from api.v1.deps import Filters, Session, services
from api.v1.feedback import presenter
from api.v1.schemas import ERRORS
from telemetry.metrics import EXPORTS
from core.api_keys import Principal, Scope
from core.exports import XLSX_MAX_ROWS, ExportFormat, FeedbackFilters, XlsxExport, csv_chunks, jsonl_chunks
from storage import queries

router = APIRouter(prefix="/exports", tags=["exports"], responses=ERRORS)

PAGE_SIZE = 1000
FILE_CHUNK = 256 * 1024


async def presented_pages(
    sessions: async_sessionmaker[AsyncSession], filters: FeedbackFilters, upto: int, present: Any
) -> AsyncIterator[list[dict[str, Any]]]:
    async with sessions() as session:
        async for page in queries.iter_feedback_pages(session, filters, upto=upto, page_size=PAGE_SIZE):
            yield [present(row) for row in page]


async def xlsx_chunks(
    sessions: async_sessionmaker[AsyncSession],
    filters: FeedbackFilters,
    upto: int,
    present: Any,
    *,
    max_rows: int = XLSX_MAX_ROWS,
) -> AsyncIterator[bytes]:
    """Write the workbook to a temporary file page by page, then stream the file and delete it."""
    handle, name = tempfile.mkstemp(prefix="gopy-export-", suffix=".xlsx")
    os.close(handle)
    path = FsPath(name)
    try:
        export = XlsxExport(path, max_rows=max_rows)
        async for page in presented_pages(sessions, filters, upto, present):
            await anyio.to_thread.run_sync(export.write_rows, page)  # keep the event loop free
        async with sessions() as session:
            counts = await queries.counts_by_section_and_stance(session, filters, upto=upto)
        await anyio.to_thread.run_sync(export.close, counts)
        async with await anyio.open_file(path, "rb") as fh:
            while chunk := await fh.read(FILE_CHUNK):
                yield chunk
    finally:
        path.unlink(missing_ok=True)


async def prepare_export(
    request: Request, session: AsyncSession, principal: Principal, filters: FeedbackFilters, fmt: ExportFormat
) -> int:
    """Fix the upper id bound, count the rows and write the audit row; return the bound."""
    upto = await queries.last_feedback_id(session)
    rows = await queries.count_feedback(session, filters, upto=upto)
    pii = principal.has(Scope.FEEDBACK_PII)
    await audit(
        request,
        principal,
        action="export.feedback",
        target=fmt.value,
        details={"format": fmt.value, "filters": filters.as_audit(), "pii": pii},
        row_count=rows,
    )
    EXPORTS.labels(kind="feedback", format=fmt.value).inc()
    return upto


@router.get(
    "/feedback",
    response_class=StreamingResponse,
    responses={
        200: {"content": {"text/csv": {}, ExportFormat.XLSX.media_type: {}, "application/x-ndjson": {}}}
    },
)
async def export_feedback(
    request: Request,
    session: Session,
    filters: Filters,
    format: Annotated[ExportFormat, Query(description="csv, xlsx or jsonl")] = ExportFormat.CSV,
    principal: Principal = Depends(require_scopes(Scope.FEEDBACK_READ)),
) -> StreamingResponse:
    """The entries matching the filters (same filters as the list), streamed; audited with the row count."""
    upto = await prepare_export(request, session, principal, filters, format)
    await session.close()
    sessions = services(request).sessions
    present = presenter(request, principal)
    body: AsyncIterator[bytes]
    if format is ExportFormat.CSV:
        body = csv_chunks(presented_pages(sessions, filters, upto, present))
    elif format is ExportFormat.JSONL:
        body = jsonl_chunks(presented_pages(sessions, filters, upto, present))
    else:
        body = xlsx_chunks(sessions, filters, upto, present)
    filename = f"gopy-feedback.{format.value}"
    return StreamingResponse(
        body,
        media_type=format.media_type,
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )
