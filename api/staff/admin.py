"""/staff/admin (admin only): staff accounts, API keys (shown once), the audit log, visible settings."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response

from api.staff.auth_pages import hasher
from api.staff.rendering import redirect, render
from api.staff.security import StaffRoute, StaffUser, require_staff
from api.unit_of_work import Uow
from core import errors
from core.api_keys import Scope
from core.i18n import t
from core.reporting.reminders import reminder_policy
from core.staff.accounts import (
    ROLES,
    change_staff_role,
    create_staff_account,
    list_staff_accounts,
    set_staff_disabled,
)
from core.staff.api_keys import create_api_key, list_api_keys, revoke_api_key
from core.staff.audit import list_audit
from core.staff.ports import AuditFilters
from core.staff.second_factor import reset_totp

router = APIRouter(route_class=StaffRoute, include_in_schema=False)
AUDIT_PAGE = 200


async def _admin_page(
    request: Request,
    uow: Uow,
    user: StaffUser,
    *,
    new_key: str | None = None,
    error: str | None = None,
    status: int = 200,
) -> Response:
    settings = request.app.state.services.settings
    policy = reminder_policy(settings)
    return render(
        request,
        "admin.html",
        {
            "accounts": await list_staff_accounts(uow=uow),
            "keys": await list_api_keys(uow=uow),
            "roles": ROLES,
            "scopes": [s.value for s in Scope],
            "new_key": new_key,
            "error": error,
            "visible_settings": [
                ("staff.admin.setting.org_name", settings.org_name),
                ("staff.admin.setting.org_name_en", settings.org_name_en or "—"),
                ("staff.admin.setting.timezone", settings.timezone),
                ("staff.admin.setting.quiet_hours", settings.quiet_hours or "—"),
                ("staff.admin.setting.reminder_days", ", ".join(str(d) for d in policy.days_before)),
                ("staff.admin.setting.reminder_time", settings.reminder_time),
                ("staff.admin.setting.overdue_days", str(policy.overdue_days)),
                ("staff.admin.setting.digest_time", settings.digest_time or "—"),
            ],
        },
        user=user,
        status_code=status,
    )


@router.get("/staff/admin")
async def admin_home(request: Request, uow: Uow, user: StaffUser = require_staff("admin")) -> Response:
    return await _admin_page(request, uow, user)


@router.post("/staff/admin/accounts")
async def admin_create_account(
    request: Request,
    uow: Uow,
    email: Annotated[str, Form(max_length=254)],
    role: Annotated[str, Form(max_length=16)],
    password: Annotated[str, Form(max_length=1024)],
    user: StaffUser = require_staff("admin"),
) -> Response:
    try:
        await create_staff_account(
            uow=uow,
            hasher=hasher(request),
            actor=user.actor,
            email=email,
            role=role,
            password=password,
            now=request.app.state.services.clock.now(),
        )
    except (errors.StaffAccountExists, errors.StaffInvalidAccount) as exc:
        await uow.rollback()
        return await _admin_page(request, uow, user, error=t(exc.code, user.lang, **exc.params), status=422)
    return redirect("/staff/admin", flash="staff.admin.account_created")


@router.post("/staff/admin/accounts/{account_id}/role")
async def admin_change_role(
    request: Request,
    uow: Uow,
    account_id: int,
    role: Annotated[str, Form(max_length=16)],
    user: StaffUser = require_staff("admin"),
) -> Response:
    await change_staff_role(
        uow=uow,
        actor=user.actor,
        account_id=account_id,
        role=role,
        now=request.app.state.services.clock.now(),
    )
    return redirect("/staff/admin", flash="staff.admin.account_changed")


@router.post("/staff/admin/accounts/{account_id}/disable")
async def admin_disable(
    request: Request,
    uow: Uow,
    account_id: int,
    disabled: Annotated[bool, Form()] = True,
    user: StaffUser = require_staff("admin"),
) -> Response:
    await set_staff_disabled(
        uow=uow,
        actor=user.actor,
        account_id=account_id,
        disabled=disabled,
        now=request.app.state.services.clock.now(),
    )
    return redirect("/staff/admin", flash="staff.admin.account_changed")


@router.post("/staff/admin/accounts/{account_id}/totp-reset")
async def admin_reset_totp(
    request: Request, uow: Uow, account_id: int, user: StaffUser = require_staff("admin")
) -> Response:
    """Remove an account's second factor (a lost phone); its sessions end; audited."""
    try:
        await reset_totp(
            uow=uow, actor=user.actor, account_id=account_id, now=request.app.state.services.clock.now()
        )
    except errors.StaffAccountNotFound:
        return redirect("/staff/admin", flash="staff.error.account_not_found", level="error")
    return redirect("/staff/admin", flash="staff.account.admin.totp_reset_done")


@router.post("/staff/admin/keys")
async def admin_create_key(
    request: Request,
    uow: Uow,
    name: Annotated[str, Form(min_length=1, max_length=100)],
    scopes: Annotated[list[str], Form()],
    user: StaffUser = require_staff("admin"),
) -> Response:
    known = {s.value for s in Scope}
    chosen = sorted({s for s in scopes if s in known})
    if not chosen:
        return await _admin_page(request, uow, user, error=t("staff.admin.key_scopes", user.lang), status=422)
    _, key = await create_api_key(
        uow=uow, actor=user.actor, name=name, scopes=chosen, now=request.app.state.services.clock.now()
    )
    return await _admin_page(request, uow, user, new_key=key.secret)


@router.post("/staff/admin/keys/{key_id}/revoke")
async def admin_revoke_key(
    request: Request, uow: Uow, key_id: int, user: StaffUser = require_staff("admin")
) -> Response:
    await revoke_api_key(
        uow=uow, actor=user.actor, key=str(key_id), now=request.app.state.services.clock.now()
    )
    return redirect("/staff/admin", flash="staff.admin.key_revoked")


def _day(value: str | None, tz: object) -> datetime | None:
    if not value:
        return None
    try:
        day = datetime.strptime(value[:10], "%Y-%m-%d").date()
    except ValueError:
        return None
    return datetime.combine(day, time(0), tzinfo=tz)  # type: ignore[arg-type]


@router.get("/staff/admin/audit")
async def admin_audit(
    request: Request,
    uow: Uow,
    actor: str | None = None,
    action: str | None = None,
    since: str | None = None,
    until: str | None = None,
    user: StaffUser = require_staff("admin"),
) -> Response:
    """The audit log, newest first, filtered by actor (part of it), action (its start) and dates."""
    tz = request.app.state.services.settings.tz
    end = _day(until, tz)
    filters = AuditFilters(
        actor=(actor or "").strip()[:120] or None,
        action=(action or "").strip()[:64] or None,
        since=_day(since, tz),
        until=end + timedelta(days=1) if end else None,
    )
    rows = await list_audit(uow=uow, limit=AUDIT_PAGE, filters=filters)
    return render(
        request,
        "audit.html",
        {
            "rows": rows,
            "tz": tz,
            "query": {
                "actor": actor or "",
                "action": action or "",
                "since": since or "",
                "until": until or "",
            },
        },
        user=user,
    )
