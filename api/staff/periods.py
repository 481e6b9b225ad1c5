"""The reporting-period picker shared by the mood and units pages."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from core.domain import ReportingPeriod


def choose_period(
    periods: Sequence[ReportingPeriod], code: str | None, now: datetime
) -> ReportingPeriod | None:
    """The period asked for; else the next one due (the last one when every period is past)."""
    if code:
        return next((p for p in periods if p.code == code), None)
    upcoming = [p for p in periods if p.due_at >= now]
    if upcoming:
        return min(upcoming, key=lambda p: p.due_at)
    return max(periods, key=lambda p: p.due_at) if periods else None
