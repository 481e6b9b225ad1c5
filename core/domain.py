"""Domain objects: plain dataclasses, independent of storage and channels."""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum


class DocumentStatus(StrEnum):
    DRAFT = "draft"
    OPEN = "open"
    CLOSED = "closed"


class Stance(StrEnum):
    AGREE = "agree"  # Tán thành
    DISAGREE = "disagree"  # Không tán thành — reason required
    PARTIAL = "partial"  # Đồng ý một phần — text required
    OTHER = "other"  # Ý kiến khác — đề xuất — text required

    @property
    def text_required(self) -> bool:
        return self is not Stance.AGREE


class FeedbackKind(StrEnum):
    """What an entry is: an opinion on a draft, or a mood entry about a congress."""

    DRAFT_OPINION = "draft_opinion"
    CONCERN = "concern"
    ASPIRATION = "aspiration"
    RECOMMENDATION = "recommendation"


class FeedbackStatus(StrEnum):
    ACTIVE = "active"
    WITHDRAWN = "withdrawn"


class Channel(StrEnum):
    TELEGRAM = "telegram"
    WEB = "web"
    ZALO = "zalo"
    MEETING = "meeting"


class Source(StrEnum):
    BOT = "bot"
    WEB = "web"
    MEETING = "meeting"


RECEIPT_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"  # no 0/O, 1/I/L: read aloud over the phone


def new_receipt_code() -> str:
    """A short, unambiguous receipt code such as ``GY-7K3F9Q``."""
    return "GY-" + "".join(secrets.choice(RECEIPT_ALPHABET) for _ in range(6))


@dataclass(frozen=True)
class Document:
    id: int
    code: str
    title: str
    status: DocumentStatus
    level: str | None = None
    opens_at: datetime | None = None
    closes_at: datetime | None = None
    is_sample: bool = False

    def accepts_feedback(self, now: datetime) -> bool:
        if self.status is not DocumentStatus.OPEN:
            return False
        if self.opens_at is not None and now < self.opens_at:
            return False
        return self.closes_at is None or now < self.closes_at


@dataclass(frozen=True)
class Section:
    id: int
    document_id: int
    ordinal: int
    title: str
    number: str | None = None
    body: str = ""
    parent_id: int | None = None
    depth: int = 1
    child_count: int = 0

    @property
    def label(self) -> str:
        """Number and title as the draft writes them: «II. Nhiệm vụ», «2.1.3. …», a point as «a) …»."""
        if not self.number or self.number == self.title:
            return self.title
        # administrative drafts number their points with a lower-case letter and a parenthesis
        mark = ")" if len(self.number) == 1 and self.number.islower() else "."
        return f"{self.number}{mark} {self.title}"


@dataclass(frozen=True)
class ReferenceItem:
    """An entry of an editable list (categories, organisations, localities, topics ...)."""

    list_name: str
    code: str
    name_vi: str
    name_en: str
    ordinal: int = 0
    parent_code: str | None = None

    def name(self, language: str) -> str:
        return self.name_en if language == "en" and self.name_en else self.name_vi


@dataclass
class Profile:
    """What a respondent says about themself; every field optional, ``anonymous`` means 'not saying'."""

    category: str | None = None
    organisation: str | None = None
    locality: str | None = None
    age_band: str | None = None
    gender: str | None = None
    anonymous: bool = False

    def as_dict(self) -> dict[str, object]:
        return {
            "category": self.category,
            "organisation": self.organisation,
            "locality": self.locality,
            "age_band": self.age_band,
            "gender": self.gender,
            "anonymous": self.anonymous,
        }

    @classmethod
    def from_dict(cls, data: dict[str, object] | None) -> Profile:
        data = data or {}
        return cls(
            category=_str_or_none(data.get("category")),
            organisation=_str_or_none(data.get("organisation")),
            locality=_str_or_none(data.get("locality")),
            age_band=_str_or_none(data.get("age_band")),
            gender=_str_or_none(data.get("gender")),
            anonymous=bool(data.get("anonymous", False)),
        )


def _str_or_none(value: object) -> str | None:
    return None if value is None else str(value)


@dataclass
class Respondent:
    id: int | None
    channel: Channel
    user_hash: str
    language: str = "vi"
    consent_version: str | None = None
    consent_at: datetime | None = None
    profile: Profile = field(default_factory=Profile)
    profile_done: bool = False
    created_at: datetime | None = None


@dataclass
class Feedback:
    id: int | None
    receipt_code: str
    kind: FeedbackKind
    respondent_id: int | None
    text: str
    text_folded: str
    channel: Channel
    source: Source
    created_at: datetime
    status: FeedbackStatus = FeedbackStatus.ACTIVE
    document_id: int | None = None
    section_id: int | None = None
    stance: Stance | None = None
    congress_id: int | None = None
    period_id: int | None = None
    topic: str | None = None
    unit_id: int | None = None
    profile: Profile = field(default_factory=Profile)
    client_ref: str | None = None
    updated_at: datetime | None = None
    withdrawn_at: datetime | None = None


@dataclass(frozen=True)
class Congress:
    id: int
    code: str
    level: str
    name_vi: str
    name_en: str
    held_on: datetime | None = None

    def name(self, language: str) -> str:
        return self.name_en if language == "en" else self.name_vi


@dataclass(frozen=True)
class ReportingPeriod:
    id: int
    code: str
    congress_id: int
    phase: str  # "before" | "after" | "single"
    due_at: datetime
    title_vi: str
    title_en: str
    starts_at: datetime | None = None
    unit_kinds: tuple[str, ...] = ()

    def title(self, language: str) -> str:
        return self.title_en if language == "en" else self.title_vi


@dataclass(frozen=True)
class Receipt:
    receipt_code: str
    created_at: datetime
