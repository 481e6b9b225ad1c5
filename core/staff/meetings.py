"""Opinions gathered at meetings (the XLSX template): its sections, and the all-or-nothing import."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from core import errors
from core.domain import new_receipt_code
from core.i18n import catalog
from core.staff.audit import record_audit
from core.staff.documents import get_document
from core.staff.meeting_rows import MAX_MEETING_ROWS, MeetingContext, RowError, check_meeting_rows
from core.staff.ports import Row, StaffUnitOfWork

LISTS = ("categories", "organisations", "localities")


def _text(key: str, language: str) -> str:
    return catalog(language).get(key) or catalog("vi").get(key) or key


def meeting_rejection(problems: Sequence[RowError]) -> errors.MeetingImportRejected:
    """The error of a refused file: every bad cell (row, column, reason in both languages)."""
    listed = [
        {
            **p.as_dict(),
            "message_vi": _text(f"api.meeting.reason.{p.reason}", "vi"),
            "message_en": _text(f"api.meeting.reason.{p.reason}", "en"),
        }
        for p in problems
    ]
    return errors.MeetingImportRejected(count=len(problems), errors=listed)


async def meeting_template_sections(
    *, uow: StaffUnitOfWork, document_id: int | None
) -> tuple[list[Row], str | None]:
    """The sections (and code) a template lists: those of ``document_id``, or none."""
    if document_id is None:
        return [], None
    document = await get_document(uow=uow, document_id=document_id)
    return document["sections"], document["code"]


async def import_meeting_rows(
    *,
    uow: StaffUnitOfWork,
    actor: str,
    rows: Sequence[Sequence[Any]],
    filename: str | None,
    max_length: int,
    tz: ZoneInfo,
    now: datetime,
    max_rows: int = MAX_MEETING_ROWS,
) -> list[str]:
    """Store the rows as opinions (source and channel "meeting"), audited; any bad row refuses them all."""
    context = MeetingContext(
        documents=await uow.views.document_ids_by_code(),
        sections=await uow.views.section_documents(),
        lists={name: await uow.views.reference_codes(name) for name in LISTS},
        max_length=max_length,
        tz=tz,
        now=now,
        max_rows=max_rows,
    )
    entries, problems = check_meeting_rows(rows, context)
    if problems:
        raise meeting_rejection(problems)
    receipts: list[str] = []
    taken: set[str] = set()
    for _entry in entries:
        code = new_receipt_code()
        while code in taken or await uow.feedback.receipt_exists(code):
            code = new_receipt_code()
        taken.add(code)
        receipts.append(code)
    await uow.feedback.add_meeting_entries(entries, receipts)
    await record_audit(
        uow, actor=actor, action="import.meeting", target=filename, row_count=len(receipts), now=now
    )
    await uow.commit()
    return receipts
