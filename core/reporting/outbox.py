"""The outbox at send time: whether a queued message is still wanted, and what a refused send leads to
(a blocked bot: the contact is unreachable and staff are told; a failure: retry later or give up)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from core.i18n import t
from core.reporting.model import ContactStatus, NewOutboxMessage, OutboxMessage, units_reporting_on
from core.reporting.ports import ReportingUnitOfWork


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
        if all((period.id, u.id) in reports for u in units_reporting_on(period, await repo.list_units())):
            return "all_submitted"
    return None


async def record_unreachable(
    *,
    uow: ReportingUnitOfWork,
    message: OutboxMessage,
    staff_chat_ids: Sequence[int],
    now: datetime,
    claim_epoch: int | None = None,
) -> None:
    """The person blocked the bot (403): record it, mark the contact unreachable and queue a notice to
    every staff chat; commit."""
    repo = uow.reporting
    await repo.finish_outbox(
        message.id, status="unreachable", now=now, error="forbidden", claim_epoch=claim_epoch
    )
    if message.contact_id is not None:
        contact = await repo.get_contact(message.contact_id)
        await repo.set_unreachable(message.contact_id)
        unit = await repo.get_unit_by_id(contact.unit_id) if contact else None
        text = t(
            "reporting.staff.unreachable",
            "vi",
            contact=contact.name if contact else "?",
            unit=unit.name_vi if unit else "?",
        )
        for chat in staff_chat_ids:
            await repo.add_outbox(
                NewOutboxMessage(
                    key=f"unreach:{message.contact_id}:{chat}",
                    kind="notice",
                    chat_id=chat,
                    text=text,
                    not_before=now,
                    created_at=now,
                    contact_id=message.contact_id,
                )
            )
    await uow.commit()


async def record_send_failure(
    *,
    uow: ReportingUnitOfWork,
    message: OutboxMessage,
    attempts: int,
    max_attempts: int,
    backoff_seconds: float,
    error: str,
    now: datetime,
    claim_epoch: int | None = None,
) -> str:
    """A send that failed for now (server or network error): try again later with an exponential backoff,
    or give up after ``max_attempts``; commit. Returns ``deferred`` or ``failed``."""
    if attempts >= max_attempts:
        await uow.reporting.finish_outbox(
            message.id, status="failed", now=now, error=error, claim_epoch=claim_epoch
        )
        outcome = "failed"
    else:
        delay = timedelta(seconds=backoff_seconds * 2 ** (attempts - 1))
        await uow.reporting.defer_outbox(
            message.id, not_before=now + delay, error=error, claim_epoch=claim_epoch
        )
        outcome = "deferred"
    await uow.commit()
    return outcome
