"""The audit log: every export, PII read and staff change is recorded with the action itself."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from core.staff.ports import AuditEntry, AuditFilters, StaffUnitOfWork


async def record_audit(
    uow: StaffUnitOfWork,
    *,
    actor: str,
    action: str,
    now: datetime,
    target: str | None = None,
    details: dict[str, Any] | None = None,
    row_count: int | None = None,
) -> None:
    """Add one audit row to the unit of work (it commits with the action it records)."""
    await uow.audit.add(
        AuditEntry(
            actor=actor, action=action, at=now, target=target, details=details or {}, row_count=row_count
        )
    )


async def list_audit(
    *, uow: StaffUnitOfWork, limit: int = 100, filters: AuditFilters | None = None
) -> Sequence[AuditEntry]:
    """The latest audit rows, newest first; ``filters``: actor substring, action prefix, date range."""
    return await uow.audit.latest(limit=limit, filters=filters)
