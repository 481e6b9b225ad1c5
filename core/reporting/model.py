"""Reporting units: the records (units, contacts, reports, outbox messages, compliance rows)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from core.domain import RECEIPT_ALPHABET, ReportingPeriod

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
    DISABLED = "disabled"  # by staff: no reminders, no reports, until re-enabled


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

    @property
    def receipt_code(self) -> str:
        return report_receipt_code(self.id)


#: Receipt codes of unit reports: ``BC-`` and six letters of :data:`RECEIPT_ALPHABET`, a bijection of
#: the report id (an affine map modulo 31**6, so ids below ~887 million never share a code and staff
#: can read the id back with :func:`report_id_of_receipt`). Nothing secret: a code grants no access.
REPORT_RECEIPT_PREFIX = "BC-"
_CODE_LENGTH = 6
_CODE_SPACE = len(RECEIPT_ALPHABET) ** _CODE_LENGTH
_CODE_FACTOR = 387_420_489  # 3**18, coprime with 31: the map is a permutation
_CODE_OFFSET = 271_828_182


def report_receipt_code(report_id: int) -> str:
    """The receipt code of a unit report, such as ``BC-7K3F9Q`` (the same for the same report)."""
    n = (report_id * _CODE_FACTOR + _CODE_OFFSET) % _CODE_SPACE
    digits = []
    for _ in range(_CODE_LENGTH):
        n, d = divmod(n, len(RECEIPT_ALPHABET))
        digits.append(RECEIPT_ALPHABET[d])
    return REPORT_RECEIPT_PREFIX + "".join(reversed(digits))


def report_id_of_receipt(code: str) -> int | None:
    """The report id a receipt code stands for (None for text that is not such a code)."""
    body = code.strip().upper().removeprefix(REPORT_RECEIPT_PREFIX)
    if len(body) != _CODE_LENGTH or any(c not in RECEIPT_ALPHABET for c in body):
        return None
    n = 0
    for c in body:
        n = n * len(RECEIPT_ALPHABET) + RECEIPT_ALPHABET.index(c)
    return (n - _CODE_OFFSET) * pow(_CODE_FACTOR, -1, _CODE_SPACE) % _CODE_SPACE


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
