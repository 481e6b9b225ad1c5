"""The data files (plans, lists, localities, units) and draft documents as a repository of the unit of
work: loads run in its transaction and flush; the use case commits once (a bad file leaves nothing)."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncSession

from core.parsed_document import DraftFile
from core.staff.ports import LoadReport
from storage.loaders import ReadDraft, load_file, store_document


class SqlDataFileRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def load(self, path: Path, *, now: datetime, read_draft: ReadDraft) -> LoadReport:
        return await load_file(self.session, path, now=now, read_draft=read_draft)

    async def import_document(
        self,
        draft: DraftFile,
        *,
        now: datetime,
        code: str | None = None,
        title: str | None = None,
        status: str | None = None,
    ) -> LoadReport:
        return await store_document(self.session, draft, now=now, code=code, title=title, status=status)
