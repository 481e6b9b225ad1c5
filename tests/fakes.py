"""Small hand-written in-memory fakes of the core ports (no mocks of SQLAlchemy)."""

from __future__ import annotations

import copy
from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Self

from core.domain import (
    Channel,
    Congress,
    Document,
    DocumentStatus,
    Feedback,
    Profile,
    ReferenceItem,
    ReportingPeriod,
    Respondent,
    Section,
)


class FakeDocuments:
    def __init__(self, docs: dict[int, Document]) -> None:
        self.docs = docs

    async def get(self, document_id: int) -> Document | None:
        return self.docs.get(document_id)

    async def get_current(self, document_id: int) -> Document | None:
        return self.docs.get(document_id)

    async def list_visible(self) -> Sequence[Document]:
        return [d for d in self.docs.values() if d.status is not DocumentStatus.DRAFT]


class FakeSections:
    def __init__(self, sections: dict[int, Section]) -> None:
        self.sections = sections

    def _with_children(self, s: Section) -> Section:
        return replace(s, child_count=sum(1 for x in self.sections.values() if x.parent_id == s.id))

    async def get(self, section_id: int) -> Section | None:
        s = self.sections.get(section_id)
        return self._with_children(s) if s else None

    async def list_children(
        self, document_id: int, parent_id: int | None, *, offset: int, limit: int
    ) -> tuple[Sequence[Section], int]:
        items = sorted(
            (s for s in self.sections.values() if s.document_id == document_id and s.parent_id == parent_id),
            key=lambda s: s.ordinal,
        )
        return [self._with_children(s) for s in items[offset : offset + limit]], len(items)

    async def list_document(self, document_id: int) -> Sequence[Section]:
        items = sorted(
            (s for s in self.sections.values() if s.document_id == document_id), key=lambda s: s.ordinal
        )
        return [self._with_children(s) for s in items]


class FakeRespondents:
    def __init__(self, store: FakeStore) -> None:
        self.store = store

    async def get(self, respondent_id: int) -> Respondent | None:
        r = self.store.respondents.get(respondent_id)
        return copy.deepcopy(r)

    async def get_by_channel(self, channel: Channel, user_hash: str) -> Respondent | None:
        for r in self.store.respondents.values():
            if r.channel == channel and r.user_hash == user_hash:
                return copy.deepcopy(r)
        return None

    async def add(self, respondent: Respondent) -> Respondent:
        respondent.id = max(self.store.respondents, default=0) + 1
        self.store.pending_respondents[respondent.id] = copy.deepcopy(respondent)
        return respondent

    async def update(self, respondent: Respondent) -> None:
        assert respondent.id is not None
        self.store.pending_respondents[respondent.id] = copy.deepcopy(respondent)

    async def update_profile(self, respondent_id: int, profile: Profile) -> bool:
        respondent = self.store.pending_respondents.get(respondent_id) or self.store.respondents.get(
            respondent_id
        )
        if respondent is None or respondent.consent_at is None or respondent_id in self.store.pending_deletes:
            return False
        updated = copy.deepcopy(respondent)
        updated.profile, updated.profile_done = copy.deepcopy(profile), True
        self.store.pending_respondents[respondent_id] = updated
        return True

    async def delete(self, respondent_id: int) -> None:
        self.store.pending_deletes.add(respondent_id)


