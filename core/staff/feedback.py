"""Feedback, staff side: the filtered list, one entry by receipt, and the bounded, audited exports."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from core import errors
from core.exports import ExportFormat, FeedbackFilters, make_cursor, parse_cursor, present_row
from core.staff.audit import record_audit
from core.staff.ports import Row, StaffUnitOfWork

PAGE_SIZE = 1000


@dataclass(frozen=True)
class Presenter:
    """Turns stored rows into export rows: a pseudonym (or with PII the respondent id), local times."""

    pii: bool
    hash_key: str
    tz: ZoneInfo

    def __call__(self, row: Row) -> dict[str, Any]:
        return present_row(row, pii=self.pii, hash_key=self.hash_key, tz=self.tz)


@dataclass(frozen=True)
class FeedbackPage:
    items: list[dict[str, Any]]
    next_cursor: str | None


@dataclass(frozen=True)
class FeedbackExport:
    """An export under way: its filters, the highest entry id it covers, and its row count (audited)."""

    filters: FeedbackFilters
    upto: int
    rows: int
    present: Presenter


async def list_feedback(
    *,
    uow: StaffUnitOfWork,
    actor: str,
    filters: FeedbackFilters,
    cursor: str | None,
    limit: int,
    present: Presenter,
    now: datetime,
) -> FeedbackPage:
    """Entries matching the filters, oldest first, ``limit`` at a time; a read with PII is audited."""
    rows = await uow.views.feedback_page(filters, after=parse_cursor(cursor), limit=limit + 1)
    more = len(rows) > limit
    rows = rows[:limit]
    if present.pii:
        details = {"filters": filters.as_audit()}
        await record_audit(
            uow, actor=actor, action="feedback.read_pii", details=details, row_count=len(rows), now=now
        )
        await uow.commit()
    return FeedbackPage([present(r) for r in rows], make_cursor(rows[-1]["id"]) if more else None)


async def get_feedback(
    *, uow: StaffUnitOfWork, actor: str, receipt_code: str, present: Presenter, now: datetime
) -> dict[str, Any]:
    """One entry by its receipt code (case ignored); a read with PII is audited."""
    row = await uow.views.feedback_by_receipt(receipt_code)
    if row is None:
        raise errors.FeedbackNotFound(receipt_code=receipt_code.upper())
    if present.pii:
        await record_audit(
            uow, actor=actor, action="feedback.read_pii", target=row["receipt_code"], row_count=1, now=now
        )
        await uow.commit()
    return present(row)


async def start_feedback_export(
    *,
    uow: StaffUnitOfWork,
    actor: str,
    filters: FeedbackFilters,
    fmt: ExportFormat,
    present: Presenter,
    now: datetime,
    document_code: str | None = None,
    file: str | None = None,
) -> FeedbackExport:
    """Fix the export's upper id bound, count its rows and audit it (committed before the first byte)."""
    if document_code is not None:
        document = await uow.views.document_by_code(document_code)
        if document is None:
            raise errors.DocumentNotFound(document_id=document_code)
        filters = replace(filters, document_id=document["id"])
    upto = await uow.views.last_feedback_id()
    rows = await uow.views.count_feedback(filters, upto=upto)
    details: dict[str, Any] = {"format": fmt.value, "filters": filters.as_audit(), "pii": present.pii}
    if file is not None:
        details["file"] = file
    await record_audit(
        uow, actor=actor, action="export.feedback", target=fmt.value, details=details, row_count=rows, now=now
    )
    await uow.commit()
    return FeedbackExport(filters, upto, rows, present)


async def read_export_pages(
    *, uow: StaffUnitOfWork, export: FeedbackExport, page_size: int = PAGE_SIZE
) -> AsyncIterator[list[dict[str, Any]]]:
    """The export's rows, presented, one keyset page at a time (constant memory; read only)."""
    async for page in uow.views.iter_feedback_pages(export.filters, upto=export.upto, page_size=page_size):
        yield [export.present(row) for row in page]


async def read_export_counts(*, uow: StaffUnitOfWork, export: FeedbackExport) -> list[tuple[str, str, int]]:
    """(section, stance, count) of the export's rows, for the summary sheet of a workbook."""
    return await uow.views.counts_by_section_and_stance(export.filters, upto=export.upto)
