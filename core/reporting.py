"""Reporting units: contacts, deadlines, reminders, report submission and compliance (use cases).

Pure Python: storage comes in through ``uow.reporting`` (a :class:`ReportingRepository`) and a
:class:`FileStore`; time comes in as ``now``. Reminder planning is a pure function of the plan, the
policy and the moment, so ``gopy reminders preview`` and the scheduler share it.
"""

from __future__ import annotations

import hashlib
import io
import secrets
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, time, timedelta
from enum import StrEnum
from pathlib import Path
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from core import errors
from core.archives import ArchiveLimits, check_archive
from core.config import Settings
from core.domain import ReportingPeriod
from core.i18n import t
from core.ports import UnitOfWork

MAX_REPORT_BYTES = 20 * 1024 * 1024  # what a bot may download through getFile
INVITE_PREFIX = "u-"
REPORT_TYPES = ("pdf", "docx", "xlsx", "odt")

# --------------------------------------------------------------------------- domain


@dataclass(frozen=True)
class Unit:
    id: int
    code: str
    kind: str
    name_vi: str
    name_en: str
    parent_code: str | None = None
    active: bool = True

    def name(self, language: str) -> str:
        return self.name_en if language == "en" else self.name_vi


class ContactStatus(StrEnum):
    INVITED = "invited"
    ACTIVE = "active"
    LEFT = "left"


@dataclass(frozen=True)
class Contact:
    id: int
    unit_id: int
    name: str
    status: ContactStatus
    chat_id: int | None = None
    reachable: bool = True
    language: str = "vi"
    invite_expires_at: datetime | None = None
    invite_used_at: datetime | None = None


@dataclass(frozen=True)
class StoredReportFile:
    """A validated report file already in the file store (content-addressed)."""

    sha256: str
    size: int
    type: str


@dataclass(frozen=True)
class UnitReport:
    id: int
    period_id: int
    unit_id: int
    version: int
    kind: str  # "file" | "offchannel"
    submitted_at: datetime
    late: bool
    contact_id: int | None = None
    file_sha256: str | None = None
    file_size: int | None = None
    file_type: str | None = None
    summary: str = ""
    opinions_count: int | None = None
    confirmed_at: datetime | None = None


@dataclass(frozen=True)
class NewOutboxMessage:
    key: str
    kind: str  # "reminder" | "escalation" | "digest" | "notice"
    chat_id: int
    text: str
    not_before: datetime
    buttons: list[list[tuple[str, str]]] = field(default_factory=list)
    contact_id: int | None = None
    period_id: int | None = None
    unit_id: int | None = None
    created_at: datetime | None = None  # when it was queued (default: ``not_before``)


@dataclass(frozen=True)
class OutboxMessage(NewOutboxMessage):
    id: int = 0
    status: str = "pending"
    attempts: int = 0


class ComplianceStatus(StrEnum):
    ON_TIME = "on_time"
    LATE = "late"
    CLAIMED = "claimed"  # "sent through another channel", waiting for staff to confirm
    MISSING = "missing"


@dataclass(frozen=True)
class UnitCompliance:
    period_code: str
    unit_code: str
    unit_name: str
    kind: str
    status: ComplianceStatus
    contacts: int
    reachable_contacts: int
    report_id: int | None = None
    version: int | None = None
    submitted_at: datetime | None = None


# --------------------------------------------------------------------------- ports


