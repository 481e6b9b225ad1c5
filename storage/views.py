"""Read side of the staff use cases: filtered feedback, keyset pages, streaming, counts, documents.

:class:`SqlViewRepository` (``uow.views``) holds "views": queries that return plain rows for display and
export; they never write.
Pages are keyset pages on the feedback id: the next page starts after the last id seen, so a page
never repeats or skips an entry that existed when the listing began, whatever is inserted meanwhile.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import AsyncIterator, Callable, Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import Integer, Select, bindparam, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from core.exports import FeedbackFilters, HiddenFilter, SqlEncoding, search_words
from core.text import fold_for_matching
from storage import export_sql
from storage.models import (
    CongressRow,
    DocumentRow,
    FeedbackRow,
    ReferenceItemRow,
    ReportingPeriodRow,
    SectionRow,
)

F = FeedbackRow


def _feedback_select() -> Select:  # type: ignore[type-arg]
    return (
        select(
            F.id,
            F.receipt_code,
            F.kind,
            F.respondent_id,
            F.document_id,
            DocumentRow.code.label("document_code"),
            F.section_id,
            SectionRow.number.label("section_number"),
            SectionRow.title.label("section_title"),
            F.stance,
            F.text,
            F.category,
            F.organisation,
            F.locality,
            F.age_band,
            F.gender,
            F.anonymous,
            F.channel,
            F.source,
            F.status,
            F.congress_id,
            CongressRow.code.label("congress_code"),
            F.period_id,
            ReportingPeriodRow.code.label("period_code"),
            F.topic,
            F.unit_code,
            F.created_at,
            F.updated_at,
            F.withdrawn_at,
            F.hidden_at,
            F.hidden_by,
            F.hidden_reason,
        )
        .select_from(F)
        .outerjoin(DocumentRow, DocumentRow.id == F.document_id)
        .outerjoin(SectionRow, SectionRow.id == F.section_id)
        .outerjoin(CongressRow, CongressRow.id == F.congress_id)
        .outerjoin(ReportingPeriodRow, ReportingPeriodRow.id == F.period_id)
    )


def _where(filters: FeedbackFilters, upto: int | None = None) -> list[Any]:
    clauses: list[Any] = []
    equal = {
        "kind": F.kind,
        "document_id": F.document_id,
        "section_id": F.section_id,
        "stance": F.stance,
        "category": F.category,
        "organisation": F.organisation,
        "locality": F.locality,
        "channel": F.channel,
        "source": F.source,
        "status": F.status,
        "congress_id": F.congress_id,
        "period_id": F.period_id,
        "topic": F.topic,
        "unit_code": F.unit_code,
    }
    for name, column in equal.items():
        value = getattr(filters, name)
        if value is not None:
            clauses.append(column == (value.value if hasattr(value, "value") else value))
    if filters.created_from is not None:
        clauses.append(F.created_at >= filters.created_from)
    if filters.created_to is not None:
        clauses.append(F.created_at < filters.created_to)
    if filters.text_contains:
        folded = fold_for_matching(filters.text_contains)
        if folded:
            clauses.append(F.text_folded.contains(folded, autoescape=True))
    for word in search_words(filters.q):
        clauses.append(F.text_search.contains(word, autoescape=True))
    if filters.hidden is None or filters.hidden is HiddenFilter.EXCLUDE:
        clauses.append(F.hidden_at.is_(None))
    elif filters.hidden is HiddenFilter.ONLY:
        clauses.append(F.hidden_at.is_not(None))
    if upto is not None:
        clauses.append(F.id <= upto)
    return clauses


PageBounds = tuple[int, int | None, list[int]]
"""A page's row count, last id and distinct respondent ids."""

_BEFORE_ALL = -(2**31)  # "after" for the first page: below every id
_PLANS: OrderedDict[tuple[Any, ...], export_sql.PagePlan] = OrderedDict()
_PLANS_KEPT = 16


