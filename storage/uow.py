"""The SQL unit of work: one session, one transaction; leaving the block without commit rolls back."""

from __future__ import annotations

from typing import Self

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from storage.api_keys import SqlApiKeyRepository
from storage.audit import SqlAuditRepository
from storage.data_files import SqlDataFileRepository
from storage.export_jobs import SqlExportJobRepository
from storage.refcache import cache_of
from storage.repositories import (
    SqlDocumentRepository,
    SqlFeedbackRepository,
    SqlPlanRepository,
    SqlReferenceRepository,
    SqlRespondentRepository,
    SqlSectionRepository,
)
from storage.repositories_reporting import SqlReportingRepository
from storage.staff_accounts import SqlStaffAccountRepository
from storage.themes import SqlThemeRepository
from storage.views import SqlViewRepository


class SqlUnitOfWork:
    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = sessions
        self.session: AsyncSession | None = None

    async def __aenter__(self) -> Self:
        session = self._sessions()
        self.session = session
        cache = cache_of(session)  # the process's reference cache (storage/refcache.py)
        self.documents = SqlDocumentRepository(session, cache)
        self.sections = SqlSectionRepository(session, cache)
        self.respondents = SqlRespondentRepository(session)
        self.feedback = SqlFeedbackRepository(session)
        self.reference = SqlReferenceRepository(session, cache)
        self.plan = SqlPlanRepository(session)
        self.reporting = SqlReportingRepository(session)
        self.api_keys = SqlApiKeyRepository(session)
        self.audit = SqlAuditRepository(session)
        self.views = SqlViewRepository(session)
        self.data_files = SqlDataFileRepository(session)
        self.themes = SqlThemeRepository(session)
        self.staff_accounts = SqlStaffAccountRepository(session)
        self.export_jobs = SqlExportJobRepository(session)
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


class EntrypointUnitOfWork(SqlUnitOfWork):
    """The one transaction of an entrypoint that saves its own records (a bot update: dialog state,
    de-duplication) next to what the use case saves.

    A use case's ``commit()`` only flushes (constraint errors surface where they happen); the entrypoint
    calls ``complete()`` once, which commits everything together and gives the connection back to the
    pool, before anything is sent over the network. Leaving the block without ``complete()`` rolls back.
    """

    completed = False
    written = False

    async def commit(self) -> None:
        assert self.session is not None
        await self.session.flush()
        self.written = True

    def mark_written(self) -> None:
        """A store wrote with a plain statement, which the session does not track."""
        self.written = True

    async def complete(self) -> None:
        """Commit the whole unit of work and close its session (its connection returns to the pool)."""
        assert self.session is not None
        await self.session.commit()
        self.completed = True
        await self.session.close()

    async def release_connection(self) -> None:
        """End a transaction that has only read, before a network call, so no connection is held across it.

        The next query begins a new transaction. Refused once something is written: that is committed
        with the rest of the unit of work, by ``complete()``.
        """
        assert self.session is not None
        session = self.session
        if self.written or session.new or session.dirty or session.deleted:
            raise RuntimeError("unsaved changes: the connection cannot be given back before complete()")
        await session.commit()

    async def __aexit__(self, *exc: object) -> None:
        if self.completed:
            self.session = None
            return
        await super().__aexit__(*exc)
