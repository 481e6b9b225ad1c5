"""/v1/periods and /v1/reports: reporting periods, compliance per unit, report files; the public-mood
summary and DOCX draft of a period. Thin routes over core.reporting, core.mood and core.mood_report."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Request
from fastapi.responses import FileResponse, Response
from pydantic import BaseModel

from api.auth import audit, require_scopes
from api.v1.deps import MAX_ID, services
from api.v1.schemas import ERRORS
from telemetry.metrics import EXPORTS
from core.api_keys import Principal, Scope
from core.mood import summarise_mood_period
from core.mood_report import build_mood_report_docx, units_of_period
from core.reporting import open_report_file, period_compliance
from storage.repositories_reporting import LocalFileStore
from storage.uow import SqlUnitOfWork

router = APIRouter(tags=["reporting units"], responses=ERRORS)

PeriodCode = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.-]+$")]
ReportId = Annotated[int, Path(ge=1, le=MAX_ID)]
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
FILE_TYPES = {
    "pdf": "application/pdf",
    "docx": DOCX,
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "odt": "application/vnd.oasis.opendocument.text",
}


class PeriodRead(BaseModel):
    id: int  # the ``period_id`` filter of /v1/feedback and /v1/exports/feedback
    code: str
    congress_id: int
    phase: str
    title_vi: str
    title_en: str
    due_at: datetime
    unit_kinds: list[str]


class ComplianceRead(BaseModel):
    period_code: str
    unit_code: str
    unit_name: str
    kind: str
    status: str
    contacts: int
    reachable_contacts: int
    report_id: int | None
    version: int | None
    submitted_at: datetime | None


@router.get("/periods", response_model=list[PeriodRead])
async def list_periods(
    request: Request, principal: Principal = Depends(require_scopes(Scope.REPORTS_READ))
) -> list[dict[str, Any]]:
    """The reporting periods of the loaded plans, by due date (due 00:00 local on the 5th)."""
    async with SqlUnitOfWork(services(request).sessions) as uow:
        periods = await uow.plan.list_periods()
    return [
        {
            "id": p.id,
            "code": p.code,
            "congress_id": p.congress_id,
            "phase": p.phase,
            "title_vi": p.title_vi,
            "title_en": p.title_en,
            "due_at": p.due_at,
            "unit_kinds": list(p.unit_kinds),
        }
        for p in periods
    ]


@router.get("/periods/{period_code}/compliance", response_model=list[ComplianceRead])
async def compliance(
    period_code: PeriodCode,
    request: Request,
    principal: Principal = Depends(require_scopes(Scope.REPORTS_READ)),
) -> list[dict[str, Any]]:
    """Per unit: on time, late, claimed (sent through another channel, to confirm) or missing."""
    svc = services(request)
    async with SqlUnitOfWork(svc.sessions) as uow:
        rows = await period_compliance(uow=uow, period_code=period_code, now=svc.clock.now())
    await audit(request, principal, action="read.compliance", target=period_code, row_count=len(rows))
    return [{**row.__dict__, "status": row.status.value} for row in rows]


@router.get("/reports/{report_id}/file", response_class=FileResponse)
async def report_file(
    report_id: ReportId,
    request: Request,
    principal: Principal = Depends(require_scopes(Scope.REPORTS_READ)),
) -> FileResponse:
    """Download the file of a unit's submitted report (stored by its SHA-256)."""
    svc = services(request)
    async with SqlUnitOfWork(svc.sessions) as uow:
        report, path = await open_report_file(
            uow=uow, files=LocalFileStore(svc.settings.files_dir), report_id=report_id
        )
    await audit(request, principal, action="download.report", target=str(report_id), row_count=1)
    kind = report.file_type or "pdf"
    return FileResponse(
        path,
        media_type=FILE_TYPES.get(kind, "application/octet-stream"),
        filename=f"report-{report.period_id}-{report.unit_id}-v{report.version}.{kind}",
    )


@router.get("/mood/periods/{period_code}/summary")
async def mood_summary(
    period_code: PeriodCode,
    request: Request,
    principal: Principal = Depends(require_scopes(Scope.FEEDBACK_READ)),
) -> dict[str, Any]:
    """Concerns, aspirations and recommendations of a period: counts by congress, kind, topic, category,
    organisation, locality, and groups of near-identical entries."""
    async with SqlUnitOfWork(services(request).sessions) as uow:
        summary = await summarise_mood_period(uow=uow, period_code=period_code)
    await audit(request, principal, action="export.mood_summary", target=period_code, row_count=summary.total)
    EXPORTS.labels(kind="mood_summary", format="json").inc()
    return summary.as_dict()


@router.get("/mood/periods/{period_code}/report.docx", response_class=Response)
async def mood_report(
    period_code: PeriodCode,
    request: Request,
    principal: Principal = Depends(require_scopes(Scope.FEEDBACK_READ, Scope.REPORTS_READ)),
) -> Response:
    """DOCX draft of "Báo cáo tình hình Nhân dân trước/sau Đại hội …": the period's entries and the
    units that reported, late or not."""
    svc = services(request)
    now = svc.clock.now()
    async with SqlUnitOfWork(svc.sessions) as uow:
        summary = await summarise_mood_period(uow=uow, period_code=period_code)
        units = await units_of_period(uow=uow, period_code=period_code, now=now)
    content = build_mood_report_docx(summary, units=units, now=now, timezone=svc.settings.timezone)
    await audit(request, principal, action="export.mood_report", target=period_code, row_count=summary.total)
    EXPORTS.labels(kind="mood_report", format="docx").inc()
    return Response(
        content,
        media_type=DOCX,
        headers={"Content-Disposition": f'attachment; filename="bao-cao-tinh-hinh-{period_code}.docx"'},
    )
