"""Moderation: staff hide an abusive or spam entry with a reason, and restore it.

A hidden entry is never deleted: it stays in the database with who hid it, when and why, and both
actions are audited. It is left out of every count, consolidation, theme, report and listing by
default (:class:`core.exports.HiddenFilter`), and counted apart (``Consolidation.hidden``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from core import errors
from core.staff.audit import record_audit
from core.staff.ports import Row, StaffUnitOfWork
from core.text import normalize_input

MAX_REASON = 500


@dataclass(frozen=True)
class ModerationState:
    """An entry's moderation state after a hide or a restore; ``changed`` is False when it already was."""

    receipt_code: str
    hidden: bool
    hidden_at: datetime | None
    hidden_by: str | None
    hidden_reason: str | None
    changed: bool


def _reason(reason: str) -> str:
    cleaned = " ".join(normalize_input(reason).split())
    if not cleaned or len(cleaned) > MAX_REASON:
        raise errors.InvalidQuery(field="reason", reason="empty" if not cleaned else "too_long")
    return cleaned


async def _entry(uow: StaffUnitOfWork, receipt_code: str | None, feedback_id: int | None) -> Row:
    """The entry named by its receipt code (case ignored) or, for the console's table, its id."""
    if (receipt_code is None) == (feedback_id is None):
        raise errors.InvalidQuery(field="receipt_code", reason="receipt_code_or_id")
    if receipt_code is not None:
        row = await uow.views.feedback_by_receipt(receipt_code)
        missing = receipt_code.strip().upper()
    else:
        row = await uow.views.feedback_by_id(int(feedback_id or 0))
        missing = f"#{feedback_id}"
    if row is None:
        raise errors.FeedbackNotFound(receipt_code=missing)
    return row


async def hide_opinion(
    *,
    uow: StaffUnitOfWork,
    actor: str,
    reason: str,
    now: datetime,
    receipt_code: str | None = None,
    feedback_id: int | None = None,
) -> ModerationState:
    """Hide one entry (by receipt code or id) with a reason (required); audited ``feedback.hide``.
    Hiding an entry already hidden changes nothing (its first reason stays) and writes no audit row."""
    cleaned = _reason(reason)
    row = await _entry(uow, receipt_code, feedback_id)
    code = str(row["receipt_code"])
    if row.get("hidden_at") is not None:
        return ModerationState(code, True, row["hidden_at"], row["hidden_by"], row["hidden_reason"], False)
    await uow.feedback.set_hidden(code, hidden_at=now, hidden_by=actor, reason=cleaned)
    await record_audit(
        uow, actor=actor, action="feedback.hide", target=code, details={"reason": cleaned}, now=now
    )
    await uow.commit()
    return ModerationState(code, True, now, actor, cleaned, True)


async def restore_opinion(
    *,
    uow: StaffUnitOfWork,
    actor: str,
    now: datetime,
    receipt_code: str | None = None,
    feedback_id: int | None = None,
    note: str | None = None,
) -> ModerationState:
    """Show a hidden entry (by receipt code or id) again: it counts again everywhere; audited
    ``feedback.restore`` with the reason it had been hidden for. Restoring a shown entry changes nothing."""
    row = await _entry(uow, receipt_code, feedback_id)
    code = str(row["receipt_code"])
    if row.get("hidden_at") is None:
        return ModerationState(code, False, None, None, None, False)
    details = {"hidden_by": row["hidden_by"], "hidden_reason": row["hidden_reason"]}
    if note:
        details["note"] = _reason(note)
    await uow.feedback.set_hidden(code, hidden_at=None, hidden_by=None, reason=None)
    await record_audit(uow, actor=actor, action="feedback.restore", target=code, details=details, now=now)
    await uow.commit()
    return ModerationState(code, False, None, None, None, True)
