"""The public mood, staff side: a period's summary, and the report draft rendered by the edge; audited."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime

from core.mood import MoodSummary, find_period, summarise_mood_period
from core.reporting import period_compliance
from core.staff.audit import record_audit
from core.staff.ports import StaffUnitOfWork
from core.theme_edits import period_scope_prefix

UnitLine = tuple[str, str, datetime | None]  # unit name, compliance status, submitted at
RenderReport = Callable[[MoodSummary, Sequence[UnitLine]], bytes]


async def _summary(uow: StaffUnitOfWork, period_code: str, language: str) -> MoodSummary:
    period, _ = await find_period(uow=uow, period_code=period_code)
    edits = await uow.themes.under(period_scope_prefix(period.id))
    return await summarise_mood_period(
        uow=uow, period_code=period_code, language=language, theme_edits=edits, embedder=uow.themes.embedder()
    )


async def export_mood_summary(
    *, uow: StaffUnitOfWork, actor: str, period_code: str, now: datetime, language: str = "vi"
) -> MoodSummary:
    """Concerns, aspirations and recommendations of a period, counted, grouped and in themes per topic
    (with the staff's theme edits); audited."""
    summary = await _summary(uow, period_code, language)
    await record_audit(
        uow, actor=actor, action="export.mood_summary", target=period_code, row_count=summary.total, now=now
    )
    await uow.commit()
    return summary


async def export_mood_report(
    *,
    uow: StaffUnitOfWork,
    actor: str,
    period_code: str,
    now: datetime,
    render: RenderReport,
    language: str = "vi",
) -> tuple[MoodSummary, bytes]:
    """The report draft of a period: its entries and the units that reported, rendered by ``render``."""
    summary = await _summary(uow, period_code, language)
    rows = await period_compliance(uow=uow, period_code=period_code, now=now)
    content = render(summary, [(r.unit_name, r.status.value, r.submitted_at) for r in rows])
    await record_audit(
        uow, actor=actor, action="export.mood_report", target=period_code, row_count=summary.total, now=now
    )
    await uow.commit()
    return summary, content
