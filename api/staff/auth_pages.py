"""Sign-in, sign-out and the console's static files (the only public routes under /staff)."""

from __future__ import annotations

import hmac
import secrets
from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response

from api.staff.rendering import STATIC_DIR, redirect, render
from api.staff.security import (
    COOKIE,
    COOKIE_PATH,
    ENROL_URL,
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
from core.staff.accounts import SECOND_FACTOR_WAIT, sign_in, sign_out
from core.staff.ports import PasswordHasher, SecondFactor
from core.staff.second_factor import needs_enrolment, verify_second_factor
from storage.totp import PyotpSecondFactor

LOGIN_CSRF_COOKIE = "gopy_staff_login"
PENDING_COOKIE = "gopy_staff_pending"  # the token of a sign-in whose password was right, code to come
STATIC_TYPES = {
    ".css": "text/css; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".svg": "image/svg+xml",
}

router = APIRouter(route_class=StaffRoute, include_in_schema=False)


def hasher(request: Request) -> PasswordHasher:
    return request.app.state.staff_hasher  # type: ignore[no-any-return]


def second_factor(request: Request) -> SecondFactor:
    """The TOTP codes and secret sealing (key derived from GOPY_HASH_KEY), made once per app."""
    state = request.app.state
    found: SecondFactor | None = getattr(state, "staff_totp", None)
    if found is None:
        found = PyotpSecondFactor(state.services.settings.hash_key.get_secret_value())
        state.staff_totp = found
    return found


def _login_page(
    request: Request,
    *,
    next_path: str,
    error: str | None,
    status: int,
    email: str = "",
    params: dict[str, object] | None = None,
    code_step: bool = False,
) -> Response:
    """The sign-in form (or its code step); ``error`` is a catalog key (with ``params``) shown above it."""
    lang = request_language(request)
    token = request.cookies.get(LOGIN_CSRF_COOKIE) or secrets.token_urlsafe(32)
    response = render(
        request,
        "login_code.html" if code_step else "login.html",
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
    if not code_step:
        response.delete_cookie(PENDING_COOKIE, path=COOKIE_PATH)
    return response


@router.get("/staff/login")
async def login_form(request: Request, next: str | None = None, step: str | None = None) -> Response:
    """The sign-in form; ``?step=code`` (after a right password, the pending cookie set): the code form."""
    code_step = step == "code" and bool(request.cookies.get(PENDING_COOKIE))
    return _login_page(request, next_path=safe_next(next), error=None, status=200, code_step=code_step)


def _signed_in(request: Request, token: str, next_path: str, *, needs_totp: bool) -> Response:
    response = redirect(ENROL_URL if needs_totp else next_path)
    set_session_cookie(response, request, token)
    response.delete_cookie(LOGIN_CSRF_COOKIE, path=COOKIE_PATH)
    response.delete_cookie(PENDING_COOKIE, path=COOKIE_PATH)
    return response


async def _code_step(request: Request, uow: Uow, *, code: str, next_path: str) -> Response:
    svc = request.app.state.services
    try:
        signed = await verify_second_factor(
            uow=uow,
            totp=second_factor(request),
            pending_token=request.cookies.get(PENDING_COOKIE, ""),
            code=code[:32],
            now=svc.clock.now(),
            policy=svc.settings.staff_policy(),
        )
    except errors.StaffAccountLocked as exc:
        return _login_page(request, next_path=next_path, error=exc.code, status=423, params=exc.params)
    except errors.StaffCodeExpired as exc:
        return _login_page(request, next_path=next_path, error=exc.code, status=401)
    except errors.StaffCodeFailed as exc:
        return _login_page(request, next_path=next_path, error=exc.code, status=401, code_step=True)
    return _signed_in(request, signed.token, next_path, needs_totp=False)


@router.post("/staff/login")
async def login(
    request: Request,
    uow: Uow,
    email: Annotated[str, Form(max_length=254)] = "",
    password: Annotated[str, Form(max_length=1024)] = "",
    csrf_token: Annotated[str, Form(max_length=128)] = "",
    next: Annotated[str, Form(max_length=2000)] = "/staff",
    code: Annotated[str | None, Form(max_length=32)] = None,
) -> Response:
    """Check the password; a new session (new token) replaces any earlier one of this browser. With
    TOTP on the account, the password opens a pending session and the code form posts ``code`` here."""
    next_path = safe_next(next)
    expected = request.cookies.get(LOGIN_CSRF_COOKIE, "")
    if not expected or not hmac.compare_digest(expected.encode(), csrf_token.encode()):
        return _login_page(request, next_path=next_path, error="staff.login.expired", status=403, email=email)
    if code is not None:
        return await _code_step(request, uow, code=code, next_path=next_path)
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
    if signed.second_factor:
        response = redirect("/staff/login?step=code&next=" + quote(next_path, safe="/"))
        response.set_cookie(
            PENDING_COOKIE,
            signed.token,
            max_age=int(SECOND_FACTOR_WAIT.total_seconds()),
            path=COOKIE_PATH,
            httponly=True,
            samesite="strict",
            secure=cookie_secure(request),
        )
        return response
    needs_totp = needs_enrolment(
        signed.account, required_for_admins=svc.settings.staff_totp_required_for_admins
    )
    return _signed_in(request, signed.token, next_path, needs_totp=needs_totp)


@router.post("/staff/logout")
async def logout(
    request: Request, uow: Uow, user: StaffUser = require_staff("viewer", enrolling=True)
) -> Response:
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
