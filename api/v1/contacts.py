"""/v1/contacts: unit contacts with their state; invite (link and QR code), disable, re-enable, re-invite.
Admin keys only (contacts are people's names and chats)."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request
from pydantic import BaseModel, Field

from api.auth import require_scopes
from api.v1.deps import MAX_ID, Uow, now, services
from api.v1.schemas import ERRORS, InputLine
from core import errors
from core.api_keys import Principal, Scope
from core.config import Settings
from core.i18n import t
from core.reporting import Invite
from core.staff import contacts as uc
from formats.qr import qr_svg

router = APIRouter(prefix="/contacts", tags=["contacts"], responses=ERRORS)
ContactId = Annotated[int, Path(ge=1, le=MAX_ID)]
Admin = Depends(require_scopes(Scope.ADMIN))


class ContactRead(BaseModel):
    id: int
    name: str
    unit_code: str
    unit_name: str
    state: str = Field(description="invited, invite_expired, bound, unreachable, stopped or disabled")
    bound: bool
    language: str
    invite_expires_at: Any
    unreachable_reason: str | None = Field(
        default=None,
        description="why an unreachable contact needs another channel (forbidden, zalo_window...)",
    )


class InviteCreate(BaseModel):
    unit_code: Annotated[InputLine, Field(min_length=1, max_length=64)]
    name: Annotated[InputLine, Field(max_length=200)] = ""


class InviteRead(BaseModel):
    contact: ContactRead
    link: str = Field(description="the single-use deep link: shown once, only its hash is stored")
    expires_at: Any
    qr_svg: str = Field(description="the link as a QR code (SVG, self-contained), to print or show")
    zalo_code: str | None = Field(
        default=None, description="on Zalo (when the channel is on): the code the contact types to the OA"
    )
    zalo_follow_url: str | None = Field(default=None, description="the OA's follow link (a setting)")


def bot_username(request: Request) -> str:
    """The bot's username for deep links: the setting, or the one the running bot cached (no network)."""
    svc = services(request)
    if svc.settings.bot_username:
        return str(svc.settings.bot_username).lstrip("@")
    if svc.bot is not None:
        from bot.runtime import remembered_username

        cached = remembered_username(svc.settings.bot_identity_file, svc.bot.bot.id)
        if cached:
            return cached
    raise errors.BotUsernameUnknown()


def invite_username(request: Request) -> str | None:
    """The bot's username for an invite's Telegram link; None when only Zalo can bind the contact."""
    try:
        return bot_username(request)
    except errors.BotUsernameUnknown:
        if services(request).settings.zalo_configured:
            return None  # the contact types the code to the Zalo OA
        raise


def _invite(request: Request, invite: Invite, username: str) -> dict[str, Any]:
    settings = services(request).settings
    link = invite.link(username)
    expires = invite.contact.invite_expires_at
    local = expires.astimezone(settings.tz).strftime("%H:%M %d/%m/%Y") if expires else ""
    listing = uc.ContactListing(invite.contact, invite.unit, uc.ContactState.INVITED)
    return {
        "contact": listing.as_json(),
        "link": link,
        "expires_at": expires,
        "qr_svg": qr_svg(
            link,
            title=t("staff.contact.qr_title", "vi", unit=invite.unit.name_vi),
            description=t("staff.contact.qr_desc", "vi", expires=local),
        ),
        **zalo_invite(settings, invite),
    }


def zalo_invite(settings: Settings, invite: Invite) -> dict[str, str | None]:
    """On Zalo a contact binds by typing the invite's code to the OA, followed by its link."""
    if not settings.zalo_configured:
        return {"zalo_code": None, "zalo_follow_url": None}
    return {"zalo_code": invite.payload, "zalo_follow_url": settings.zalo_oa_follow_url}


def _ttl(request: Request) -> timedelta:
    return timedelta(hours=services(request).settings.invite_ttl_hours)


@router.get("", response_model=list[ContactRead])
async def list_contacts(
    request: Request,
    uow: Uow,
    unit_code: Annotated[str | None, Query(max_length=64)] = None,
    principal: Principal = Admin,
) -> list[dict[str, Any]]:
    """Every contact (of one unit) with its state; audited."""
    rows = await uc.list_contacts(uow=uow, actor=principal.actor, unit_code=unit_code, now=now(request))
    return [row.as_json() for row in rows]


@router.post("", response_model=InviteRead, status_code=201)
async def invite(
    request: Request, uow: Uow, body: InviteCreate, principal: Principal = Admin
) -> dict[str, Any]:
    """Invite a new contact of a unit: its single-use link and QR code, shown once."""
    username = bot_username(request)  # refuse before creating an invite nobody could open
    made = await uc.invite_unit_contact(
        uow=uow,
        actor=principal.actor,
        unit_code=body.unit_code,
        name=body.name,
        now=now(request),
        ttl=_ttl(request),
    )
    return _invite(request, made, username)


@router.post("/{contact_id}/disable", response_model=ContactRead)
async def disable(
    request: Request, uow: Uow, contact_id: ContactId, principal: Principal = Admin
) -> dict[str, Any]:
    """No more reminders or reports from this contact; audited."""
    return (
        await uc.disable_contact(uow=uow, actor=principal.actor, contact_id=contact_id, now=now(request))
    ).as_json()


@router.post("/{contact_id}/reenable", response_model=ContactRead)
async def reenable(
    request: Request, uow: Uow, contact_id: ContactId, principal: Principal = Admin
) -> dict[str, Any]:
    """Reminders again for an unreachable contact, or undo a disable; audited."""
    return (
        await uc.reenable_contact(uow=uow, actor=principal.actor, contact_id=contact_id, now=now(request))
    ).as_json()


@router.post("/{contact_id}/reinvite", response_model=InviteRead)
async def reinvite(
    request: Request, uow: Uow, contact_id: ContactId, principal: Principal = Admin
) -> dict[str, Any]:
    """A new single-use link for the same contact (the old one stops working); audited."""
    username = bot_username(request)
    made = await uc.reinvite_contact(
        uow=uow, actor=principal.actor, contact_id=contact_id, now=now(request), ttl=_ttl(request)
    )
    return _invite(request, made, username)
