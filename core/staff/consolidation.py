"""A document's consolidation, staff side: counts, groups and themes (with the staff's theme edits) as
JSON, or rendered to a file, audited."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from core.document_consolidation import Consolidation, consolidate
from core.near_duplicates import NearDuplicateGrouper, OpinionGroup, OpinionText
from core.staff.audit import record_audit
from core.staff.documents import get_document
from core.staff.ports import StaffUnitOfWork
from core.theme_edits import document_scope_prefix

Labels = dict[str, dict[str, str]]
Render = Callable[[Consolidation, Labels], bytes]


@dataclass(frozen=True)
class ConsolidationExport:
    result: Consolidation
    content: bytes | None  # the rendered file, when a renderer was given


async def export_consolidation(
    *,
    uow: StaffUnitOfWork,
    actor: str,
    document_id: int,
    kind: str,
    fmt: str,
    now: datetime,
    render: Render | None = None,
) -> ConsolidationExport:
    """Consolidate a document's active opinions (in a worker thread), render them with ``render`` (a file
    format of the edge) and audit ``export.<kind>``; all in one transaction."""
    document = await get_document(uow=uow, document_id=document_id)
    sections = document.pop("sections")
    opinions = await uow.views.opinions_of_document(document_id)
    labels = await uow.views.reference_labels()
    edits = await uow.themes.under(document_scope_prefix(document_id))
    result = await asyncio.to_thread(
        consolidate,
        document=document,
        sections=sections,
        opinions=opinions,
        theme_edits=edits,
        embedder=uow.themes.embedder(),
    )
    result.hidden = await uow.views.count_hidden_opinions(document_id)
    content = await asyncio.to_thread(render, result, labels) if render is not None else None
    await record_audit(
        uow,
        actor=actor,
        action=f"export.{kind}",
        target=str(document_id),
        details={"format": fmt},
        row_count=result.total,
        now=now,
    )
    await uow.commit()
    return ConsolidationExport(result, content)


async def group_document_opinions(
    *, uow: StaffUnitOfWork, document_id: int, threshold: float = 0.7, page_size: int = 5000
) -> list[OpinionGroup]:
    """The groups of near-identical texts among all of a document's active opinions (every section
    together), keyed by receipt code: the opinions are read from the database page by page and fed to
    the grouping (in a worker thread) as they come, so memory holds the grouping's compact state, not
    a list of every opinion row. Used for consultations too large for :func:`export_consolidation`."""
    grouper = NearDuplicateGrouper(threshold=threshold, workers=1)
    async for page in uow.views.opinion_text_pages(document_id, page_size=page_size):
        await asyncio.to_thread(grouper.add, [OpinionText(code, text) for code, text in page])
    return await asyncio.to_thread(grouper.groups)
