"""SQL repository of the reporting feature, the content-addressed report file store, the scheduler lease."""

from __future__ import annotations

import hashlib
import os
import tempfile
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import case, exists, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from core.reporting import (
    Contact,
    ContactStatus,
    NewOutboxMessage,
    OutboxMessage,
    Unit,
    UnitReport,
)
from storage.db import dialect_insert
from storage.models_reporting import ContactRow, OutboxRow, SchedulerLeaseRow, UnitReportRow, UnitRow
from storage.zalo import channel_of_chat


@dataclass(frozen=True)
class Lease:
    """A lease held by ``holder``; ``epoch`` is its fencing token (see :class:`SchedulerLeaseRow`)."""

    name: str
    holder: str
    epoch: int


def lease_condition(lease: Lease, now: datetime) -> Any:
    """SQL condition: ``lease`` is still the current, unexpired holding of its row."""
    return exists().where(
        SchedulerLeaseRow.name == lease.name,
        SchedulerLeaseRow.holder == lease.holder,
        SchedulerLeaseRow.epoch == lease.epoch,
        SchedulerLeaseRow.expires_at > now,
    )


def _unit(row: UnitRow) -> Unit:
    return Unit(row.id, row.code, row.kind, row.name_vi, row.name_en, row.parent_code, row.active)


def _contact(row: ContactRow) -> Contact:
    return Contact(
        id=row.id,
        unit_id=row.unit_id,
        name=row.name,
        status=ContactStatus(row.status),
        chat_id=row.chat_id,
        reachable=row.reachable,
        language=row.language,
        invite_expires_at=row.invite_expires_at,
        invite_used_at=row.invite_used_at,
    )


def _report(row: UnitReportRow) -> UnitReport:
    return UnitReport(
        id=row.id,
        period_id=row.period_id,
        unit_id=row.unit_id,
        version=row.version,
        kind=row.kind,
        submitted_at=row.submitted_at,
        late=row.late,
        contact_id=row.contact_id,
        file_sha256=row.file_sha256,
        file_size=row.file_size,
        file_type=row.file_type,
        summary=row.summary,
        opinions_count=row.opinions_count,
        confirmed_at=row.confirmed_at,
    )


def _outbox(row: OutboxRow) -> OutboxMessage:
    return OutboxMessage(
        key=row.key,
        kind=row.kind,
        chat_id=row.chat_id,
        text=row.text,
        not_before=row.not_before,
        buttons=[[(str(b[0]), str(b[1])) for b in r] for r in row.buttons or []],
        contact_id=row.contact_id,
        period_id=row.period_id,
        unit_id=row.unit_id,
        id=row.id,
        status=row.status,
        attempts=row.attempts,
    )


class SqlReportingRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    # units and contacts
    async def list_units(self) -> Sequence[Unit]:
        return [_unit(r) for r in await self.session.scalars(select(UnitRow).order_by(UnitRow.id))]

    async def get_unit(self, code: str) -> Unit | None:
        row = await self.session.scalar(select(UnitRow).where(UnitRow.code == code))
        return _unit(row) if row else None

    async def get_unit_by_id(self, unit_id: int) -> Unit | None:
        row = await self.session.get(UnitRow, unit_id)
        return _unit(row) if row else None

    async def add_contact(
        self, *, unit_id: int, name: str, invite_hash: str, expires_at: datetime, now: datetime
    ) -> Contact:
        row = ContactRow(
            unit_id=unit_id,
            name=name,
            status=ContactStatus.INVITED.value,
            invite_hash=invite_hash,
            invite_expires_at=expires_at,
            created_at=now,
            reachable=True,
            language="vi",
            channel="telegram",
        )
        self.session.add(row)
        await self.session.flush()
        return _contact(row)

    async def get_contact(self, contact_id: int) -> Contact | None:
        row = await self.session.get(ContactRow, contact_id)
        return _contact(row) if row else None

    async def get_contact_by_invite(self, invite_hash: str) -> Contact | None:
        row = await self.session.scalar(select(ContactRow).where(ContactRow.invite_hash == invite_hash))
        return _contact(row) if row else None

    async def bind_contact(self, contact_id: int, *, chat_id: int, language: str, now: datetime) -> None:
        await self.session.execute(
            update(ContactRow)
            .where(ContactRow.id == contact_id)
            .values(
                chat_id=chat_id,
                channel=channel_of_chat(chat_id),
                language=language,
                status=ContactStatus.ACTIVE.value,
                reachable=True,
                invite_used_at=now,
                bound_at=now,
            )
        )

    async def contacts_of_chat(self, chat_id: int) -> Sequence[Contact]:
        rows = await self.session.scalars(select(ContactRow).where(ContactRow.chat_id == chat_id))
        return [_contact(r) for r in rows]

    async def contacts_of_unit(self, unit_id: int) -> Sequence[Contact]:
        rows = await self.session.scalars(
            select(ContactRow).where(ContactRow.unit_id == unit_id).order_by(ContactRow.id)
        )
        return [_contact(r) for r in rows]

    async def active_contacts(self) -> Sequence[Contact]:
        rows = await self.session.scalars(
            select(ContactRow)
            .where(ContactRow.status == ContactStatus.ACTIVE.value, ContactRow.reachable.is_(True))
            .order_by(ContactRow.id)
        )
        return [_contact(r) for r in rows]

    async def leave_chat(self, chat_id: int, *, now: datetime) -> int:
        result = await self.session.execute(
            update(ContactRow)
            .where(ContactRow.chat_id == chat_id, ContactRow.status == ContactStatus.ACTIVE.value)
            .values(status=ContactStatus.LEFT.value, left_at=now)
        )
        await self.session.execute(
            update(OutboxRow)
            .where(OutboxRow.chat_id == chat_id, OutboxRow.status == "pending", OutboxRow.kind == "reminder")
            .values(status="cancelled")
        )
        return int(result.rowcount or 0)  # type: ignore[attr-defined]

    async def set_unreachable(self, contact_id: int) -> None:
        await self.session.execute(
            update(ContactRow).where(ContactRow.id == contact_id).values(reachable=False)
        )

    async def unreachable_reasons(self) -> dict[int, str]:
        rows = await self.session.execute(
            select(OutboxRow.contact_id, OutboxRow.error)
            .join(ContactRow, ContactRow.id == OutboxRow.contact_id)
            .where(
                ContactRow.status == ContactStatus.ACTIVE.value,
                ContactRow.reachable.is_(False),
                OutboxRow.status == "unreachable",
            )
            .order_by(OutboxRow.id)
        )
        reasons: dict[int, str] = {}
        for contact_id, error in rows:  # the latest one wins
            if contact_id is not None:
                reasons[contact_id] = error or "forbidden"
        return reasons

    async def set_contact_state(self, contact_id: int, *, status: str, reachable: bool) -> None:
        await self.session.execute(
            update(ContactRow).where(ContactRow.id == contact_id).values(status=status, reachable=reachable)
        )

    async def renew_invite(self, contact_id: int, *, invite_hash: str, expires_at: datetime) -> None:
        """A new single-use invite for the same contact: the old link stops working."""
        await self.session.execute(
            update(ContactRow)
            .where(ContactRow.id == contact_id)
            .values(
                invite_hash=invite_hash,
                invite_expires_at=expires_at,
                invite_used_at=None,
                status=ContactStatus.INVITED.value,
                reachable=True,
            )
        )

    # reports
    async def latest_reports(self, period_id: int | None = None) -> dict[tuple[int, int], UnitReport]:
        latest = (
            select(UnitReportRow.period_id, UnitReportRow.unit_id, func.max(UnitReportRow.version).label("v"))
            .group_by(UnitReportRow.period_id, UnitReportRow.unit_id)
            .subquery()
        )
        query = select(UnitReportRow).join(
            latest,
            (UnitReportRow.period_id == latest.c.period_id)
            & (UnitReportRow.unit_id == latest.c.unit_id)
            & (UnitReportRow.version == latest.c.v),
        )
        if period_id is not None:
            query = query.where(UnitReportRow.period_id == period_id)
        return {(r.period_id, r.unit_id): _report(r) for r in await self.session.scalars(query)}

    async def reports_of_unit(self, unit_id: int, *, limit: int) -> Sequence[UnitReport]:
        rows = await self.session.scalars(
            select(UnitReportRow)
            .where(UnitReportRow.unit_id == unit_id)
            .order_by(UnitReportRow.submitted_at.desc(), UnitReportRow.id.desc())
            .limit(limit)
        )
        return [_report(r) for r in rows]

    async def get_report(self, report_id: int) -> UnitReport | None:
        row = await self.session.get(UnitReportRow, report_id)
        return _report(row) if row else None

    async def add_report(self, report: UnitReport) -> UnitReport:
        version = await self.session.scalar(
            select(func.coalesce(func.max(UnitReportRow.version), 0)).where(
                UnitReportRow.period_id == report.period_id, UnitReportRow.unit_id == report.unit_id
            )
        )
        row = UnitReportRow(
            period_id=report.period_id,
            unit_id=report.unit_id,
            contact_id=report.contact_id,
            version=int(version or 0) + 1,
            kind=report.kind,
            file_sha256=report.file_sha256,
            file_size=report.file_size,
            file_type=report.file_type,
            summary=report.summary,
            opinions_count=report.opinions_count,
            submitted_at=report.submitted_at,
            late=report.late,
            confirmed_at=report.confirmed_at,
        )
        self.session.add(row)
        await self.session.flush()
        return _report(row)

    async def confirm_report(self, report_id: int, *, now: datetime) -> None:
        await self.session.execute(
            update(UnitReportRow).where(UnitReportRow.id == report_id).values(confirmed_at=now)
        )
        await self.session.flush()
        self.session.expire_all()

    # outbox
    async def add_outbox(self, message: NewOutboxMessage) -> bool:
        values = {
            "key": message.key,
            "kind": message.kind,
            "channel": channel_of_chat(message.chat_id),
            "chat_id": message.chat_id,
            "contact_id": message.contact_id,
            "period_id": message.period_id,
            "unit_id": message.unit_id,
            "text": message.text,
            "buttons": [[list(b) for b in row] for row in message.buttons],
            "not_before": message.not_before,
            "created_at": message.created_at or message.not_before,
            "status": "pending",
            "attempts": 0,
        }
        stmt = (
            dialect_insert(self.session)(OutboxRow)
            .values(**values)
            .on_conflict_do_nothing(index_elements=["key"])
        )
        result = await self.session.execute(stmt)
        return bool(result.rowcount)  # type: ignore[attr-defined]

    async def existing_outbox_keys(self, keys: Sequence[str]) -> set[str]:
        found: set[str] = set()
        for i in range(0, len(keys), 500):
            chunk = list(keys[i : i + 500])
            found |= set(await self.session.scalars(select(OutboxRow.key).where(OutboxRow.key.in_(chunk))))
        return found

    async def pending_outbox(
        self, *, now: datetime, limit: int, skip_chats: Collection[int] = ()
    ) -> Sequence[OutboxMessage]:
        """Pending, due rows in outbox order, leaving out the chats in ``skip_chats`` (not yet allowed)."""
        query = select(OutboxRow).where(OutboxRow.status == "pending", OutboxRow.not_before <= now)
        if skip_chats:
            query = query.where(OutboxRow.chat_id.not_in(list(skip_chats)))
        rows = await self.session.scalars(query.order_by(OutboxRow.id).limit(limit))
        return [_outbox(r) for r in rows]

    # outbox claims: a row is "sending" only while one scheduler, fenced by its lease epoch, sends it
    async def claim_outbox(self, message_id: int, *, lease: Lease, now: datetime) -> bool:
        """Claim a pending, due row for ``lease`` (one statement: the fence is checked atomically)."""
        result = await self.session.execute(
            update(OutboxRow)
            .where(
                OutboxRow.id == message_id,
                OutboxRow.status == "pending",
                OutboxRow.not_before <= now,
                lease_condition(lease, now),
            )
            .values(
                status="sending",
                claim_epoch=lease.epoch,
                claimed_at=now,
                attempts=OutboxRow.attempts + 1,
                last_attempt_at=now,
            )
            .execution_options(synchronize_session=False)
        )
        return bool(result.rowcount)  # type: ignore[attr-defined]

    async def cancel_outbox(self, message_id: int, *, lease: Lease, now: datetime, reason: str) -> bool:
        """Cancel a pending row whose reason no longer holds (fenced like a claim); it is never sent."""
        result = await self.session.execute(
            update(OutboxRow)
            .where(OutboxRow.id == message_id, OutboxRow.status == "pending", lease_condition(lease, now))
            .values(status="cancelled", error=f"obsolete: {reason}"[:300])
            .execution_options(synchronize_session=False)
        )
        return bool(result.rowcount)  # type: ignore[attr-defined]

    async def lease_held(self, lease: Lease, *, now: datetime) -> bool:
        return bool(await self.session.scalar(select(lease_condition(lease, now))))

    async def refresh_claim(self, message_id: int, *, lease: Lease, now: datetime) -> bool:
        """Confirm a claim is still ours and the lease still held (after a pause), renewing its time."""
        result = await self.session.execute(
            update(OutboxRow)
            .where(
                OutboxRow.id == message_id,
                OutboxRow.status == "sending",
                OutboxRow.claim_epoch == lease.epoch,
                lease_condition(lease, now),
            )
            .values(claimed_at=now)
            .execution_options(synchronize_session=False)
        )
        return bool(result.rowcount)  # type: ignore[attr-defined]

    async def release_claim(self, message_id: int, *, lease: Lease, attempted: bool = False) -> bool:
        """Give back a claim of ours that was not sent (``attempted``: Telegram refused it, e.g. 429)."""
        values: dict[str, Any] = {"status": "pending", "claim_epoch": None, "claimed_at": None}
        if not attempted:
            values["attempts"] = OutboxRow.attempts - 1
        result = await self.session.execute(
            update(OutboxRow)
            .where(
                OutboxRow.id == message_id,
                OutboxRow.status == "sending",
                OutboxRow.claim_epoch == lease.epoch,
            )
            .values(**values)
            .execution_options(synchronize_session=False)
        )
        return bool(result.rowcount)  # type: ignore[attr-defined]

    async def requeue_stale_claims(self, *, lease: Lease, claimed_before: datetime, now: datetime) -> int:
        """Put back to pending rows claimed before ``claimed_before`` and never finished (a sender died
        between claim and record); only the current lease holder may do it."""
        result = await self.session.execute(
            update(OutboxRow)
            .where(
                OutboxRow.status == "sending",
                OutboxRow.claimed_at < claimed_before,
                lease_condition(lease, now),
            )
            .values(status="pending", claim_epoch=None, claimed_at=None)
            .execution_options(synchronize_session=False)
        )
        return int(result.rowcount or 0)  # type: ignore[attr-defined]

    async def finish_outbox(
        self,
        message_id: int,
        *,
        status: str,
        now: datetime,
        error: str | None = None,
        claim_epoch: int | None = None,
    ) -> bool:
        """Record the outcome; with ``claim_epoch``, only of a row still claimed under that epoch."""
        values: dict[str, Any] = {"status": status, "error": error, "claimed_at": None}
        if status == "sent":
            values["sent_at"] = now
        query = update(OutboxRow).where(OutboxRow.id == message_id)
        if claim_epoch is not None:
            query = query.where(OutboxRow.status == "sending", OutboxRow.claim_epoch == claim_epoch)
        result = await self.session.execute(
            query.values(**values).execution_options(synchronize_session=False)
        )
        return bool(result.rowcount)  # type: ignore[attr-defined]

    async def defer_outbox(
        self, message_id: int, *, not_before: datetime, error: str, claim_epoch: int | None = None
    ) -> None:
        query = update(OutboxRow).where(OutboxRow.id == message_id)
        if claim_epoch is not None:
            query = query.where(OutboxRow.status == "sending", OutboxRow.claim_epoch == claim_epoch)
        await self.session.execute(
            query.values(
                status="pending", not_before=not_before, error=error[:300], claim_epoch=None, claimed_at=None
            ).execution_options(synchronize_session=False)
        )


