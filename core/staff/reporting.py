"""Reporting units, staff side: periods, compliance per unit, report files, off-channel confirmations."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
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
