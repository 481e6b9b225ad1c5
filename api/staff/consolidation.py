"""/staff/consolidation: a draft's counts and charts (whole document or one section), near-duplicate groups
and themes, theme edits (analysts), and downloads: the synthesis report (Word), the consolidation
workbook, and the opinions as CSV / XLSX / JSON Lines (a background job with a progress bar above
``GOPY_EXPORT_BACKGROUND_ROWS`` rows).
"""

from __future__ import annotations

import re
from dataclasses import replace
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import FileResponse, Response, StreamingResponse

from api.staff.pages_common import error_text, now, staff_presenter
from api.staff.rendering import redirect, render
from api.staff.security import StaffRoute, StaffUser, require_staff
from api.unit_of_work import Uow
from api.v1.consolidation import DOCX, XLSX, docx_renderer, xlsx_renderer
from api.v1.exports import export_chunks
from core import errors
from core.exports import ExportFormat, FeedbackFilters, LabelMode
from core.staff import export_jobs as jobs
from core.staff import themes as th
from core.staff.charts import count_charts
from core.staff.consolidation import export_consolidation
from core.staff.documents import list_documents
from core.staff.feedback import export_wording, start_feedback_export
from formats.charts import bar_chart_svg

router = APIRouter(route_class=StaffRoute, include_in_schema=False)

THEME_EDITOR = "analyst"
THEME_KEY = re.compile(r"^(s[0-9]{1,10}|a[0-9a-f]{16})$")
OPS = ("rename", "merge", "split", "move")


def _section_id(value: str | None) -> int | None:
    return int(value) if value and value.isdigit() and 0 < int(value) < 2**31 else None


async def _page(
    request: Request,
    uow: Uow,
    user: StaffUser,
    *,
    document_id: int | None,
    section_id: int | None,
    error: str | None = None,
    status: int = 200,
) -> Response:
    documents = await list_documents(uow=uow)
    if document_id is None and documents:
        document_id = documents[0]["id"]
    context: dict[str, Any] = {
        "documents": documents,
        "document_id": document_id,
        "section_id": section_id,
        "error": error,
        "result": None,
        "charts": [],
        "theme_editor": user.can(THEME_EDITOR),
        "formats": [f.value for f in ExportFormat],
    }
    if document_id is not None and any(d["id"] == document_id for d in documents):
        done = await export_consolidation(
            uow=uow,
            actor=user.actor,
            document_id=document_id,
            kind="consolidation",
            fmt="html",
            now=now(request),
        )
        charts = await count_charts(
            uow=uow, document_id=document_id, language=user.lang, section_id=section_id
        )
        context["result"] = done.result
        context["charts"] = [
            {
                "dimension": c.dimension,
                "bars": c.chart.bars,
                "total": c.total,
                "svg": bar_chart_svg(c.chart, description=c.description, chart_id=f"chart-{c.dimension}"),
            }
            for c in charts
        ]
        sections = done.result.sections
        context["shown_sections"] = [s for s in sections if section_id is None or s.section_id == section_id]
    return render(request, "consolidation.html", context, user=user, status_code=status)


@router.get("/staff/consolidation")
async def consolidation(request: Request, uow: Uow, user: StaffUser = require_staff("viewer")) -> Response:
    query = request.query_params
    return await _page(
        request,
        uow,
        user,
        document_id=_section_id(query.get("document_id")),
        section_id=_section_id(query.get("section_id")),
    )


def _attachment(content: bytes | None, media_type: str, filename: str) -> Response:
    return Response(
        content, media_type=media_type, headers={"Content-Disposition": f'attachment; filename="{filename}"'}
    )


@router.get("/staff/consolidation/{document_id}/synthesis.docx")
async def synthesis(
    request: Request, uow: Uow, document_id: int, user: StaffUser = require_staff("viewer")
) -> Response:
    done = await export_consolidation(
        uow=uow,
        actor=user.actor,
        document_id=document_id,
        kind="synthesis",
        fmt="docx",
        now=now(request),
        render=docx_renderer(request),
    )
    return _attachment(done.content, DOCX, f"synthesis-{done.result.document_code}.docx")


@router.get("/staff/consolidation/{document_id}/consolidation.xlsx")
async def consolidation_xlsx(
    request: Request, uow: Uow, document_id: int, user: StaffUser = require_staff("viewer")
) -> Response:
    done = await export_consolidation(
        uow=uow,
        actor=user.actor,
        document_id=document_id,
        kind="consolidation",
        fmt="xlsx",
        now=now(request),
        render=xlsx_renderer(),
    )
    return _attachment(done.content, XLSX, f"consolidation-{done.result.document_code}.xlsx")


