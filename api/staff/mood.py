"""/staff/mood (viewer): the public mood of a reporting period (counts, near-identical groups, themes
per topic) and its report draft as Word. Thin routes over core.staff.mood."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import Response

from api.staff.periods import choose_period
from api.staff.rendering import render
from api.staff.security import StaffRoute, StaffUser, require_staff
from api.unit_of_work import Uow
from core import errors
from core.i18n import t
from core.mood import SUMMARY_DIMENSIONS
from core.staff.mood import export_mood_report, export_mood_summary
from core.staff.reporting import list_periods
from formats.reports_docx import build_mood_report_docx

router = APIRouter(route_class=StaffRoute, include_in_schema=False)
PeriodCode = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.-]+$")]
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


@router.get("/staff/mood")
async def mood_page(
    request: Request,
    uow: Uow,
    period: Annotated[str | None, Query(max_length=64)] = None,
    user: StaffUser = require_staff("viewer"),
) -> Response:
    svc = request.app.state.services
    now = svc.clock.now()
    periods = await list_periods(uow=uow)
    chosen = choose_period(periods, period, now)
    summary = None
    if chosen is not None:
        summary = await export_mood_summary(
            uow=uow, actor=user.actor, period_code=chosen.code, now=now, language=user.lang
        )
    return render(
        request,
        "mood.html",
        {
            "periods": periods,
            "chosen": chosen,
            "summary": summary,
            "dimensions": SUMMARY_DIMENSIONS,
            "groups": [g for g in summary.groups if g.count > 1] if summary else [],
            "tz": svc.settings.tz,
            "error": None if chosen is not None or not period else t("staff.mood.no_period", user.lang),
        },
        user=user,
        status_code=404 if period and chosen is None else 200,
    )


@router.get("/staff/mood/{period_code}/report.docx")
async def mood_report(
    request: Request, uow: Uow, period_code: PeriodCode, user: StaffUser = require_staff("viewer")
) -> Response:
    """The Word draft of "Báo cáo tình hình Nhân dân …" for the period, as ``gopy mood report`` writes."""
    svc = request.app.state.services
    now, settings = svc.clock.now(), svc.settings
    issuer = settings.report_issuer_of()
    try:
        _, content = await export_mood_report(
            uow=uow,
            actor=user.actor,
            period_code=period_code,
            now=now,
            language=user.lang,
            render=lambda summary, units: build_mood_report_docx(
                summary, units=units, now=now, timezone=settings.timezone, language=user.lang, issuer=issuer
            ),
        )
    except errors.ReportingPeriodNotFound:
        return render(
            request,
            "mood.html",
            {
                "periods": await list_periods(uow=uow),
                "chosen": None,
                "summary": None,
                "dimensions": SUMMARY_DIMENSIONS,
                "groups": [],
                "tz": settings.tz,
                "error": t("staff.mood.no_period", user.lang),
            },
            user=user,
            status_code=404,
        )
    return Response(
        content,
        media_type=DOCX,
        headers={"Content-Disposition": f'attachment; filename="bao-cao-tinh-hinh-{period_code}.docx"'},
    )