def _encoded_plan(
    filters: FeedbackFilters, spec: SqlEncoding, limit: int, upto: int | None, dialect: Any
) -> export_sql.PagePlan:
    """The compiled statements of an export's pages (storage.export_sql), the same for all its pages:
    ``after``, ``last``, ``upto`` and the pseudonyms are their only parameters that change, so the
    next export with the same filters and layout reuses them. A few are kept."""
    key = (export_sql.spec_key(spec), filters, limit, upto is None, dialect.name)
    plan = _PLANS.get(key)
    if plan is not None:
        _PLANS.move_to_end(key)
        return plan
    after = bindparam("after", 0, type_=Integer)
    last = bindparam("last", 0, type_=Integer)
    bounded = (
        _where(filters) if upto is None else [*_where(filters), F.id <= bindparam("upto", 0, type_=Integer)]
    )
    where = [*bounded, F.id > after]
    keys = select(F.id, F.respondent_id).where(*where).order_by(F.id).limit(limit)
    ahead = select(F.id, F.respondent_id).where(*bounded, F.id > last)
    rows = _feedback_select().where(*where, F.id <= last).order_by(F.id)
    lines = export_sql.page_statement(
        rows, spec, ahead=export_sql.bounds_array(ahead.order_by(F.id).limit(limit))
    )
    plan = export_sql.PagePlan(
        export_sql.compile_for(export_sql.respondents_statement(keys), dialect),
        export_sql.compile_for(lines, dialect),
    )
    _PLANS[key] = plan
    while len(_PLANS) > _PLANS_KEPT:
        _PLANS.popitem(last=False)
    return plan


def _document_dict(row: DocumentRow) -> dict[str, Any]:
    return {
        "id": row.id,
        "code": row.code,
        "title": row.title,
        "level": row.level,
        "status": row.status,
        "opens_at": row.opens_at,
        "closes_at": row.closes_at,
        "is_sample": row.is_sample,
        "created_at": row.created_at,
    }


class SqlViewRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def feedback_page(
        self, filters: FeedbackFilters, *, after: int | None, limit: int, upto: int | None = None
    ) -> list[dict[str, Any]]:
        """Up to ``limit`` entries matching ``filters`` with an id above ``after``, oldest first."""
        stmt = _feedback_select().where(*_where(filters, upto))
        if after is not None:
            stmt = stmt.where(F.id > after)
        # plain columns, no entities: executed on the session's connection (Core), rows as dicts in C
        connection = await self.session.connection()
        result = await connection.execute(stmt.order_by(F.id).limit(limit))
        return [row._asdict() for row in result]

    def can_encode_feedback(self) -> bool:
        """Whether :meth:`encoded_feedback_page` works here (PostgreSQL, not SQLite); no query."""
        return export_sql.supported(self.session.bind)

    async def encoded_feedback_page(
        self,
        filters: FeedbackFilters,
        spec: SqlEncoding,
        *,
        after: int | None,
        limit: int,
        upto: int | None = None,
    ) -> tuple[int, int | None, bytes, PageBounds | None]:
        """(rows, last id, their CSV or JSONL bytes, the next page's bounds or ``None``) of the page
        :meth:`feedback_page` would return, written by the database (storage.export_sql); only where
        :meth:`can_encode_feedback`. :meth:`encoded_feedback_keys` then :meth:`encoded_feedback_lines`,
        in one transaction."""
        await export_sql.set_time_zone(await self.session.connection(), spec.tz_name)  # begins it
        count, last, respondents = await self.encoded_feedback_keys(
            filters, spec, after=after, limit=limit, upto=upto
        )
        if not count or last is None:
            return 0, None, b"", None
        data, ahead = await self.encoded_feedback_lines(
            filters, spec, after=after, last=last, limit=limit, upto=upto, respondents=respondents
        )
        return count, last, data, ahead

    async def encoded_feedback_keys(
        self,
        filters: FeedbackFilters,
        spec: SqlEncoding,
        *,
        after: int | None,
        limit: int,
        upto: int | None = None,
    ) -> tuple[int, int | None, list[int]]:
        """(rows, last id, distinct respondent ids) of the page after ``after``: one narrow statement
        (feedback ids and respondent ids, no join), so the pages' bounds can be known ahead of their
        lines. The statements of an export are compiled once (:func:`_encoded_plan`) and run on the
        driver's connection (alone, the statement is its own transaction)."""
        connection = await self.session.connection()
        plan = _encoded_plan(filters, spec, limit, upto, connection.dialect)
        driver = (await connection.get_raw_connection()).driver_connection
        assert driver is not None
        start = _BEFORE_ALL if after is None else after
        count, last, respondents = await driver.fetchrow(
            plan.keys.sql, *plan.keys.args(after=start, upto=upto)
        )
        return int(count), last, [r for r in respondents or () if r is not None]

    async def encoded_feedback_lines(
        self,
        filters: FeedbackFilters,
        spec: SqlEncoding,
        *,
        after: int | None,
        last: int,
        limit: int,
        upto: int | None = None,
        respondents: Iterable[int] = (),
        on_sent: Callable[[], None] | None = None,
    ) -> tuple[bytes, PageBounds | None]:
        """The CSV or JSONL bytes of the rows after ``after`` up to ``last`` (a page's bounds from
        :meth:`encoded_feedback_keys`), written by the database; ``respondents``' pseudonyms are
        computed in Python once each and looked up, any other is computed in SQL. The id range, not a
        LIMIT, bounds the lines: a row changed since the keys were read is written or not as it now
        is, and the next page still starts after ``last``.

        The same statement reads the next page's bounds (what :meth:`encoded_feedback_keys` would give
        after ``last``), returned beside the bytes; ``None`` when it could not (the row ``last`` no
        longer matches the filters): then ask :meth:`encoded_feedback_keys`. ``on_sent`` is called
        just before the statement goes to the database (a caller waiting for it knows that the
        database is at work once its own task runs again)."""
        connection = await self.session.connection()
        await export_sql.set_time_zone(connection, spec.tz_name)  # and the transaction begins
        plan = _encoded_plan(filters, spec, limit, upto, connection.dialect)
        driver = (await connection.get_raw_connection()).driver_connection
        assert driver is not None
        known = None if spec.pii else export_sql.pseudonyms(spec, respondents)
        start = _BEFORE_ALL if after is None else after
        if on_sent is not None:
            on_sent()
        lines = await driver.fetch(
            plan.lines.sql, *plan.lines.args(after=start, last=last, upto=upto, pseudonyms=known)
        )
        ahead = lines[-1][1] if lines else None  # on the row of id ``last`` (the last one), if it came
        data = export_sql.finish(spec, b"".join([line[0] for line in lines]))
        return data, None if ahead is None else export_sql.bounds_from_array(ahead)

    async def last_feedback_id(self) -> int:
        """The highest feedback id now: an export stops there, so its rows match its audit count."""
        return int(await self.session.scalar(select(func.max(F.id))) or 0)

    async def count_feedback(self, filters: FeedbackFilters, *, upto: int | None = None) -> int:
        stmt = select(func.count()).select_from(F).where(*_where(filters, upto))
        return int(await self.session.scalar(stmt) or 0)

    async def iter_feedback_pages(
        self, filters: FeedbackFilters, *, upto: int, page_size: int = 1000
    ) -> AsyncIterator[list[dict[str, Any]]]:
        """Every matching entry with an id up to ``upto``, one keyset page at a time (constant memory)."""
        after: int | None = None
        while True:
            page = await self.feedback_page(filters, after=after, limit=page_size, upto=upto)
            if not page:
                return
            yield page
            if len(page) < page_size:
                return
            after = page[-1]["id"]

    async def counts_by_section_and_stance(
        self, filters: FeedbackFilters, *, upto: int | None = None
    ) -> list[tuple[str | None, int | None, str | None, int]]:
        """(document code, section id, stance, count) of the matching *active draft opinions*, in document
        order (whole-document opinions last): what the document's consolidation counts."""
        stmt = (
            select(DocumentRow.code, F.section_id, F.stance, func.count(F.id))
            .select_from(F)
            .outerjoin(DocumentRow, DocumentRow.id == F.document_id)
            .outerjoin(SectionRow, SectionRow.id == F.section_id)
            .where(*_where(filters, upto), F.kind == "draft_opinion", F.status == "active")
            .group_by(DocumentRow.code, SectionRow.ordinal, F.section_id, F.stance)
            .order_by(DocumentRow.code, SectionRow.ordinal.is_(None), SectionRow.ordinal, F.stance)
        )
        return [
            (code, section_id, stance, int(count))
            for code, section_id, stance, count in (await self.session.execute(stmt)).all()
        ]

    async def section_outline(self) -> list[dict[str, Any]]:
        """Every section of every document (id, document, parent, ordinal, number, title): for paths."""
        rows = await self.session.execute(
            select(
                SectionRow.id,
                SectionRow.document_id,
                SectionRow.parent_id,
                SectionRow.ordinal,
                SectionRow.number,
                SectionRow.title,
            ).order_by(SectionRow.document_id, SectionRow.ordinal)
        )
        return [dict(row) for row in rows.mappings()]

    async def feedback_by_receipt(self, receipt_code: str) -> dict[str, Any] | None:
        result = await self.session.execute(
            _feedback_select().where(F.receipt_code == receipt_code.strip().upper())
        )
        row = result.mappings().first()
        return dict(row) if row else None

    async def zalo_inbox_status(self) -> tuple[datetime | None, int]:
        """The Zalo webhook's last event (when it was received) and the inbox events not yet handled."""
        from storage.models_zalo import ZaloInboxRow
        from storage.zalo import last_event_at

        waiting = await self.session.scalar(
            select(func.count(ZaloInboxRow.id)).where(ZaloInboxRow.processed_at.is_(None))
        )
        return await last_event_at(self.session), int(waiting or 0)

    async def outbox_backlog(self) -> int:
        """Messages of the outbox still to send."""
        from storage.models_reporting import OutboxRow

        count = await self.session.scalar(
            select(func.count()).select_from(OutboxRow).where(OutboxRow.status == "pending")
        )
        return int(count or 0)

    async def feedback_by_id(self, feedback_id: int) -> dict[str, Any] | None:
        row = (await self.session.execute(_feedback_select().where(F.id == feedback_id))).mappings().first()
        return dict(row) if row else None

    async def list_documents(self) -> list[dict[str, Any]]:
        rows = await self.session.scalars(select(DocumentRow).order_by(DocumentRow.id))
        return [_document_dict(r) for r in rows]

    async def get_document(self, document_id: int) -> dict[str, Any] | None:
        row = await self.session.get(DocumentRow, document_id)
        return _document_dict(row) if row else None

    async def document_by_code(self, code: str) -> dict[str, Any] | None:
        row = await self.session.scalar(select(DocumentRow).where(DocumentRow.code == code))
        return _document_dict(row) if row else None

    async def list_sections(self, document_id: int) -> list[dict[str, Any]]:
        rows = await self.session.scalars(
            select(SectionRow).where(SectionRow.document_id == document_id).order_by(SectionRow.ordinal)
        )
        return [
            {
                "id": r.id,
                "document_id": r.document_id,
                "parent_id": r.parent_id,
                "ordinal": r.ordinal,
                "depth": r.depth,
                "number": r.number,
                "title": r.title,
                "body": r.body,
            }
            for r in rows
        ]

    async def document_ids_by_code(self) -> dict[str, int]:
        """Every document's id by its code."""
        return {
            code: id_
            for id_, code in (await self.session.execute(select(DocumentRow.id, DocumentRow.code))).all()
        }

    async def section_documents(self) -> dict[int, int]:
        """Every section's document id by the section id."""
        rows = (await self.session.execute(select(SectionRow.id, SectionRow.document_id))).all()
        return {sid: did for sid, did in rows}

    async def opinions_of_document(self, document_id: int) -> list[dict[str, Any]]:
        """The active draft opinions of one document (what a consolidation counts and groups)."""
        result = await self.session.execute(
            select(
                F.receipt_code,
                F.section_id,
                F.stance,
                F.category,
                F.organisation,
                F.locality,
                F.channel,
                F.text,
            )
            .where(
                F.document_id == document_id,
                F.kind == "draft_opinion",
                F.status == "active",
                F.hidden_at.is_(None),
            )
            .order_by(F.id)
        )
        return [dict(row) for row in result.mappings()]

    async def opinion_text_pages(
        self, document_id: int, *, page_size: int = 5000
    ) -> AsyncIterator[list[tuple[str, str]]]:
        """(receipt code, text) of the active draft opinions of one document that have a text, in id order,
        ``page_size`` at a time (keyset pagination on the id: each page is one short query, so a large
        consultation is never loaded into one list)."""
        after = 0
        while True:
            rows = (
                await self.session.execute(
                    select(F.id, F.receipt_code, F.text)
                    .where(
                        F.document_id == document_id,
                        F.kind == "draft_opinion",
                        F.status == "active",
                        F.hidden_at.is_(None),
                        F.id > after,
                        F.text != "",
                    )
                    .order_by(F.id)
                    .limit(page_size)
                )
            ).all()
            if not rows:
                return
            after = rows[-1][0]
            yield [(code, text) for _, code, text in rows]

    async def count_hidden_opinions(self, document_id: int) -> int:
        """The active draft opinions of one document hidden by moderation (counted apart)."""
        stmt = select(func.count(F.id)).where(
            F.document_id == document_id,
            F.kind == "draft_opinion",
            F.status == "active",
            F.hidden_at.is_not(None),
        )
        return int(await self.session.scalar(stmt) or 0)

    async def reference_labels(self) -> dict[str, dict[str, str]]:
        """Vietnamese names of list items: ``{list_name: {code: name_vi}}``."""
        labels: dict[str, dict[str, str]] = {}
        for row in await self.session.scalars(select(ReferenceItemRow)):
            labels.setdefault(row.list_name, {})[row.code] = row.name_vi
        return labels

    async def reference_codes(self, list_name: str) -> set[str]:
        rows = await self.session.scalars(
            select(ReferenceItemRow.code).where(
                ReferenceItemRow.list_name == list_name, ReferenceItemRow.active.is_(True)
            )
        )
        return set(rows)