class FakeFeedback:
    def __init__(self, store: FakeStore) -> None:
        self.store = store

    def _all(self) -> list[Feedback]:
        merged = {**self.store.feedback, **self.store.pending_feedback}
        return list(merged.values())

    async def add(self, feedback: Feedback) -> Feedback:
        feedback.id = len(self.store.feedback) + len(self.store.pending_feedback) + 1
        self.store.pending_feedback[feedback.id] = copy.deepcopy(feedback)
        return feedback

    async def add_opinion(self, feedback: Feedback, *, now: datetime) -> bool:
        respondent = self.store.pending_respondents.get(
            feedback.respondent_id or 0
        ) or self.store.respondents.get(feedback.respondent_id or 0)
        if respondent is None or respondent.consent_at is None:
            return False
        document = self.store.documents.get(feedback.document_id or 0)
        if document is None or not document.accepts_feedback(now):
            return False
        if await self.receipt_exists(feedback.receipt_code):
            return False
        await self.add(replace(feedback, profile=Profile(**respondent.profile.as_dict())))  # type: ignore[arg-type]
        return True

    async def update(self, feedback: Feedback) -> None:
        assert feedback.id is not None
        self.store.pending_feedback[feedback.id] = copy.deepcopy(feedback)

    async def get_by_receipt(self, receipt_code: str) -> Feedback | None:
        return next((copy.deepcopy(f) for f in self._all() if f.receipt_code == receipt_code.upper()), None)

    async def get_by_client_ref(self, respondent_id: int, client_ref: str) -> Feedback | None:
        return next(
            (f for f in self._all() if f.respondent_id == respondent_id and f.client_ref == client_ref), None
        )

    async def receipt_exists(self, receipt_code: str) -> bool:
        return any(f.receipt_code == receipt_code for f in self._all())

    async def list_by_respondent(self, respondent_id: int, *, limit: int) -> Sequence[Feedback]:
        mine = [f for f in self._all() if f.respondent_id == respondent_id]
        return sorted(mine, key=lambda f: (f.created_at, f.id or 0), reverse=True)[:limit]

    async def count_by_respondent(self, respondent_id: int) -> int:
        return sum(1 for f in self._all() if f.respondent_id == respondent_id)

    async def count_hidden_by_period(self, period_id: int) -> int:
        return 0  # the fakes hide nothing: moderation is staff-side (tests/fakes_staff.py)

    async def list_by_period(self, period_id: int) -> Sequence[Feedback]:
        mine = [copy.deepcopy(f) for f in self._all() if f.period_id == period_id]
        return sorted(mine, key=lambda f: (f.created_at, f.id or 0))


class FakeReference:
    def __init__(self, items: list[ReferenceItem]) -> None:
        self.items = items

    async def list(self, list_name: str) -> Sequence[ReferenceItem]:
        return [i for i in self.items if i.list_name == list_name]

    async def get(self, list_name: str, code: str) -> ReferenceItem | None:
        return next((i for i in self.items if i.list_name == list_name and i.code == code), None)


class FakePlan:
    def __init__(self, congresses: list[Congress], periods: list[ReportingPeriod]) -> None:
        self.congresses = congresses
        self.periods = periods

    async def list_congresses(self) -> Sequence[Congress]:
        return list(self.congresses)

    async def get_congress(self, congress_id: int) -> Congress | None:
        return next((c for c in self.congresses if c.id == congress_id), None)

    async def list_periods(self, congress_id: int | None = None) -> Sequence[ReportingPeriod]:
        return [p for p in self.periods if congress_id is None or p.congress_id == congress_id]


class FakeStore:
    """Committed data plus what the current unit of work has pending."""

    def __init__(self) -> None:
        self.documents: dict[int, Document] = {}
        self.sections: dict[int, Section] = {}
        self.reference: list[ReferenceItem] = []
        self.congresses: list[Congress] = []
        self.periods: list[ReportingPeriod] = []
        self.respondents: dict[int, Respondent] = {}
        self.feedback: dict[int, Feedback] = {}
        self.pending_respondents: dict[int, Respondent] = {}
        self.pending_feedback: dict[int, Feedback] = {}
        self.pending_deletes: set[int] = set()
        self.commits = 0

    def commit(self) -> None:
        self.respondents.update(self.pending_respondents)
        self.feedback.update(self.pending_feedback)
        for rid in self.pending_deletes:
            self.respondents.pop(rid, None)
            for fid in [k for k, f in self.feedback.items() if f.respondent_id == rid]:
                del self.feedback[fid]
        self.rollback()
        self.commits += 1

    def rollback(self) -> None:
        self.pending_respondents.clear()
        self.pending_feedback.clear()
        self.pending_deletes.clear()


