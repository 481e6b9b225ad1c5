"""The SQL unit of work: one session, one transaction; leaving the block without commit rolls back."""

from __future__ import annotations

from typing import Self

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from storage.repositories import (
    SqlDocumentRepository,
    SqlFeedbackRepository,
    SqlPlanRepository,
    SqlReferenceRepository,
    SqlRespondentRepository,
    SqlSectionRepository,
)
from storage.repositories_reporting import SqlReportingRepository


class SqlUnitOfWork:
    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = sessions
        self.session: AsyncSession | None = None

    async def __aenter__(self) -> Self:
        session = self._sessions()
        self.session = session
        self.documents = SqlDocumentRepository(session)
        self.sections = SqlSectionRepository(session)
        self.respondents = SqlRespondentRepository(session)
        self.feedback = SqlFeedbackRepository(session)
        self.reference = SqlReferenceRepository(session)
        self.plan = SqlPlanRepository(session)
        self.reporting = SqlReportingRepository(session)
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self.session is not None
        try:
            await self.session.rollback()
        finally:
            await self.session.close()
            self.session = None

    async def commit(self) -> None:
        assert self.session is not None
        await self.session.commit()

    async def rollback(self) -> None:
        assert self.session is not None
        await self.session.rollback()
