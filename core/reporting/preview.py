"""What the scheduler would send at given moments, and to whom (nothing is queued or sent).

One implementation for ``gopy reminders preview`` and the console's reminders preview."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from core.reporting.ports import ReportingUnitOfWork
from core.reporting.reminders import PlannedMessage, ReminderPolicy, plan_messages, units_without_contact


@dataclass(frozen=True)
class PreviewItem:
    """A planned message, with when it would be deferred to (quiet hours) and whether it is queued."""

    planned: PlannedMessage
    deferred_until: datetime | None

    @property
    def first_line(self) -> str:
        text = self.planned.message.text
        return text.splitlines()[0] if text else ""


@dataclass(frozen=True)
class PreviewGap:
    """A reminder due at the moment that reaches nobody: the unit has no active contact."""

    period_code: str
    step: str
    unit_code: str
    due: datetime


@dataclass(frozen=True)
class PreviewMoment:
    moment: datetime
    items: list[PreviewItem] = field(default_factory=list)
    gaps: list[PreviewGap] = field(default_factory=list)


async def preview_reminders(
    *,
    uow: ReportingUnitOfWork,
    policy: ReminderPolicy,
    staff_chat_ids: Sequence[int],
    moments: Sequence[datetime],
) -> list[PreviewMoment]:
    """Per moment, the messages due then; in a listing of several moments each message is shown once,
    at the first moment it is due."""
    result: list[PreviewMoment] = []
    previous: datetime | None = None
    for moment in moments:
        planned = await plan_messages(uow=uow, policy=policy, staff_chat_ids=staff_chat_ids, now=moment)
        gaps = await units_without_contact(uow=uow, policy=policy, now=moment)
        if previous is not None:
            planned = [p for p in planned if p.scheduled_at > previous]
            gaps = [g for g in gaps if g[3] > previous]
        previous = moment
        result.append(
            PreviewMoment(
                moment=moment,
                items=[PreviewItem(p, p.deferred_until(policy, moment)) for p in planned],
                gaps=[PreviewGap(*g) for g in gaps],
            )
        )
    return result
