"""Background export jobs: an export too big to stream while a person waits is written to a file by a
runner, with its progress stored, and offered when ready.

A job is a stored row (queued → running → done, or failed). The runner (``api.export_jobs``) claims a
queued job, fixes the export's upper id bound and row count with :func:`start_feedback_export` (the
same audit row as a streamed export), writes the file page by page, each page read in its own short
transaction, and records the progress and a heartbeat after every page. A job whose runner stopped
(a restart, a crash) has a stale heartbeat: :func:`recover_export_jobs` marks it failed with the error
``interrupted``, and :func:`retry_export_job` queues it again.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any, Protocol

from core import errors
from core.exports import ExportFormat, FeedbackFilters, LabelMode
from core.staff.audit import record_audit
from core.staff.ports import StaffUnitOfWork

INTERRUPTED = "interrupted"


class JobStatus(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"


@dataclass(frozen=True)
class ExportJob:
    """A background export as staff see it: what was asked, how far it is, where its file is."""

    id: int
    format: ExportFormat
    labels: LabelMode
    language: str
    pii: bool
    filters: FeedbackFilters
    status: JobStatus
    rows_done: int
    rows_total: int | None
    created_by: str
    created_at: datetime
    upto: int | None = None
    file_path: str | None = None
    error: str | None = None
    started_at: datetime | None = None
    finished_at: datetime | None = None
    heartbeat_at: datetime | None = None

    @property
    def progress(self) -> float | None:
        """The share of rows written, 0 to 1 (``None`` before the row count is known)."""
        if self.status is JobStatus.DONE:
            return 1.0
        if not self.rows_total:
            return None if self.rows_total is None else 0.0
        return min(self.rows_done / self.rows_total, 1.0)

    @property
    def retryable(self) -> bool:
        return self.status is JobStatus.FAILED

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "format": self.format.value,
            "labels": self.labels.value,
            "language": self.language,
            "pii": self.pii,
            "filters": self.filters.as_json(),
            "status": self.status.value,
            "rows_done": self.rows_done,
            "rows_total": self.rows_total,
            "progress": self.progress,
            "error": self.error,
            "retryable": self.retryable,
            "created_by": self.created_by,
            "created_at": self.created_at,
            "started_at": self.started_at,
            "finished_at": self.finished_at,
        }


class ExportJobRepository(Protocol):
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
    ) -> int: ...
    async def get(self, job_id: int) -> ExportJob | None: ...
    async def recent(self, *, limit: int) -> Sequence[ExportJob]: ...
    async def claim(self, job_id: int, *, now: datetime) -> bool: ...
    async def plan(self, job_id: int, *, upto: int, rows_total: int, now: datetime) -> None: ...
    async def progress(self, job_id: int, *, rows_done: int, now: datetime) -> None: ...
    async def finish(self, job_id: int, *, file_path: str, rows_done: int, now: datetime) -> None: ...
    async def fail(self, job_id: int, *, error: str, now: datetime) -> None: ...
    async def requeue(self, job_id: int) -> bool: ...
    async def fail_stale(self, *, heartbeat_before: datetime, error: str, now: datetime) -> list[int]: ...
    async def queued(self) -> list[int]: ...


class ExportJobUnitOfWork(StaffUnitOfWork, Protocol):
    export_jobs: ExportJobRepository


@dataclass(frozen=True)
class ExportEstimate:
    """How many rows an export would hold, and whether it should run as a background job."""

    rows: int
    background: bool


async def estimate_export(
    *, uow: StaffUnitOfWork, filters: FeedbackFilters, background_rows: int
) -> ExportEstimate:
    """The row count of an export with ``filters``; ``background`` when it exceeds ``background_rows``
    (the setting ``GOPY_EXPORT_BACKGROUND_ROWS``)."""
    rows = await uow.views.count_feedback(filters)
    return ExportEstimate(rows=rows, background=rows > background_rows)


async def start_export_job(
    *,
    uow: ExportJobUnitOfWork,
    actor: str,
    filters: FeedbackFilters,
    fmt: ExportFormat,
    labels: LabelMode,
    language: str,
    pii: bool,
    now: datetime,
) -> ExportJob:
    """Queue a background export (audited ``export.job``); the runner picks it up."""
    job_id = await uow.export_jobs.add(
        fmt=fmt.value,
        labels=labels.value,
        language=language,
        pii=pii,
        filters=filters.as_json(),
        created_by=actor,
        now=now,
    )
    details = {"format": fmt.value, "filters": filters.as_audit(), "pii": pii}
    await record_audit(uow, actor=actor, action="export.job", target=str(job_id), details=details, now=now)
    await uow.commit()
    return await get_export_job(uow=uow, job_id=job_id)


async def get_export_job(*, uow: ExportJobUnitOfWork, job_id: int) -> ExportJob:
    """One job, with its status and progress."""
    job = await uow.export_jobs.get(job_id)
    if job is None:
        raise errors.ExportJobNotFound(job_id=job_id)
    return job


async def list_export_jobs(*, uow: ExportJobUnitOfWork, limit: int = 20) -> list[ExportJob]:
    """The latest jobs, newest first."""
    return list(await uow.export_jobs.recent(limit=limit))


async def open_export_job_file(
    *,
    uow: ExportJobUnitOfWork,
    actor: str,
    job_id: int,
    pii_allowed: bool,
    now: datetime,
    file_exists: Callable[[str], bool] = lambda _path: True,
) -> ExportJob:
    """A finished job whose file may be downloaded (audited ``export.download``). A job with respondent
    ids needs ``pii_allowed``; a job not done yet, or whose file is gone (``file_exists``, given by the
    edge), is :class:`ExportJobNotReady`."""
    job = await get_export_job(uow=uow, job_id=job_id)
    if job.pii and not pii_allowed:
        raise errors.ScopeMissing(scope="feedback:pii")
    if job.status is not JobStatus.DONE or job.file_path is None:
        raise errors.ExportJobNotReady(job_id=job_id, status=job.status.value)
    if not file_exists(job.file_path):
        raise errors.ExportJobNotReady(job_id=job_id, status="missing")
    await record_audit(
        uow,
        actor=actor,
        action="export.download",
        target=str(job_id),
        details={"format": job.format.value},
        row_count=job.rows_done,
        now=now,
    )
    await uow.commit()
    return job


async def retry_export_job(*, uow: ExportJobUnitOfWork, actor: str, job_id: int, now: datetime) -> ExportJob:
    """Queue a failed job again, from the start (audited ``export.retry``)."""
    job = await get_export_job(uow=uow, job_id=job_id)
    if not job.retryable or not await uow.export_jobs.requeue(job_id):
        raise errors.ExportJobNotReady(job_id=job_id, status=job.status.value)
    await record_audit(uow, actor=actor, action="export.retry", target=str(job_id), now=now)
    await uow.commit()
    return await get_export_job(uow=uow, job_id=job_id)


# The runner's steps: each is one short transaction.


async def claim_export_job(*, uow: ExportJobUnitOfWork, job_id: int, now: datetime) -> ExportJob | None:
    """Take a queued job (queued → running); ``None`` when another runner took it or it is not queued."""
    if not await uow.export_jobs.claim(job_id, now=now):
        return None
    await uow.commit()
    return await get_export_job(uow=uow, job_id=job_id)


async def plan_export_job(
    *, uow: ExportJobUnitOfWork, job_id: int, upto: int, rows_total: int, now: datetime
) -> None:
    """Store the export's upper id bound and row count (fixed by :func:`start_feedback_export`)."""
    await uow.export_jobs.plan(job_id, upto=upto, rows_total=rows_total, now=now)
    await uow.commit()


