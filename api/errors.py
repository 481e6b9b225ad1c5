"""Error bodies of the staff API: ``{"error": {"code", "message_vi", "message_en", ...}}``, never a 500 for
a domain error or a malformed request."""

from __future__ import annotations

import logging
import string
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from core import errors
from core.errors import GopyError
from core.i18n import catalog, say

log = logging.getLogger(__name__)


class _Blank(dict[str, Any]):
    def __missing__(self, key: str) -> str:
        return ""


def translate(code: str, language: str, params: dict[str, Any] | None = None) -> str:
    """``code`` in ``language``; unknown keys fall back to the code, missing placeholders to ''."""
    text = catalog(language).get(code) or catalog("vi").get(code) or code
    simple = {k: v for k, v in (params or {}).items() if isinstance(v, str | int | float)}
    return string.Formatter().vformat(text, (), _Blank(simple))


def error_body(
    code: str, params: dict[str, Any] | None = None, keys: tuple[str, ...] | None = None, **extra: Any
) -> dict[str, Any]:
    """The error body; ``keys`` (a domain error's :meth:`~core.errors.GopyError.message_keys`) word the
    messages as sentences, ``code`` stays the machine-readable code."""
    if keys is not None:
        vi, en = (say(keys, language, params or {}, fallback=code) for language in ("vi", "en"))
    else:
        vi, en = translate(code, "vi", params), translate(code, "en", params)
    body: dict[str, Any] = {"code": code, "message_vi": vi, "message_en": en}
    body.update(extra)
    return {"error": body}


# The HTTP status of each domain error (the most specific class listed wins); anything else is a 400.
HTTP_STATUS: dict[type[GopyError], int] = {
    errors.NotFound: 404,
    errors.DocumentClosed: 409,
    errors.TextTooLong: 422,
    errors.TextRequired: 422,
    errors.ConsentRequired: 403,
    errors.DocumentImportError: 422,
    errors.DataFileError: 422,
    errors.UnknownInvite: 404,
    errors.InviteExpired: 410,
    errors.InviteUsed: 410,
    errors.ContactNotBound: 403,
    errors.PeriodNotForUnit: 422,
    errors.ReportFileTooLarge: 413,
    errors.ReportFileType: 415,
    errors.CongressClosed: 409,
    errors.ApiKeyInvalid: 401,
    errors.RateLimited: 429,
    errors.ScopeMissing: 403,
    errors.InvalidQuery: 422,
    errors.InvalidStatusChange: 409,
    errors.MeetingImportRejected: 422,
    errors.DocumentCodeTaken: 409,
    errors.DatabaseNotReady: 503,
    errors.ArchiveRejected: 413,
    errors.ArchiveInconsistent: 422,
    errors.ThemeNotFound: 404,
    errors.StaffSignInFailed: 401,
    errors.StaffAccountLocked: 423,
    errors.StaffAccountExists: 409,
    errors.StaffInvalidAccount: 422,
    errors.StaffCodeFailed: 401,
    errors.StaffCodeExpired: 401,
    errors.StaffEnrolmentFailed: 422,
    errors.StaffPasswordChangeFailed: 422,
    errors.ExportJobNotReady: 409,
    errors.ContactStateChange: 409,
    errors.BotUsernameUnknown: 409,
}


def http_status(exc: GopyError) -> int:
    """The status of a domain error: that of its nearest class in :data:`HTTP_STATUS`, else 400."""
    for cls in type(exc).__mro__:
        if cls in HTTP_STATUS:
            return HTTP_STATUS[cls]
    return 400


def error_response(exc: GopyError) -> JSONResponse:
    extra: dict[str, Any] = {}
    if isinstance(exc.params.get("errors"), list):
        extra["errors"] = exc.params["errors"]
    status = http_status(exc)
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else {}
    if status == 429:
        extra["retry_after"] = exc.params["seconds"]
        headers["Retry-After"] = str(exc.params["seconds"])
    body = error_body(exc.code, exc.params, exc.message_keys(), **extra)
    return JSONResponse(body, status_code=status, headers=headers)


def _fields(exc: RequestValidationError) -> list[dict[str, Any]]:
    out = []
    for item in exc.errors():
        loc = [str(p) for p in item.get("loc", ()) if p not in ("query", "path", "body", "header")]
        out.append({"field": ".".join(loc) or "request", "type": str(item.get("type", "invalid"))})
    return out


def install_error_handlers(app: FastAPI) -> None:
    """Domain errors → their 4xx; validation errors → 422; HTTP errors and crashes (500, logged without
    request data) → the same JSON shape."""

    async def on_gopy_error(_request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, GopyError)
        return error_response(exc)

    async def on_validation(_request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RequestValidationError)
        fields = _fields(exc)
        names = ", ".join(sorted({f["field"] for f in fields}))
        return JSONResponse(
            error_body("api.error.validation", {"fields": names}, fields=fields), status_code=422
        )

    async def on_http(_request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, StarletteHTTPException)
        code = {404: "api.error.not_found", 405: "api.error.method"}.get(
            exc.status_code, "api.error.invalid_query"
        )
        return JSONResponse(
            error_body(code, {"field": "request", "reason": str(exc.detail)}),
            status_code=exc.status_code,
            headers=getattr(exc, "headers", None),
        )

    async def on_crash(request: Request, exc: Exception) -> JSONResponse:
        log.error("unhandled error on %s %s: %s", request.method, request.url.path, type(exc).__name__)
        return JSONResponse(error_body("api.error.internal"), status_code=500)

    app.add_exception_handler(GopyError, on_gopy_error)
    app.add_exception_handler(Exception, on_crash)
    app.add_exception_handler(RequestValidationError, on_validation)
    app.add_exception_handler(StarletteHTTPException, on_http)
