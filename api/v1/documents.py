"""/v1/documents: list and read drafts with their sections; admins create, publish, close and import."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

from fastapi import APIRouter, Depends, File, Form, Path, Request, UploadFile

from api.auth import audit, require_scopes
from api.v1.deps import MAX_ID, Session, services
from api.v1.schemas import (
    ERRORS,
    DocumentCreate,
    DocumentDetail,
    DocumentRead,
    ImportSummary,
    InputLine,
)
from core import errors
from core.api_keys import Principal, Scope
from storage import queries
from storage.loaders import import_document_bytes
from storage.staff import change_document_status, create_document

router = APIRouter(prefix="/documents", tags=["documents"], responses=ERRORS)

DocumentId = Annotated[int, Path(ge=1, le=MAX_ID)]
MAX_UPLOAD = 20 * 1024 * 1024


class StatusAction(StrEnum):
    PUBLISH = "publish"
    CLOSE = "close"
    REOPEN = "reopen"


@router.get("", response_model=list[DocumentRead])
async def list_documents(session: Session, _: Principal = Depends(require_scopes())) -> list[dict]:  # type: ignore[type-arg]
    """Every document, drafts included."""
    return await queries.list_documents(session)


@router.get("/{document_id}", response_model=DocumentDetail)
async def get_document(
    document_id: DocumentId, session: Session, _: Principal = Depends(require_scopes())
) -> dict:  # type: ignore[type-arg]
    """One document with its sections in reading order."""
    document = await queries.get_document(session, document_id)
    if document is None:
        raise errors.DocumentNotFound(document_id=document_id)
    return {**document, "sections": await queries.list_sections(session, document_id)}


@router.post("", response_model=DocumentRead, status_code=201)
async def create(
    body: DocumentCreate,
    request: Request,
    session: Session,
    principal: Principal = Depends(require_scopes(Scope.ADMIN)),
) -> dict:  # type: ignore[type-arg]
    """A new draft document (status ``draft``); sections come from an import."""
    now = services(request).clock.now()
    document_id = await create_document(session, code=body.code, title=body.title, level=body.level, now=now)
    await session.commit()
    await audit(request, principal, action="document.create", target=body.code)
    return await queries.get_document(session, document_id)  # type: ignore[return-value]


@router.post("/{document_id}/{action}", response_model=DocumentRead)
async def change_status(
    document_id: DocumentId,
    action: StatusAction,
    request: Request,
    session: Session,
    principal: Principal = Depends(require_scopes(Scope.ADMIN)),
) -> dict:  # type: ignore[type-arg]
    """``publish`` (draft → open), ``close`` (open → closed), ``reopen`` (closed → open)."""
    status = await change_document_status(session, document_id=document_id, action=action.value)
    await session.commit()
    await audit(request, principal, action=f"document.{action.value}", target=str(document_id))
    document = await queries.get_document(session, document_id)
    assert document is not None and document["status"] == status
    return document


@router.post("/import", response_model=ImportSummary, status_code=201)
async def import_file(
    request: Request,
    session: Session,
    file: Annotated[UploadFile, File(description="Markdown (.md) or Word (.docx) draft")],
    code: Annotated[InputLine | None, Form(max_length=64)] = None,
    title: Annotated[InputLine | None, Form(max_length=500)] = None,
    status: Annotated[str | None, Form(pattern="^(draft|open|closed)$")] = None,
    principal: Principal = Depends(require_scopes(Scope.ADMIN)),
) -> dict:  # type: ignore[type-arg]
    """Import a draft the same way as ``gopy documents import``: headings become sections; all or nothing."""
    raw = await file.read(MAX_UPLOAD + 1)
    if len(raw) > MAX_UPLOAD:
        raise errors.DocumentImportError(reason="too_large")
    report = await import_document_bytes(
        session,
        raw,
        filename=file.filename or "upload.md",
        now=services(request).clock.now(),
        code=code or None,
        title=title or None,
        status=status,
    )
    await session.commit()
    doc_code = next((n.split("=", 1)[1].split()[0] for n in report.notes if n.startswith("code=")), None)
    await audit(request, principal, action="document.import", target=doc_code)
    document = await queries.document_by_code(session, doc_code) if doc_code else None
    return {"summary": report.summary(), "notes": report.notes, "document": document}
