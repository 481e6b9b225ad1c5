"""Feedback, staff side: the filtered list, one entry by receipt, and the bounded, audited exports."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from core import errors
from core.domain import Channel, FeedbackKind, FeedbackStatus, Source, Stance
from core.exports import (
    CODES_LAYOUT,
    COUNT_COLUMNS,
    WORDED_COLUMNS,
    ExportFormat,
    ExportLayout,
    ExportWording,
    FeedbackFilters,
    SqlEncoding,
    make_cursor,
    parse_cursor,
    present_row,
    section_paths,
    sql_encoding,
)
from core.i18n import t
from core.staff.audit import record_audit
from core.staff.ports import Row, StaffUnitOfWork

PAGE_SIZE = 2000  # rows per keyset page of an export: fewer round trips, a few MB in memory


@dataclass(frozen=True)
class Presenter:
    """Turns stored rows into export rows: a pseudonym (or with PII the respondent id), local times;
    with a ``wording``, the worded row of a file for people (names, section path, local datetimes)."""

    pii: bool
    hash_key: str
    tz: ZoneInfo
    wording: ExportWording | None = None

    def __call__(self, row: Row) -> dict[str, Any]:
        if self.wording is None:
            return present_row(row, pii=self.pii, hash_key=self.hash_key, tz=self.tz)
        presented = present_row(row, pii=self.pii, hash_key=self.hash_key, tz=self.tz, iso_times=False)
        return self.wording.word(row, presented)

    @property
    def layout(self) -> ExportLayout:
        return CODES_LAYOUT if self.wording is None else self.wording.layout

    def sql_encoding(self, fmt: ExportFormat) -> SqlEncoding | None:
        """What the database needs to write this export's lines itself (None: only Python can)."""
        return sql_encoding(fmt, pii=self.pii, hash_key=self.hash_key, tz=self.tz, wording=self.wording)


# Reference lists naming the codes of each worded column.
LIST_OF_COLUMN = {
    "category": "categories",
    "organisation": "organisations",
    "locality": "localities",
    "age_band": "age_bands",
    "gender": "genders",
    "topic": "topics",
}


async def export_wording(*, uow: StaffUnitOfWork, language: str) -> ExportWording:
    """Headers and names of a file for people in ``language``: list items and units from the reference
    data, stances, kinds, channels, sources and statuses from the catalogs, sections as their paths."""
    values: dict[str, dict[str, str]] = {
        "kind": {k.value: t(f"kind.{k.value}", language) for k in FeedbackKind},
        "stance": {s.value: t(f"api.stance.{s.value}", language) for s in Stance},
        "channel": {c.value: t(f"api.channel.{c.value}", language) for c in Channel},
        "source": {s.value: t(f"export.source.{s.value}", language) for s in Source},
        "status": {s.value: t(f"export.status.{s.value}", language) for s in FeedbackStatus},
    }
    for column, list_name in LIST_OF_COLUMN.items():
        values[column] = {item.code: item.name(language) for item in await uow.reference.list(list_name)}
    values["unit_code"] = {unit.code: unit.name(language) for unit in await uow.reporting.list_units()}
    return ExportWording(
        language=language,
        headers={c: t(f"export.column.{c}", language) for c in WORDED_COLUMNS},
        values=values,
        sections=section_paths(await uow.views.section_outline()),
        whole_document=t("api.xlsx.whole_document", language),
        data_sheet=t("export.sheet.data", language),
        counts_sheet=t("export.sheet.counts", language),
        counts_headers=tuple(t(f"export.counts.{c}", language) for c in COUNT_COLUMNS),
    )


@dataclass(frozen=True)
class FeedbackPage:
    items: list[dict[str, Any]]
    next_cursor: str | None


@dataclass(frozen=True)
class FeedbackExport:
    """An export under way: its filters, the highest entry id it covers, and its row count (audited)."""

    filters: FeedbackFilters
    upto: int
    rows: int
    present: Presenter
    sections: dict[int, str] | None = None  # section paths, for the counts sheet (loaded on first use)


async def list_feedback(
    *,
    uow: StaffUnitOfWork,
    actor: str,
    filters: FeedbackFilters,
    cursor: str | None,
    limit: int,
    present: Presenter,
    now: datetime,
) -> FeedbackPage:
    """Entries matching the filters, oldest first, ``limit`` at a time; a read with PII is audited."""
    rows = await uow.views.feedback_page(filters, after=parse_cursor(cursor), limit=limit + 1)
    more = len(rows) > limit
    rows = rows[:limit]
    if present.pii:
        details = {"filters": filters.as_audit()}
        await record_audit(
            uow, actor=actor, action="feedback.read_pii", details=details, row_count=len(rows), now=now
        )
        await uow.commit()
    return FeedbackPage([present(r) for r in rows], make_cursor(rows[-1]["id"]) if more else None)


