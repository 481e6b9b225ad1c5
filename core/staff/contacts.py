"""Unit contacts, staff side: the list with each contact's state, invite (audited), disable, re-enable an
unreachable or disabled one, and re-invite (a new single-use link for the same contact, no duplicate)."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from core import errors
from core.i18n import DEFAULT_LANGUAGE, catalog
from core.reporting import Contact, ContactStatus, Invite, Unit, hash_invite, invite_contact
from core.staff.audit import record_audit
from core.staff.ports import StaffUnitOfWork


class ContactState(StrEnum):
    """What a contact's row means to staff (catalog: ``staff.contact.state.<state>``)."""

    INVITED = "invited"  # the link is out and still valid
    INVITE_EXPIRED = "invite_expired"
    BOUND = "bound"  # a chat is bound; reminders are sent
    UNREACHABLE = "unreachable"  # bound, but Telegram refuses messages (blocked bot, deleted account)
    STOPPED = "stopped"  # the contact left (/stop): no reminders
    DISABLED = "disabled"  # by staff


def contact_state(contact: Contact, *, now: datetime) -> ContactState:
    if contact.status is ContactStatus.DISABLED:
        return ContactState.DISABLED
    if contact.status is ContactStatus.LEFT:
        return ContactState.STOPPED
    if contact.status is ContactStatus.ACTIVE:
        return ContactState.BOUND if contact.reachable else ContactState.UNREACHABLE
    expires = contact.invite_expires_at
    return ContactState.INVITED if expires is not None and expires > now else ContactState.INVITE_EXPIRED


@dataclass(frozen=True)
class ContactListing:
    contact: Contact
    unit: Unit
    state: ContactState
    # why an unreachable contact needs another channel: the error its channel adapter recorded
    reason: str | None = None

    @property
    def reason_key(self) -> str | None:
        """The catalog key of the reason (``staff.contact.reason.<reason>``, else the general one)."""
        if self.reason is None:
            return None
        key = f"staff.contact.reason.{self.reason}"
        return key if key in catalog(DEFAULT_LANGUAGE) else "staff.contact.reason"

    def as_json(self) -> dict[str, object]:
        return {
            "id": self.contact.id,
            "name": self.contact.name,
            "unit_code": self.unit.code,
            "unit_name": self.unit.name_vi,
            "state": self.state.value,
            "bound": self.contact.chat_id is not None,
            "language": self.contact.language,
            "invite_expires_at": self.contact.invite_expires_at,
            "unreachable_reason": self.reason,
        }


async def list_contacts(
    *, uow: StaffUnitOfWork, actor: str, now: datetime, unit_code: str | None = None
) -> list[ContactListing]:
    """Every contact (of one unit with ``unit_code``) with its state, by unit; the read is audited
    (names of people)."""
    units = await uow.reporting.list_units()
    if unit_code is not None:
        units = [u for u in units if u.code == unit_code]
        if not units:
            raise errors.UnitNotFound(unit=unit_code)
    reasons = await uow.reporting.unreachable_reasons()
    listing = [
        ContactListing(
            contact,
            unit,
            state := contact_state(contact, now=now),
            reasons.get(contact.id) if state is ContactState.UNREACHABLE else None,
        )
        for unit in units
        for contact in await uow.reporting.contacts_of_unit(unit.id)
    ]
    await record_audit(
        uow, actor=actor, action="read.contacts", target=unit_code, row_count=len(listing), now=now
    )
    await uow.commit()
    return listing


async def invite_unit_contact(
    *, uow: StaffUnitOfWork, actor: str, unit_code: str, name: str, now: datetime, ttl: timedelta
) -> Invite:
    """A new contact of a unit with a single-use, expiring invite link (audited ``contact.invite``)."""
    await record_audit(uow, actor=actor, action="contact.invite", target=unit_code, now=now)
    return await invite_contact(uow=uow, unit_code=unit_code, name=name, now=now, ttl=ttl)


async def _contact(uow: StaffUnitOfWork, contact_id: int) -> tuple[Contact, Unit]:
    contact = await uow.reporting.get_contact(contact_id)
    unit = await uow.reporting.get_unit_by_id(contact.unit_id) if contact is not None else None
    if contact is None or unit is None:
        raise errors.ContactNotFound(contact_id=contact_id)
    return contact, unit


async def disable_contact(
    *, uow: StaffUnitOfWork, actor: str, contact_id: int, now: datetime
) -> ContactListing:
    """Stop a contact's reminders and reports (a person who left the unit); audited. Its invite, if
    any, no longer works; :func:`reenable_contact` or :func:`reinvite_contact` bring it back."""
    contact, unit = await _contact(uow, contact_id)
    state = contact_state(contact, now=now)
    if state is ContactState.DISABLED:
        raise errors.ContactStateChange(state=state.value, action="disable")
    await uow.reporting.set_contact_state(
        contact_id, status=ContactStatus.DISABLED.value, reachable=contact.reachable
    )
    await record_audit(
        uow,
        actor=actor,
        action="contact.disable",
        target=str(contact_id),
        details={"was": state.value},
        now=now,
    )
    await uow.commit()
    return await _listing(uow, contact_id, now)


async def reenable_contact(
    *, uow: StaffUnitOfWork, actor: str, contact_id: int, now: datetime
) -> ContactListing:
    """Send reminders again to an unreachable contact (its chat is reachable again), or undo a disable
    (bound again if it had a chat, else back to its invite); audited."""
    contact, _unit = await _contact(uow, contact_id)
    state = contact_state(contact, now=now)
    if state is ContactState.UNREACHABLE:
        status = ContactStatus.ACTIVE
    elif state is ContactState.DISABLED:
        status = ContactStatus.ACTIVE if contact.chat_id is not None else ContactStatus.INVITED
    else:
        raise errors.ContactStateChange(state=state.value, action="reenable")
    await uow.reporting.set_contact_state(contact_id, status=status.value, reachable=True)
    await record_audit(
        uow,
        actor=actor,
        action="contact.reenable",
        target=str(contact_id),
        details={"was": state.value},
        now=now,
    )
    await uow.commit()
    return await _listing(uow, contact_id, now)


async def reinvite_contact(
    *, uow: StaffUnitOfWork, actor: str, contact_id: int, now: datetime, ttl: timedelta
) -> Invite:
    """A new single-use link for the same contact (no duplicate row); the previous link stops working.
    Refused for a bound, reachable contact (disable it first to move it to another chat); audited."""
    contact, unit = await _contact(uow, contact_id)
    state = contact_state(contact, now=now)
    if state is ContactState.BOUND:
        raise errors.ContactStateChange(state=state.value, action="reinvite")
    token = secrets.token_urlsafe(16)
    await uow.reporting.renew_invite(contact_id, invite_hash=hash_invite(token), expires_at=now + ttl)
    await record_audit(
        uow,
        actor=actor,
        action="contact.reinvite",
        target=str(contact_id),
        details={"was": state.value},
        now=now,
    )
    await uow.commit()
    renewed, _ = await _contact(uow, contact_id)
    return Invite(renewed, unit, token)


async def _listing(uow: StaffUnitOfWork, contact_id: int, now: datetime) -> ContactListing:
    contact, unit = await _contact(uow, contact_id)
    return ContactListing(contact, unit, contact_state(contact, now=now))
