"""Compliance of a reporting period: who is on time, late, claimed (off-channel, to confirm) or missing."""

from __future__ import annotations

from datetime import datetime

from core import errors
from core.reporting.model import ComplianceStatus, ContactStatus, UnitCompliance, units_reporting_on
from core.reporting.ports import ReportingUnitOfWork


async def period_compliance(
    *, uow: ReportingUnitOfWork, period_code: str, now: datetime
) -> list[UnitCompliance]:
    """Who is on time, late, claimed (off-channel, to confirm) or missing for one period."""
    period = next((p for p in await uow.plan.list_periods() if p.code == period_code), None)
    if period is None:
        raise errors.ReportingPeriodNotFound(period=period_code)
    reports = await uow.reporting.latest_reports(period.id)
    rows = []
    for unit in units_reporting_on(period, await uow.reporting.list_units()):
        report = reports.get((period.id, unit.id))
        contacts = [
            c for c in await uow.reporting.contacts_of_unit(unit.id) if c.status is ContactStatus.ACTIVE
        ]
        if report is None:
            status = ComplianceStatus.MISSING
        elif report.kind == "offchannel" and report.confirmed_at is None:
            status = ComplianceStatus.CLAIMED
        else:
            status = ComplianceStatus.LATE if report.late else ComplianceStatus.ON_TIME
        rows.append(
            UnitCompliance(
                period_code=period.code,
                unit_code=unit.code,
                unit_name=unit.name_vi,
                kind=unit.kind,
                status=status,
                contacts=len(contacts),
                reachable_contacts=sum(1 for c in contacts if c.reachable),
                report_id=report.id if report else None,
                version=report.version if report else None,
                submitted_at=report.submitted_at if report else None,
            )
        )
    return rows


async def report_period_codes(*, uow: ReportingUnitOfWork) -> list[str]:
    return [p.code for p in await uow.plan.list_periods()]
