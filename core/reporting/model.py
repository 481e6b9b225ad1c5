"""Reporting units: the records (units, contacts, reports, outbox messages, compliance rows)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from core.domain import ReportingPeriod

MAX_REPORT_BYTES = 20 * 1024 * 1024  # what a bot may download through getFile
INVITE_PREFIX = "u-"
REPORT_TYPES = ("pdf", "docx", "xlsx", "odt")


@dataclass(frozen=True)
class Unit:
    id: int
    code: str
    kind: str
    name_vi: str
    name_en: str
    parent_code: str | None = None
    active: bool = True

    def name(self, language: str) -> str:
        return self.name_en if language == "en" else self.name_vi


class ContactStatus(StrEnum):
    INVITED = "invited"
    ACTIVE = "active"
    LEFT = "left"


@dataclass(frozen=True)
class Contact:
    id: int
    unit_id: int
    name: str
    status: ContactStatus
    chat_id: int | None = None
    reachable: bool = True
    language: str = "vi"
    invite_expires_at: datetime | None = None
    invite_used_at: datetime | None = None


@dataclass(frozen=True)
class StoredReportFile:
    """A validated report file already in the file store (content-addressed)."""

    sha256: str
    size: int
    type: str


@dataclass(frozen=True)
class UnitReport:
    id: int
    period_id: int
    unit_id: int
    version: int
    kind: str  # "file" | "offchannel"
    submitted_at: datetime
    late: bool
    contact_id: int | None = None
    file_sha256: str | None = None
    file_size: int | None = None
    file_type: str | None = None
    summary: str = ""
    opinions_count: int | None = None
    confirmed_at: datetime | None = None


@dataclass(frozen=True)
class NewOutboxMessage:
    key: str
    kind: str  # "reminder" | "escalation" | "digest" | "notice"
    chat_id: int
    text: str
    not_before: datetime
    buttons: list[list[tuple[str, str]]] = field(default_factory=list)
    contact_id: int | None = None
    period_id: int | None = None
    unit_id: int | None = None
    created_at: datetime | None = None  # when it was queued (default: ``not_before``)


@dataclass(frozen=True)
class OutboxMessage(NewOutboxMessage):
    id: int = 0
    status: str = "pending"
    attempts: int = 0


class ComplianceStatus(StrEnum):
    ON_TIME = "on_time"
    LATE = "late"
    CLAIMED = "claimed"  # "sent through another channel", waiting for staff to confirm
    MISSING = "missing"


@dataclass(frozen=True)
class UnitCompliance:
    period_code: str
    unit_code: str
    unit_name: str
    kind: str
    status: ComplianceStatus
    contacts: int
    reachable_contacts: int
    report_id: int | None = None
    version: int | None = None
    submitted_at: datetime | None = None


def units_reporting_on(period: ReportingPeriod, units: Sequence[Unit]) -> list[Unit]:
    """The active units of the kinds that report on ``period``."""
    return [u for u in units if u.active and u.kind in period.unit_kinds]
