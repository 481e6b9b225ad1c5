"""Ports: what core/ needs from storage. storage/ implements them over SQLAlchemy; tests use fakes."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Protocol, Self

from core.domain import (
    Channel,
    Congress,
    Document,
    Feedback,
    Profile,
    ReferenceItem,
    ReportingPeriod,
    Respondent,
    Section,
)


class DocumentRepository(Protocol):
    async def get(self, document_id: int) -> Document | None:
        """The document (possibly from a per-process cache a few seconds old)."""

    async def get_current(self, document_id: int) -> Document | None:
        """The document as the database has it now."""

    async def list_visible(self) -> Sequence[Document]: ...


class SectionRepository(Protocol):
    async def get(self, section_id: int) -> Section | None: ...
    async def list_children(
        self, document_id: int, parent_id: int | None, *, offset: int, limit: int
    ) -> tuple[Sequence[Section], int]: ...
    async def list_document(self, document_id: int) -> Sequence[Section]:
        """Every section of a document in reading order (to find one by number or words)."""
        ...


class RespondentRepository(Protocol):
    async def get(self, respondent_id: int) -> Respondent | None: ...
    async def get_by_channel(self, channel: Channel, user_hash: str) -> Respondent | None: ...
    async def add(self, respondent: Respondent) -> Respondent: ...
    async def update(self, respondent: Respondent) -> None: ...
    async def update_profile(self, respondent_id: int, profile: Profile) -> bool:
        """Set a consented respondent's profile (marked given), without reading it; False when there is
        no such consented respondent."""

    async def delete(self, respondent_id: int) -> None: ...


class FeedbackRepository(Protocol):
    async def add(self, feedback: Feedback) -> Feedback: ...
    async def add_opinion(self, feedback: Feedback, *, now: datetime) -> bool:
        """Insert an opinion on a draft if its document accepts feedback at ``now`` (checked by the
        database, not a cache) and its receipt code is free; False when nothing was inserted."""

    async def update(self, feedback: Feedback) -> None: ...
    async def get_by_receipt(self, receipt_code: str) -> Feedback | None: ...
    async def get_by_client_ref(self, respondent_id: int, client_ref: str) -> Feedback | None: ...
    async def receipt_exists(self, receipt_code: str) -> bool: ...
    async def list_by_respondent(self, respondent_id: int, *, limit: int) -> Sequence[Feedback]: ...
    async def count_by_respondent(self, respondent_id: int) -> int: ...
    async def list_by_period(self, period_id: int) -> Sequence[Feedback]: ...
    async def count_hidden_by_period(self, period_id: int) -> int: ...


class ReferenceRepository(Protocol):
    async def list(self, list_name: str) -> Sequence[ReferenceItem]: ...
    async def get(self, list_name: str, code: str) -> ReferenceItem | None: ...


class PlanRepository(Protocol):
    async def list_congresses(self) -> Sequence[Congress]: ...
    async def get_congress(self, congress_id: int) -> Congress | None: ...
    async def list_periods(self, congress_id: int | None = None) -> Sequence[ReportingPeriod]: ...


class UnitOfWork(Protocol):
    """One transaction: nothing is saved without ``commit()``; leaving the block rolls back."""

    documents: DocumentRepository
    sections: SectionRepository
    respondents: RespondentRepository
    feedback: FeedbackRepository
    reference: ReferenceRepository
    plan: PlanRepository

    async def __aenter__(self) -> Self: ...
    async def __aexit__(self, *exc: object) -> None: ...
    async def commit(self) -> None: ...
    async def rollback(self) -> None: ...
