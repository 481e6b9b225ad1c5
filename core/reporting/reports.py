"""Unit reports: the file (type by content, size, zip bomb guard), submission, off-channel claims and
their confirmation, and the stored file of a report."""

from __future__ import annotations

import io
import zipfile
from datetime import datetime
from pathlib import Path

from core import errors
from core.archives import ArchiveLimits, check_archive
from core.domain import ReportingPeriod
from core.reporting.contacts import unit_period
from core.reporting.model import (
    MAX_REPORT_BYTES,
    REPORT_TYPES,
    Contact,
    ContactStatus,
    StoredReportFile,
    Unit,
    UnitReport,
)
from core.reporting.ports import FileStore, ReportingUnitOfWork


def detect_report_type(content: bytes, *, limits: ArchiveLimits | None = None) -> str | None:
    """``pdf`` / ``docx`` / ``xlsx`` / ``odt`` by content (magic bytes and zip entries), never by name.

    An archive is first checked against ``limits`` (``ArchiveRejected`` for a zip bomb).
    """
    if content.startswith(b"%PDF-"):
        return "pdf"
    if not content.startswith(b"PK\x03\x04"):
        return None
    try:
        check_archive(content, limits or ArchiveLimits())
        with zipfile.ZipFile(io.BytesIO(content)) as archive:
            names = set(archive.namelist())
            if "mimetype" in names:
                mimetype = archive.read("mimetype").strip()
                return "odt" if mimetype == b"application/vnd.oasis.opendocument.text" else None
            if "[Content_Types].xml" in names:
                types = archive.read("[Content_Types].xml")
                if b"wordprocessingml.document.main+xml" in types:
                    return "docx"
                if b"spreadsheetml.sheet.main+xml" in types:
                    return "xlsx"
    except (zipfile.BadZipFile, KeyError, OSError, RuntimeError):
        return None
    return None


def check_report_size(size: int | None, *, max_bytes: int = MAX_REPORT_BYTES) -> None:
    if size is not None and size > max_bytes:
        raise errors.ReportFileTooLarge(max_mb=max_bytes // (1024 * 1024))


def store_report_file(
    *,
    files: FileStore,
    content: bytes,
    max_bytes: int = MAX_REPORT_BYTES,
    limits: ArchiveLimits | None = None,
) -> StoredReportFile:
    """Validate a report file (size, type by content, zip bomb guard) and put it in the file store
    under its SHA-256."""
    check_report_size(len(content), max_bytes=max_bytes)
    kind = detect_report_type(content, limits=limits)
    if kind is None:
        raise errors.ReportFileType(types=", ".join(x.upper() for x in REPORT_TYPES))
    sha = files.put(content)
    return StoredReportFile(sha, len(content), kind)


async def _bound_contact_period(
    *, uow: ReportingUnitOfWork, contact_id: int, period_id: int
) -> tuple[Contact, Unit, ReportingPeriod]:
    """The active contact, its unit and one of the unit's periods; a domain error otherwise."""
    contact = await uow.reporting.get_contact(contact_id)
    if contact is None or contact.status is not ContactStatus.ACTIVE:
        raise errors.ContactNotBound()
    unit = await uow.reporting.get_unit_by_id(contact.unit_id)
    if unit is None:
        raise errors.UnitNotFound()
    return contact, unit, await unit_period(uow=uow, unit=unit, period_id=period_id)


async def submit_report(
    *,
    uow: ReportingUnitOfWork,
    contact_id: int,
    period_id: int,
    file: StoredReportFile,
    summary: str,
    opinions_count: int | None,
    now: datetime,
) -> UnitReport:
    """Record a new version of the unit's report (late if after the deadline); commit."""
    contact, unit, period = await _bound_contact_period(uow=uow, contact_id=contact_id, period_id=period_id)
    report = await uow.reporting.add_report(
        UnitReport(
            id=0,
            period_id=period.id,
            unit_id=unit.id,
            version=0,
            kind="file",
            submitted_at=now,
            late=now >= period.due_at,
            contact_id=contact.id,
            file_sha256=file.sha256,
            file_size=file.size,
            file_type=file.type,
            summary=summary.strip()[:2000],
            opinions_count=opinions_count,
        )
    )
    await uow.commit()
    return report


async def claim_offchannel(
    *, uow: ReportingUnitOfWork, contact_id: int, period_id: int, now: datetime
) -> UnitReport:
    """ "Sent through another channel": recorded for staff to confirm; reminders stop; commit."""
    contact, unit, period = await _bound_contact_period(uow=uow, contact_id=contact_id, period_id=period_id)
    latest = (await uow.reporting.latest_reports(period.id)).get((period.id, unit.id))
    if latest is not None:
        return latest
    report = await uow.reporting.add_report(
        UnitReport(
            id=0,
            period_id=period.id,
            unit_id=unit.id,
            version=0,
            kind="offchannel",
            submitted_at=now,
            late=now >= period.due_at,
            contact_id=contact.id,
        )
    )
    await uow.commit()
    return report


async def confirm_offchannel(*, uow: ReportingUnitOfWork, report_id: int, now: datetime) -> UnitReport:
    """Staff confirm an off-channel submission (it then counts as on time or late); commit."""
    report = await uow.reporting.get_report(report_id)
    if report is None or report.kind != "offchannel":
        raise errors.ReportNotFound()
    if report.confirmed_at is None:
        await uow.reporting.confirm_report(report_id, now=now)
        await uow.commit()
    confirmed = await uow.reporting.get_report(report_id)
    assert confirmed is not None
    return confirmed


async def open_report_file(
    *, uow: ReportingUnitOfWork, files: FileStore, report_id: int
) -> tuple[UnitReport, Path]:
    """A stored report and the path of its file (for a download endpoint)."""
    report = await uow.reporting.get_report(report_id)
    if report is None or report.file_sha256 is None:
        raise errors.ReportNotFound()
    path = files.path(report.file_sha256)
    if not path.is_file():
        raise errors.ReportNotFound()
    return report, path
