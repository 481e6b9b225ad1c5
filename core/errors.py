"""Domain errors, raised in core/ and translated at the edge.

Each error carries a catalog key (``code``) and parameters; the bot renders ``t(code, lang, **params)``,
the API maps it to a 4xx JSON body with the same code and both texts (the HTTP statuses live in
``api/errors.py``: that mapping belongs to the edge).
"""

from __future__ import annotations

from typing import Any, ClassVar


class GopyError(Exception):
    """Base of every domain error."""

    code: ClassVar[str] = "error.generic"

    def __init__(self, **params: Any) -> None:
        self.params = params
        super().__init__(f"{self.code} {params}" if params else self.code)

    def message_keys(self) -> tuple[str, ...]:
        """The catalog keys whose texts, joined, tell a person what went wrong (default: ``code``)."""
        return (self.code,)


class NotFound(GopyError):
    code = "error.not_found"


class DocumentNotFound(NotFound):
    code = "error.document_not_found"


class SectionNotFound(NotFound):
    code = "error.section_not_found"


class FeedbackNotFound(NotFound):
    code = "error.feedback_not_found"


class DocumentClosed(GopyError):
    code = "error.document_closed"


class TextTooLong(GopyError):
    code = "error.text_too_long"


class TextRequired(GopyError):
    code = "error.text_required"


class ConsentRequired(GopyError):
    code = "error.consent_required"


class DocumentImportError(GopyError):
    """A Markdown/DOCX file that cannot become a document; ``reason`` says why, ``line`` where."""

    code = "error.document_import"

    def message_keys(self) -> tuple[str, ...]:
        """A sentence for the reason (``error.document_import.<reason>``), then where (line, paragraph)."""
        keys = [f"{self.code}.{self.params.get('reason', '')}"]
        keys += [f"{self.code}.at_{where}" for where in ("line", "paragraph") if where in self.params]
        return tuple(keys)


class DataFileError(GopyError):
    """A bundled or staff-edited data file (plan, lists, CSV) that cannot be loaded; ``reason`` says
    why, ``detail`` (the file's own words: a path, a code, a value) where."""

    code = "error.data_file"

    def message_keys(self) -> tuple[str, ...]:
        """A sentence for the reason (``error.data_file.<reason>``), then the detail when there is one."""
        keys = [f"{self.code}.{self.params.get('reason', '')}"]
        if self.params.get("detail"):
            keys.append(f"{self.code}.detail")
        return tuple(keys)


class UnknownInvite(GopyError):
    code = "error.invite_unknown"


class InviteExpired(GopyError):
    code = "error.invite_expired"


class InviteUsed(GopyError):
    code = "error.invite_used"


class UnitNotFound(NotFound):
    code = "reporting.error.unit_not_found"


class ReportingPeriodNotFound(NotFound):
    code = "reporting.error.period_not_found"


class ContactNotFound(NotFound):
    code = "reporting.error.contact_not_found"


class ReportNotFound(NotFound):
    code = "reporting.error.report_not_found"


class ContactNotBound(GopyError):
    code = "reporting.error.not_a_contact"


class PeriodNotForUnit(GopyError):
    code = "reporting.error.period_not_for_unit"


class ReportFileTooLarge(GopyError):
    code = "reporting.error.file_too_large"


class ReportFileType(GopyError):
    code = "reporting.error.file_type"


class CongressNotFound(NotFound):
    code = "mood.error.congress_not_found"


class CongressClosed(GopyError):
    """The congress's reporting window is over: no more mood entries about it."""

    code = "mood.error.congress_closed"


class NoPeriodForEntry(GopyError):
    """The plan gives the congress no reporting period an entry could fall into."""

    code = "mood.error.no_period"


class ApiKeyInvalid(GopyError):
    """No API key, an unknown one, or a revoked one."""

    code = "api.error.unauthorized"


class RateLimited(GopyError):
    """Too many requests (or failed authentications) from this key or address; ``seconds`` to wait."""

    code = "api.error.rate_limited"


class ScopeMissing(GopyError):
    """The API key lacks a scope the endpoint needs (``scope`` names it)."""

    code = "api.error.forbidden"


class InvalidQuery(GopyError):
    """A malformed request: ``field`` says which parameter, ``reason`` what is wrong with it."""

    code = "api.error.invalid_query"


