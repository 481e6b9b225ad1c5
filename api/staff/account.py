"""/staff/account, "Tài khoản của tôi" (every role): the TOTP second factor (enrol with a QR code and a
manual key, confirmed by a first code) and a change of one's own password."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response

from api.staff.auth_pages import hasher, second_factor
from api.staff.rendering import redirect, render
from api.staff.security import COOKIE, StaffRoute, StaffUser, require_staff
from api.unit_of_work import Uow
from core import errors
from core.i18n import t
from core.staff.ports import StaffAccount
from core.staff.second_factor import (
    Enrolment,
    change_own_password,
    confirm_totp_enrolment,
    enrolment_secret,
    needs_enrolment,
    start_totp_enrolment,
)
from formats.qr import qr_svg

router = APIRouter(route_class=StaffRoute, include_in_schema=False)


def _enrolment_view(enrolment: Enrolment, lang: str) -> dict[str, Any]:
    key = enrolment.secret
    return {
        "token": enrolment.token,
        "key_groups": " ".join(key[i : i + 4] for i in range(0, len(key), 4)),
        "qr": qr_svg(
            enrolment.uri,
            title=t("staff.account.totp.qr_title", lang),
            description=t("staff.account.totp.qr_description", lang),
            module_px=5,
        ),
    }


async def _page(
    request: Request,
    uow: Uow,
    user: StaffUser,
    *,
    enrolment: Enrolment | None = None,
    error: str | None = None,
    password_error: str | None = None,
    status: int = 200,
) -> Response:
    account: StaffAccount | None = await uow.staff_accounts.get(user.id)
    assert account is not None  # the session was just resolved
    required = needs_enrolment(
        account, required_for_admins=request.app.state.services.settings.staff_totp_required_for_admins
    )
    return render(
        request,
        "account.html",
        {
            "has_totp": account.totp_secret is not None,
            "required": required,
            "enrolment": _enrolment_view(enrolment, user.lang) if enrolment else None,
            "error": error,
            "password_error": password_error,
        },
        user=user,
        status_code=status,
    )


def _start(request: Request, account: StaffAccount) -> Enrolment:
    return start_totp_enrolment(
        totp=second_factor(request),
        account=account,
        issuer=_issuer(request),
        now=request.app.state.services.clock.now(),
    )


@router.get("/staff/account")
async def account_page(
    request: Request, uow: Uow, enrol: int = 0, user: StaffUser = require_staff("viewer", enrolling=True)
) -> Response:
    """The account page; ``?enrol=1`` shows a new secret to enrol (nothing stored until confirmed)."""
    enrolment = None
    if enrol and not user.has_totp:
        account = await uow.staff_accounts.get(user.id)
        assert account is not None
        enrolment = _start(request, account)
    return await _page(request, uow, user, enrolment=enrolment)


@router.post("/staff/account/totp")
async def account_totp_confirm(
    request: Request,
    uow: Uow,
    token: Annotated[str, Form(max_length=512)],
    code: Annotated[str, Form(max_length=32)],
    user: StaffUser = require_staff("viewer", enrolling=True),
) -> Response:
    """Store the shown secret once the first code from the authenticator matches it."""
    if user.has_totp:
        return redirect("/staff/account", flash="staff.account.totp.already", level="info")
    totp = second_factor(request)
    now = request.app.state.services.clock.now()
    try:
        await confirm_totp_enrolment(uow=uow, totp=totp, account_id=user.id, token=token, code=code, now=now)
    except errors.StaffEnrolmentFailed as exc:
        account = await uow.staff_accounts.get(user.id)
        assert account is not None
        enrolment = _start(request, account)
        if exc.params.get("reason") == "code":  # the same secret again: the phone has it already
            secret = enrolment_secret(totp=totp, account_id=user.id, token=token, now=now)
            enrolment = Enrolment(
                secret=secret,
                uri=totp.provisioning_uri(secret, name=account.email, issuer=_issuer(request)),
                token=token,
            )
        message = t(exc.message_keys()[0], user.lang)
        return await _page(request, uow, user, enrolment=enrolment, error=message, status=422)
    return redirect("/staff/account", flash="staff.account.totp.enabled")


def _issuer(request: Request) -> str:
    org = request.app.state.services.settings.org_name
    return f"Gopy ({org})" if org else "Gopy"


@router.post("/staff/account/password")
async def account_password(
    request: Request,
    uow: Uow,
    old_password: Annotated[str, Form(max_length=1024)] = "",
    new_password: Annotated[str, Form(max_length=1024)] = "",
    confirm_password: Annotated[str, Form(max_length=1024)] = "",
    user: StaffUser = require_staff("viewer"),
) -> Response:
    """A new password for oneself (the current one needed); the other sessions of the account end."""
    try:
        await change_own_password(
            uow=uow,
            hasher=hasher(request),
            account_id=user.id,
            current_token=request.cookies.get(COOKIE, ""),
            old_password=old_password,
            new_password=new_password,
            confirm_password=confirm_password,
            now=request.app.state.services.clock.now(),
        )
    except errors.StaffPasswordChangeFailed as exc:
        await uow.rollback()
        message = t(exc.message_keys()[0], user.lang, **exc.params)
        return await _page(request, uow, user, password_error=message, status=422)
    return redirect("/staff/account", flash="staff.account.password.changed")
