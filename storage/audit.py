"""SQL repository of the audit log. Rows are added to the caller's transaction, never committed here."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from core.staff.ports import AuditEntry, AuditFilters
from storage.models_api import AuditLogRow


class SqlAuditRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(self, entry: AuditEntry) -> None:
        self.session.add(
            AuditLogRow(
                actor=entry.actor[:120],
                action=entry.action[:64],
                target=entry.target[:200] if entry.target else None,
                details=entry.details or {},
                row_count=entry.row_count,
                at=entry.at,
            )
        )
        await self.session.flush()

    async def latest(self, *, limit: int, filters: AuditFilters | None = None) -> Sequence[AuditEntry]:
        query = select(AuditLogRow)
        if filters is not None:
            if filters.actor:
                query = query.where(AuditLogRow.actor.contains(filters.actor, autoescape=True))
            if filters.action:
                query = query.where(AuditLogRow.action.startswith(filters.action, autoescape=True))
            if filters.since is not None:
                query = query.where(AuditLogRow.at >= filters.since)
            if filters.until is not None:
                query = query.where(AuditLogRow.at < filters.until)
        rows = await self.session.scalars(query.order_by(AuditLogRow.id.desc()).limit(limit))
        return [
            AuditEntry(
                id=r.id,
                actor=r.actor,
                action=r.action,
                target=r.target,
                details=r.details,
                row_count=r.row_count,
                at=r.at,
            )
            for r in rows
        ]
