"""Submitting a report: period → file → summary → number of opinions → confirm → receipt."""

from __future__ import annotations

import asyncio
import unicodedata
from functools import partial

from core import errors
from core import reporting as uc
from core.conversation.contact.overview import show_menu
from core.conversation.contact.state import ContactStep, ReportFile
from core.conversation.contact.turn import (
    PREFIX,
    ContactTurn,
    IncomingFile,
    button,
    cancel_row,
    skip_cancel,
)
from core.conversation.model import Choice

MAX_SUMMARY = 1000
MAX_FILE_NAME = 80


def _size(turn: ContactTurn, size: int) -> str:
    if size >= 1024 * 1024:
        return turn.number(size / (1024 * 1024), "#,##0.0") + " MB"
    return turn.number(max(1, size // 1024)) + " KB"


def _file_name(name: str | None) -> str | None:
    """The name a file was sent under, fit to show back: no path, no control characters, not too long."""
    if not name:
        return None
    base = name.replace("\\", "/").rsplit("/", 1)[-1]
    clean = " ".join("".join(" " if unicodedata.category(c)[0] == "C" else c for c in base).split())
    clean = unicodedata.normalize("NFC", clean)
    if len(clean) > MAX_FILE_NAME:
        clean = clean[: MAX_FILE_NAME - 1] + "…"
    return clean or None


def _retry_choices(turn: ContactTurn) -> list[list[Choice]]:
    """After a refused file: send another one (the period's request again), or cancel."""
    retry = Choice(turn._("reporting.btn.retry_file"), f"{PREFIX}p:{turn.state.period}")
    return [[retry], *cancel_row(turn)]


async def start(turn: ContactTurn, arg: str) -> None:
    """A period picked (from the list or a reminder): ask for its file."""
    _contact, unit = await turn.contact()
    period = await uc.unit_period(uow=turn.ctx.uow, unit=unit, period_id=int(arg))
    turn.state.drop_report()
    turn.state.step, turn.state.period = ContactStep.UPLOAD, period.id
    turn.say(
        turn._("reporting.upload.ask", period=period.title(turn.lang), due=turn.due(period.due_at)),
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
    try:
        stored = await _store(turn, file)
    except (errors.ReportFileTooLarge, errors.ReportFileType, errors.ArchiveRejected) as exc:
        params = {k: v for k, v in exc.params.items() if isinstance(v, str | int)}
        turn.say(turn._(exc.code, **params), _retry_choices(turn))
        return
    name = _file_name(file.name)
    turn.state.file = ReportFile(sha256=stored.sha256, size=stored.size, type=stored.type, name=name)
    turn.state.step = ContactStep.SUMMARY
    turn.say(
        turn._("reporting.summary.ask", type=stored.type.upper(), size=_size(turn, stored.size)),
        skip_cancel(turn),
        expects_text=True,
    )


async def _store(turn: ContactTurn, file: IncomingFile) -> uc.StoredReportFile:
    uc.check_report_size(file.size, max_bytes=turn.ctx.max_bytes)
    content = await file.read()
    # inflating an archive to check it takes up to a second: not on the event loop
    return await asyncio.to_thread(
        partial(
            uc.store_report_file,
            files=turn.ctx.files,
            content=content,
            max_bytes=turn.ctx.max_bytes,
            limits=turn.ctx.archive_limits,
        )
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
    about = f"{file.type.upper()}, {_size(turn, file.size)}"
    turn.say(
        turn._(
            "reporting.confirm",
            unit=unit.name(turn.lang),
            period=period.title(turn.lang),
            file=f"{file.name} ({about})" if file.name else about,
            summary=turn.state.summary or "—",
            opinions=turn.number(opinions) if opinions is not None else "—",
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
    turn.say(turn._(key, code=report.receipt_code, version=report.version, at=turn.fmt(report.submitted_at)))
    await show_menu(turn)
