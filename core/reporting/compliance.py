"""Compliance of a reporting period: who is on time, late, claimed (off-channel, to confirm) or missing."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, tzinfo
from typing import Any

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


COMPLIANCE_COLUMNS: tuple[str, ...] = (
    "period",
    "unit_code",
    "unit",
    "kind",
    "status",
    "version",
    "submitted_at",
    "reachable_contacts",
    "contacts",
    "report_id",
)


@dataclass(frozen=True)
class ComplianceTable:
    """The compliance table worded for people: headers, and per unit a row of values (names, not codes;
    ``submitted_at`` as a local naive ``datetime``)."""

    title: str
    headers: tuple[str, ...]
    rows: list[tuple[Any, ...]]


async def compliance_table(
    *, uow: ReportingUnitOfWork, period_code: str | None, language: str, tz: tzinfo, now: datetime
) -> ComplianceTable:
    """The compliance of one period (or of every period) for a spreadsheet, in ``language``."""
    from core.i18n import t

    codes = [period_code] if period_code else await report_period_codes(uow=uow)
    kinds = {item.code: item.name(language) for item in await uow.reference.list("unit_kinds")}
    units = {unit.code: unit for unit in await uow.reporting.list_units()}
    rows: list[tuple[Any, ...]] = []
    for code in codes:
        for r in await period_compliance(uow=uow, period_code=code, now=now):
            unit = units.get(r.unit_code)
            submitted = (
                r.submitted_at.astimezone(tz).replace(tzinfo=None, microsecond=0) if r.submitted_at else None
            )
            rows.append(
                (
                    r.period_code,
                    r.unit_code,
                    unit.name(language) if unit else r.unit_name,
                    kinds.get(r.kind, r.kind),
                    t(f"reporting.compliance.{r.status.value}", language),
                    r.version,
                    submitted,
                    r.reachable_contacts,
                    r.contacts,
                    r.report_id,
                )
            )
    return ComplianceTable(
        title=t("reporting.compliance.sheet", language),
        headers=tuple(t(f"reporting.compliance.column.{c}", language) for c in COMPLIANCE_COLUMNS),
        rows=rows,
    )
