"""Stored background export jobs (core.staff.export_jobs): each method is one statement of a short
transaction; a claim is a conditional update, so two runners never take the same job."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from core.exports import ExportFormat, FeedbackFilters, LabelMode
from core.staff.export_jobs import ExportJob, JobStatus
from storage.models_staff import ExportJobRow

J = ExportJobRow


def _job(row: ExportJobRow) -> ExportJob:
    return ExportJob(
        id=row.id,
        format=ExportFormat(row.format),
        labels=LabelMode(row.labels),
        language=row.language,
        pii=row.pii,
        filters=FeedbackFilters.from_json(row.filters or {}),
        status=JobStatus(row.status),
        rows_done=row.rows_done,
        rows_total=row.rows_total,
        created_by=row.created_by,
        created_at=row.created_at,
        upto=row.upto,
        file_path=row.file_path,
        error=row.error,
        started_at=row.started_at,
        finished_at=row.finished_at,
        heartbeat_at=row.heartbeat_at,
    )


class SqlExportJobRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(
        self,
        *,
        fmt: str,
        labels: str,
        language: str,
        pii: bool,
        filters: dict[str, Any],
        created_by: str,
        now: datetime,
    ) -> int:
        row = J(
            format=fmt,
            labels=labels,
            language=language,
            pii=pii,
            filters=filters,
            status=JobStatus.QUEUED.value,
            rows_done=0,
            created_by=created_by,
            created_at=now,
        )
        self.session.add(row)
        await self.session.flush()
        return row.id

    async def get(self, job_id: int) -> ExportJob | None:
        row = await self.session.scalar(
            select(J).where(J.id == job_id).execution_options(populate_existing=True)
        )
        return _job(row) if row is not None else None

    async def recent(self, *, limit: int) -> Sequence[ExportJob]:
        rows = await self.session.scalars(select(J).order_by(J.id.desc()).limit(limit))
        return [_job(r) for r in rows]

    async def _set(self, job_id: int, *where: Any, **values: Any) -> bool:
        result = await self.session.execute(
            update(J)
            .where(J.id == job_id, *where)
            .values(**values)
            .execution_options(synchronize_session=False)
        )
        return bool(result.rowcount)  # type: ignore[attr-defined]

    async def claim(self, job_id: int, *, now: datetime) -> bool:
        return await self._set(
            job_id,
            J.status == JobStatus.QUEUED.value,
            status=JobStatus.RUNNING.value,
            started_at=now,
            heartbeat_at=now,
        )

    async def plan(self, job_id: int, *, upto: int, rows_total: int, now: datetime) -> None:
        await self._set(job_id, upto=upto, rows_total=rows_total, heartbeat_at=now)

    async def progress(self, job_id: int, *, rows_done: int, now: datetime) -> None:
        await self._set(job_id, rows_done=rows_done, heartbeat_at=now)

    async def finish(self, job_id: int, *, file_path: str, rows_done: int, now: datetime) -> None:
        await self._set(
            job_id,
            status=JobStatus.DONE.value,
            file_path=file_path,
            rows_done=rows_done,
            finished_at=now,
            heartbeat_at=now,
        )

    async def fail(self, job_id: int, *, error: str, now: datetime) -> None:
        await self._set(job_id, status=JobStatus.FAILED.value, error=error, finished_at=now)

    async def requeue(self, job_id: int) -> bool:
        return await self._set(
            job_id,
            J.status == JobStatus.FAILED.value,
            status=JobStatus.QUEUED.value,
            rows_done=0,
            rows_total=None,
            upto=None,
            file_path=None,
            error=None,
            started_at=None,
            finished_at=None,
            heartbeat_at=None,
        )

    async def fail_stale(self, *, heartbeat_before: datetime, error: str, now: datetime) -> list[int]:
        stale = list(
            await self.session.scalars(
                select(J.id).where(J.status == JobStatus.RUNNING.value, J.heartbeat_at < heartbeat_before)
            )
        )
        for job_id in stale:
            await self._set(
                job_id,
                J.status == JobStatus.RUNNING.value,
                status=JobStatus.FAILED.value,
                error=error,
                finished_at=now,
            )
        return stale

    async def queued(self) -> list[int]:
        return list(
            await self.session.scalars(select(J.id).where(J.status == JobStatus.QUEUED.value).order_by(J.id))
        )
