"""Becoming a unit's contact (an invite link, then a confirmation) and leaving the reminders."""

from __future__ import annotations

from core import reporting as uc
from core.conversation.contact.overview import show_menu
from core.conversation.contact.state import ContactStep
from core.conversation.contact.turn import ContactTurn, button
from core.reporting import INVITE_PREFIX


def is_contact_start(args: str) -> bool:
    return args.startswith(INVITE_PREFIX)


async def open_invite(turn: ContactTurn) -> None:
    """``/start u-<token>``: say whose contact the person would become, and ask to confirm."""
    invite_hash = uc.hash_invite(turn.event.args[len(INVITE_PREFIX) :])
    contact, unit = await uc.check_invite(uow=turn.ctx.uow, invite_hash=invite_hash, now=turn.ctx.now)
    turn.state.step, turn.state.invite = ContactStep.BIND, invite_hash
    ask = turn._("reporting.bind.ask", unit=unit.name(turn.lang), name=contact.name or "—")
    notice = turn._("reporting.bind.privacy", org=turn.ctx.settings.org(turn.lang))
    turn.say(
        f"{ask}\n\n{notice}",
        [[button(turn, "confirm", "bind"), button(turn, "cancel", "cancel")]],
    )


async def confirm_bind(turn: ContactTurn, _arg: str) -> None:
    _contact, unit = await uc.bind_contact(
        uow=turn.ctx.uow,
        invite_hash=str(turn.state.invite),
        chat_id=turn.ctx.chat_id,
        language=turn.lang,
        now=turn.ctx.now,
    )
    turn.state.invite = None
    turn.say(turn._("reporting.bind.done", unit=unit.name(turn.lang)))
    await show_menu(turn)


async def ask_stop(turn: ContactTurn) -> None:
    """``/stop_reminders``: say what leaving means (the invite is spent) and ask to confirm."""
    found = await uc.contact_of_chat(uow=turn.ctx.uow, chat_id=turn.ctx.chat_id)
    if found is None:
        turn.forget()
        turn.say(turn._("reporting.error.not_a_contact"))
        return
    _contact, unit = found
    turn.state.drop_report()
    turn.state.step = ContactStep.LEAVE
    turn.say(
        turn._("reporting.stop.ask", unit=unit.name(turn.lang)),
        [[button(turn, "stop", "stop"), button(turn, "cancel", "cancel")]],
    )


async def stop_reminders(turn: ContactTurn, _arg: str) -> None:
    """«Thôi nhận nhắc hạn» confirmed: the chat is no longer the unit's contact."""
    left = await uc.stop_reminders(uow=turn.ctx.uow, chat_id=turn.ctx.chat_id, now=turn.ctx.now)
    turn.forget()
    turn.say(turn._("reporting.stopped" if left else "reporting.error.not_a_contact"))