class ReportingRepository(Protocol):
    async def list_units(self) -> Sequence[Unit]: ...
    async def get_unit(self, code: str) -> Unit | None: ...
    async def get_unit_by_id(self, unit_id: int) -> Unit | None: ...
    async def add_contact(
        self, *, unit_id: int, name: str, invite_hash: str, expires_at: datetime, now: datetime
    ) -> Contact: ...
    async def get_contact(self, contact_id: int) -> Contact | None: ...
    async def get_contact_by_invite(self, invite_hash: str) -> Contact | None: ...
    async def bind_contact(self, contact_id: int, *, chat_id: int, language: str, now: datetime) -> None: ...
    async def contacts_of_chat(self, chat_id: int) -> Sequence[Contact]: ...
    async def contacts_of_unit(self, unit_id: int) -> Sequence[Contact]: ...
    async def active_contacts(self) -> Sequence[Contact]: ...
    async def leave_chat(self, chat_id: int, *, now: datetime) -> int: ...
    async def set_unreachable(self, contact_id: int) -> None: ...
    async def latest_reports(self, period_id: int | None = None) -> dict[tuple[int, int], UnitReport]: ...
    async def reports_of_unit(self, unit_id: int, *, limit: int) -> Sequence[UnitReport]: ...
    async def get_report(self, report_id: int) -> UnitReport | None: ...
    async def add_report(self, report: UnitReport) -> UnitReport: ...
    async def confirm_report(self, report_id: int, *, now: datetime) -> None: ...
    async def add_outbox(self, message: NewOutboxMessage) -> bool: ...
    async def existing_outbox_keys(self, keys: Sequence[str]) -> set[str]: ...
    async def pending_outbox(self, *, now: datetime, limit: int) -> Sequence[OutboxMessage]: ...
    async def finish_outbox(
        self,
        message_id: int,
        *,
        status: str,
        now: datetime,
        error: str | None = None,
        claim_epoch: int | None = None,
    ) -> bool: ...
    async def defer_outbox(
        self, message_id: int, *, not_before: datetime, error: str, claim_epoch: int | None = None
    ) -> None: ...


class ReportingUnitOfWork(UnitOfWork, Protocol):
    reporting: ReportingRepository


class FileStore(Protocol):
    def put(self, content: bytes) -> str: ...
    def path(self, sha256: str) -> Path: ...


# --------------------------------------------------------------------------- policy and planning


@dataclass(frozen=True)
class ReminderPolicy:
    """When reminders go out. Days are counted back from the local calendar day of the deadline."""

    days_before: tuple[int, ...] = (7, 3, 1, 0)
    at: time = time(8, 0)
    overdue_days: int = 3
    escalate: bool = True
    quiet_start: time | None = time(21, 0)
    quiet_end: time | None = time(7, 0)
    grace: timedelta = timedelta(hours=24)
    digest_at: time | None = time(8, 30)
    timezone: str = "Asia/Ho_Chi_Minh"

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def in_quiet_hours(self, moment: datetime) -> bool:
        if self.quiet_start is None or self.quiet_end is None or self.quiet_start == self.quiet_end:
            return False
        local = moment.astimezone(self.tz).time()
        if self.quiet_start < self.quiet_end:
            return self.quiet_start <= local < self.quiet_end
        return local >= self.quiet_start or local < self.quiet_end

    def quiet_until(self, moment: datetime) -> datetime:
        """The end of the quiet hours ``moment`` is in (or ``moment`` itself outside them)."""
        if not self.in_quiet_hours(moment):
            return moment
        assert self.quiet_end is not None
        local = moment.astimezone(self.tz)
        end = datetime.combine(local.date(), self.quiet_end, tzinfo=self.tz)
        if end <= local:
            end += timedelta(days=1)
        return end.astimezone(UTC)

    def _local(self, day: Any, at: time) -> datetime:
        return datetime.combine(day, at, tzinfo=self.tz).astimezone(UTC)

    def steps(self, due_at: datetime) -> list[tuple[str, datetime]]:
        """``(step, moment)`` of every reminder of a deadline, in time order; "escalate" goes to staff."""
        due_day = due_at.astimezone(self.tz).date()
        out = [
            ("due" if n == 0 else f"t-{n}", self._local(due_day - timedelta(days=n), self.at))
            for n in sorted(set(self.days_before), reverse=True)
        ]
        out += [
            (f"late-{k}", self._local(due_day + timedelta(days=k), self.at))
            for k in range(1, self.overdue_days + 1)
        ]
        if self.escalate:
            out.append(("escalate", self._local(due_day + timedelta(days=self.overdue_days + 1), self.at)))
        return out

    def current_step(self, due_at: datetime, now: datetime) -> tuple[str, datetime] | None:
        """The latest step already due at ``now`` and not older than the grace period."""
        current = None
        for step, moment in self.steps(due_at):
            if moment <= now:
                current = (step, moment)
        if current is None or now - current[1] >= self.grace:
            return None
        return current


