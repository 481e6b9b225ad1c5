"""/v1/periods and /v1/reports: reporting periods, compliance per unit, report files; the public-mood
summary and DOCX draft of a period. Thin routes over the use cases of core.staff.reporting and core.staff.mood."""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Request
from fastapi.responses import FileResponse, Response
from pydantic import BaseModel

from api.auth import require_scopes
from api.v1.deps import MAX_ID, Uow, now, services
from api.v1.schemas import ERRORS
from core.api_keys import Principal, Scope
from core.staff import reporting as uc
from core.staff.mood import RenderReport, export_mood_report, export_mood_summary
from formats.reports_docx import build_mood_report_docx
from storage.repositories_reporting import LocalFileStore
from telemetry.metrics import EXPORTS

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
    uow: Uow, _: Principal = Depends(require_scopes(Scope.REPORTS_READ))
) -> list[dict[str, Any]]:
    """The reporting periods of the loaded plans, by due date (due 00:00 local on the 5th)."""
    return [{**asdict(p), "unit_kinds": list(p.unit_kinds)} for p in await uc.list_periods(uow=uow)]


@router.get("/periods/{period_code}/compliance", response_model=list[ComplianceRead])
async def compliance(
    period_code: PeriodCode,
    request: Request,
    uow: Uow,
    principal: Principal = Depends(require_scopes(Scope.REPORTS_READ)),
) -> list[dict[str, Any]]:
    """Per unit: on time, late, claimed (sent through another channel, to confirm) or missing."""
    rows = await uc.check_compliance(
        uow=uow, actor=principal.actor, period_code=period_code, now=now(request)
    )
    return [{**row.__dict__, "status": row.status.value} for row in rows]


@router.get("/reports/{report_id}/file", response_class=FileResponse)
async def report_file(
    report_id: ReportId,
    request: Request,
    uow: Uow,
    principal: Principal = Depends(require_scopes(Scope.REPORTS_READ)),
) -> FileResponse:
    """Download the file of a unit's submitted report (stored by its SHA-256)."""
    files = LocalFileStore(services(request).settings.files_dir)
    report, path = await uc.download_report_file(
        uow=uow, actor=principal.actor, files=files, report_id=report_id, now=now(request)
    )
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
    uow: Uow,
    principal: Principal = Depends(require_scopes(Scope.FEEDBACK_READ)),
) -> dict[str, Any]:
    """Concerns, aspirations and recommendations of a period: counts by congress, kind, topic, category,
    organisation, locality, and groups of near-identical entries."""
    summary = await export_mood_summary(
        uow=uow, actor=principal.actor, period_code=period_code, now=now(request)
    )
    EXPORTS.labels(kind="mood_summary", format="json").inc()
    return summary.as_dict()


def mood_docx(request: Request) -> RenderReport:
    """The DOCX layout of the mood report, dated now in the configured timezone."""
    moment, settings = now(request), services(request).settings
    issuer = settings.report_issuer_of()
    return lambda summary, units: build_mood_report_docx(
        summary, units=units, now=moment, timezone=settings.timezone, issuer=issuer
    )


@router.get("/mood/periods/{period_code}/report.docx", response_class=Response)
async def mood_report(
    period_code: PeriodCode,
    request: Request,
    uow: Uow,
    principal: Principal = Depends(require_scopes(Scope.FEEDBACK_READ, Scope.REPORTS_READ)),
) -> Response:
    """DOCX draft of "Báo cáo tình hình Nhân dân trước/sau Đại hội …": the period's entries and the
    units that reported, late or not."""
    _, content = await export_mood_report(
        uow=uow, actor=principal.actor, period_code=period_code, now=now(request), render=mood_docx(request)
    )
    EXPORTS.labels(kind="mood_report", format="docx").inc()
    return Response(
        content,
        media_type=DOCX,
        headers={"Content-Disposition": f'attachment; filename="bao-cao-tinh-hinh-{period_code}.docx"'},
    )
