"""SQL repository of the audit log. Rows are added to the caller's transaction, never committed here."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from core.staff.ports import AuditEntry
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

    async def latest(self, *, limit: int) -> Sequence[AuditEntry]:
        rows = await self.session.scalars(select(AuditLogRow).order_by(AuditLogRow.id.desc()).limit(limit))
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
