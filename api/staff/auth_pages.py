"""Sign-in, sign-out and the console's static files (the only public routes under /staff)."""

from __future__ import annotations

import hmac
import secrets
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response

from api.staff.rendering import STATIC_DIR, redirect, render
from api.staff.security import (
    COOKIE,
    COOKIE_PATH,
    StaffForbidden,
    StaffRoute,
    StaffUser,
    clear_session_cookie,
    cookie_secure,
    request_language,
    require_staff,
    safe_next,
    set_session_cookie,
)
from api.unit_of_work import Uow
from core import errors
from core.i18n import t
from core.staff.accounts import sign_in, sign_out
from core.staff.ports import PasswordHasher

LOGIN_CSRF_COOKIE = "gopy_staff_login"
STATIC_TYPES = {
    ".css": "text/css; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".svg": "image/svg+xml",
}

router = APIRouter(route_class=StaffRoute, include_in_schema=False)


def hasher(request: Request) -> PasswordHasher:
    return request.app.state.staff_hasher  # type: ignore[no-any-return]


def _login_page(
    request: Request,
    *,
    next_path: str,
    error: str | None,
    status: int,
    email: str = "",
    params: dict[str, object] | None = None,
) -> Response:
    """The sign-in form; ``error`` is a catalog key (with ``params``) shown above it."""
    lang = request_language(request)
    token = request.cookies.get(LOGIN_CSRF_COOKIE) or secrets.token_urlsafe(32)
    response = render(
        request,
        "login.html",
        {
            "next": next_path,
            "error": t(error, lang, **(params or {})) if error else None,
            "login_csrf": token,
            "email": email,
        },
        user=None,
        status_code=status,
    )
    response.set_cookie(
        LOGIN_CSRF_COOKIE,
        token,
        path=COOKIE_PATH,
        httponly=True,
        samesite="strict",
        secure=cookie_secure(request),
    )
    return response


@router.get("/staff/login")
async def login_form(request: Request, next: str | None = None) -> Response:
    return _login_page(request, next_path=safe_next(next), error=None, status=200)


@router.post("/staff/login")
async def login(
    request: Request,
    uow: Uow,
    email: Annotated[str, Form(max_length=254)] = "",
    password: Annotated[str, Form(max_length=1024)] = "",
    csrf_token: Annotated[str, Form(max_length=128)] = "",
    next: Annotated[str, Form(max_length=2000)] = "/staff",
) -> Response:
    """Check the password; a new session (new token) replaces any earlier one of this browser."""
    next_path = safe_next(next)
    expected = request.cookies.get(LOGIN_CSRF_COOKIE, "")
    if not expected or not hmac.compare_digest(expected.encode(), csrf_token.encode()):
        return _login_page(request, next_path=next_path, error="staff.login.expired", status=403, email=email)
    svc = request.app.state.services
    try:
        signed = await sign_in(
            uow=uow,
            hasher=hasher(request),
            email=email,
            password=password,
            now=svc.clock.now(),
            policy=svc.settings.staff_policy(),
            previous_token=request.cookies.get(COOKIE) or None,
        )
    except errors.StaffAccountLocked as exc:
        return _login_page(
            request, next_path=next_path, error=exc.code, status=423, email=email, params=exc.params
        )
    except errors.StaffSignInFailed:
        return _login_page(
            request, next_path=next_path, error="staff.error.sign_in_failed", status=401, email=email
        )
    response = redirect(next_path)
    set_session_cookie(response, request, signed.token)
    response.delete_cookie(LOGIN_CSRF_COOKIE, path=COOKIE_PATH)
    return response


@router.post("/staff/logout")
async def logout(request: Request, uow: Uow, user: StaffUser = require_staff("viewer")) -> Response:
    svc = request.app.state.services
    await sign_out(uow=uow, token=request.cookies.get(COOKIE, ""), actor=user.actor, now=svc.clock.now())
    response = redirect("/staff/login", flash="staff.login.signed_out", level="info")
    clear_session_cookie(response, request)
    return response


@router.get("/staff/static/{name}")
async def staff_static(name: str) -> Response:
    path = STATIC_DIR / name
    suffix = path.suffix
    if "/" in name or name.startswith(".") or suffix not in STATIC_TYPES or not path.is_file():
        return Response(status_code=404)
    return Response(
        path.read_bytes(),
        media_type=STATIC_TYPES[suffix],
        headers={"Cache-Control": "public, max-age=31536000, immutable"},
    )


__all__ = ["StaffForbidden", "router"]