class InvalidStatusChange(GopyError):
    """A document cannot go from ``current`` to ``target`` (draft → open → closed)."""

    code = "api.error.status_change"


class MeetingImportRejected(GopyError):
    """A meeting XLSX with bad rows: nothing was imported; ``errors`` lists every bad cell."""

    code = "api.error.meeting_import"


class DocumentCodeTaken(GopyError):
    """Another document already has this ``code``."""

    code = "api.error.code_taken"


class DatabaseNotReady(GopyError):
    """The database is missing, not migrated to the current revision, or cannot be reached."""

    code = "error.database_not_migrated"


class DatabaseMissing(DatabaseNotReady):
    code = "error.database_missing"


class DatabaseUnreachable(DatabaseNotReady):
    code = "error.database_unreachable"


class ArchiveRejected(GopyError):
    """An uploaded DOCX / XLSX / ODT refused by the zip bomb guard (core/archives.py); nothing was kept."""

    code = "error.archive.rejected"


class ArchiveTooManyEntries(ArchiveRejected):
    code = "error.archive.entries"


class ArchiveTooLarge(ArchiveRejected):
    """An entry, or all of them, would unpack to more than ``max_mb`` MB."""

    code = "error.archive.too_large"


class ArchiveRatio(ArchiveRejected):
    """An entry is compressed more than ``max_ratio`` to 1, as only a zip bomb is."""

    code = "error.archive.ratio"


class ArchiveInconsistent(ArchiveRejected):
    """The archive misstates its sizes, is encrypted, or uses a compression no office file uses."""

    code = "error.archive.inconsistent"


class TooManyRows(ArchiveRejected):
    """A spreadsheet with more than ``max_rows`` data rows (counted while streaming, refused at the limit)."""

    code = "error.archive.rows"


class InsecureHashKey(GopyError):
    """``GOPY_HASH_KEY`` is unset (the public development key) outside ``GOPY_ENV=development``."""

    code = "error.insecure_hash_key"


class ThemeNotFound(NotFound):
    """No theme with this key in the current grouping of the scope (the grouping changed: reload)."""

    code = "error.theme_not_found"


class StaffSignInFailed(GopyError):
    """A wrong email or password (never says which), or a disabled account."""

    code = "staff.error.sign_in_failed"


class StaffAccountLocked(GopyError):
    """Too many failed sign-ins: the account is locked for ``minutes`` more."""

    code = "staff.error.locked"


class StaffAccountExists(GopyError):
    """An account with this email exists already."""

    code = "staff.error.account_exists"


class StaffInvalidAccount(GopyError):
    """An unknown role, a malformed email or a password too short (``reason``)."""

    code = "staff.error.invalid_account"


class StaffAccountNotFound(NotFound):
    code = "staff.error.account_not_found"


class StaffCodeFailed(GopyError):
    """A wrong, malformed or already used second-factor code (counts toward the lock-out)."""

    code = "staff.account.error.code_failed"


class StaffCodeExpired(GopyError):
    """The password step is too old (or unknown): sign in again from the start."""

    code = "staff.account.error.code_expired"


class StaffEnrolmentFailed(GopyError):
    """The first code did not match the new secret, or the enrolment form is too old (``reason``)."""

    code = "staff.account.error.enrolment_failed"

    def message_keys(self) -> tuple[str, ...]:
        return (f"staff.account.error.enrolment_{self.params.get('reason', 'code')}",)


class StaffPasswordChangeFailed(GopyError):
    """The current password is wrong, or the new one is refused (``reason``: old, length, confirm)."""

    code = "staff.account.error.password_change"

    def message_keys(self) -> tuple[str, ...]:
        return (f"staff.account.error.password_{self.params.get('reason', 'old')}",)


class ExportJobNotFound(NotFound):
    code = "api.error.export_job_not_found"


class ExportJobNotReady(GopyError):
    """The job's file is not there yet (queued, running) or it failed; or it cannot be retried."""

    code = "api.error.export_job_not_ready"


class ContactStateChange(GopyError):
    """A contact cannot take ``action`` in its current ``state`` (e.g. re-invite a bound contact)."""

    code = "reporting.error.contact_state"


class BotUsernameUnknown(GopyError):
    """No bot username for invite links: set GOPY_BOT_USERNAME (or start the bot once)."""

    code = "error.bot_username_unknown"
