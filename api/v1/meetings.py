"""/v1/meetings: the XLSX template for opinions gathered at meetings, and its all-or-nothing import."""

from __future__ import annotations

import io
import zipfile
from functools import partial
from typing import Annotated, Any

import anyio
from fastapi import APIRouter, Depends, File, Query, Request, UploadFile
from fastapi.responses import Response

from api.auth import require_scopes
from api.v1.deps import MAX_ID, Uow, now, services
from api.v1.schemas import ERRORS, MeetingImportResult
from core import errors
from core.api_keys import Principal, Scope
from core.archives import ArchiveLimits, check_archive, check_sheet_rows
from core.config import Settings
from core.i18n import t
from core.staff.meeting_rows import MEETING_COLUMNS, RowError
from core.staff.meetings import import_meeting_rows, meeting_rejection, meeting_template_sections
from telemetry.metrics import SUBMISSIONS

router = APIRouter(prefix="/meetings", tags=["meetings"], responses=ERRORS)

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
MAX_UPLOAD = 10 * 1024 * 1024


def build_template(sections: list[dict[str, Any]], document_code: str | None) -> bytes:
    """The template: a data sheet with the header row, a help sheet, and the sections of a document."""
    import xlsxwriter

    buffer = io.BytesIO()
    workbook = xlsxwriter.Workbook(buffer, {"in_memory": True, "strings_to_formulas": False})
    bold = workbook.add_format({"bold": True})
    data = workbook.add_worksheet("data")
    data.write_row(0, 0, MEETING_COLUMNS, bold)
    data.set_column(0, len(MEETING_COLUMNS) - 1, 18)
    data.set_column(3, 3, 60)
    if document_code:
        data.write_string(1, 0, document_code)
    data.freeze_panes(1, 0)
    help_sheet = workbook.add_worksheet(t("api.meeting.help_title", "vi")[:31])
    help_sheet.write_row(0, 0, ("column", "Tiếng Việt", "English"), bold)
    for row, column in enumerate(MEETING_COLUMNS, start=1):
        help_sheet.write_row(
            row, 0, (column, t(f"api.meeting.help.{column}", "vi"), t(f"api.meeting.help.{column}", "en"))
        )
    help_sheet.set_column(0, 0, 18)
    help_sheet.set_column(1, 2, 70)
    listing = workbook.add_worksheet(t("api.meeting.sections_sheet", "vi"))
    listing.write_row(0, 0, ("section_id", "number", "title"), bold)
    for row, section in enumerate(sections, start=1):
        listing.write_number(row, 0, section["id"])
        listing.write_string(row, 1, section["number"] or "")
        listing.write_string(row, 2, section["title"])
    listing.set_column(2, 2, 80)
    workbook.close()
    return buffer.getvalue()


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
        build_template(sections, code),
        media_type=XLSX,
        headers={"Content-Disposition": 'attachment; filename="gopy-meeting-template.xlsx"'},
    )


def read_rows(raw: bytes, *, limits: ArchiveLimits, max_rows: int) -> list[tuple[Any, ...]]:
    """The data rows of the first sheet (its template columns); a file that is not a readable XLSX or has
    another header fails; a zip bomb, or more than ``max_rows`` data rows, is refused (ArchiveRejected)
    without unpacking or reading it all: rows are counted while streaming."""
    from openpyxl import load_workbook

    rows: list[tuple[Any, ...]] = []
    try:
        check_archive(raw, limits)
        check_sheet_rows(raw, max_rows=max_rows)
        workbook = load_workbook(io.BytesIO(raw), read_only=True, data_only=True)
        try:
            sheet = workbook.worksheets[0]
            for row in sheet.iter_rows(max_col=len(MEETING_COLUMNS), values_only=True):
                if len(rows) > max_rows:  # the header and max_rows data rows are in already
                    raise errors.TooManyRows(max_rows=max_rows)
                rows.append(tuple(row))
        finally:
            workbook.close()
    except (zipfile.BadZipFile, OSError, KeyError, ValueError, TypeError, IndexError) as exc:
        raise meeting_rejection([RowError(1, "*", "bad_file")]) from exc
    header = tuple(str(c).strip() if c is not None else "" for c in (rows[0] if rows else ()))
    if header[: len(MEETING_COLUMNS)] != MEETING_COLUMNS:
        raise meeting_rejection([RowError(1, "*", "bad_header")])
    return rows[1:]


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
