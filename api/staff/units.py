"""/staff/units: the reporting units' compliance per period (viewer), confirming an off-channel
submission (analyst or admin), a unit's report file and the table as XLSX (viewer; audited), and the
reminders preview for a chosen moment. Thin routes over core.staff.reporting and core.reporting.preview."""

from __future__ import annotations

import io
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import FileResponse, Response

from api.staff.periods import choose_period
from api.staff.rendering import redirect, render
from api.staff.security import StaffRoute, StaffUser, require_staff
from api.unit_of_work import Uow
from core import errors
from core.i18n import t
from core.reporting import reminder_policy
from core.reporting.model import ComplianceStatus
from core.reporting.preview import preview_reminders
from core.staff.contacts import list_contacts
from core.staff.reporting import (
    confirm_report,
    download_report_file,
    export_compliance_table,
    list_periods,
    list_unit_reports,
)
from formats.compliance_xlsx import write_compliance_xlsx
from storage.repositories_reporting import LocalFileStore

router = APIRouter(route_class=StaffRoute, include_in_schema=False)
PeriodCode = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.-]+$")]
ReportId = Annotated[int, Path(ge=1, le=2**31 - 1)]
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
FILE_TYPES = {
    "pdf": "application/pdf",
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "xlsx": XLSX,
    "odt": "application/vnd.oasis.opendocument.text",
}
STATUSES = tuple(s.value for s in ComplianceStatus)


def _error(request: Request, user: StaffUser, message: str, status: int) -> Response:
    return render(request, "page_error.html", {"message": message}, user=user, status_code=status)


@router.get("/staff/units")
async def units_page(
    request: Request,
    uow: Uow,
    period: Annotated[str | None, Query(max_length=64)] = None,
    user: StaffUser = require_staff("viewer"),
) -> Response:
    svc = request.app.state.services
    now = svc.clock.now()
    periods = await list_periods(uow=uow)
    chosen = choose_period(periods, period, now)
    if chosen is None:
        if period:
            return _error(request, user, t("staff.units.no_period", user.lang), 404)
        rows = []
    else:
        rows = await list_unit_reports(uow=uow, actor=user.actor, period_code=chosen.code, now=now)
    counts = {s: sum(1 for r in rows if r.compliance.status.value == s) for s in STATUSES}
    contacts: dict[str, list[object]] = {}
    if rows and user.can("admin"):  # names are personal data: admins only, the read audited
        for listing in await list_contacts(uow=uow, actor=user.actor, now=now):
            contacts.setdefault(listing.unit.code, []).append(listing)
    local_now = now.astimezone(svc.settings.tz).strftime("%Y-%m-%dT%H:%M")
    return render(
        request,
        "units.html",
        {
            "periods": periods,
            "chosen": chosen,
            "rows": rows,
            "counts": counts,
            "contacts": contacts,
            "statuses": STATUSES,
            "tz": svc.settings.tz,
            "can_confirm": user.can("analyst"),
            "local_now": local_now,
        },
        user=user,
    )


@router.post("/staff/units/reports/{report_id}/confirm")
async def confirm(
    request: Request,
    uow: Uow,
    report_id: ReportId,
    period: Annotated[str, Query(max_length=64, pattern=r"^[A-Za-z0-9_.-]*$")] = "",
    user: StaffUser = require_staff("analyst"),
) -> Response:
    """Confirm a unit's "sent through another channel" submission (audited ``report.confirm``)."""
    try:
        await confirm_report(
            uow=uow, actor=user.actor, report_id=report_id, now=request.app.state.services.clock.now()
        )
    except errors.ReportNotFound:
        await uow.rollback()
        return _error(request, user, t("staff.units.report_not_found", user.lang), 404)
    back = f"/staff/units?period={period}" if period else "/staff/units"
    return redirect(back, flash="staff.units.confirmed")


@router.get("/staff/units/reports/{report_id}/file")
async def report_file(
    request: Request, uow: Uow, report_id: ReportId, user: StaffUser = require_staff("viewer")
) -> Response:
    """A unit's submitted report file (audited ``download.report``)."""
    svc = request.app.state.services
    try:
        report, path = await download_report_file(
            uow=uow,
            actor=user.actor,
            files=LocalFileStore(svc.settings.files_dir),
            report_id=report_id,
            now=svc.clock.now(),
        )
    except errors.ReportNotFound:
        return _error(request, user, t("staff.units.report_not_found", user.lang), 404)
    kind = report.file_type or "pdf"
    return FileResponse(
        path,
        media_type=FILE_TYPES.get(kind, "application/octet-stream"),
        filename=f"report-{report.period_id}-{report.unit_id}-v{report.version}.{kind}",
    )


@router.get("/staff/units/{period_code}/compliance.xlsx")
async def compliance_xlsx(
    request: Request, uow: Uow, period_code: PeriodCode, user: StaffUser = require_staff("viewer")
) -> Response:
    """The period's compliance table as a workbook, in the staffer's language (audited)."""
    svc = request.app.state.services
    try:
        table = await export_compliance_table(
            uow=uow,
            actor=user.actor,
            period_code=period_code,
            language=user.lang,
            tz=svc.settings.tz,
            now=svc.clock.now(),
        )
    except errors.ReportingPeriodNotFound:
        return _error(request, user, t("staff.units.no_period", user.lang), 404)
    buffer = io.BytesIO()
    write_compliance_xlsx(table, buffer)
    return Response(
        buffer.getvalue(),
        media_type=XLSX,
        headers={"Content-Disposition": f'attachment; filename="tinh-hinh-bao-cao-{period_code}.xlsx"'},
    )


def _moment(value: str | None, tz: object, now: datetime) -> datetime | None:
    """A datetime-local value (``YYYY-MM-DDTHH:MM``, local time) as an aware datetime; None if invalid."""
    if not value:
        return now
    try:
        moment = datetime.strptime(value.strip()[:16], "%Y-%m-%dT%H:%M")
    except ValueError:
        return None
    return moment.replace(tzinfo=tz)  # type: ignore[arg-type]


@router.get("/staff/units/reminders")
async def reminders_preview(
    request: Request,
    uow: Uow,
    at: Annotated[str | None, Query(max_length=32)] = None,
    user: StaffUser = require_staff("viewer"),
) -> Response:
    """What the scheduler would send at a chosen moment, and to whom (nothing is queued or sent)."""
    svc = request.app.state.services
    settings = svc.settings
    now = svc.clock.now()
    moment = _moment(at, settings.tz, now)
    preview = []
    if moment is not None:
        preview = await preview_reminders(
            uow=uow,
            policy=reminder_policy(settings),
            staff_chat_ids=settings.staff_chat_ids,
            moments=[moment],
        )
    shown = (moment or now).astimezone(settings.tz).strftime("%Y-%m-%dT%H:%M")
    return render(
        request,
        "reminders.html",
        {
            "preview": preview[0] if preview else None,
            "at": shown,
            "invalid": moment is None,
            "tz": settings.tz,
            "timezone": settings.timezone,
        },
        user=user,
        status_code=422 if moment is None else 200,
    )
