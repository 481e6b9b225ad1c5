"""/v1/documents/{id}/consolidation (JSON, XLSX) and /synthesis.docx: counts, groups, the draft report."""

from __future__ import annotations

import tempfile
from pathlib import Path as FsPath
from typing import Annotated, Any

import anyio
from fastapi import APIRouter, Depends, Path, Request
from fastapi.responses import Response
from sqlalchemy.ext.asyncio import AsyncSession

from api.auth import audit, require_scopes
from api.reports_docx import build_synthesis_docx
from api.v1.deps import MAX_ID, Session, services
from api.v1.schemas import ERRORS, ConsolidationRead
from telemetry.metrics import EXPORTS
from core import errors
from core.api_keys import Principal, Scope
from core.consolidate import DIMENSIONS, Consolidation, consolidate, write_consolidation_xlsx
from core.i18n import t
from storage import queries

router = APIRouter(prefix="/documents", tags=["consolidation"], responses=ERRORS)

DocumentId = Annotated[int, Path(ge=1, le=MAX_ID)]
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


async def load_consolidation(session: AsyncSession, document_id: int) -> tuple[Consolidation, dict[str, Any]]:
    """Read the document's active opinions and consolidate them (grouping runs in a worker thread)."""
    document = await queries.get_document(session, document_id)
    if document is None:
        raise errors.DocumentNotFound(document_id=document_id)
    sections = await queries.list_sections(session, document_id)
    opinions = await queries.opinions_of_document(session, document_id)
    labels: dict[str, Any] = await queries.reference_labels(session)
    result = await anyio.to_thread.run_sync(
        lambda: consolidate(document=document, sections=sections, opinions=opinions)
    )
    return result, labels


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


@router.get("/{document_id}/consolidation", response_model=ConsolidationRead)
async def consolidation_json(
    document_id: DocumentId,
    request: Request,
    session: Session,
    principal: Principal = Depends(require_scopes(Scope.FEEDBACK_READ)),
) -> dict[str, Any]:
    """Per section: counts by stance, category, organisation, locality and channel, and groups of
    near-identical opinions (representative wording, count, receipt codes)."""
    result, _ = await load_consolidation(session, document_id)
    await audit(
        request,
        principal,
        action="export.consolidation",
        target=str(document_id),
        details={"format": "json"},
        row_count=result.total,
    )
    EXPORTS.labels(kind="consolidation", format="json").inc()
    return result.as_json()


async def _file_response(
    request: Request, principal: Principal, session: AsyncSession, document_id: int, kind: str
) -> Response:
    result, labels = await load_consolidation(session, document_id)
    labels = report_labels(labels)
    suffix = "xlsx" if kind == "consolidation" else "docx"
    with tempfile.TemporaryDirectory(prefix="gopy-report-") as folder:
        path = FsPath(folder) / f"report.{suffix}"
        if kind == "consolidation":
            await anyio.to_thread.run_sync(
                lambda: write_consolidation_xlsx(result, path, labels=labels, headers=xlsx_headers())
            )
        else:
            now = services(request).clock.now().astimezone(services(request).settings.tz)
            await anyio.to_thread.run_sync(
                lambda: build_synthesis_docx(result, path, labels=labels, today=now)
            )
        content = path.read_bytes()
    await audit(
        request,
        principal,
        action=f"export.{kind}",
        target=str(document_id),
        details={"format": suffix},
        row_count=result.total,
    )
    EXPORTS.labels(kind=kind, format=suffix).inc()
    filename = f"{kind}-{result.document_code}.{suffix}"
    return Response(
        content,
        media_type=XLSX if suffix == "xlsx" else DOCX,
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


@router.get(
    "/{document_id}/consolidation.xlsx", response_class=Response, responses={200: {"content": {XLSX: {}}}}
)
async def consolidation_xlsx(
    document_id: DocumentId,
    request: Request,
    session: Session,
    principal: Principal = Depends(require_scopes(Scope.FEEDBACK_READ)),
) -> Response:
    """The consolidation as a workbook: a sheet of counts and a sheet of groups."""
    return await _file_response(request, principal, session, document_id, "consolidation")


@router.get(
    "/{document_id}/synthesis.docx", response_class=Response, responses={200: {"content": {DOCX: {}}}}
)
async def synthesis_docx(
    document_id: DocumentId,
    request: Request,
    session: Session,
    principal: Principal = Depends(require_scopes(Scope.FEEDBACK_READ)),
) -> Response:
    """A Word draft of the synthesis report ("Báo cáo tổng hợp ý kiến góp ý của Nhân dân vào dự thảo …")."""
    return await _file_response(request, principal, session, document_id, "synthesis")
