"""/v1/documents/{id}/consolidation (JSON, XLSX) and /synthesis.docx: counts, groups, the draft report."""

from __future__ import annotations

import tempfile
from enum import StrEnum
from pathlib import Path as FsPath
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import Response

from api.auth import require_scopes
from api.v1.deps import MAX_ID, Uow, now, services
from api.v1.schemas import ERRORS, ConsolidationRead
from core.api_keys import Principal, Scope
from core.document_consolidation import DIMENSIONS, Consolidation
from core.i18n import t
from core.staff.charts import count_charts
from core.staff.consolidation import Labels, Render, export_consolidation
from formats.charts import bar_chart_svg
from formats.consolidation_xlsx import write_consolidation_xlsx
from formats.reports_docx import build_synthesis_docx
from telemetry.metrics import EXPORTS

router = APIRouter(prefix="/documents", tags=["consolidation"], responses=ERRORS)

DocumentId = Annotated[int, Path(ge=1, le=MAX_ID)]
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


def report_labels(labels: dict[str, Any], language: str = "vi") -> dict[str, Any]:
    """List names plus the catalog's names of stances and channels."""
    out = dict(labels)
    out["stance"] = {s: t(f"api.stance.{s}", language) for s in ("agree", "disagree", "partial", "other")}
    out["channel"] = {c: t(f"api.channel.{c}", language) for c in ("telegram", "web", "zalo", "meeting")}
    for names in out.values():
        names.setdefault("unknown", t("api.unknown", language))
    return out


def xlsx_headers(language: str = "vi") -> dict[str, str]:
    keys = ("counts_sheet", "groups_sheet", "section", "dimension", "value", "count", "representative")
    headers = {k: t(f"api.xlsx.{k}", language) for k in (*keys, "receipts", "whole_document")}
    headers.update({f"dim.{d}": t(f"api.dim.{d}", language) for d in DIMENSIONS})
    return headers


def xlsx_renderer() -> Render:
    """The consolidation as a workbook: a sheet of counts and a sheet of groups."""

    def render(result: Consolidation, labels: Labels) -> bytes:
        with tempfile.TemporaryDirectory(prefix="gopy-report-") as folder:
            path = FsPath(folder) / "report.xlsx"
            write_consolidation_xlsx(result, path, labels=report_labels(labels), headers=xlsx_headers())
            return path.read_bytes()

    return render


def docx_renderer(request: Request) -> Render:
    """The Word draft of the synthesis report, dated today (local time)."""
    settings = services(request).settings
    today = now(request).astimezone(settings.tz)
    issuer = settings.report_issuer_of()

    def render(result: Consolidation, labels: Labels) -> bytes:
        with tempfile.TemporaryDirectory(prefix="gopy-report-") as folder:
            path = FsPath(folder) / "report.docx"
            build_synthesis_docx(result, path, labels=report_labels(labels), today=today, issuer=issuer)
            return path.read_bytes()

    return render


def _attachment(content: bytes | None, media_type: str, filename: str) -> Response:
    headers = {"Content-Disposition": f'attachment; filename="{filename}"'}
    return Response(content, media_type=media_type, headers=headers)


@router.get("/{document_id}/consolidation", response_model=ConsolidationRead)
async def consolidation_json(
    document_id: DocumentId,
    request: Request,
    uow: Uow,
    principal: Principal = Depends(require_scopes(Scope.FEEDBACK_READ)),
) -> dict[str, Any]:
    """Per section: counts by stance, category, organisation, locality and channel, and groups of
    near-identical opinions (representative wording, count, receipt codes)."""
    done = await export_consolidation(
        uow=uow,
        actor=principal.actor,
        document_id=document_id,
        kind="consolidation",
        fmt="json",
        now=now(request),
    )
    EXPORTS.labels(kind="consolidation", format="json").inc()
    return done.result.as_json()


@router.get(
    "/{document_id}/consolidation.xlsx", response_class=Response, responses={200: {"content": {XLSX: {}}}}
)
async def consolidation_xlsx(
    document_id: DocumentId,
    request: Request,
    uow: Uow,
    principal: Principal = Depends(require_scopes(Scope.FEEDBACK_READ)),
) -> Response:
    """The consolidation as a workbook: a sheet of counts and a sheet of groups."""
    done = await export_consolidation(
        uow=uow,
        actor=principal.actor,
        document_id=document_id,
        kind="consolidation",
        fmt="xlsx",
        now=now(request),
        render=xlsx_renderer(),
    )
    EXPORTS.labels(kind="consolidation", format="xlsx").inc()
    return _attachment(done.content, XLSX, f"consolidation-{done.result.document_code}.xlsx")


@router.get(
    "/{document_id}/synthesis.docx", response_class=Response, responses={200: {"content": {DOCX: {}}}}
)
async def synthesis_docx(
    document_id: DocumentId,
    request: Request,
    uow: Uow,
    principal: Principal = Depends(require_scopes(Scope.FEEDBACK_READ)),
) -> Response:
    """A Word draft of the synthesis report ("Báo cáo tổng hợp ý kiến góp ý của Nhân dân vào dự thảo …")."""
    done = await export_consolidation(
        uow=uow,
        actor=principal.actor,
        document_id=document_id,
        kind="synthesis",
        fmt="docx",
        now=now(request),
        render=docx_renderer(request),
    )
    EXPORTS.labels(kind="synthesis", format="docx").inc()
    return _attachment(done.content, DOCX, f"synthesis-{done.result.document_code}.docx")


class Dimension(StrEnum):
    """The dimensions of the counts (core.document_consolidation.DIMENSIONS)."""

    STANCE = "stance"
    CATEGORY = "category"
    ORGANISATION = "organisation"
    LOCALITY = "locality"
    CHANNEL = "channel"


@router.get(
    "/{document_id}/charts/{dimension}.svg",
    response_class=Response,
    responses={200: {"content": {"image/svg+xml": {}}}},
)
async def count_chart_svg(
    document_id: DocumentId,
    dimension: Dimension,
    uow: Uow,
    section_id: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
    lang: Annotated[str, Query(pattern="^(vi|en)$")] = "vi",
    _principal: Principal = Depends(require_scopes(Scope.FEEDBACK_READ)),
) -> Response:
    """A bar chart of the opinions (of one section) by stance, category, organisation, locality or
    channel, as a self-contained, accessible SVG (title and description, no external reference)."""
    charts = await count_charts(uow=uow, document_id=document_id, language=lang, section_id=section_id)
    chart = next(c for c in charts if c.dimension == dimension.value)
    svg = bar_chart_svg(chart.chart, description=chart.description, chart_id=f"chart-{chart.dimension}")
    return Response(
        svg, media_type="image/svg+xml", headers={"Content-Security-Policy": "default-src 'none'"}
    )
