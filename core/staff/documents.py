"""Draft documents, staff side: list, read, create, import, publish / close / reopen, and data files."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from core import errors
from core.domain import DocumentStatus
from core.staff.audit import record_audit
from core.staff.ports import LoadReport, ReadDraft, Row, StaffUnitOfWork

_TRANSITIONS = {
    "publish": (DocumentStatus.DRAFT, DocumentStatus.OPEN),
    "close": (DocumentStatus.OPEN, DocumentStatus.CLOSED),
    "reopen": (DocumentStatus.CLOSED, DocumentStatus.OPEN),
}


def next_status(current: str, action: str) -> DocumentStatus:
    """The status a document goes to on ``action`` (publish, close, reopen); otherwise a 409 error."""
    source, target = _TRANSITIONS.get(action, (None, None))
    if source is None or target is None or current != source.value:
        raise errors.InvalidStatusChange(current=current, target=action)
    return target


@dataclass(frozen=True)
class DocumentImport:
    """What an import did, and the document as stored afterwards."""

    report: LoadReport
    document: Row | None


async def list_documents(*, uow: StaffUnitOfWork) -> list[Row]:
    """Every document, drafts included."""
    return await uow.views.list_documents()


async def get_document(*, uow: StaffUnitOfWork, document_id: int, sections: bool = True) -> Row:
    """One document, with its sections in reading order (DocumentNotFound otherwise)."""
    document = await uow.views.get_document(document_id)
    if document is None:
        raise errors.DocumentNotFound(document_id=document_id)
    if not sections:
        return document
    return {**document, "sections": await uow.views.list_sections(document_id)}


async def create_document(
    *, uow: StaffUnitOfWork, actor: str, code: str, title: str, level: str | None, now: datetime
) -> Row:
    """A new draft document (status draft) without sections; a taken code is DocumentCodeTaken."""
    if await uow.documents.code_taken(code):
        raise errors.DocumentCodeTaken(code=code)
    document_id = await uow.documents.add_draft(code=code, title=title, level=level, now=now)
    await record_audit(uow, actor=actor, action="document.create", target=code, now=now)
    document = await get_document(uow=uow, document_id=document_id, sections=False)
    await uow.commit()
    return document


async def change_document_status(
    *,
    uow: StaffUnitOfWork,
    actor: str,
    document_id: int,
    action: str,
    now: datetime,
    opens_at: datetime | None = None,
    closes_at: datetime | None = None,
) -> Row:
    """``publish`` (draft → open), ``close`` (open → closed) or ``reopen`` (closed → open) a document.

    ``opens_at`` / ``closes_at`` (aware datetimes, optional) set the consultation dates at the same time
    (a publish or a reopen); the close must come after the opening (``InvalidQuery(field="closes_at")``).
    """
    current = await uow.documents.status_of(document_id)
    if current is None:
        raise errors.DocumentNotFound(document_id=document_id)
    target = next_status(current, action)
    details: dict[str, str] = {}
    if opens_at is not None or closes_at is not None:
        if opens_at is not None and closes_at is not None and closes_at <= opens_at:
            raise errors.InvalidQuery(field="closes_at", reason="range")
        await uow.documents.set_dates(document_id, opens_at=opens_at, closes_at=closes_at)
        details = {k: v.isoformat() for k, v in (("opens_at", opens_at), ("closes_at", closes_at)) if v}
    await uow.documents.set_status(document_id, target.value)
    await record_audit(
        uow,
        actor=actor,
        action=f"document.{action}",
        target=str(document_id),
        details=details or None,
        now=now,
    )
    document = await get_document(uow=uow, document_id=document_id, sections=False)
    await uow.commit()
    return document


async def import_document(
    *,
    uow: StaffUnitOfWork,
    actor: str,
    raw: bytes,
    filename: str,
    read_draft: ReadDraft,
    now: datetime,
    code: str | None = None,
    title: str | None = None,
    status: str | None = None,
) -> DocumentImport:
    """Import a Markdown or DOCX draft (parsed by ``read_draft``): headings become sections; all or
    nothing, audited."""
    report = await uow.data_files.import_document(
        read_draft(raw, filename), now=now, code=code, title=title, status=status
    )
    await record_audit(uow, actor=actor, action="document.import", target=report.document_code, now=now)
    code = report.document_code
    document = await uow.views.document_by_code(code) if code else None
    await uow.commit()
    return DocumentImport(report, document)


async def load_data_file(
    *, uow: StaffUnitOfWork, path: Path, read_draft: ReadDraft, now: datetime
) -> LoadReport:
    """Load one data file (plan, lists, localities, units, a draft document); all or nothing."""
    report = await uow.data_files.load(path, now=now, read_draft=read_draft)
    await uow.commit()
    return report