class LocalFileStore:
    """Report files under ``root/ab/cd/<sha256>``; written atomically; the same content is stored once."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def path(self, sha256: str) -> Path:
        return self.root / sha256[:2] / sha256[2:4] / sha256

    def put(self, content: bytes) -> str:
        sha = hashlib.sha256(content).hexdigest()
        target = self.path(sha)
        if target.is_file() and target.stat().st_size == len(content):
            return sha
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".upload-")
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(content)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, target)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return sha


async def acquire_lease(
    session: AsyncSession, *, name: str, holder: str, now: datetime, ttl: timedelta
) -> Lease | None:
    """Take or renew the lease ``name`` for ``holder`` (atomic on SQLite and PostgreSQL); commit.

    Renewing keeps the epoch; taking the lease over from another holder (after it expired) increases
    it, which fences off everything the previous holder might still try to claim.
    """
    result = await session.execute(
        update(SchedulerLeaseRow)
        .where(
            SchedulerLeaseRow.name == name,
            or_(SchedulerLeaseRow.holder == holder, SchedulerLeaseRow.expires_at <= now),
        )
        .values(
            holder=holder,
            acquired_at=now,
            expires_at=now + ttl,
            epoch=case(
                (SchedulerLeaseRow.holder == holder, SchedulerLeaseRow.epoch),
                else_=SchedulerLeaseRow.epoch + 1,
            ),
        )
        .returning(SchedulerLeaseRow.epoch)
        .execution_options(synchronize_session=False)
    )
    epoch = result.scalar()
    if epoch is None:
        stmt = (
            dialect_insert(session)(SchedulerLeaseRow)
            .values(name=name, holder=holder, acquired_at=now, expires_at=now + ttl, epoch=1)
            .on_conflict_do_nothing(index_elements=["name"])
            .returning(SchedulerLeaseRow.epoch)
        )
        epoch = (await session.execute(stmt)).scalar()
    await session.commit()
    return Lease(name, holder, int(epoch)) if epoch is not None else None


async def release_lease(session: AsyncSession, *, name: str, holder: str, now: datetime) -> None:
    """Let the lease expire now (the row and its epoch stay, so the next holder's epoch is higher)."""
    await session.execute(
        update(SchedulerLeaseRow)
        .where(SchedulerLeaseRow.name == name, SchedulerLeaseRow.holder == holder)
        .values(expires_at=now)
    )
    await session.commit()
