"""The Word drafts of the two reports, laid out by :mod:`formats.docx_layout`.

* the synthesis report of one document's consolidation (:mod:`core.synthesis_report`), with its two
  bar charts;
* the Commission's mood report of one period (:mod:`core.mood_report`).

The issuing body, place, recipients and signer come from the settings (``GOPY_REPORT_*``), passed in
as an :class:`~core.admin_document.Issuer`. Both go through the Word template staff can edit
(:mod:`formats.report_template`; ``GOPY_REPORT_TEMPLATE``, by default the bundled one).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from pathlib import Path

from core.admin_document import Issuer
from core.config import get_settings
from core.document_consolidation import Consolidation
from core.mood import MoodSummary, summarise_mood_period
from core.mood_report import UnitReportLine, mood_report
from core.ports import UnitOfWork
from core.synthesis_report import synthesis_report
from formats.report_template import render_with_template


def _template(template: Path | None) -> Path | None:
    if template is not None:
        return template
    configured = get_settings().report_template
    return Path(configured) if configured else None


def build_synthesis_docx(
    result: Consolidation,
    path: Path,
    *,
    labels: Mapping[str, Mapping[str, str]],
    today: datetime,
    issuer: Issuer | None = None,
    template: Path | None = None,
) -> None:
    """Write the draft synthesis report of one document to ``path`` (``template``: a staff template,
    else GOPY_REPORT_TEMPLATE, else the bundled one)."""
    issuer = issuer or get_settings().report_issuer_of()
    report = synthesis_report(result, labels=labels, today=today, issuer=issuer)
    path.write_bytes(render_with_template(report, _template(template)))


def build_mood_report_docx(
    summary: MoodSummary,
    *,
    units: Sequence[UnitReportLine | tuple[str, str, datetime | None]] | None,
    now: datetime,
    timezone: str = "Asia/Ho_Chi_Minh",
    language: str = "vi",
    issuer: Issuer | None = None,
    template: Path | None = None,
) -> bytes:
    """The mood report draft as DOCX bytes (``template`` as for :func:`build_synthesis_docx`)."""
    issuer = issuer or get_settings().report_issuer_of()
    report = mood_report(summary, units=units, now=now, issuer=issuer, timezone=timezone, language=language)
    return render_with_template(report, _template(template))


async def draft_mood_report(
    *,
    uow: UnitOfWork,
    period_code: str,
    now: datetime,
    units: Sequence[UnitReportLine | tuple[str, str, datetime | None]] | None = None,
    timezone: str = "Asia/Ho_Chi_Minh",
    language: str = "vi",
    issuer: Issuer | None = None,
) -> bytes:
    """The DOCX draft of the mood report of one period (entries + the units' reports), as bytes."""
    summary = await summarise_mood_period(uow=uow, period_code=period_code, language=language)
    return build_mood_report_docx(
        summary, units=units, now=now, timezone=timezone, language=language, issuer=issuer
    )
