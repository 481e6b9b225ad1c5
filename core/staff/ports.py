"""What the staff use cases need from storage, besides the repositories of :mod:`core.ports`."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol

from core.api_keys import ApiKeyRecord
from core.exports import FeedbackFilters, SqlEncoding
from core.parsed_document import DraftFile
from core.ports import DocumentRepository, FeedbackRepository, ReferenceRepository
from core.reporting import ReportingUnitOfWork
from core.staff.meeting_rows import MeetingEntry
from core.theme_edits import StoredTheme
from core.themes import SentenceEmbedder

Row = dict[str, Any]


@dataclass(frozen=True)
class AuditEntry:
    """One row of the audit log: who did what to which target, with how many rows."""

    actor: str
    action: str
    at: datetime
    target: str | None = None
    details: dict[str, Any] = field(default_factory=dict)
    row_count: int | None = None
    id: int | None = None


@dataclass
class LoadReport:
    """What a data-file load or a document import did, for the CLI and the API to print."""

    source: str
    kind: str
    counts: dict[str, int] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    document_code: str | None = None  # the imported document's code (document imports)

    def add(self, what: str, n: int = 1) -> None:
        self.counts[what] = self.counts.get(what, 0) + n

    def summary(self) -> str:
        parts = ", ".join(f"{k}: {v}" for k, v in sorted(self.counts.items()))
        return f"{self.source} ({self.kind}) — {parts or 'nothing'}"


class ApiKeyRepository(Protocol):
    async def add(
        self, *, name: str, prefix: str, key_hash: str, scopes: Sequence[str], now: datetime
    ) -> int: ...
    async def get(self, key_id: int) -> ApiKeyRecord | None: ...
    async def get_by_prefix(self, prefix: str) -> ApiKeyRecord | None: ...
    async def revoke(self, key_id: int, *, now: datetime) -> None: ...
    async def list(self) -> Sequence[ApiKeyRecord]: ...


@dataclass(frozen=True)
class AuditFilters:
    """What the audit log page filters on: an actor (substring), an action (prefix), a date range."""

    actor: str | None = None
    action: str | None = None
    since: datetime | None = None
    until: datetime | None = None


class AuditRepository(Protocol):
    async def add(self, entry: AuditEntry) -> None: ...
    async def latest(self, *, limit: int, filters: AuditFilters | None = None) -> Sequence[AuditEntry]: ...


class ViewRepository(Protocol):
    """Read models for display and export: plain rows, never written."""

    async def feedback_page(
        self, filters: FeedbackFilters, *, after: int | None, limit: int, upto: int | None = None
    ) -> list[Row]: ...
    def can_encode_feedback(self) -> bool: ...
    async def encoded_feedback_page(
        self,
        filters: FeedbackFilters,
        spec: SqlEncoding,
        *,
        after: int | None,
        limit: int,
        upto: int | None = None,
    ) -> tuple[int, int | None, bytes, tuple[int, int | None, list[int]] | None]: ...
    async def encoded_feedback_keys(
        self,
        filters: FeedbackFilters,
        spec: SqlEncoding,
        *,
        after: int | None,
        limit: int,
        upto: int | None = None,
    ) -> tuple[int, int | None, list[int]]: ...
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
    ) -> tuple[bytes, tuple[int, int | None, list[int]] | None]: ...
    async def last_feedback_id(self) -> int: ...
    async def count_feedback(self, filters: FeedbackFilters, *, upto: int | None = None) -> int: ...
    def iter_feedback_pages(
        self, filters: FeedbackFilters, *, upto: int, page_size: int = 1000
    ) -> AsyncIterator[list[Row]]: ...
    async def counts_by_section_and_stance(
        self, filters: FeedbackFilters, *, upto: int | None = None
    ) -> list[tuple[str | None, int | None, str | None, int]]: ...
    async def section_outline(self) -> list[Row]: ...
    async def feedback_by_receipt(self, receipt_code: str) -> Row | None: ...
    async def feedback_by_id(self, feedback_id: int) -> Row | None: ...
    async def list_documents(self) -> list[Row]: ...
    async def outbox_backlog(self) -> int: ...
    async def zalo_inbox_status(self) -> tuple[datetime | None, int]: ...
    async def get_document(self, document_id: int) -> Row | None: ...
    async def document_by_code(self, code: str) -> Row | None: ...
    async def list_sections(self, document_id: int) -> list[Row]: ...
    async def document_ids_by_code(self) -> dict[str, int]: ...
    async def section_documents(self) -> dict[int, int]: ...
    async def opinions_of_document(self, document_id: int) -> list[Row]: ...
    def opinion_text_pages(
        self, document_id: int, *, page_size: int = 5000
    ) -> AsyncIterator[list[tuple[str, str]]]: ...
    async def count_hidden_opinions(self, document_id: int) -> int: ...
    async def reference_labels(self) -> dict[str, dict[str, str]]: ...
    async def reference_codes(self, list_name: str) -> set[str]: ...


ReadDraft = Callable[[bytes, str], DraftFile]  # a draft file's bytes and name -> its parsed form (formats)


class DataFileRepository(Protocol):
    """The staff-editable data files (plans, lists, localities, units) and draft documents."""

    async def load(self, path: Path, *, now: datetime, read_draft: ReadDraft) -> LoadReport: ...
    async def import_document(
        self,
        draft: DraftFile,
        *,
        now: datetime,
        code: str | None = None,
        title: str | None = None,
        status: str | None = None,
    ) -> LoadReport: ...


class ThemeRepository(Protocol):
    """The staff's stored themes (core.theme_edits), by scope."""

    async def under(self, prefix: str) -> dict[str, list[StoredTheme]]: ...
    async def in_scope(self, scope: str) -> list[StoredTheme]: ...
    async def add(self, *, scope: str, name: str, now: datetime) -> int: ...
    async def rename(self, theme_id: int, *, name: str, now: datetime) -> None: ...
    async def pin(self, *, scope: str, theme_id: int, receipt_codes: Sequence[str]) -> None: ...
    async def delete(self, theme_id: int) -> None: ...
    async def prune(self, scope: str) -> None: ...
    def embedder(self) -> SentenceEmbedder | None:
        """The sentence-embedding model of the themes, when the operator installed one."""
        ...


