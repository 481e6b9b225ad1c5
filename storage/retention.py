"""Retention: purge what Gopy no longer needs to keep (see docs/operations.md, "Retention").

* abandoned drafts: a conversation idle for ``draft_days`` that holds an entry the person started and
  never submitted (``state["draft"]["client_ref"]`` is set while an entry is being written and dropped
  at its receipt, see core/conversation/citizen/state.py; the web chat keeps the same state under ``conv``):
  the whole dialog state goes, with the typed text;
* any dialog state idle for ``dialog_days``;
* de-duplication rows of updates handled more than ``update_days`` ago (Telegram re-sends an update
  for at most a day), and Zalo inbox events handled and answered that long ago;
* staff console sessions past their expiry (signed in, or waiting for a second-factor code);
* export jobs finished (done or failed) more than ``export_days`` ago, their rows and their files;
* draft uploads never confirmed: files in ``$GOPY_HOME/staff-uploads`` older than ``upload_hours``.

Files are removed after the transaction committed (a row is never left pointing at a file already gone
while the transaction could still roll back); the upload sweep is bounded by ``batch_size`` files.

One purge is one transaction on one connection: DELETEs of at most ``batch_size`` rows each, at most
``max_rows`` rows in all, so the transaction stays short; what is left waits for the next run.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import ColumnElement, delete, or_, select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from core.config import Settings
from storage.models import DialogStateRow, ProcessedUpdateRow
from storage.models_staff import ExportJobRow, StaffSessionRow
from storage.models_zalo import ZaloInboxRow
from storage.repositories_reporting import Lease, lease_condition

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RetentionPolicy:
    dialog_days: int = 30
    draft_days: int = 7
    update_days: int = 7
    batch_size: int = 1000
    max_rows: int = 100_000
    export_days: int = 7
    upload_hours: int = 24
    uploads_dir: Path | None = None  # $GOPY_HOME/staff-uploads; None: no upload sweep

    @classmethod
    def from_settings(cls, settings: Settings) -> RetentionPolicy:
        return cls(
            dialog_days=settings.retention_dialog_days,
            draft_days=settings.retention_draft_days,
            update_days=settings.retention_update_days,
            batch_size=settings.retention_batch_size,
            max_rows=settings.retention_max_rows,
            export_days=settings.retention_export_days,
            uploads_dir=Path(settings.home) / "staff-uploads",
        )


@dataclass
class PurgeResult:
    drafts: int = 0
    dialog_states: int = 0
    processed_updates: int = 0
    zalo_events: int = 0
    staff_sessions: int = 0
    export_jobs: int = 0
    uploads: int = 0
    complete: bool = True  # False: stopped at ``max_rows``, more is due

    @property
    def total(self) -> int:
        return (
            self.drafts
            + self.dialog_states
            + self.processed_updates
            + self.zalo_events
            + self.staff_sessions
            + self.export_jobs
        )


def _unsubmitted_draft() -> ColumnElement[bool]:
    data: Any = DialogStateRow.data
    return or_(
        data[("draft", "client_ref")].as_string().is_not(None),
        data[("conv", "draft", "client_ref")].as_string().is_not(None),
    )


async def _delete_in_batches(
    session: AsyncSession, table: Any, key: Any, where: list[Any], *, batch: int, budget: int
) -> int:
    """Delete rows of ``table`` matching ``where``, ``batch`` at a time, at most ``budget`` rows."""
    deleted = 0
    while deleted < budget:
        size = min(batch, budget - deleted)
        chosen = select(*key).where(*where).limit(size)
        target = tuple_(*key) if len(key) > 1 else key[0]
        result = await session.execute(
            delete(table).where(target.in_(chosen)).execution_options(synchronize_session=False)
        )
        count = int(result.rowcount or 0)  # type: ignore[attr-defined]
        deleted += count
        if count < size:
            break
    return deleted


async def purge_expired(
    session: AsyncSession, *, policy: RetentionPolicy, now: datetime, lease: Lease | None = None
) -> PurgeResult | None:
    """Purge in one transaction; with ``lease``, only while it is held (else ``None``, nothing done)."""
    result = PurgeResult()
    async with session.begin():
        if lease is not None and not await session.scalar(select(lease_condition(lease, now))):
            return None
        budget = policy.max_rows
        result.drafts = await _delete_in_batches(
            session,
            DialogStateRow,
            [DialogStateRow.key],
            [DialogStateRow.updated_at < now - timedelta(days=policy.draft_days), _unsubmitted_draft()],
            batch=policy.batch_size,
            budget=budget,
        )
        budget -= result.drafts
        result.dialog_states = await _delete_in_batches(
            session,
            DialogStateRow,
            [DialogStateRow.key],
            [DialogStateRow.updated_at < now - timedelta(days=policy.dialog_days)],
            batch=policy.batch_size,
            budget=budget,
        )
        budget -= result.dialog_states
        result.processed_updates = await _delete_in_batches(
            session,
            ProcessedUpdateRow,
            [ProcessedUpdateRow.bot_id, ProcessedUpdateRow.update_id],
            [ProcessedUpdateRow.handled_at < now - timedelta(days=policy.update_days)],
            batch=policy.batch_size,
            budget=budget,
        )
        budget -= result.processed_updates
        result.zalo_events = await _delete_in_batches(
            session,
            ZaloInboxRow,
            [ZaloInboxRow.id],
            [ZaloInboxRow.replied_at < now - timedelta(days=policy.update_days)],
            batch=policy.batch_size,
            budget=budget,
        )
        budget -= result.zalo_events
        result.staff_sessions = await _delete_in_batches(
            session,
            StaffSessionRow,
            [StaffSessionRow.id],
            [StaffSessionRow.expires_at < now],
            batch=policy.batch_size,
            budget=budget,
        )
        budget -= result.staff_sessions
        files = await _purge_export_jobs(session, policy=policy, now=now, budget=budget)
        result.export_jobs = len(files)
        result.complete = result.total < policy.max_rows
    for name in files:  # after the commit
        if name:
            _remove(Path(name))
    if policy.uploads_dir is not None:
        result.uploads = _sweep_uploads(
            policy.uploads_dir, now - timedelta(hours=policy.upload_hours), policy
        )
    return result


async def _purge_export_jobs(
    session: AsyncSession, *, policy: RetentionPolicy, now: datetime, budget: int
) -> list[str]:
    """Delete finished export jobs older than ``export_days``; the file paths of those deleted."""
    where = [
        ExportJobRow.status.in_(("done", "failed")),
        ExportJobRow.finished_at < now - timedelta(days=policy.export_days),
    ]
    files: list[str] = []
    count = 0
    while count < budget:
        size = min(policy.batch_size, budget - count)
        chosen = list(
            await session.execute(
                select(ExportJobRow.id, ExportJobRow.file_path)
                .where(*where)
                .order_by(ExportJobRow.id)
                .limit(size)
            )
        )
        if not chosen:
            break
        await session.execute(
            delete(ExportJobRow)
            .where(ExportJobRow.id.in_([row.id for row in chosen]))
            .execution_options(synchronize_session=False)
        )
        count += len(chosen)
        files.extend(row.file_path or "" for row in chosen)  # "" for a job that has no file
        if len(chosen) < size:
            break
    return files


def _remove(path: Path) -> None:
    try:
        path.unlink(missing_ok=True)
    except OSError as exc:  # its row is gone: log it (no path, no name) for the operator
        log.warning("retention: could not remove an export file: %s", type(exc).__name__)


def _sweep_uploads(folder: Path, before: datetime, policy: RetentionPolicy) -> int:
    """Remove at most ``max_rows`` upload files last modified before ``before``."""
    if not folder.is_dir():
        return 0
    cutoff = before.astimezone(UTC).timestamp()
    removed = 0
    for path in sorted(folder.iterdir()):
        if removed >= policy.max_rows:
            break
        try:
            if path.is_file() and path.stat().st_mtime < cutoff:
                path.unlink()
                removed += 1
        except OSError:
            continue  # gone meanwhile (confirmed or discarded), or unreadable: leave it
    return removed
