"""SQLAlchemy implementations of the core ports. Repositories never commit; the unit of work does."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import Table, bindparam, delete, exists, func, inspect, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.orm.util import identity_key

from core.domain import (
    Channel,
    Congress,
    Document,
    DocumentStatus,
    Feedback,
    FeedbackKind,
    FeedbackStatus,
    Profile,
    ReferenceItem,
    ReportingPeriod,
    Respondent,
    Section,
    Source,
    Stance,
)
from core.staff.meeting_rows import MeetingEntry
from core.text import fold_for_matching, fold_for_search
from storage.db import connection_of, insert_of
from storage.models import (
    CongressRow,
    DocumentRow,
    FeedbackRow,
    ReferenceItemRow,
    ReportingPeriodRow,
    RespondentRow,
    SectionRow,
)
from storage.refcache import ReferenceCache

T = TypeVar("T")


def document_from_row(row: DocumentRow) -> Document:
    return Document(
        id=row.id,
        code=row.code,
        title=row.title,
        status=DocumentStatus(row.status),
        level=row.level,
        opens_at=row.opens_at,
        closes_at=row.closes_at,
        is_sample=row.is_sample,
    )


def section_from_row(row: SectionRow, child_count: int = 0) -> Section:
    return Section(
        id=row.id,
        document_id=row.document_id,
        ordinal=row.ordinal,
        title=row.title,
        number=row.number,
        body=row.body or "",
        parent_id=row.parent_id,
        depth=row.depth,
        child_count=child_count,
    )


def profile_of(row: RespondentRow | FeedbackRow) -> Profile:
    """The profile columns, which respondents and entries (a snapshot) share."""
    return Profile(
        category=row.category,
        organisation=row.organisation,
        locality=row.locality,
        age_band=row.age_band,
        gender=row.gender,
        anonymous=row.anonymous,
    )


def respondent_from_row(row: RespondentRow) -> Respondent:
    return Respondent(
        id=row.id,
        channel=Channel(row.channel),
        user_hash=row.user_hash,
        language=row.language,
        consent_version=row.consent_version,
        consent_at=row.consent_at,
        profile=profile_of(row),
        profile_done=row.profile_done,
        created_at=row.created_at,
    )


def feedback_from_row(row: FeedbackRow) -> Feedback:
    return Feedback(
        id=row.id,
        receipt_code=row.receipt_code,
        kind=FeedbackKind(row.kind),
        respondent_id=row.respondent_id,
        text=row.text,
        text_folded=row.text_folded,
        channel=Channel(row.channel),
        source=Source(row.source),
        created_at=row.created_at,
        status=FeedbackStatus(row.status),
        document_id=row.document_id,
        section_id=row.section_id,
        stance=Stance(row.stance) if row.stance else None,
        congress_id=row.congress_id,
        period_id=row.period_id,
        topic=row.topic,
        unit_id=row.unit_id,
        profile=profile_of(row),
        client_ref=row.client_ref,
        updated_at=row.updated_at,
        withdrawn_at=row.withdrawn_at,
    )


_PROFILE_COLUMNS = frozenset(Profile().as_dict())


def _feedback_values(feedback: Feedback) -> dict[str, object]:
    return {
        "receipt_code": feedback.receipt_code,
        "kind": feedback.kind.value,
        "respondent_id": feedback.respondent_id,
        "document_id": feedback.document_id,
        "section_id": feedback.section_id,
        "stance": feedback.stance.value if feedback.stance else None,
        "congress_id": feedback.congress_id,
        "period_id": feedback.period_id,
        "topic": feedback.topic,
        "unit_id": feedback.unit_id,
        "text": feedback.text,
        "text_folded": feedback.text_folded,
        "text_search": fold_for_search(feedback.text),
        "channel": feedback.channel.value,
        "source": feedback.source.value,
        "status": feedback.status.value,
        "category": feedback.profile.category,
        "organisation": feedback.profile.organisation,
        "locality": feedback.profile.locality,
        "age_band": feedback.profile.age_band,
        "gender": feedback.profile.gender,
        "anonymous": feedback.profile.anonymous,
        "client_ref": feedback.client_ref,
        "created_at": feedback.created_at,
        "updated_at": feedback.updated_at,
        "withdrawn_at": feedback.withdrawn_at,
    }


_OPINION_PARAM = "opinion_"  # bound parameter names apart from the column names (the insert's own)
#: the columns an opinion's insert writes (``_feedback_values``' keys, in its order)
_OPINION_COLUMNS = (
    "receipt_code", "kind", "respondent_id", "document_id", "section_id", "stance", "congress_id",
    "period_id", "topic", "unit_id", "text", "text_folded", "text_search", "channel", "source", "status",
    "category", "organisation", "locality", "age_band", "gender", "anonymous", "client_ref", "created_at",
    "updated_at", "withdrawn_at",
)  # fmt: skip
#: the ones bound as values; the profile columns are copied from the respondent's row
_OPINION_VALUES = tuple(name for name in _OPINION_COLUMNS if name not in _PROFILE_COLUMNS)
_OPINION_INSERTS: dict[str, Any] = {}


def _opinion_insert(dialect: str) -> Any:
    """``SqlFeedbackRepository.add_opinion``'s statement for a dialect, built once: its SQL (and its
    compiled form, cached by SQLAlchemy under the statement's cache key, memoised on the object) is not
    rebuilt per opinion; every value is a bound parameter (``opinion_<column>``, ``opinion_now``)."""
    statement = _OPINION_INSERTS.get(dialect)
    if statement is not None:
        return statement
    table = FeedbackRow.__table__
    respondent = RespondentRow.__table__.c
    bound = {name: bindparam(_OPINION_PARAM + name, type_=table.c[name].type) for name in _OPINION_VALUES}
    now = bindparam("opinion_now", type_=DocumentRow.__table__.c.opens_at.type)
    is_open = exists().where(  # Document.accepts_feedback(now), in SQL
        DocumentRow.id == bound["document_id"],
        DocumentRow.status == DocumentStatus.OPEN.value,
        or_(DocumentRow.opens_at.is_(None), DocumentRow.opens_at <= now),
        or_(DocumentRow.closes_at.is_(None), DocumentRow.closes_at > now),
    )
    columns = (respondent[name] if name in _PROFILE_COLUMNS else bound[name] for name in _OPINION_COLUMNS)
    rows = select(*columns).where(
        respondent.id == bound["respondent_id"], respondent.consent_at.is_not(None), is_open
    )
    statement = _OPINION_INSERTS[dialect] = (
        insert_of(dialect)(table)
        .from_select(list(_OPINION_COLUMNS), rows)
        .on_conflict_do_nothing(index_elements=[table.c.receipt_code])
        .returning(table.c.id)
    )
    return statement


async def _cached(
    cache: ReferenceCache | None, key: tuple[object, ...], load: Callable[[], Awaitable[T]]
) -> T:
    return await load() if cache is None else await cache.get(key, load)


class SqlDocumentRepository:
    """Documents; ``get`` and ``list_visible`` answer from the process's reference cache
    (storage/refcache.py), ``get_current`` and the staff methods from the database."""

    def __init__(self, session: AsyncSession, cache: ReferenceCache | None = None) -> None:
        self.session = session
        self.cache = cache

    async def get(self, document_id: int) -> Document | None:
        return await _cached(self.cache, ("document", document_id), lambda: self.get_current(document_id))

    async def get_current(self, document_id: int) -> Document | None:
        """The document as the database has it now (never cached)."""
        row = await self.session.scalar(
            select(DocumentRow).where(DocumentRow.id == document_id).execution_options(populate_existing=True)
        )
        return document_from_row(row) if row else None

    async def list_visible(self) -> Sequence[Document]:
        async def load() -> tuple[Document, ...]:
            rows = await self.session.scalars(
                select(DocumentRow)
                .where(DocumentRow.status != DocumentStatus.DRAFT.value)
                .order_by(DocumentRow.id)
            )
            return tuple(document_from_row(r) for r in rows)

        return list(await _cached(self.cache, ("documents_visible",), load))

    async def code_taken(self, code: str) -> bool:
        return await self.session.scalar(select(DocumentRow.id).where(DocumentRow.code == code)) is not None

    async def add_draft(self, *, code: str, title: str, level: str | None, now: datetime) -> int:
        row = DocumentRow(code=code, title=title, level=level, status="draft", created_at=now)
        self.session.add(row)
        await self.session.flush()
        return row.id

    async def status_of(self, document_id: int) -> str | None:
        row = await self.session.get(DocumentRow, document_id)
        return row.status if row else None

    async def set_status(self, document_id: int, status: str) -> None:
        row = await self.session.get(DocumentRow, document_id)
        if row is None:
            raise LookupError(document_id)
        row.status = status
        await self.session.flush()

    async def set_dates(
        self, document_id: int, *, opens_at: datetime | None, closes_at: datetime | None
    ) -> None:
        """Set the given consultation dates (``None`` leaves a date as it is)."""
        row = await self.session.get(DocumentRow, document_id)
        if row is None:
            raise LookupError(document_id)
        if opens_at is not None:
            row.opens_at = opens_at
        if closes_at is not None:
            row.closes_at = closes_at
        await self.session.flush()


class SqlSectionRepository:
    """Sections, from the process's reference cache (storage/refcache.py)."""

    def __init__(self, session: AsyncSession, cache: ReferenceCache | None = None) -> None:
        self.session = session
        self.cache = cache

    async def get(self, section_id: int) -> Section | None:
        return await _cached(self.cache, ("section", section_id), lambda: self._get(section_id))

    async def _get(self, section_id: int) -> Section | None:
        row = await self.session.get(SectionRow, section_id)
        if row is None:
            return None
        children = await self.session.scalar(select(func.count()).where(SectionRow.parent_id == row.id))
        return section_from_row(row, children or 0)

    async def list_children(
        self, document_id: int, parent_id: int | None, *, offset: int, limit: int
    ) -> tuple[Sequence[Section], int]:
        key = ("section_children", document_id, parent_id, offset, limit)
        sections, total = await _cached(
            self.cache, key, lambda: self._list_children(document_id, parent_id, offset=offset, limit=limit)
        )
        return list(sections), total

    async def _list_children(
        self, document_id: int, parent_id: int | None, *, offset: int, limit: int
    ) -> tuple[tuple[Section, ...], int]:
        parent_filter = (
            SectionRow.parent_id.is_(None) if parent_id is None else SectionRow.parent_id == parent_id
        )
        where = (SectionRow.document_id == document_id, parent_filter)
        total = await self.session.scalar(select(func.count()).select_from(SectionRow).where(*where)) or 0
        child = aliased(SectionRow)
        child_count = (
            select(func.count())
            .where(child.parent_id == SectionRow.id)
            .correlate(SectionRow)
            .scalar_subquery()
        )
        result = await self.session.execute(
            select(SectionRow, child_count)
            .where(*where)
            .order_by(SectionRow.ordinal)
            .offset(offset)
            .limit(limit)
        )
        return tuple(section_from_row(row, count) for row, count in result.all()), total

    async def list_document(self, document_id: int) -> Sequence[Section]:
        return list(
            await _cached(self.cache, ("sections", document_id), lambda: self._list_document(document_id))
        )

    async def _list_document(self, document_id: int) -> tuple[Section, ...]:
        rows = list(
            await self.session.scalars(
                select(SectionRow).where(SectionRow.document_id == document_id).order_by(SectionRow.ordinal)
            )
        )
        children: dict[int, int] = {}
        for row in rows:
            if row.parent_id is not None:
                children[row.parent_id] = children.get(row.parent_id, 0) + 1
        return tuple(section_from_row(row, children.get(row.id, 0)) for row in rows)


