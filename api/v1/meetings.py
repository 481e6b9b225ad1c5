"""/v1/meetings: the XLSX template for opinions gathered at meetings, and its all-or-nothing import."""

from __future__ import annotations

from functools import partial
from typing import Annotated, Any

import anyio
from fastapi import APIRouter, Depends, File, Query, Request, UploadFile
from fastapi.responses import Response

from api.auth import require_scopes
from api.v1.deps import MAX_ID, Uow, now, services
from api.v1.schemas import ERRORS, MeetingImportResult
from core.api_keys import Principal, Scope
from core.archives import ArchiveLimits
from core.config import Settings
from core.staff.meeting_rows import RowError
from core.staff.meetings import import_meeting_rows, meeting_rejection, meeting_template_sections
from formats.meeting_xlsx import UnreadableMeetingFile, build_meeting_template, read_meeting_rows
from telemetry.metrics import SUBMISSIONS

router = APIRouter(prefix="/meetings", tags=["meetings"], responses=ERRORS)

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
MAX_UPLOAD = 10 * 1024 * 1024


@router.get("/template.xlsx", response_class=Response, responses={200: {"content": {XLSX: {}}}})
async def template(
    uow: Uow,
    document_id: Annotated[
        int | None, Query(ge=1, le=MAX_ID, description="list this draft's sections")
    ] = None,
    _: Principal = Depends(require_scopes()),
) -> Response:
    """The XLSX template to fill in; with ``document_id`` it lists that draft's sections and their ids."""
    sections, code = await meeting_template_sections(uow=uow, document_id=document_id)
    return Response(
        build_meeting_template(sections, code),
        media_type=XLSX,
        headers={"Content-Disposition": 'attachment; filename="gopy-meeting-template.xlsx"'},
    )


def read_rows(raw: bytes, *, limits: ArchiveLimits, max_rows: int) -> list[tuple[Any, ...]]:
    """The data rows of the uploaded template (see ``formats.meeting_xlsx``); an unreadable file is rejected."""
    try:
        return read_meeting_rows(raw, limits=limits, max_rows=max_rows)
    except UnreadableMeetingFile as exc:
        raise meeting_rejection([RowError(1, "*", exc.reason)]) from exc


async def uploaded_rows(file: UploadFile, settings: Settings) -> list[tuple[Any, ...]]:
    """The data rows of an uploaded template, read in a worker thread (size, zip bomb and row limits)."""
    raw = await file.read(MAX_UPLOAD + 1)
    if len(raw) > MAX_UPLOAD:
        raise meeting_rejection([RowError(1, "*", "too_many_rows")])
    limits, max_rows = ArchiveLimits.from_settings(settings), settings.meeting_import_max_rows
    return await anyio.to_thread.run_sync(partial(read_rows, raw, limits=limits, max_rows=max_rows))


@router.post("/import", response_model=MeetingImportResult, status_code=201)
async def import_meeting_file(
    request: Request,
    uow: Uow,
    file: Annotated[UploadFile, File(description="the filled-in template (.xlsx)")],
    principal: Principal = Depends(require_scopes(Scope.ADMIN)),
) -> dict[str, Any]:
    """Rows become opinions with source and channel "meeting" and the unit's code. A file with any bad row
    is rejected whole (422) with the list of every bad cell (row, column, reason in both languages)."""
    settings = services(request).settings
    receipts = await import_meeting_rows(
        uow=uow,
        actor=principal.actor,
        rows=await uploaded_rows(file, settings),
        filename=file.filename,
        max_length=settings.max_text_length,
        tz=settings.tz,
        now=now(request),
        max_rows=settings.meeting_import_max_rows,
    )
    SUBMISSIONS.labels(channel="meeting", kind="draft_opinion").inc(len(receipts))
    return {"imported": len(receipts), "receipt_codes": receipts}
