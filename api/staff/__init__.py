"""The staff console at /staff: server-rendered pages over the same use cases as the API and the CLI.

``setup(app)`` (called by :func:`api.app.create_app`) includes every console router, the handlers that
turn "no session" into a redirect to the sign-in page and "wrong role" into a 403 page, and the
password hasher. How to add a page: docs/staff-console.md.
"""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from api.errors import http_status
from api.staff import account, admin, auth_pages, consolidation, drafts, opinions, overview
from api.staff import contacts as contacts_page
from api.staff import mood as mood_page
from api.staff import units as units_page
from api.staff.rendering import render
from api.staff.security import (
    ENROL_URL,
    StaffEnrolmentRequired,
    StaffForbidden,
    StaffSignInRequired,
    StaffUser,
    login_url,
    request_language,
    require_staff,
    route_min_role,
    security_headers,
)
from core.errors import GopyError
from core.i18n import say, t
from core.staff.ports import PasswordHasher
from storage.passwords import Argon2PasswordHasher

#: every console router, in order; a page module appends its ``router`` here
ROUTERS = [auth_pages.router, overview.router, admin.router, account.router]
ROUTERS += [drafts.router, opinions.router, consolidation.router]
ROUTERS += [mood_page.router, units_page.router, contacts_page.router]


def setup(app: FastAPI, *, hasher: PasswordHasher | None = None) -> None:
    app.state.staff_hasher = hasher or Argon2PasswordHasher()
    for router in ROUTERS:
        app.include_router(router)

    @app.exception_handler(StaffSignInRequired)
    async def _sign_in(request: Request, exc: StaffSignInRequired) -> Response:
        response = Response(status_code=303, headers={"Location": login_url(exc.next_path)})
        security_headers(response)
        return response

    @app.exception_handler(StaffEnrolmentRequired)
    async def _enrol(request: Request, exc: StaffEnrolmentRequired) -> Response:
        response = Response(status_code=303, headers={"Location": ENROL_URL})
        security_headers(response)
        return response

    _console_error_pages(app)

    @app.exception_handler(StaffForbidden)
    async def _forbidden(request: Request, exc: StaffForbidden) -> Response:
        response = render(request, "forbidden.html", {"reason": exc.reason}, user=exc.user, status_code=403)
        security_headers(response)
        return response


def is_console_path(path: str) -> bool:
    return path == "/staff" or path.startswith("/staff/")


def error_page(request: Request, message: str, status: int) -> Response:
    """The console's error page (page_error.html) for the signed-in user, if any, with ``message``."""
    user = getattr(request.state, "staff_user", None)
    response = render(request, "page_error.html", {"message": message}, user=user, status_code=status)
    security_headers(response)
    return response


def _lang(request: Request) -> str:
    user = getattr(request.state, "staff_user", None)
    return user.lang if user is not None else request_language(request)


def _console_error_pages(app: FastAPI) -> None:
    """Domain errors, unknown paths and malformed ids under /staff render the translated error page;
    elsewhere (the /v1 API, the webhooks) the handlers installed before keep their JSON bodies."""
    api_handlers = {
        cls: app.exception_handlers[cls]
        for cls in (GopyError, StarletteHTTPException, RequestValidationError)
        if cls in app.exception_handlers
    }

    async def delegate(cls: type[Exception], request: Request, exc: Exception) -> Response:
        handler = api_handlers.get(cls)
        if handler is None:
            raise exc
        response: Response = await handler(request, exc)
        return response

    @app.exception_handler(GopyError)
    async def _domain_error(request: Request, exc: GopyError) -> Response:
        if not is_console_path(request.url.path):
            return await delegate(GopyError, request, exc)
        message = say(exc.message_keys(), _lang(request), exc.params, fallback=exc.code)
        return error_page(request, message, http_status(exc))

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException) -> Response:
        if not is_console_path(request.url.path) or exc.status_code not in (404, 405):
            return await delegate(StarletteHTTPException, request, exc)
        return error_page(request, t("staff.page_error.not_found", _lang(request)), exc.status_code)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> Response:
        if not is_console_path(request.url.path):
            return await delegate(RequestValidationError, request, exc)
        if request.method == "GET":  # a malformed id in the address: nothing there
            return error_page(request, t("staff.page_error.not_found", _lang(request)), 404)
        return error_page(request, t("staff.page_error.invalid", _lang(request)), 422)


__all__ = ["ROUTERS", "StaffUser", "render", "require_staff", "route_min_role", "setup"]