@dataclass(frozen=True)
class PlannedMessage:
    """A message the scheduler would queue at a moment (``preview`` prints these)."""

    message: NewOutboxMessage
    step: str
    scheduled_at: datetime
    period_code: str
    unit_code: str | None
    recipient: str  # contact name or "staff"
    already_queued: bool = False

    def deferred_until(self, policy: ReminderPolicy, now: datetime) -> datetime | None:
        until = policy.quiet_until(max(now, self.message.not_before))
        return until if until > now else None


def reminder_key(period_id: int, unit_id: int, contact_id: int, step: str) -> str:
    return f"rem:{period_id}:{unit_id}:{contact_id}:{step}"


def _fmt(moment: datetime, tz: ZoneInfo) -> str:
    return moment.astimezone(tz).strftime("%H:%M %d/%m/%Y")


def time_left_text(due_at: datetime, now: datetime, lang: str) -> str:
    """ "còn 3 ngày" / "còn 5 giờ" / "quá hạn 2 ngày" — whole days when a day or more."""
    delta = due_at - now
    late = delta < timedelta(0)
    span = -delta if late else delta
    days, hours = span.days, span.seconds // 3600
    amount = t("reporting.days", lang, n=days) if days >= 1 else t("reporting.hours", lang, n=max(hours, 1))
    return t("reporting.overdue_by" if late else "reporting.left", lang, amount=amount)


def reminder_text(period: ReportingPeriod, unit: Unit, *, now: datetime, lang: str, tz: ZoneInfo) -> str:
    return t(
        "reporting.reminder",
        lang,
        period=period.title(lang),
        unit=unit.name(lang),
        due=_fmt(period.due_at, tz),
        left=time_left_text(period.due_at, now, lang),
    )


def reminder_buttons(period_id: int, lang: str) -> list[list[tuple[str, str]]]:
    return [
        [(t("reporting.btn.submit", lang), f"rp:r:{period_id}")],
        [(t("reporting.btn.offchannel", lang), f"rp:o:{period_id}")],
        [(t("reporting.btn.snooze", lang), f"rp:z:{period_id}")],
    ]


def _units_of(period: ReportingPeriod, units: Sequence[Unit]) -> list[Unit]:
    return [u for u in units if u.active and u.kind in period.unit_kinds]


async def plan_messages(
    *, uow: ReportingUnitOfWork, policy: ReminderPolicy, staff_chat_ids: Sequence[int], now: datetime
) -> list[PlannedMessage]:
    """Every reminder, escalation and digest due at ``now`` (whether or not already queued)."""
    repo = uow.reporting
    tz = policy.tz
    periods = await uow.plan.list_periods()
    units = await repo.list_units()
    contacts = await repo.active_contacts()
    reports = await repo.latest_reports()
    by_unit: dict[int, list[Contact]] = {}
    for c in contacts:
        by_unit.setdefault(c.unit_id, []).append(c)
    planned: list[PlannedMessage] = []
    for period in periods:
        current = policy.current_step(period.due_at, now)
        if current is None:
            continue
        step, moment = current
        pending = [u for u in _units_of(period, units) if (period.id, u.id) not in reports]
        if step == "escalate":
            if pending:
                for chat in staff_chat_ids:
                    names = "\n".join(f"• {u.name_vi}" for u in pending)
                    text = t(
                        "reporting.escalation", "vi", period=period.title_vi, due=_fmt(period.due_at, tz)
                    )
                    msg = NewOutboxMessage(
                        key=f"esc:{period.id}:{chat}",
                        kind="escalation",
                        chat_id=chat,
                        text=f"{text}\n{names}",
                        not_before=moment,
                        period_id=period.id,
                    )
                    planned.append(PlannedMessage(msg, step, moment, period.code, None, "staff"))
            continue
        for unit in pending:
            for contact in by_unit.get(unit.id, []):
                if contact.chat_id is None:
                    continue
                lang = contact.language
                msg = NewOutboxMessage(
                    key=reminder_key(period.id, unit.id, contact.id, step),
                    kind="reminder",
                    chat_id=contact.chat_id,
                    text=reminder_text(period, unit, now=max(now, moment), lang=lang, tz=tz),
                    buttons=reminder_buttons(period.id, lang),
                    not_before=moment,
                    contact_id=contact.id,
                    period_id=period.id,
                    unit_id=unit.id,
                )
                planned.append(PlannedMessage(msg, step, moment, period.code, unit.code, contact.name))
    planned += await _digests(uow=uow, policy=policy, staff_chat_ids=staff_chat_ids, now=now)
    keys = await repo.existing_outbox_keys([p.message.key for p in planned])
    return [
        PlannedMessage(p.message, p.step, p.scheduled_at, p.period_code, p.unit_code, p.recipient, True)
        if p.message.key in keys
        else p
        for p in planned
    ]