class StaffDocumentRepository(DocumentRepository, Protocol):
    async def code_taken(self, code: str) -> bool: ...
    async def add_draft(self, *, code: str, title: str, level: str | None, now: datetime) -> int: ...
    async def status_of(self, document_id: int) -> str | None: ...
    async def set_status(self, document_id: int, status: str) -> None: ...
    async def set_dates(
        self, document_id: int, *, opens_at: datetime | None, closes_at: datetime | None
    ) -> None: ...


class StaffFeedbackRepository(FeedbackRepository, Protocol):
    async def set_hidden(
        self, receipt_code: str, *, hidden_at: datetime | None, hidden_by: str | None, reason: str | None
    ) -> None: ...
    async def add_meeting_entries(self, entries: Sequence[MeetingEntry], receipts: Sequence[str]) -> None: ...


@dataclass(frozen=True)
class StaffAccount:
    """A staff console account (the password only as its hash)."""

    id: int
    email: str
    role: str
    password_hash: str
    created_at: datetime
    totp_secret: str | None = None  # sealed (SecondFactor.seal_secret), never the plain secret
    totp_last_step: int | None = None  # the last accepted time-step: a code is never accepted twice
    failed_count: int = 0
    first_failed_at: datetime | None = None
    locked_until: datetime | None = None
    disabled_at: datetime | None = None


@dataclass(frozen=True)
class StaffSession:
    """A server-side console session; only the hash of its token is stored."""

    id: int
    account_id: int
    csrf_token: str
    created_at: datetime
    last_seen_at: datetime
    expires_at: datetime
    pending: bool = False  # the password was right, the second-factor code is still to give


class StaffAccountRepository(Protocol):
    """Staff accounts and their sessions. Never commits."""

    async def add(self, *, email: str, role: str, password_hash: str, now: datetime) -> int: ...
    async def get(self, account_id: int) -> StaffAccount | None: ...
    async def by_email(self, email: str) -> StaffAccount | None: ...
    async def list(self) -> Sequence[StaffAccount]: ...
    async def count(self) -> int: ...
    async def set_role(self, account_id: int, role: str) -> None: ...
    async def set_disabled(self, account_id: int, at: datetime | None) -> None: ...
    async def set_password_hash(self, account_id: int, password_hash: str) -> None: ...
    async def set_failures(
        self, account_id: int, *, count: int, first_at: datetime | None, locked_until: datetime | None
    ) -> None: ...
    async def add_session(
        self,
        *,
        token_hash: str,
        account_id: int,
        csrf_token: str,
        now: datetime,
        expires_at: datetime,
        pending: bool = False,
    ) -> int: ...
    async def session_by_token_hash(self, token_hash: str) -> StaffSession | None: ...
    async def touch_session(self, session_id: int, *, now: datetime) -> None: ...
    async def delete_session(self, token_hash: str) -> None: ...
    async def delete_sessions_of(self, account_id: int, *, keep_token_hash: str | None = None) -> None: ...
    async def set_totp(
        self, account_id: int, *, sealed_secret: str | None, last_step: int | None
    ) -> None: ...
    async def advance_totp_step(self, account_id: int, step: int) -> bool:
        """Record ``step`` as used if it is later than the last one (atomically); False if it is not."""
        ...


class PasswordHasher(Protocol):
    """Hashes and checks staff passwords (Argon2 in storage.passwords)."""

    def hash(self, password: str) -> str: ...
    def verify(self, password_hash: str, password: str) -> bool: ...


class SecondFactor(Protocol):
    """TOTP codes and the sealing of their secrets (pyotp and a hash-key-derived key in storage.totp)."""

    def new_secret(self) -> str: ...
    def provisioning_uri(self, secret: str, *, name: str, issuer: str) -> str: ...
    def matching_step(self, secret: str, code: str, *, at: datetime, window: int = 1) -> int | None: ...
    def seal(self, data: bytes, *, purpose: str) -> str: ...
    def unseal(self, sealed: str, *, purpose: str) -> bytes | None: ...
    def seal_secret(self, secret: str) -> str: ...
    def unseal_secret(self, sealed: str) -> str | None: ...


class StaffUnitOfWork(ReportingUnitOfWork, Protocol):
    documents: StaffDocumentRepository  # type: ignore[assignment]
    feedback: StaffFeedbackRepository  # type: ignore[assignment]
    reference: ReferenceRepository
    api_keys: ApiKeyRepository
    audit: AuditRepository
    views: ViewRepository
    data_files: DataFileRepository
    themes: ThemeRepository
    staff_accounts: StaffAccountRepository