_RESPONDENT: Table = RespondentRow.__table__  # type: ignore[assignment]
_PROFILE_FIELDS = (*Profile().as_dict(), "profile_done")
#: built once (its compiled form is then cached): the profile of a consented respondent, by id
_UPDATE_PROFILE = (
    update(_RESPONDENT)
    .where(_RESPONDENT.c.id == bindparam("respondent_id"), _RESPONDENT.c.consent_at.is_not(None))
    .values({name: bindparam(f"new_{name}", type_=_RESPONDENT.c[name].type) for name in _PROFILE_FIELDS})
)


class SqlRespondentRepository:
    """Respondents; within one unit of work a respondent is read once: the repository keeps the row (the
    session's identity map holds rows only weakly) and writes go through it; a channel user found absent
    is not looked up again until a respondent is added."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session
        self._by_channel: dict[tuple[str, str], int] = {}
        self._rows: dict[int, RespondentRow] = {}
        self._absent: set[tuple[str, str]] = set()  # looked up in this unit of work and not found

    def _kept(self, respondent_id: int) -> RespondentRow | None:
        row = self._rows.get(respondent_id)
        if row is None:
            return None
        state = inspect(row)
        if state.expired_attributes or not state.persistent:  # after a rollback, or deleted: read again
            return None
        return row

    async def _row(self, respondent_id: int) -> RespondentRow | None:
        row = self._kept(respondent_id) or await self.session.get(RespondentRow, respondent_id)
        if row is not None:
            self._keep(row)
        return row

    def _keep(self, row: RespondentRow) -> None:
        self._rows[row.id] = row
        self._by_channel[(row.channel, row.user_hash)] = row.id

    async def get(self, respondent_id: int) -> Respondent | None:
        row = await self._row(respondent_id)
        return respondent_from_row(row) if row else None

    async def get_by_channel(self, channel: Channel, user_hash: str) -> Respondent | None:
        known = self._by_channel.get((channel.value, user_hash))
        if known is not None and (row := self._kept(known)) is not None:
            return respondent_from_row(row)
        if (channel.value, user_hash) in self._absent:
            return None  # the person has not consented in this unit of work either (add() would say)
        row = await self.session.scalar(
            select(RespondentRow).where(
                RespondentRow.channel == channel.value, RespondentRow.user_hash == user_hash
            )
        )
        if row is None:
            self._absent.add((channel.value, user_hash))
            return None
        self._keep(row)
        return respondent_from_row(row)

    async def add(self, respondent: Respondent) -> Respondent:
        row = RespondentRow(channel=respondent.channel.value, user_hash=respondent.user_hash)
        self._absent.discard((row.channel, row.user_hash))
        self._apply(row, respondent)
        self.session.add(row)
        await self.session.flush()
        respondent.id = row.id
        self._keep(row)
        return respondent

    async def update(self, respondent: Respondent) -> None:
        row = await self._row(respondent.id) if respondent.id is not None else None
        if row is None:
            raise LookupError(respondent.id)
        self._apply(row, respondent)
        await self.session.flush()

    async def update_profile(self, respondent_id: int, profile: Profile) -> bool:
        """Set the profile of a consented respondent (and mark it given) in one ``UPDATE … WHERE id = … AND
        consent_at IS NOT NULL``, without reading the row first; False when no such respondent."""
        values = {**profile.as_dict(), "profile_done": True}
        row = self._kept(respondent_id)
        params = {f"new_{key}": value for key, value in values.items()}
        connection = await connection_of(self.session)
        result = await connection.execute(_UPDATE_PROFILE, {"respondent_id": respondent_id, **params})
        if row is not None:  # the kept row, if any, says what the database now says
            for key, value in values.items():
                set_committed_value(row, key, value)
        return bool(getattr(result, "rowcount", 0))

    async def delete(self, respondent_id: int) -> None:
        self._by_channel = {k: v for k, v in self._by_channel.items() if v != respondent_id}
        self._rows.pop(respondent_id, None)
        row = self.session.identity_map.get(identity_key(RespondentRow, respondent_id))
        if row is not None:
            self.session.expunge(row)
        await self.session.execute(delete(FeedbackRow).where(FeedbackRow.respondent_id == respondent_id))
        await self.session.execute(delete(RespondentRow).where(RespondentRow.id == respondent_id))

    @staticmethod
    def _apply(row: RespondentRow, respondent: Respondent) -> None:
        row.language = respondent.language
        row.consent_version = respondent.consent_version
        row.consent_at = respondent.consent_at
        row.category = respondent.profile.category
        row.organisation = respondent.profile.organisation
        row.locality = respondent.profile.locality
        row.age_band = respondent.profile.age_band
        row.gender = respondent.profile.gender
        row.anonymous = respondent.profile.anonymous
        row.profile_done = respondent.profile_done
        if respondent.created_at is not None:
            row.created_at = respondent.created_at


class SqlFeedbackRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(self, feedback: Feedback) -> Feedback:
        row = FeedbackRow(**_feedback_values(feedback))
        self.session.add(row)
        await self.session.flush()
        feedback.id = row.id
        return feedback

    async def add_opinion(self, feedback: Feedback, *, now: datetime) -> bool:
        """Insert an opinion on a draft if, in the database at this moment, its respondent has consented,
        its document accepts feedback and its receipt code is free: one ``INSERT … SELECT … FROM respondent
        WHERE <consented> AND <document open> ON CONFLICT (receipt_code) DO NOTHING RETURNING id``; the
        entry's profile columns are copied from the respondent's row. False when nothing was inserted (the
        caller tells which condition failed); a cached document never lets an opinion past a closed one.
        The statement is built once per dialect (:func:`_opinion_insert`); the values are bound."""
        assert feedback.document_id is not None
        values = _feedback_values(feedback)
        params = {_OPINION_PARAM + name: values[name] for name in _OPINION_VALUES}
        params["opinion_now"] = now
        dialect = self.session.bind.dialect.name if self.session.bind else "sqlite"
        connection = await connection_of(self.session)
        new_id = (await connection.execute(_opinion_insert(dialect), params)).scalar()
        if new_id is None:
            return False
        feedback.id = new_id
        return True

    async def update(self, feedback: Feedback) -> None:
        row = await self.session.get(FeedbackRow, feedback.id)
        if row is None:
            raise LookupError(feedback.id)
        for key, value in _feedback_values(feedback).items():
            setattr(row, key, value)
        await self.session.flush()

    async def get_by_receipt(self, receipt_code: str) -> Feedback | None:
        row = await self.session.scalar(
            select(FeedbackRow).where(FeedbackRow.receipt_code == receipt_code.upper())
        )
        return feedback_from_row(row) if row else None

    async def get_by_client_ref(self, respondent_id: int, client_ref: str) -> Feedback | None:
        row = await self.session.scalar(
            select(FeedbackRow).where(
                FeedbackRow.respondent_id == respondent_id, FeedbackRow.client_ref == client_ref
            )
        )
        return feedback_from_row(row) if row else None

    async def receipt_exists(self, receipt_code: str) -> bool:
        found = await self.session.scalar(
            select(FeedbackRow.id).where(FeedbackRow.receipt_code == receipt_code)
        )
        return found is not None

    async def list_by_respondent(self, respondent_id: int, *, limit: int) -> Sequence[Feedback]:
        rows = await self.session.scalars(
            select(FeedbackRow)
            .where(FeedbackRow.respondent_id == respondent_id)
            .order_by(FeedbackRow.created_at.desc(), FeedbackRow.id.desc())
            .limit(limit)
        )
        return [feedback_from_row(r) for r in rows]

    async def count_by_respondent(self, respondent_id: int) -> int:
        return (
            await self.session.scalar(select(func.count()).where(FeedbackRow.respondent_id == respondent_id))
            or 0
        )

    async def set_hidden(
        self, receipt_code: str, *, hidden_at: datetime | None, hidden_by: str | None, reason: str | None
    ) -> None:
        """Hide an entry (moderation) or, with ``hidden_at=None``, show it again; the entry is kept."""
        await self.session.execute(
            update(FeedbackRow)
            .where(FeedbackRow.receipt_code == receipt_code.upper())
            .values(hidden_at=hidden_at, hidden_by=hidden_by, hidden_reason=reason)
        )

    async def add_meeting_entries(self, entries: Sequence[MeetingEntry], receipts: Sequence[str]) -> None:
        """Store checked meeting rows as anonymous opinions (source and channel "meeting"), one flush."""
        for entry, code in zip(entries, receipts, strict=True):
            self.session.add(
                FeedbackRow(
                    receipt_code=code,
                    kind="draft_opinion",
                    respondent_id=None,
                    document_id=entry.document_id,
                    section_id=entry.section_id,
                    stance=entry.stance.value,
                    text=entry.text,
                    text_folded=fold_for_matching(entry.text),
                    channel="meeting",
                    source="meeting",
                    status="active",
                    category=entry.category,
                    organisation=entry.organisation,
                    locality=entry.locality,
                    anonymous=True,
                    unit_code=entry.unit_code,
                    created_at=entry.created_at,
                )
            )
        await self.session.flush()

    async def count_hidden_by_period(self, period_id: int) -> int:
        """The entries of a reporting period hidden by moderation (counted apart in the summary)."""
        stmt = select(func.count(FeedbackRow.id)).where(
            FeedbackRow.period_id == period_id, FeedbackRow.hidden_at.is_not(None)
        )
        return int(await self.session.scalar(stmt) or 0)

    async def list_by_period(self, period_id: int) -> Sequence[Feedback]:
        """Every entry tied to a reporting period (mood entries), oldest first, withdrawn included, hidden
        ones (moderation) left out."""
        rows = await self.session.scalars(
            select(FeedbackRow)
            .where(FeedbackRow.period_id == period_id, FeedbackRow.hidden_at.is_(None))
            .order_by(FeedbackRow.created_at, FeedbackRow.id)
        )
        return [feedback_from_row(r) for r in rows]


class SqlReferenceRepository:
    """Reference lists, from the process's reference cache (storage/refcache.py)."""

    def __init__(self, session: AsyncSession, cache: ReferenceCache | None = None) -> None:
        self.session = session
        self.cache = cache

    async def list(self, list_name: str) -> Sequence[ReferenceItem]:
        async def load() -> tuple[ReferenceItem, ...]:
            rows = await self.session.scalars(
                select(ReferenceItemRow)
                .where(ReferenceItemRow.list_name == list_name, ReferenceItemRow.active.is_(True))
                .order_by(ReferenceItemRow.ordinal, ReferenceItemRow.id)
            )
            return tuple(self._item(r) for r in rows)

        return list(await _cached(self.cache, ("reference_list", list_name), load))

    async def get(self, list_name: str, code: str) -> ReferenceItem | None:
        return await _cached(self.cache, ("reference", list_name, code), lambda: self._get(list_name, code))

    async def _get(self, list_name: str, code: str) -> ReferenceItem | None:
        row = await self.session.scalar(
            select(ReferenceItemRow).where(
                ReferenceItemRow.list_name == list_name, ReferenceItemRow.code == code
            )
        )
        return self._item(row) if row else None

    @staticmethod
    def _item(row: ReferenceItemRow) -> ReferenceItem:
        return ReferenceItem(row.list_name, row.code, row.name_vi, row.name_en, row.ordinal, row.parent_code)


class SqlPlanRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def list_congresses(self) -> Sequence[Congress]:
        rows = await self.session.scalars(select(CongressRow).order_by(CongressRow.id))
        return [self._congress(r) for r in rows]

    async def get_congress(self, congress_id: int) -> Congress | None:
        row = await self.session.get(CongressRow, congress_id)
        return self._congress(row) if row else None

    async def list_periods(self, congress_id: int | None = None) -> Sequence[ReportingPeriod]:
        query = select(ReportingPeriodRow).order_by(ReportingPeriodRow.due_at, ReportingPeriodRow.id)
        if congress_id is not None:
            query = query.where(ReportingPeriodRow.congress_id == congress_id)
        return [
            ReportingPeriod(
                id=r.id,
                code=r.code,
                congress_id=r.congress_id,
                phase=r.phase,
                due_at=r.due_at,
                title_vi=r.title_vi,
                title_en=r.title_en,
                starts_at=r.starts_at,
                unit_kinds=tuple(r.unit_kinds or ()),
            )
            for r in await self.session.scalars(query)
        ]

    @staticmethod
    def _congress(row: CongressRow) -> Congress:
        return Congress(row.id, row.code, row.level, row.name_vi, row.name_en, row.held_at)
