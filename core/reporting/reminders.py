"""Reminders: the policy, the plan of what is due at a moment (``gopy reminders preview`` and the
scheduler share it), queuing it into the outbox, and the "remind me later" of a contact."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from core import errors
from core.config import Settings
from core.domain import ReportingPeriod
from core.i18n import say, t
from core.reporting.compliance import period_compliance
from core.reporting.contacts import unit_period
from core.reporting.model import (
    ComplianceStatus,
    Contact,
    ContactStatus,
    NewOutboxMessage,
    Unit,
    units_reporting_on,
)
from core.reporting.ports import ReportingUnitOfWork


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


def deadline_text(due_at: datetime, tz: ZoneInfo, lang: str) -> str:
    """A deadline as people read it: «hết ngày 04/12/2025» for 00:00 on the 5th (the local day before
    a midnight due time), else «17:00 ngày 04/12/2025»."""
    local = due_at.astimezone(tz)
    if local.time() == time(0, 0):
        day = (local - timedelta(days=1)).strftime("%d/%m/%Y")
        return t("reporting.due.end_of_day", lang, date=day)
    return t("reporting.due.at", lang, time=local.strftime("%H:%M"), date=local.strftime("%d/%m/%Y"))


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
        due=deadline_text(period.due_at, tz, lang),
        left=time_left_text(period.due_at, now, lang),
    )


def reminder_buttons(period_id: int, lang: str) -> list[list[tuple[str, str]]]:
    return [
        [(t("reporting.btn.submit", lang), f"rp:r:{period_id}")],
        [(t("reporting.btn.offchannel", lang), f"rp:o:{period_id}")],
        [(t("reporting.btn.snooze", lang), f"rp:z:{period_id}")],
    ]


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
        pending = [u for u in units_reporting_on(period, units) if (period.id, u.id) not in reports]
        if step == "escalate":
            if pending:
                for chat in staff_chat_ids:
                    names = "\n".join(f"• {u.name_vi}" for u in pending)
                    due = deadline_text(period.due_at, tz, "vi")
                    text = t("reporting.escalation", "vi", period=period.title_vi, due=due)
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
        for unit in units_reporting_on(period, units):
            if unit.id not in covered and (period.id, unit.id) not in reports:
                gaps.append((period.code, current[0], unit.code, current[1]))
    return gaps


async def _unreachable_lines(uow: ReportingUnitOfWork) -> list[str]:
    """A line per contact that needs another channel, worded by the reason its channel adapter gave
    (``reporting.digest.unreachable.<reason>``, else the general line): data, no channel rule here."""
    lines = []
    for contact_id, reason in sorted((await uow.reporting.unreachable_reasons()).items()):
        contact = await uow.reporting.get_contact(contact_id)
        unit = await uow.reporting.get_unit_by_id(contact.unit_id) if contact else None
        if contact is None or unit is None:
            continue
        params = {"contact": contact.name or f"#{contact.id}", "unit": unit.name_vi, "reason": reason}
        lines.append(
            say([f"reporting.digest.unreachable.{reason}"], "vi", params, "reporting.digest.unreachable")
        )
    return lines


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
                due=deadline_text(period.due_at, policy.tz, "vi"),
                on_time=counts[ComplianceStatus.ON_TIME],
                late=counts[ComplianceStatus.LATE],
                claimed=counts[ComplianceStatus.CLAIMED],
                missing=counts[ComplianceStatus.MISSING],
            )
        )
    lines += await _unreachable_lines(uow)
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
