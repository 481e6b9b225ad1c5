"""Who is signed in to the staff console, what their role lets them reach, and the CSRF check.

* ``require_staff(min_role)`` is the one dependency of every console route: it resolves the session
  cookie (server-side session, :func:`core.staff.accounts.resolve_session`), redirects (303) to the
  sign-in page when there is none, answers 403 when the role is below ``min_role``, and on every unsafe
  method (POST, PUT, PATCH, DELETE) checks the CSRF token (form field ``csrf_token`` or header
  ``X-CSRF-Token``) against the session's. The minimum role is readable from the route
  (:func:`route_min_role`), which the access-matrix test uses.
* ``StaffRoute`` (``route_class`` of every console router) adds the security headers (a CSP without
  ``unsafe-inline``) to every response.
"""

from __future__ import annotations

import hmac
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from fastapi import Depends, Request
from fastapi.params import Depends as DependsParam
from fastapi.responses import Response
from fastapi.routing import APIRoute

from api.unit_of_work import unit_of_work
from core.i18n import normalize_language
from core.staff.accounts import ROLES, actor_of, resolve_session, role_allows
from core.staff.second_factor import needs_enrolment
from storage.uow import SqlUnitOfWork

COOKIE = "gopy_staff"
LANG_COOKIE = "gopy_staff_lang"
COOKIE_PATH = "/staff"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "X-CSRF-Token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
MIN_ROLE_ATTR = "staff_min_role"
ENROL_URL = "/staff/account?enrol=1"


@dataclass(frozen=True)
class StaffUser:
    """The signed-in staff member of a request."""

    id: int
    email: str
    role: str
    csrf_token: str
    lang: str
    has_totp: bool = False

    @property
    def actor(self) -> str:
        """The audit actor: ``staff:<email>``."""
        return actor_of(self.email)

    def can(self, min_role: str) -> bool:
        return role_allows(self.role, min_role)


class StaffSignInRequired(Exception):
    """No valid session: the handler redirects to the sign-in page."""

    def __init__(self, next_path: str) -> None:
        self.next_path = next_path


class StaffEnrolmentRequired(Exception):
    """An admin without a second factor while ``GOPY_STAFF_TOTP_REQUIRED_FOR_ADMINS``: to enrolment."""


class StaffForbidden(Exception):
    """Signed in, but the role is below what the route needs (or the CSRF token is wrong)."""

    def __init__(self, user: StaffUser | None, reason: str = "role") -> None:
        self.user = user
        self.reason = reason


def request_language(request: Request) -> str:
    """``?lang=`` first, then the language cookie; Vietnamese by default."""
    return normalize_language(request.query_params.get("lang") or request.cookies.get(LANG_COOKIE))


def login_url(next_path: str) -> str:
    return "/staff/login?next=" + quote(next_path, safe="/")


def safe_next(value: str | None) -> str:
    """Only a local /staff path may follow the sign-in (no open redirect)."""
    if value and value.startswith("/staff") and not value.startswith("//") and "\\" not in value:
        return value
    return "/staff"


async def _csrf_given(request: Request) -> str:
    header = request.headers.get(CSRF_HEADER)
    if header:
        return header
    content_type = request.headers.get("content-type", "")
    if content_type.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
        form = await request.form()  # cached by Starlette: the route's Form fields read the same form
        value = form.get(CSRF_FIELD)
        return value if isinstance(value, str) else ""
    return ""


def csrf_matches(expected: str, given: str) -> bool:
    return bool(expected) and bool(given) and hmac.compare_digest(expected.encode(), given.encode())