class FakeUnitOfWork:
    def __init__(self, store: FakeStore) -> None:
        self.store = store
        self.documents = FakeDocuments(store.documents)
        self.sections = FakeSections(store.sections)
        self.respondents = FakeRespondents(store)
        self.feedback = FakeFeedback(store)
        self.reference = FakeReference(store.reference)
        self.plan = FakePlan(store.congresses, store.periods)

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.store.rollback()

    async def commit(self) -> None:
        self.store.commit()

    async def rollback(self) -> None:
        self.store.rollback()


def sample_store(now: datetime) -> FakeStore:
    """A store with one open draft (a part with two subsections, 20 flat sections), a closed one, lists."""
    store = FakeStore()
    store.documents[1] = Document(1, "open-doc", "Dự thảo mở", DocumentStatus.OPEN)
    store.documents[2] = Document(2, "closed-doc", "Dự thảo đã đóng", DocumentStatus.CLOSED, closes_at=now)
    store.sections[1] = Section(1, 1, 1, "Phần một", number="I", body="Nội dung phần một")
    store.sections[2] = Section(2, 1, 2, "Kinh tế", number="1", body="Nội dung kinh tế", parent_id=1, depth=2)
    store.sections[3] = Section(3, 1, 3, "Xã hội", number="2", body="Nội dung xã hội", parent_id=1, depth=2)
    for i in range(4, 24):
        store.sections[i] = Section(i, 1, i, f"Mục {i}", number=str(i), body=f"Nội dung mục {i}")
    store.sections[100] = Section(100, 2, 1, "Mục của dự thảo đóng", number="1")
    add_sample_plan(store)
    for list_name, codes in {
        "categories": ["worker", "farmer", "other"],
        "organisations": ["dtn", "pn"],
        "localities": [f"loc{i}" for i in range(20)],
        "age_bands": ["18-30", "31-45"],
        "genders": ["female", "male"],
        "topics": ["economy", "other"],
    }.items():
        for i, code in enumerate(codes):
            store.reference.append(ReferenceItem(list_name, code, f"{code} (vi)", f"{code} (en)", i))
    return store


def add_sample_plan(store: FakeStore) -> None:
    """Congresses shaped like the bundled plan (dates 00:00 Hanoi time = 17:00 UTC the day before).

    Seen from 20/11/2025: the city congress (held 14/10/2025, last report due 5/11/2025) is closed;
    the national one (held 19/01/2026, reports due 5/12/2025 and 5/02/2026) is open; a next-term
    congress whose only period starts 1/03/2026 is upcoming; the grassroots one has no period.
    """

    def local_midnight(y: int, m: int, d: int) -> datetime:
        return datetime(y, m, d, tzinfo=UTC) - timedelta(hours=7)

    store.congresses.extend(
        [
            Congress(
                1, "city-17", "city", "Đại hội XVII thành phố", "City 17th", local_midnight(2025, 10, 14)
            ),
            Congress(
                2, "national-14", "national", "Đại hội XIV", "14th National", local_midnight(2026, 1, 19)
            ),
            Congress(3, "next-term", "city", "Đại hội nhiệm kỳ sau", "Next term", local_midnight(2026, 6, 1)),
            Congress(
                4, "grassroots", "grassroots", "Đại hội cơ sở", "Grassroots", local_midnight(2025, 6, 15)
            ),
        ]
    )
    store.periods.extend(
        [
            ReportingPeriod(
                1, "city-17-before", 1, "before", local_midnight(2025, 9, 5), "Trước ĐH XVII", "Before 17"
            ),
            ReportingPeriod(
                2, "city-17-after", 1, "after", local_midnight(2025, 11, 5), "Sau ĐH XVII", "After 17"
            ),
            ReportingPeriod(
                3, "national-14-before", 2, "before", local_midnight(2025, 12, 5), "Trước ĐH XIV", "Before 14"
            ),
            ReportingPeriod(
                4, "national-14-after", 2, "after", local_midnight(2026, 2, 5), "Sau ĐH XIV", "After 14"
            ),
            ReportingPeriod(
                5,
                "next-term",
                3,
                "single",
                local_midnight(2026, 7, 5),
                "Kỳ sau",
                "Next",
                local_midnight(2026, 3, 1),
            ),
        ]
    )
