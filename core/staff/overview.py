"""The console's overview: open consultations with their opinion counts by channel, reporting periods
due soon with their compliance counts, and the outbox backlog (counts only, no personal data)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from core.domain import Channel, ReportingPeriod
from core.exports import FeedbackFilters
from core.reporting import period_compliance
from core.reporting.model import ComplianceStatus
from core.staff.ports import StaffUnitOfWork


@dataclass(frozen=True)
class ConsultationCounts:
    document_id: int
    code: str
    title: str
    closes_at: datetime | None
    # channel -> (today, this week, total); "" is every channel together
    by_channel: dict[str, tuple[int, int, int]] = field(default_factory=dict)


@dataclass(frozen=True)
class PeriodCounts:
    period: ReportingPeriod
    counts: dict[str, int]  # ComplianceStatus value -> units


@dataclass(frozen=True)
class ZaloInbox:
    last_event_at: datetime | None  # when the webhook last delivered an event
    waiting: int  # inbox events not handled yet


@dataclass(frozen=True)
class Overview:
    consultations: list[ConsultationCounts]
    periods: list[PeriodCounts]
    outbox_backlog: int
    zalo: ZaloInbox | None = None  # only when the Zalo channel is configured


async def console_overview(
    *,
    uow: StaffUnitOfWork,
    now: datetime,
    tz: ZoneInfo,
    due_within: timedelta = timedelta(days=30),
    zalo: bool = False,
) -> Overview:
    """What the overview page shows, at ``now``; "today" and "this week" (from Monday) in ``tz``; with
    ``zalo`` (the channel is configured), the Zalo webhook's last event and inbox backlog."""
    local = now.astimezone(tz)
    today = datetime.combine(local.date(), time(0), tzinfo=tz)
    week = today - timedelta(days=local.weekday())
    consultations = []
    for doc in await uow.views.list_documents():
        if doc["status"] != "open":
            continue
        by_channel: dict[str, tuple[int, int, int]] = {}
        for channel in (None, *Channel):
            counts = []
            for since in (today, week, None):
                filters = FeedbackFilters(document_id=doc["id"], channel=channel, created_from=since)
                counts.append(await uow.views.count_feedback(filters))
            if channel is None or counts[2]:
                by_channel["" if channel is None else channel.value] = (counts[0], counts[1], counts[2])
        consultations.append(
            ConsultationCounts(
                document_id=doc["id"],
                code=doc["code"],
                title=doc["title"],
                closes_at=doc["closes_at"],
                by_channel=by_channel,
            )
        )
    periods = []
    for period in await uow.plan.list_periods():
        if not now - timedelta(days=7) <= period.due_at <= now + due_within:
            continue
        rows = await period_compliance(uow=uow, period_code=period.code, now=now)
        tally = {status.value: 0 for status in ComplianceStatus}
        for row in rows:
            tally[row.status.value] += 1
        periods.append(PeriodCounts(period=period, counts=tally))
    inbox = ZaloInbox(*(await uow.views.zalo_inbox_status())) if zalo else None
    return Overview(
        consultations=consultations,
        periods=periods,
        outbox_backlog=await uow.views.outbox_backlog(),
        zalo=inbox,
    )