def require_staff(min_role: str, *, enrolling: bool = False) -> Any:
    """The dependency of a console route needing at least ``min_role`` (viewer, analyst or admin).

    Use as ``user: StaffUser = require_staff("analyst")`` in the route's signature. When admins must
    have a second factor (``GOPY_STAFF_TOTP_REQUIRED_FOR_ADMINS``), an admin without one is sent to the
    enrolment page from every route but those declared ``enrolling=True`` (the account page, sign-out).
    """
    if min_role not in ROLES:
        raise ValueError(f"unknown staff role: {min_role}")

    async def staff_user(request: Request, uow: SqlUnitOfWork = Depends(unit_of_work)) -> StaffUser:
        svc = request.app.state.services
        token = request.cookies.get(COOKIE, "")
        principal = await resolve_session(
            uow=uow, token=token, now=svc.clock.now(), policy=svc.settings.staff_policy()
        )
        if principal is None:
            path = request.url.path
            if request.url.query:
                path += "?" + request.url.query
            raise StaffSignInRequired(path if request.method in SAFE_METHODS else "/staff")
        account = principal.account
        user = StaffUser(
            id=account.id,
            email=account.email,
            role=account.role,
            csrf_token=principal.session.csrf_token,
            lang=request_language(request),
            has_totp=account.totp_secret is not None,
        )
        request.state.staff_user = user
        if not enrolling and needs_enrolment(
            account, required_for_admins=svc.settings.staff_totp_required_for_admins
        ):
            raise StaffEnrolmentRequired()
        if request.method not in SAFE_METHODS and not csrf_matches(
            user.csrf_token, await _csrf_given(request)
        ):
            raise StaffForbidden(user, reason="csrf")
        if not user.can(min_role):
            raise StaffForbidden(user, reason="role")
        return user

    setattr(staff_user, MIN_ROLE_ATTR, min_role)
    return Depends(staff_user)


def route_min_role(route: APIRoute) -> str | None:
    """The minimum role a console route declared through :func:`require_staff`; None when public."""

    def walk(dependant: Any) -> str | None:
        for dep in dependant.dependencies:
            role = getattr(dep.call, MIN_ROLE_ATTR, None)
            if role is not None:
                return str(role)
            found = walk(dep)
            if found is not None:
                return found
        return None

    found = walk(route.dependant)
    if found is None:
        for dep in route.dependencies:
            if isinstance(dep, DependsParam):
                role = getattr(dep.dependency, MIN_ROLE_ATTR, None)
                if role is not None:
                    return str(role)
    return found


def staff_routes(app: Any) -> list[tuple[str, str, str | None]]:
    """(method, path, min role or None) of every route of ``app`` under /staff, included routers too."""
    found: list[tuple[str, str, str | None]] = []

    def walk(routes: Any, prefix: str) -> None:
        for route in routes:
            inner = getattr(route, "original_router", None)
            if inner is not None:
                context = getattr(route, "include_context", None)
                walk(inner.routes, prefix + (getattr(context, "prefix", "") or ""))
            elif isinstance(route, APIRoute):
                path = prefix + route.path
                if path == "/staff" or path.startswith("/staff/"):
                    found.extend((method, path, route_min_role(route)) for method in sorted(route.methods))

    walk(app.routes, "")
    return found


def security_headers(response: Response) -> None:
    response.headers["Content-Security-Policy"] = (
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "connect-src 'self'; font-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    )
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "same-origin"
    response.headers["X-Frame-Options"] = "DENY"
    response.headers["Cross-Origin-Opener-Policy"] = "same-origin"
    response.headers["Permissions-Policy"] = "camera=(), microphone=(), geolocation=(), payment=()"
    response.headers.setdefault("Cache-Control", "no-store")


class StaffRoute(APIRoute):
    """Every response of a console route carries the security headers."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler: Callable[[Request], Awaitable[Response]] = super().get_route_handler()

        async def secured(request: Request) -> Response:
            response = await handler(request)
            security_headers(response)
            return response

        return secured


def cookie_secure(request: Request) -> bool:
    return request.app.state.services.settings.env == "production" or request.url.scheme == "https"


def set_session_cookie(response: Response, request: Request, token: str) -> None:
    response.set_cookie(
        COOKIE,
        token,
        max_age=int(request.app.state.services.settings.staff_policy().absolute.total_seconds()),
        path=COOKIE_PATH,
        httponly=True,
        samesite="lax",
        secure=cookie_secure(request),
    )


def clear_session_cookie(response: Response, request: Request) -> None:
    response.delete_cookie(
        COOKIE, path=COOKIE_PATH, httponly=True, samesite="lax", secure=cookie_secure(request)
    )