async def units_without_contact(
    *, uow: ReportingUnitOfWork, policy: ReminderPolicy, now: datetime
) -> list[tuple[str, str, str, datetime]]:
    """``(period, step, unit, moment)`` of reminders due at ``now`` that reach nobody (no active contact)."""
    units = await uow.reporting.list_units()
    covered = {c.unit_id for c in await uow.reporting.active_contacts() if c.chat_id is not None}
    reports = await uow.reporting.latest_reports()
    gaps = []
    for period in await uow.plan.list_periods():
        current = policy.current_step(period.due_at, now)
        if current is None or current[0] == "escalate":
            continue
        for unit in _units_of(period, units):
            if unit.id not in covered and (period.id, unit.id) not in reports:
                gaps.append((period.code, current[0], unit.code, current[1]))
    return gaps


async def _digests(
    *, uow: ReportingUnitOfWork, policy: ReminderPolicy, staff_chat_ids: Sequence[int], now: datetime
) -> list[PlannedMessage]:
    if policy.digest_at is None or not staff_chat_ids:
        return []
    local = now.astimezone(policy.tz)
    moment = datetime.combine(local.date(), policy.digest_at, tzinfo=policy.tz).astimezone(UTC)
    if not (moment <= now < moment + policy.grace):
        return []
    lines = []
    for period in await uow.plan.list_periods():
        window_end = period.due_at + timedelta(days=policy.overdue_days + 1)
        if not (period.due_at - timedelta(days=max(policy.days_before, default=7)) <= now <= window_end):
            continue
        rows = await period_compliance(uow=uow, period_code=period.code, now=now)
        counts = {s: sum(1 for r in rows if r.status is s) for s in ComplianceStatus}
        lines.append(
            t(
                "reporting.digest.line",
                "vi",
                period=period.title_vi,
                due=_fmt(period.due_at, policy.tz),
                on_time=counts[ComplianceStatus.ON_TIME],
                late=counts[ComplianceStatus.LATE],
                claimed=counts[ComplianceStatus.CLAIMED],
                missing=counts[ComplianceStatus.MISSING],
            )
        )
    if not lines:
        return []
    text = t("reporting.digest.title", "vi", date=local.strftime("%d/%m/%Y")) + "\n" + "\n".join(lines)
    day = local.date().isoformat()
    return [
        PlannedMessage(
            NewOutboxMessage(
                key=f"digest:{day}:{chat}", kind="digest", chat_id=chat, text=text, not_before=moment
            ),
            "digest",
            moment,
            "*",
            None,
            "staff",
        )
        for chat in staff_chat_ids
    ]


