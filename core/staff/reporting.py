"""Reporting units, staff side: periods, compliance per unit, report files, off-channel confirmations."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, tzinfo
from pathlib import Path

from core.domain import ReportingPeriod
from core.reporting import (
    FileStore,
    UnitCompliance,
    UnitReport,
    confirm_offchannel,
    open_report_file,
    period_compliance,
)
from core.reporting.compliance import ComplianceTable, compliance_table
from core.reporting.model import Unit, report_receipt_code
from core.staff.audit import record_audit
from core.staff.ports import StaffUnitOfWork


async def list_periods(*, uow: StaffUnitOfWork) -> Sequence[ReportingPeriod]:
    """The reporting periods of the loaded plans, by due date."""
    return await uow.plan.list_periods()


async def check_compliance(
    *, uow: StaffUnitOfWork, actor: str, period_code: str, now: datetime
) -> list[UnitCompliance]:
    """Per unit of a period: on time, late, claimed (to confirm) or missing; the read is audited."""
    rows = await period_compliance(uow=uow, period_code=period_code, now=now)
    await record_audit(
        uow, actor=actor, action="read.compliance", target=period_code, row_count=len(rows), now=now
    )
    await uow.commit()
    return rows


async def download_report_file(
    *, uow: StaffUnitOfWork, actor: str, files: FileStore, report_id: int, now: datetime
) -> tuple[UnitReport, Path]:
    """A unit's submitted report and the path of its file; the download is audited."""
    report, path = await open_report_file(uow=uow, files=files, report_id=report_id)
    await record_audit(
        uow, actor=actor, action="download.report", target=str(report_id), row_count=1, now=now
    )
    await uow.commit()
    return report, path


async def confirm_report(*, uow: StaffUnitOfWork, actor: str, report_id: int, now: datetime) -> UnitReport:
    """Confirm a unit's "sent through another channel" submission; audited."""
    await record_audit(uow, actor=actor, action="report.confirm", target=str(report_id), now=now)
    return await confirm_offchannel(uow=uow, report_id=report_id, now=now)


async def export_compliance_table(
    *, uow: StaffUnitOfWork, actor: str, period_code: str | None, language: str, tz: tzinfo, now: datetime
) -> ComplianceTable:
    """The compliance table of one period (or of every period) for a spreadsheet; the export is audited."""
    table = await compliance_table(uow=uow, period_code=period_code, language=language, tz=tz, now=now)
    await record_audit(
        uow,
        actor=actor,
        action="export.compliance",
        target=period_code or "*",
        row_count=len(table.rows),
        now=now,
    )
    await uow.commit()
    return table


@dataclass(frozen=True)
class UnitReportRow:
    """A unit's line of a period's compliance, with what a page needs about its latest report."""

    compliance: UnitCompliance
    receipt_code: str | None  # BC-…, what the contact was given
    has_file: bool
    offchannel: bool


async def list_unit_reports(
    *, uow: StaffUnitOfWork, actor: str, period_code: str, now: datetime
) -> list[UnitReportRow]:
    """The compliance of a period per unit with each latest report's receipt code; the read is audited
    (``read.compliance``, as :func:`check_compliance`)."""
    rows = await period_compliance(uow=uow, period_code=period_code, now=now)
    lines = []
    for row in rows:
        report = await uow.reporting.get_report(row.report_id) if row.report_id else None
        lines.append(
            UnitReportRow(
                compliance=row,
                receipt_code=report_receipt_code(report.id) if report else None,
                has_file=bool(report and report.file_sha256),
                offchannel=bool(report and report.kind == "offchannel"),
            )
        )
    await record_audit(
        uow, actor=actor, action="read.compliance", target=period_code, row_count=len(rows), now=now
    )
    await uow.commit()
    return lines


async def list_reporting_units(*, uow: StaffUnitOfWork) -> list[Unit]:
    """The reporting units (data/units.yaml), for pickers."""
    return list(await uow.reporting.list_units())
