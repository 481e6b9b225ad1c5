"""The staff console at /staff: server-rendered pages over the same use cases as the API and the CLI.

``setup(app)`` (called by :func:`api.app.create_app`) includes every console router, the handlers that
turn "no session" into a redirect to the sign-in page and "wrong role" into a 403 page, and the
password hasher. How to add a page: docs/staff-console.md.
"""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.responses import Response

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
    require_staff,
    route_min_role,
    security_headers,
)
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

    @app.exception_handler(StaffForbidden)
    async def _forbidden(request: Request, exc: StaffForbidden) -> Response:
        response = render(request, "forbidden.html", {"reason": exc.reason}, user=exc.user, status_code=403)
        security_headers(response)
        return response


__all__ = ["ROUTERS", "StaffUser", "render", "require_staff", "route_min_role", "setup"]