async def materialise_reminders(
    *, uow: ReportingUnitOfWork, policy: ReminderPolicy, staff_chat_ids: Sequence[int], now: datetime
) -> int:
    """Queue every message due at ``now`` into the outbox (unique keys: reruns add nothing); commit."""
    added = 0
    for planned in await plan_messages(uow=uow, policy=policy, staff_chat_ids=staff_chat_ids, now=now):
        if not planned.already_queued and await uow.reporting.add_outbox(
            replace(planned.message, created_at=now)
        ):
            added += 1
    await uow.commit()
    return added


async def obsolete_reason(*, uow: ReportingUnitOfWork, message: OutboxMessage) -> str | None:
    """Why a queued message should no longer go out, decided at send time (``None``: send it).

    A reminder is obsolete once its unit has reported for the period (or claimed another channel), or
    its contact left or became unreachable; an escalation once every unit of the period has reported.
    """
    repo = uow.reporting
    if message.kind == "reminder":
        if message.period_id is not None and message.unit_id is not None:
            if (message.period_id, message.unit_id) in await repo.latest_reports(message.period_id):
                return "submitted"
        if message.contact_id is not None:
            contact = await repo.get_contact(message.contact_id)
            if contact is None or contact.status is not ContactStatus.ACTIVE or not contact.reachable:
                return "contact_gone"
        return None
    if message.kind == "escalation" and message.period_id is not None:
        period = next((p for p in await uow.plan.list_periods() if p.id == message.period_id), None)
        if period is None:
            return "period_gone"
        reports = await repo.latest_reports(period.id)
        if all((period.id, u.id) in reports for u in _units_of(period, await repo.list_units())):
            return "all_submitted"
    return None


# --------------------------------------------------------------------------- contacts


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


async def unit_deadlines(*, uow: ReportingUnitOfWork, unit: Unit, now: datetime) -> list[Deadline]:
    """Periods the unit reports on: not-yet-submitted first (by due date), then the rest, newest first."""
    reports = await uow.reporting.latest_reports()
    periods = [p for p in await uow.plan.list_periods() if unit.kind in p.unit_kinds]
    items = [Deadline(p, reports.get((p.id, unit.id))) for p in periods]
    open_ = [d for d in items if not d.submitted and d.period.due_at > now - timedelta(days=31)]
    open_.sort(key=lambda d: d.period.due_at)
    rest = [d for d in items if d not in open_]
    rest.sort(key=lambda d: d.period.due_at, reverse=True)
    return open_ + rest


async def unit_period(*, uow: ReportingUnitOfWork, unit: Unit, period_id: int) -> ReportingPeriod:
    """The period, if the unit reports on it (ReportingPeriodNotFound / PeriodNotForUnit otherwise)."""
    period = next((p for p in await uow.plan.list_periods() if p.id == period_id), None)
    if period is None:
        raise errors.ReportingPeriodNotFound()
    if unit.kind not in period.unit_kinds:
        raise errors.PeriodNotForUnit(period=period.title_vi)
    return period


# --------------------------------------------------------------------------- files and reports


def detect_report_type(content: bytes, *, limits: ArchiveLimits | None = None) -> str | None:
    """``pdf`` / ``docx`` / ``xlsx`` / ``odt`` by content (magic bytes and zip entries), never by name.

    An archive is first checked against ``limits`` (``ArchiveRejected`` for a zip bomb).
    """
    if content.startswith(b"%PDF-"):
        return "pdf"
    if not content.startswith(b"PK\x03\x04"):
        return None
    try:
        check_archive(content, limits or ArchiveLimits())
        with zipfile.ZipFile(io.BytesIO(content)) as archive:
            names = set(archive.namelist())
            if "mimetype" in names:
                mimetype = archive.read("mimetype").strip()
                return "odt" if mimetype == b"application/vnd.oasis.opendocument.text" else None
            if "[Content_Types].xml" in names:
                types = archive.read("[Content_Types].xml")
                if b"wordprocessingml.document.main+xml" in types:
                    return "docx"
                if b"spreadsheetml.sheet.main+xml" in types:
                    return "xlsx"
    except (zipfile.BadZipFile, KeyError, OSError, RuntimeError):
        return None
    return None