async def get_feedback(
    *, uow: StaffUnitOfWork, actor: str, receipt_code: str, present: Presenter, now: datetime
) -> dict[str, Any]:
    """One entry by its receipt code (case ignored); a read with PII is audited."""
    row = await uow.views.feedback_by_receipt(receipt_code)
    if row is None:
        raise errors.FeedbackNotFound(receipt_code=receipt_code.upper())
    if present.pii:
        await record_audit(
            uow, actor=actor, action="feedback.read_pii", target=row["receipt_code"], row_count=1, now=now
        )
        await uow.commit()
    return present(row)


async def start_feedback_export(
    *,
    uow: StaffUnitOfWork,
    actor: str,
    filters: FeedbackFilters,
    fmt: ExportFormat,
    present: Presenter,
    now: datetime,
    document_code: str | None = None,
    file: str | None = None,
) -> FeedbackExport:
    """Fix the export's upper id bound, count its rows and audit it (committed before the first byte)."""
    if document_code is not None:
        document = await uow.views.document_by_code(document_code)
        if document is None:
            raise errors.DocumentNotFound(document_id=document_code)
        filters = replace(filters, document_id=document["id"])
    upto = await uow.views.last_feedback_id()
    rows = await uow.views.count_feedback(filters, upto=upto)
    details: dict[str, Any] = {"format": fmt.value, "filters": filters.as_audit(), "pii": present.pii}
    if file is not None:
        details["file"] = file
    await record_audit(
        uow, actor=actor, action="export.feedback", target=fmt.value, details=details, row_count=rows, now=now
    )
    await uow.commit()
    return FeedbackExport(filters, upto, rows, present)


async def read_export_pages(
    *, uow: StaffUnitOfWork, export: FeedbackExport, page_size: int = PAGE_SIZE
) -> AsyncIterator[list[dict[str, Any]]]:
    """The export's rows, presented, one keyset page at a time (constant memory; read only)."""
    async for page in uow.views.iter_feedback_pages(export.filters, upto=export.upto, page_size=page_size):
        yield [export.present(row) for row in page]


async def read_export_counts(
    *, uow: StaffUnitOfWork, export: FeedbackExport
) -> list[tuple[str, str, str, int]]:
    """(document, section, stance, count) of the export's active draft opinions, for the counts sheet of a
    workbook: the figures of the document's consolidation (withdrawn opinions and mood entries are in
    the data sheets, not counted)."""
    raw = await uow.views.counts_by_section_and_stance(export.filters, upto=export.upto)
    wording = export.present.wording
    sections = wording.sections if wording is not None else section_paths(await uow.views.section_outline())
    return count_rows(raw, sections=sections, wording=wording)


def count_rows(
    raw: list[tuple[str | None, int | None, str | None, int]],
    *,
    sections: dict[int, str] | Any,
    wording: ExportWording | None,
) -> list[tuple[str, str, str, int]]:
    """The counts sheet's rows from (document code, section id, stance, count): section paths, and with
    a wording the stance names and the "whole document" label."""
    out: list[tuple[str, str, str, int]] = []
    for document_code, section_id, stance, count in raw:
        if section_id is not None:
            section = sections.get(section_id, str(section_id))
        else:
            section = wording.whole_document if wording is not None else ""
        stance_text = wording.label("stance", stance) if wording is not None else stance
        out.append((document_code or "", section, stance_text or "", int(count)))
    return out


#: the filters chosen from a reference list: filter name -> list name (data/lists.yaml, localities.csv)
REFERENCE_FILTERS = {"category": "categories", "organisation": "organisations", "locality": "localities"}


async def reference_filter_choices(*, uow: StaffUnitOfWork) -> dict[str, list[tuple[str, str]]]:
    """The (code, Vietnamese name) choices of each reference-list filter, by name then code."""
    labels = await uow.views.reference_labels()
    return {
        name: sorted(labels.get(list_name, {}).items(), key=lambda item: (item[1].casefold(), item[0]))
        for name, list_name in REFERENCE_FILTERS.items()
    }