@router.post("/staff/consolidation/{document_id}/export")
async def export(
    request: Request,
    uow: Uow,
    document_id: int,
    format: Annotated[str, Form(max_length=8)] = "xlsx",
    user: StaffUser = require_staff("viewer"),
) -> Response:
    """The document's opinions as a file: streamed at once, or as a background job when large."""
    try:
        fmt = ExportFormat(format)
    except ValueError:
        message = error_text(errors.InvalidQuery(field="format", reason="invalid"), user.lang)
        return await _page(
            request, uow, user, document_id=document_id, section_id=None, error=message, status=422
        )
    svc = request.app.state.services
    filters = FeedbackFilters(document_id=document_id)
    estimate = await jobs.estimate_export(
        uow=uow, filters=filters, background_rows=svc.settings.export_background_rows
    )
    pii = user.can("analyst")
    if estimate.background:
        job = await jobs.start_export_job(
            uow=uow,
            actor=user.actor,
            filters=filters,
            fmt=fmt,
            labels=LabelMode.LABELS,
            language=user.lang,
            pii=pii,
            now=now(request),
        )
        svc.export_jobs.submit(job.id)
        return redirect(
            f"/staff/consolidation/jobs/{job.id}", flash="staff.consolidation.job_queued", level="info"
        )
    present = staff_presenter(request, user)
    if fmt is not ExportFormat.JSONL:
        present = replace(present, wording=await export_wording(uow=uow, language=user.lang))
    started = await start_feedback_export(
        uow=uow, actor=user.actor, filters=filters, fmt=fmt, present=present, now=now(request)
    )
    return StreamingResponse(
        export_chunks(svc.sessions, started, fmt),
        media_type=fmt.media_type,
        headers={"Content-Disposition": f'attachment; filename="gopy-feedback.{fmt.value}"'},
    )


async def _job_context(uow: Uow, job_id: int) -> dict[str, Any]:
    job = await jobs.get_export_job(uow=uow, job_id=job_id)
    percent = round((job.progress or 0) * 100)
    return {"job": job, "percent": percent, "running": job.status.value in ("queued", "running")}


@router.get("/staff/consolidation/jobs/{job_id}")
async def job_page(
    request: Request, uow: Uow, job_id: int, user: StaffUser = require_staff("viewer")
) -> Response:
    return render(request, "export_job.html", await _job_context(uow, job_id), user=user)


@router.get("/staff/consolidation/jobs/{job_id}/progress")
async def job_progress(
    request: Request, uow: Uow, job_id: int, user: StaffUser = require_staff("viewer")
) -> Response:
    """The progress fragment the job page polls (htmx) while the job runs."""
    return render(request, "export_job_progress.html", await _job_context(uow, job_id), user=user)


@router.get("/staff/consolidation/jobs/{job_id}/file")
async def job_file(
    request: Request, uow: Uow, job_id: int, user: StaffUser = require_staff("viewer")
) -> Response:
    job = await jobs.open_export_job_file(
        uow=uow, actor=user.actor, job_id=job_id, pii_allowed=user.can("analyst"), now=now(request)
    )
    assert job.file_path is not None
    return FileResponse(
        job.file_path, media_type=job.format.media_type, filename=f"gopy-feedback-{job.id}.{job.format.value}"
    )


@router.post("/staff/consolidation/jobs/{job_id}/retry")
async def job_retry(
    request: Request, uow: Uow, job_id: int, user: StaffUser = require_staff("viewer")
) -> Response:
    """Queue a failed job again from the start (``retry_export_job``; audited ``export.retry``)."""
    job = await jobs.retry_export_job(uow=uow, actor=user.actor, job_id=job_id, now=now(request))
    request.app.state.services.export_jobs.submit(job.id)
    return redirect(
        f"/staff/consolidation/jobs/{job.id}", flash="staff.consolidation.job_queued", level="info"
    )


@router.post("/staff/consolidation/{document_id}/themes/{theme_key}/{op}")
async def theme_edit(
    request: Request,
    uow: Uow,
    document_id: int,
    theme_key: str,
    op: str,
    section_id: Annotated[str, Form(max_length=12)] = "",
    name: Annotated[str, Form(max_length=500)] = "",
    other: Annotated[str, Form(max_length=40)] = "",
    receipt_codes: Annotated[str, Form(max_length=4000)] = "",
    receipt_code: Annotated[str, Form(max_length=16)] = "",
    user: StaffUser = require_staff(THEME_EDITOR),
) -> Response:
    section = _section_id(section_id)
    back = f"/staff/consolidation?document_id={document_id}" + (f"&section_id={section}" if section else "")
    try:
        if op not in OPS or not THEME_KEY.match(theme_key):
            raise errors.ThemeNotFound(theme=theme_key[:40])
        scope = await th.section_theme_scope(uow=uow, document_id=document_id, section_id=section)
        stamp = now(request)
        if op == "rename":
            await th.rename_theme(
                uow=uow, actor=user.actor, scope=scope, theme_key=theme_key, name=name, now=stamp
            )
        elif op == "merge":
            await th.merge_themes(
                uow=uow,
                actor=user.actor,
                scope=scope,
                theme_key=theme_key,
                other_key=other.strip(),
                name=name.strip() or None,
                now=stamp,
            )
        elif op == "split":
            codes = [c for c in re.split(r"[\s,;]+", receipt_codes.upper()) if c]
            await th.split_theme(
                uow=uow,
                actor=user.actor,
                scope=scope,
                theme_key=theme_key,
                receipt_codes=codes,
                name=name,
                now=stamp,
            )
        else:
            await th.move_opinion(
                uow=uow,
                actor=user.actor,
                scope=scope,
                receipt_code=receipt_code.strip().upper(),
                theme_key=theme_key,
                now=stamp,
            )
    except (
        errors.ThemeNotFound,
        errors.InvalidQuery,
        errors.SectionNotFound,
        errors.FeedbackNotFound,
    ) as exc:
        await uow.rollback()
        return await _page(
            request,
            uow,
            user,
            document_id=document_id,
            section_id=section,
            error=error_text(exc, user.lang),
            status=422,
        )
    return redirect(back, flash=f"staff.consolidation.theme_{op}")
