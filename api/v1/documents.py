"""/v1/documents: list and read drafts with their sections; admins create, publish, close and import."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Any

from fastapi import APIRouter, Depends, File, Form, Path, Request, UploadFile

from api.auth import require_scopes
from api.v1.deps import MAX_ID, Uow, now
from api.v1.schemas import (
    ERRORS,
    DocumentCreate,
    DocumentDetail,
    DocumentRead,
    DraftReadingRead,
    ImportSummary,
    InputLine,
)
from core import errors
from core.api_keys import Principal, Scope
from core.staff import documents as uc
from core.staff.reading import read_draft_with_counts
from formats.drafts import read_draft

router = APIRouter(prefix="/documents", tags=["documents"], responses=ERRORS)

DocumentId = Annotated[int, Path(ge=1, le=MAX_ID)]
MAX_UPLOAD = 20 * 1024 * 1024


class StatusAction(StrEnum):
    PUBLISH = "publish"
    CLOSE = "close"
    REOPEN = "reopen"


@router.get("", response_model=list[DocumentRead])
async def list_documents(uow: Uow, _: Principal = Depends(require_scopes())) -> list[dict[str, Any]]:
    """Every document, drafts included."""
    return await uc.list_documents(uow=uow)


@router.get("/{document_id}", response_model=DocumentDetail)
async def get_document(
    document_id: DocumentId, uow: Uow, _: Principal = Depends(require_scopes())
) -> dict[str, Any]:
    """One document with its sections in reading order."""
    return await uc.get_document(uow=uow, document_id=document_id)


@router.get("/{document_id}/reading", response_model=DraftReadingRead)
async def read_document(
    document_id: DocumentId, uow: Uow, _: Principal = Depends(require_scopes(Scope.FEEDBACK_READ))
) -> dict[str, Any]:
    """The section tree with, beside each section, its opinions by stance (active, not hidden)."""
    return (await read_draft_with_counts(uow=uow, document_id=document_id)).as_json()


@router.post("", response_model=DocumentRead, status_code=201)
async def create(
    body: DocumentCreate,
    request: Request,
    uow: Uow,
    principal: Principal = Depends(require_scopes(Scope.ADMIN)),
) -> dict[str, Any]:
    """A new draft document (status ``draft``); sections come from an import."""
    return await uc.create_document(
        uow=uow, actor=principal.actor, code=body.code, title=body.title, level=body.level, now=now(request)
    )


@router.post("/{document_id}/{action}", response_model=DocumentRead)
async def change_status(
    document_id: DocumentId,
    action: StatusAction,
    request: Request,
    uow: Uow,
    principal: Principal = Depends(require_scopes(Scope.ADMIN)),
) -> dict[str, Any]:
    """``publish`` (draft → open), ``close`` (open → closed), ``reopen`` (closed → open)."""
    return await uc.change_document_status(
        uow=uow, actor=principal.actor, document_id=document_id, action=action.value, now=now(request)
    )


@router.post("/import", response_model=ImportSummary, status_code=201)
async def import_file(
    request: Request,
    uow: Uow,
    file: Annotated[UploadFile, File(description="Markdown (.md) or Word (.docx) draft")],
    code: Annotated[InputLine | None, Form(max_length=64)] = None,
    title: Annotated[InputLine | None, Form(max_length=500)] = None,
    status: Annotated[str | None, Form(pattern="^(draft|open|closed)$")] = None,
    principal: Principal = Depends(require_scopes(Scope.ADMIN)),
) -> dict[str, Any]:
    """Import a draft the same way as ``gopy documents import``: headings become sections; all or nothing."""
    raw = await file.read(MAX_UPLOAD + 1)
    if len(raw) > MAX_UPLOAD:
        raise errors.DocumentImportError(reason="too_large")
    done = await uc.import_document(
        uow=uow,
        actor=principal.actor,
        raw=raw,
        filename=file.filename or "upload.md",
        read_draft=read_draft,
        now=now(request),
        code=code or None,
        title=title or None,
        status=status,
    )
    return {"summary": done.report.summary(), "notes": done.report.notes, "document": done.document}
