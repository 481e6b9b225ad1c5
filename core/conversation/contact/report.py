"""Submitting a report: period → file → summary → number of opinions → confirm → receipt."""

from __future__ import annotations

import asyncio
from functools import partial

from core import reporting as uc
from core.conversation.contact.overview import show_menu
from core.conversation.contact.state import ContactStep, ReportFile
from core.conversation.contact.turn import (
    ContactTurn,
    IncomingFile,
    button,
    cancel_row,
    skip_cancel,
)

MAX_SUMMARY = 1000


def _size(size: int) -> str:
    return f"{size / (1024 * 1024):.1f} MB" if size >= 1024 * 1024 else f"{max(1, size // 1024)} KB"


async def start(turn: ContactTurn, arg: str) -> None:
    """A period picked (from the list or a reminder): ask for its file."""
    _contact, unit = await turn.contact()
    period = await uc.unit_period(uow=turn.ctx.uow, unit=unit, period_id=int(arg))
    turn.state.drop_report()
    turn.state.step, turn.state.period = ContactStep.UPLOAD, period.id
    turn.say(
        turn._("reporting.upload.ask", period=period.title(turn.lang), due=turn.fmt(period.due_at)),
        cancel_row(turn),
    )


async def cancel(turn: ContactTurn, _arg: str) -> None:
    turn.state.invite = None
    turn.state.drop_report()
    turn.say(turn._("reporting.cancelled"))
    await show_menu(turn, quiet_when_unbound=True)


async def receive_file(turn: ContactTurn, file: IncomingFile) -> None:
    if turn.state.step is not ContactStep.UPLOAD or not turn.state.period:
        turn.say(turn._("reporting.file_unexpected"))
        return
    _contact, unit = await turn.contact()
    await turn.period(unit)
    uc.check_report_size(file.size, max_bytes=turn.ctx.max_bytes)
    content = await file.read()
    # inflating an archive to check it takes up to a second: not on the event loop
    stored = await asyncio.to_thread(
        partial(
            uc.store_report_file,
            files=turn.ctx.files,
            content=content,
            max_bytes=turn.ctx.max_bytes,
            limits=turn.ctx.archive_limits,
        )
    )
    turn.state.file = ReportFile(sha256=stored.sha256, size=stored.size, type=stored.type)
    turn.state.step = ContactStep.SUMMARY
    turn.say(
        turn._("reporting.summary.ask", type=stored.type.upper(), size=_size(stored.size)),
        skip_cancel(turn),
        expects_text=True,
    )


async def type_summary(turn: ContactTurn) -> None:
    turn.state.summary = turn.event.value.strip()[:MAX_SUMMARY]
    await _ask_opinions(turn)


async def type_opinions(turn: ContactTurn) -> None:
    value = turn.event.value.strip().replace(".", "").replace(",", "").replace(" ", "")
    if not value.isdigit() or len(value) > 9:
        turn.say(turn._("reporting.opinions.bad"), skip_cancel(turn))
        return
    turn.state.opinions = int(value)
    await _confirm(turn)


async def text_at_upload(turn: ContactTurn) -> None:
    turn.say(turn._("reporting.send_file"), cancel_row(turn))


async def skip(turn: ContactTurn, _arg: str) -> None:
    """«Skip» the summary or the number of opinions."""
    await turn.contact()
    if turn.state.step is ContactStep.SUMMARY:
        await _ask_opinions(turn)
    else:
        turn.state.opinions = None
        await _confirm(turn)


async def _ask_opinions(turn: ContactTurn) -> None:
    turn.state.step = ContactStep.OPINIONS
    turn.say(turn._("reporting.opinions.ask"), skip_cancel(turn), expects_text=True)


async def _confirm(turn: ContactTurn) -> None:
    turn.state.step = ContactStep.CONFIRM
    _contact, unit = await turn.contact()
    period = await turn.period(unit)
    file = turn.state.file
    if file is None:  # a state without its file (cannot be reached by pressing the buttons shown)
        await show_menu(turn)
        return
    opinions = turn.state.opinions
    turn.say(
        turn._(
            "reporting.confirm",
            unit=unit.name(turn.lang),
            period=period.title(turn.lang),
            type=file.type.upper(),
            size=_size(file.size),
            summary=turn.state.summary or "—",
            opinions=opinions if opinions is not None else "—",
        ),
        [[button(turn, "submit_now", "ok"), button(turn, "cancel", "cancel")]],
    )


async def submit(turn: ContactTurn, _arg: str) -> None:
    contact, _unit = await turn.contact()
    file = turn.state.file
    if file is None:
        await show_menu(turn)
        return
    report = await uc.submit_report(
        uow=turn.ctx.uow,
        contact_id=contact.id,
        period_id=turn.state.period or 0,
        file=uc.StoredReportFile(file.sha256, file.size, file.type),
        summary=turn.state.summary or "",
        opinions_count=turn.state.opinions,
        now=turn.ctx.now,
    )
    turn.state.drop_report()
    key = "reporting.receipt.late" if report.late else "reporting.receipt"
    turn.say(turn._(key, id=report.id, version=report.version, at=turn.fmt(report.submitted_at)))
    await show_menu(turn)
