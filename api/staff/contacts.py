"""/staff/contacts (admin): the units' contacts with their state; invite one (the single-use link and
its QR code on a printable page, shown once), disable, re-enable, re-invite (a new link, the same row).
Thin routes over core.staff.contacts."""

from __future__ import annotations

import base64
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Form, Path, Request
from fastapi.responses import Response

from api.errors import translate
from api.staff.rendering import redirect, render
from api.staff.security import StaffRoute, StaffUser, require_staff
from api.unit_of_work import Uow
from api.v1.contacts import invite_username, zalo_invite
from core import errors
from core.i18n import t
from core.reporting import Invite
from core.staff import contacts as uc
from core.staff.reporting import list_reporting_units
from formats.qr import qr_svg

router = APIRouter(route_class=StaffRoute, include_in_schema=False)
ContactId = Annotated[int, Path(ge=1, le=2**31 - 1)]


async def _page(
    request: Request, uow: Uow, user: StaffUser, *, error: str | None = None, status: int = 200
) -> Response:
    svc = request.app.state.services
    rows = await uc.list_contacts(uow=uow, actor=user.actor, now=svc.clock.now())
    return render(
        request,
        "contacts.html",
        {
            "rows": sorted(rows, key=lambda r: (r.unit.name(user.lang), r.contact.id)),
            "units": await list_reporting_units(uow=uow),
            "error": error,
            "tz": svc.settings.tz,
        },
        user=user,
        status_code=status,
    )


@router.get("/staff/contacts")
async def contacts_page(request: Request, uow: Uow, user: StaffUser = require_staff("admin")) -> Response:
    return await _page(request, uow, user)


def _refusal(exc: errors.GopyError, lang: str) -> str:
    if isinstance(exc, errors.ContactStateChange):
        state = t(f"staff.contact.state.{exc.params.get('state', '')}", lang)
        return t("staff.contacts.refused", lang, state=state)
    return translate(exc.code, lang, exc.params)


def _invite_page(
    request: Request, user: StaffUser, invite: Invite, username: str | None, *, again: bool
) -> Response:
    settings = request.app.state.services.settings
    link = invite.link(username) if username else ""  # none: Zalo only (the code to type to the OA)
    expires = invite.contact.invite_expires_at
    local = expires.astimezone(settings.tz).strftime("%H:%M %d/%m/%Y") if expires else ""
    unit_name = invite.unit.name(user.lang)
    svg = qr_svg(
        link or invite.payload,
        title=t("staff.contact.qr_title", user.lang, unit=unit_name),
        description=t("staff.contact.qr_desc", user.lang, expires=local),
    )
    return render(
        request,
        "invite.html",
        {
            "invite": invite,
            "unit_name": unit_name,
            "link": link,
            "expires": local,
            "again": again,
            # a data: URI (the CSP allows data: images): the token never appears in a URL or a log
            "qr_src": "data:image/svg+xml;base64," + base64.b64encode(svg.encode("utf-8")).decode("ascii"),
            "qr_alt": t("staff.contact.qr_title", user.lang, unit=unit_name),
            **zalo_invite(settings, invite),  # beside it, the code to type to the Zalo OA and its link
        },
        user=user,
    )


def _ttl(request: Request) -> timedelta:
    return timedelta(hours=request.app.state.services.settings.invite_ttl_hours)


@router.post("/staff/contacts/invite")
async def invite(
    request: Request,
    uow: Uow,
    unit_code: Annotated[str, Form(min_length=1, max_length=64)],
    name: Annotated[str, Form(max_length=200)] = "",
    user: StaffUser = require_staff("admin"),
) -> Response:
    """A new contact of a unit: its single-use link and QR code, shown once (audited)."""
    try:
        username = invite_username(request)  # refuse before creating an invite nobody could open
        made = await uc.invite_unit_contact(
            uow=uow,
            actor=user.actor,
            unit_code=unit_code,
            name=name,
            now=request.app.state.services.clock.now(),
            ttl=_ttl(request),
        )
    except (errors.BotUsernameUnknown, errors.NotFound, errors.InvalidQuery) as exc:
        await uow.rollback()
        return await _page(request, uow, user, error=_refusal(exc, user.lang), status=_status(exc))
    return _invite_page(request, user, made, username, again=False)


@router.post("/staff/contacts/{contact_id}/reinvite")
async def reinvite(
    request: Request, uow: Uow, contact_id: ContactId, user: StaffUser = require_staff("admin")
) -> Response:
    """A new single-use link for the same contact (the old one stops working; audited)."""
    try:
        username = invite_username(request)
        made = await uc.reinvite_contact(
            uow=uow,
            actor=user.actor,
            contact_id=contact_id,
            now=request.app.state.services.clock.now(),
            ttl=_ttl(request),
        )
    except (errors.BotUsernameUnknown, errors.ContactStateChange, errors.NotFound) as exc:
        await uow.rollback()
        return await _page(request, uow, user, error=_refusal(exc, user.lang), status=_status(exc))
    return _invite_page(request, user, made, username, again=True)


def _status(exc: errors.GopyError) -> int:
    if isinstance(exc, errors.NotFound):
        return 404
    return 409 if isinstance(exc, errors.ContactStateChange) else 422


async def _change(
    request: Request,
    uow: Uow,
    user: StaffUser,
    action: Callable[..., Awaitable[Any]],
    contact_id: int,
    flash: str,
) -> Response:
    try:
        await action(
            uow=uow, actor=user.actor, contact_id=contact_id, now=request.app.state.services.clock.now()
        )
    except (errors.ContactStateChange, errors.NotFound) as exc:
        await uow.rollback()
        return await _page(request, uow, user, error=_refusal(exc, user.lang), status=_status(exc))
    return redirect("/staff/contacts", flash=flash)


@router.post("/staff/contacts/{contact_id}/disable")
async def disable(
    request: Request, uow: Uow, contact_id: ContactId, user: StaffUser = require_staff("admin")
) -> Response:
    """No more reminders or reports from this contact (audited)."""
    return await _change(request, uow, user, uc.disable_contact, contact_id, "staff.contacts.disabled")


@router.post("/staff/contacts/{contact_id}/reenable")
async def reenable(
    request: Request, uow: Uow, contact_id: ContactId, user: StaffUser = require_staff("admin")
) -> Response:
    """Reminders again for an unreachable contact, or undo a disable (audited)."""
    return await _change(request, uow, user, uc.reenable_contact, contact_id, "staff.contacts.reenabled")
