"""The contact's menu and what it shows: deadlines, history; the reminders' own buttons (reported
off-channel, remind me later)."""

from __future__ import annotations

from core import reporting as uc
from core.conversation.contact.state import ContactStep
from core.conversation.contact.turn import ContactTurn, button
from core.conversation.model import Choice

HISTORY_SIZE = 10


async def show_menu(turn: ContactTurn, *, quiet_when_unbound: bool = False) -> None:
    found = await uc.contact_of_chat(uow=turn.ctx.uow, chat_id=turn.ctx.chat_id)
    if found is None:
        turn.forget()
        if not quiet_when_unbound:
            turn.say(turn._("reporting.error.not_a_contact"))
        return
    contact, unit = found
    turn.state.step, turn.state.contact_id, turn.state.lang = ContactStep.MENU, contact.id, contact.language
    turn.say(
        turn._("reporting.menu", unit=unit.name(turn.lang)),
        [
            [button(turn, "deadlines", "dl")],
            [button(turn, "submit", "sub")],
            [button(turn, "history", "hist")],
        ],
    )


async def choose_menu(turn: ContactTurn, _arg: str) -> None:
    await show_menu(turn)


def _menu_choices(turn: ContactTurn) -> list[list[Choice]]:
    return [[button(turn, "submit", "sub"), button(turn, "menu", "menu")]]


def _deadline_line(turn: ContactTurn, d: uc.Deadline) -> str:
    if d.report is not None:
        status = turn._("reporting.status.submitted", at=turn.fmt(d.report.submitted_at))
    else:
        status = uc.time_left_text(d.period.due_at, turn.ctx.now, turn.lang)
    return turn._(
        "reporting.deadline.line",
        period=d.period.title(turn.lang),
        due=turn.due(d.period.due_at),
        status=status,
    )


async def show_deadlines(turn: ContactTurn, _arg: str) -> None:
    """Current and upcoming periods by date; overdue ones (not submitted) once, under their heading."""
    _contact, unit = await turn.contact()
    found = await uc.unit_deadlines(uow=turn.ctx.uow, unit=unit, now=turn.ctx.now)
    parts = [
        turn._("reporting.deadlines", unit=unit.name(turn.lang)),
        turn._("reporting.deadlines.upcoming"),
        *([_deadline_line(turn, d) for d in found.upcoming] or [turn._("reporting.none")]),
    ]
    if found.overdue:
        parts += [
            "",
            turn._("reporting.deadlines.overdue"),
            *(_deadline_line(turn, d) for d in found.overdue),
        ]
    turn.say("\n".join(parts), _menu_choices(turn))


async def show_history(turn: ContactTurn, _arg: str) -> None:
    _contact, unit = await turn.contact()
    reports = await turn.ctx.uow.reporting.reports_of_unit(unit.id, limit=HISTORY_SIZE)
    titles = {p.id: p.title(turn.lang) for p in await turn.ctx.uow.plan.list_periods()}
    lines = [
        turn._(
            "reporting.history.line",
            period=titles.get(r.period_id, "?"),
            version=r.version,
            at=turn.fmt(r.submitted_at),
            code=r.receipt_code,
            kind=(r.file_type or "").upper() or turn._("reporting.offchannel.short"),
            late=turn._("reporting.late") if r.late else "",
        )
        for r in reports
    ]
    body = "\n".join(lines) or turn._("reporting.none")
    turn.say(turn._("reporting.history", unit=unit.name(turn.lang)) + "\n" + body, _menu_choices(turn))


async def pick_period(turn: ContactTurn, _arg: str) -> None:
    _contact, unit = await turn.contact()
    found = await uc.unit_deadlines(uow=turn.ctx.uow, unit=unit, now=turn.ctx.now)
    items = found.to_submit()
    choices = [[Choice(d.period.title(turn.lang)[:60], f"rp:p:{d.period.id}")] for d in items[:8]]
    if not choices:
        turn.say(turn._("reporting.none"), _menu_choices(turn))
        return
    choices.append([button(turn, "cancel", "cancel")])
    turn.say(turn._("reporting.pick_period"), choices)


async def ask_offchannel(turn: ContactTurn, arg: str) -> None:
    """«Reported another way» (a reminder's button): say what it records, and ask to confirm."""
    _contact, unit = await turn.contact()
    period = await uc.unit_period(uow=turn.ctx.uow, unit=unit, period_id=int(arg))
    turn.say(
        turn._("reporting.offchannel.ask", period=period.title(turn.lang), unit=unit.name(turn.lang)),
        [[button(turn, "confirm", f"oc:{period.id}"), button(turn, "cancel", "cancel")]],
    )


async def claim_offchannel(turn: ContactTurn, arg: str) -> None:
    """«Reported another way», confirmed: recorded for staff to confirm; the reminders stop."""
    contact, _unit = await turn.contact()
    await uc.claim_offchannel(uow=turn.ctx.uow, contact_id=contact.id, period_id=int(arg), now=turn.ctx.now)
    turn.notice = turn._("reporting.offchannel.done")
    turn.say(turn._("reporting.offchannel.done"))


async def snooze(turn: ContactTurn, arg: str) -> None:
    """«Remind me later» (a reminder's button)."""
    contact, _unit = await turn.contact()
    at = await uc.snooze_reminder(
        uow=turn.ctx.uow, contact_id=contact.id, period_id=int(arg), now=turn.ctx.now, policy=turn.ctx.policy
    )
    turn.notice = turn._("reporting.snoozed", at=turn.fmt(at))
