"""The HTTP status of each domain error is the API's business (api/errors.py), not core's."""

from __future__ import annotations

import inspect

from api.errors import http_status
from core import errors

EXPECTED = {
    "GopyError": 400,
    "NotFound": 404,
    "DocumentNotFound": 404,
    "SectionNotFound": 404,
    "FeedbackNotFound": 404,
    "DocumentClosed": 409,
    "TextTooLong": 422,
    "TextRequired": 422,
    "ConsentRequired": 403,
    "DocumentImportError": 422,
    "DataFileError": 422,
    "UnknownInvite": 404,
    "InviteExpired": 410,
    "InviteUsed": 410,
    "UnitNotFound": 404,
    "ReportingPeriodNotFound": 404,
    "ReportNotFound": 404,
    "ContactNotBound": 403,
    "PeriodNotForUnit": 422,
    "ReportFileTooLarge": 413,
    "ReportFileType": 415,
    "CongressNotFound": 404,
    "CongressClosed": 409,
    "NoPeriodForEntry": 400,
    "ApiKeyInvalid": 401,
    "RateLimited": 429,
    "ScopeMissing": 403,
    "InvalidQuery": 422,
    "InvalidStatusChange": 409,
    "MeetingImportRejected": 422,
    "DocumentCodeTaken": 409,
    "DatabaseNotReady": 503,
    "DatabaseMissing": 503,
    "DatabaseUnreachable": 503,
    "ArchiveRejected": 413,
    "ArchiveTooManyEntries": 413,
    "ArchiveTooLarge": 413,
    "ArchiveRatio": 413,
    "ArchiveInconsistent": 422,
    "TooManyRows": 413,
    "InsecureHashKey": 400,
    "ThemeNotFound": 404,
    "StaffSignInFailed": 401,
    "StaffAccountLocked": 423,
    "StaffAccountExists": 409,
    "StaffInvalidAccount": 422,
    "StaffAccountNotFound": 404,
    "StaffCodeFailed": 401,
    "StaffCodeExpired": 401,
    "StaffEnrolmentFailed": 422,
    "StaffPasswordChangeFailed": 422,
    "ExportJobNotFound": 404,
    "ExportJobNotReady": 409,
    "ContactStateChange": 409,
    "ContactNotFound": 404,
    "BotUsernameUnknown": 409,
}


def test_every_domain_error_keeps_its_status() -> None:
    found = {
        name: http_status(cls())
        for name, cls in inspect.getmembers(errors, inspect.isclass)
        if issubclass(cls, errors.GopyError)
    }
    assert found == EXPECTED


def test_core_errors_know_nothing_of_http() -> None:
    assert not hasattr(errors.GopyError, "http_status")
    assert "http" not in inspect.getsource(errors).replace("HTTP statuses live in", "")
