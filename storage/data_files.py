"""The data files (plans, lists, localities, units) and draft documents as a repository of the unit of
work: loads run in its transaction and flush; the use case commits once (a bad file leaves nothing)."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncSession

from core.staff.ports import LoadReport
from storage.loaders import import_document_bytes, load_file


class SqlDataFileRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def load(self, path: Path, *, now: datetime) -> LoadReport:
        return await load_file(self.session, path, now=now)

    async def import_document(
        self,
        raw: bytes,
        *,
        filename: str,
        now: datetime,
        code: str | None = None,
        title: str | None = None,
        status: str | None = None,
    ) -> LoadReport:
        return await import_document_bytes(
            self.session, raw, filename=filename, now=now, code=code, title=title, status=status
        )
