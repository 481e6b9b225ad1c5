"""Unit contacts: invites by deep link, binding a chat, leaving, and the deadlines a contact sees."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from core import errors
from core.domain import ReportingPeriod
from core.reporting.model import INVITE_PREFIX, Contact, ContactStatus, Unit, UnitReport
from core.reporting.ports import ReportingUnitOfWork


def hash_invite(token: str) -> str:
    """Invite tokens are random (128 bits), so a plain SHA-256 is enough to store them safely."""
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True)
class Invite:
    contact: Contact
    unit: Unit
    token: str

    @property
    def payload(self) -> str:
        return INVITE_PREFIX + self.token

    def link(self, bot_username: str) -> str:
        return f"https://t.me/{bot_username}?start={self.payload}"


async def invite_contact(
    *, uow: ReportingUnitOfWork, unit_code: str, name: str, now: datetime, ttl: timedelta
) -> Invite:
    """Create a contact of a unit with a single-use, expiring invite (only its hash is stored)."""
    unit = await uow.reporting.get_unit(unit_code)
    if unit is None or not unit.active:
        raise errors.UnitNotFound(unit=unit_code)
    token = secrets.token_urlsafe(16)
    contact = await uow.reporting.add_contact(
        unit_id=unit.id,
        name=name.strip()[:200],
        invite_hash=hash_invite(token),
        expires_at=now + ttl,
        now=now,
    )
    await uow.commit()
    return Invite(contact, unit, token)


async def check_invite(*, uow: ReportingUnitOfWork, invite_hash: str, now: datetime) -> tuple[Contact, Unit]:
    """The contact and unit of a still valid invite, or UnknownInvite / InviteUsed / InviteExpired."""
    contact = await uow.reporting.get_contact_by_invite(invite_hash)
    if contact is None:
        raise errors.UnknownInvite()
    if contact.invite_used_at is not None or contact.status is not ContactStatus.INVITED:
        raise errors.InviteUsed()
    if contact.invite_expires_at is None or contact.invite_expires_at <= now:
        raise errors.InviteExpired()
    unit = await uow.reporting.get_unit_by_id(contact.unit_id)
    if unit is None:
        raise errors.UnknownInvite()
    return contact, unit


async def bind_contact(
    *, uow: ReportingUnitOfWork, invite_hash: str, chat_id: int, language: str, now: datetime
) -> tuple[Contact, Unit]:
    """Use an invite: bind the chat to the contact (the invite cannot be used again); commit."""
    contact, unit = await check_invite(uow=uow, invite_hash=invite_hash, now=now)
    await uow.reporting.bind_contact(contact.id, chat_id=chat_id, language=language, now=now)
    await uow.commit()
    return contact, unit


async def stop_reminders(*, uow: ReportingUnitOfWork, chat_id: int, now: datetime) -> int:
    """The contact leaves: no more reminders to this chat; commit. Returns how many contacts left."""
    left = await uow.reporting.leave_chat(chat_id, now=now)
    await uow.commit()
    return left


async def contact_of_chat(*, uow: ReportingUnitOfWork, chat_id: int) -> tuple[Contact, Unit] | None:
    """The active contact bound to a chat (the most recent one when a person serves several units)."""
    contacts = [c for c in await uow.reporting.contacts_of_chat(chat_id) if c.status is ContactStatus.ACTIVE]
    if not contacts:
        return None
    contact = max(contacts, key=lambda c: c.id)
    unit = await uow.reporting.get_unit_by_id(contact.unit_id)
    return (contact, unit) if unit else None


@dataclass(frozen=True)
class Deadline:
    period: ReportingPeriod
    report: UnitReport | None

    @property
    def submitted(self) -> bool:
        return self.report is not None


#: How long an unsubmitted period stays listed as overdue after its deadline.
OVERDUE_SHOWN = timedelta(days=31)


@dataclass(frozen=True)
class UnitDeadlines:
    """The periods a unit reports on, each in one list: ``upcoming`` (due after now, current or
    future, by due date), ``overdue`` (past due, not submitted, recent: by due date), ``past`` (the
    rest: submitted and past due, or long overdue; newest first)."""

    upcoming: tuple[Deadline, ...]
    overdue: tuple[Deadline, ...]
    past: tuple[Deadline, ...]

    def to_submit(self) -> list[Deadline]:
        """In the order a contact picks a period: not-yet-submitted by due date, then the rest."""
        open_ = sorted(
            [d for d in self.upcoming if not d.submitted] + list(self.overdue), key=lambda d: d.period.due_at
        )
        return open_ + [d for d in self.upcoming if d.submitted] + list(self.past)


async def unit_deadlines(*, uow: ReportingUnitOfWork, unit: Unit, now: datetime) -> UnitDeadlines:
    """The unit's periods split into upcoming, overdue and past (see :class:`UnitDeadlines`)."""
    reports = await uow.reporting.latest_reports()
    periods = [p for p in await uow.plan.list_periods() if unit.kind in p.unit_kinds]
    items = sorted(
        (Deadline(p, reports.get((p.id, unit.id))) for p in periods), key=lambda d: d.period.due_at
    )
    upcoming = tuple(d for d in items if d.period.due_at > now)
    overdue = tuple(d for d in items if not d.submitted and now - OVERDUE_SHOWN < d.period.due_at <= now)
    past = tuple(reversed([d for d in items if d not in upcoming and d not in overdue]))
    return UnitDeadlines(upcoming, overdue, past)


async def unit_period(*, uow: ReportingUnitOfWork, unit: Unit, period_id: int) -> ReportingPeriod:
    """The period, if the unit reports on it (ReportingPeriodNotFound / PeriodNotForUnit otherwise)."""
    period = next((p for p in await uow.plan.list_periods() if p.id == period_id), None)
    if period is None:
        raise errors.ReportingPeriodNotFound()
    if unit.kind not in period.unit_kinds:
        raise errors.PeriodNotForUnit(period=period.title_vi)
    return period