async def record_export_progress(
    *, uow: ExportJobUnitOfWork, job_id: int, rows_done: int, now: datetime
) -> None:
    """Rows written so far, and the heartbeat that tells a running job from an interrupted one."""
    await uow.export_jobs.progress(job_id, rows_done=rows_done, now=now)
    await uow.commit()


async def finish_export_job(
    *, uow: ExportJobUnitOfWork, job_id: int, file_path: str, rows_done: int, now: datetime
) -> None:
    await uow.export_jobs.finish(job_id, file_path=file_path, rows_done=rows_done, now=now)
    await uow.commit()


async def fail_export_job(*, uow: ExportJobUnitOfWork, job_id: int, error: str, now: datetime) -> None:
    """Mark a job failed with a short machine code (never a text with personal data); retryable."""
    await uow.export_jobs.fail(job_id, error=error[:200], now=now)
    await uow.commit()


async def recover_export_jobs(
    *, uow: ExportJobUnitOfWork, now: datetime, stale_after: timedelta
) -> tuple[list[int], list[int]]:
    """At a runner's start: running jobs without a heartbeat for ``stale_after`` are failed
    (``interrupted``, retryable); returns (those failed, the queued jobs to run)."""
    failed = await uow.export_jobs.fail_stale(heartbeat_before=now - stale_after, error=INTERRUPTED, now=now)
    await uow.commit()
    return failed, await uow.export_jobs.queued()