def check_report_size(size: int | None, *, max_bytes: int = MAX_REPORT_BYTES) -> None:
    if size is not None and size > max_bytes:
        raise errors.ReportFileTooLarge(max_mb=max_bytes // (1024 * 1024))


def store_report_file(
    *,
    files: FileStore,
    content: bytes,
    max_bytes: int = MAX_REPORT_BYTES,
    limits: ArchiveLimits | None = None,
) -> StoredReportFile:
    """Validate a report file (size, type by content, zip bomb guard) and put it in the file store
    under its SHA-256."""
    check_report_size(len(content), max_bytes=max_bytes)
    kind = detect_report_type(content, limits=limits)
    if kind is None:
        raise errors.ReportFileType(types=", ".join(x.upper() for x in REPORT_TYPES))
    sha = files.put(content)
    return StoredReportFile(sha, len(content), kind)


async def submit_report(
    *,
    uow: ReportingUnitOfWork,
    contact_id: int,
    period_id: int,
    file: StoredReportFile,
    summary: str,
    opinions_count: int | None,
    now: datetime,
) -> UnitReport:
    """Record a new version of the unit's report (late if after the deadline); commit."""
    contact = await uow.reporting.get_contact(contact_id)
    if contact is None or contact.status is not ContactStatus.ACTIVE:
        raise errors.ContactNotBound()
    unit = await uow.reporting.get_unit_by_id(contact.unit_id)
    if unit is None:
        raise errors.UnitNotFound()
    period = await unit_period(uow=uow, unit=unit, period_id=period_id)
    report = await uow.reporting.add_report(
        UnitReport(
            id=0,
            period_id=period.id,
            unit_id=unit.id,
            version=0,
            kind="file",
            submitted_at=now,
            late=now >= period.due_at,
            contact_id=contact.id,
            file_sha256=file.sha256,
            file_size=file.size,
            file_type=file.type,
            summary=summary.strip()[:2000],
            opinions_count=opinions_count,
        )
    )
    await uow.commit()
    return report


async def claim_offchannel(
    *, uow: ReportingUnitOfWork, contact_id: int, period_id: int, now: datetime
) -> UnitReport:
    """ "Sent through another channel": recorded for staff to confirm; reminders stop; commit."""
    contact = await uow.reporting.get_contact(contact_id)
    if contact is None or contact.status is not ContactStatus.ACTIVE:
        raise errors.ContactNotBound()
    unit = await uow.reporting.get_unit_by_id(contact.unit_id)
    if unit is None:
        raise errors.UnitNotFound()
    period = await unit_period(uow=uow, unit=unit, period_id=period_id)
    latest = (await uow.reporting.latest_reports(period.id)).get((period.id, unit.id))
    if latest is not None:
        return latest
    report = await uow.reporting.add_report(
        UnitReport(
            id=0,
            period_id=period.id,
            unit_id=unit.id,
            version=0,
            kind="offchannel",
            submitted_at=now,
            late=now >= period.due_at,
            contact_id=contact.id,
        )
    )
    await uow.commit()
    return report


async def confirm_offchannel(*, uow: ReportingUnitOfWork, report_id: int, now: datetime) -> UnitReport:
    """Staff confirm an off-channel submission (it then counts as on time or late); commit."""
    report = await uow.reporting.get_report(report_id)
    if report is None or report.kind != "offchannel":
        raise errors.ReportNotFound()
    if report.confirmed_at is None:
        await uow.reporting.confirm_report(report_id, now=now)
        await uow.commit()
    confirmed = await uow.reporting.get_report(report_id)
    assert confirmed is not None
    return confirmed


async def snooze_reminder(
    *, uow: ReportingUnitOfWork, contact_id: int, period_id: int, now: datetime, policy: ReminderPolicy
) -> datetime:
    """ "Remind me later": queue one more reminder a few hours later (outside quiet hours); commit."""
    contact = await uow.reporting.get_contact(contact_id)
    if contact is None or contact.chat_id is None or contact.status is not ContactStatus.ACTIVE:
        raise errors.ContactNotBound()
    unit = await uow.reporting.get_unit_by_id(contact.unit_id)
    if unit is None:
        raise errors.UnitNotFound()
    period = await unit_period(uow=uow, unit=unit, period_id=period_id)
    at = policy.quiet_until(now + timedelta(hours=4))
    hour = at.astimezone(policy.tz).strftime("%Y%m%d%H")
    lang = contact.language
    await uow.reporting.add_outbox(
        NewOutboxMessage(
            key=f"snz:{period.id}:{unit.id}:{contact.id}:{hour}",
            kind="reminder",
            chat_id=contact.chat_id,
            text=reminder_text(period, unit, now=at, lang=lang, tz=policy.tz),
            buttons=reminder_buttons(period.id, lang),
            not_before=at,
            created_at=now,
            contact_id=contact.id,
            period_id=period.id,
            unit_id=unit.id,
        )
    )
    await uow.commit()
    return at


async def open_report_file(
    *, uow: ReportingUnitOfWork, files: FileStore, report_id: int
) -> tuple[UnitReport, Path]:
    """A stored report and the path of its file (for a download endpoint)."""
    report = await uow.reporting.get_report(report_id)
    if report is None or report.file_sha256 is None:
        raise errors.ReportNotFound()
    path = files.path(report.file_sha256)
    if not path.is_file():
        raise errors.ReportNotFound()
    return report, path


# --------------------------------------------------------------------------- compliance


async def period_compliance(
    *, uow: ReportingUnitOfWork, period_code: str, now: datetime
) -> list[UnitCompliance]:
    """Who is on time, late, claimed (off-channel, to confirm) or missing for one period."""
    period = next((p for p in await uow.plan.list_periods() if p.code == period_code), None)
    if period is None:
        raise errors.ReportingPeriodNotFound(period=period_code)
    reports = await uow.reporting.latest_reports(period.id)
    rows = []
    for unit in _units_of(period, await uow.reporting.list_units()):
        report = reports.get((period.id, unit.id))
        contacts = [
            c for c in await uow.reporting.contacts_of_unit(unit.id) if c.status is ContactStatus.ACTIVE
        ]
        if report is None:
            status = ComplianceStatus.MISSING
        elif report.kind == "offchannel" and report.confirmed_at is None:
            status = ComplianceStatus.CLAIMED
        else:
            status = ComplianceStatus.LATE if report.late else ComplianceStatus.ON_TIME
        rows.append(
            UnitCompliance(
                period_code=period.code,
                unit_code=unit.code,
                unit_name=unit.name_vi,
                kind=unit.kind,
                status=status,
                contacts=len(contacts),
                reachable_contacts=sum(1 for c in contacts if c.reachable),
                report_id=report.id if report else None,
                version=report.version if report else None,
                submitted_at=report.submitted_at if report else None,
            )
        )
    return rows


async def report_period_codes(*, uow: ReportingUnitOfWork) -> list[str]:
    return [p.code for p in await uow.plan.list_periods()]


def reminder_policy(settings: Settings) -> ReminderPolicy:
    """The reminder policy configured in the settings (``GOPY_REMINDER_*``, ``GOPY_QUIET_HOURS``...)."""
    quiet_start = quiet_end = None
    if settings.quiet_hours:
        start, _, end = settings.quiet_hours.partition("-")
        quiet_start, quiet_end = time.fromisoformat(start.strip()), time.fromisoformat(end.strip())
    return ReminderPolicy(
        days_before=tuple(settings.reminder_days_before),
        at=time.fromisoformat(settings.reminder_time),
        overdue_days=settings.reminder_overdue_days,
        escalate=settings.reminder_escalate,
        quiet_start=quiet_start,
        quiet_end=quiet_end,
        digest_at=time.fromisoformat(settings.digest_time) if settings.digest_time else None,
        timezone=settings.timezone,
    )
