"""The unit contact's conversation, channel-neutral: bind by invite, deadlines, report submission.

Its dialog state is kept apart from the citizen's (the adapter stores it under its own key). Choices
carry the prefix ``rp:`` so a channel adapter can route them here.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from functools import partial
from typing import Any

from core import errors
from core import reporting as uc
from core.archives import ArchiveLimits
from core.conversation.model import Choice, Event, Outcome, Reply
from core.i18n import t
from core.reporting import INVITE_PREFIX, FileStore, ReminderPolicy, ReportingUnitOfWork

PREFIX = "rp:"
#: Steps in which the contact's texts and files belong to this conversation (not the citizen's).
ACTIVE_STEPS = frozenset({"bind", "upload", "summary", "opinions", "confirm"})
COMMANDS = frozenset({"unit", "stop_reminders"})
MAX_SUMMARY = 1000
HISTORY_SIZE = 10


@dataclass(frozen=True)
class IncomingFile:
    """A file the person sent; ``read`` downloads it (only called once the size was checked)."""

    size: int | None
    read: Callable[[], Awaitable[bytes]]


@dataclass
class ContactContext:
    uow: ReportingUnitOfWork
    files: FileStore
    chat_id: int
    language: str
    now: datetime
    policy: ReminderPolicy = field(default_factory=ReminderPolicy)
    max_bytes: int = uc.MAX_REPORT_BYTES
    archive_limits: ArchiveLimits = field(default_factory=ArchiveLimits)


def is_contact_start(args: str) -> bool:
    return args.startswith(INVITE_PREFIX)


class _Turn:
    def __init__(self, state: dict[str, Any], ctx: ContactContext) -> None:
        self.state = state
        self.ctx = ctx
        self.replies: list[Reply] = []
        self.notice: str | None = None

    @property
    def lang(self) -> str:
        return str(self.state.get("lang") or self.ctx.language or "vi")

    def _(self, key: str, **params: Any) -> str:
        return t(key, self.lang, **params)

    def say(
        self, text: str, choices: list[list[Choice]] | None = None, *, expects_text: bool = False
    ) -> None:
        self.replies.append(Reply(text, choices or [], expects_text=expects_text))

    def fmt(self, moment: datetime) -> str:
        return moment.astimezone(self.ctx.policy.tz).strftime("%H:%M %d/%m/%Y")


class ContactConversation:
    """What a unit contact can do through a chat."""

    async def handle(
        self,
        state: dict[str, Any] | None,
        event: Event,
        ctx: ContactContext,
        file: IncomingFile | None = None,
    ) -> Outcome:
        """React to one event; domain errors become a short message, never an exception."""
        turn = _Turn(dict(state or {}), ctx)
        turn.state.setdefault("step", "idle")
        try:
            await self._dispatch(turn, event, file)
        except errors.GopyError as exc:
            params = {k: v for k, v in exc.params.items() if isinstance(v, str | int)}
            turn.say(turn._(exc.code, **params), [[Choice(turn._("reporting.btn.menu"), "rp:menu")]])
            if turn.state.get("step") not in ("upload", "summary", "opinions", "confirm"):
                turn.state["step"] = "menu" if turn.state.get("contact_id") else "idle"
        return Outcome(turn.state, turn.replies, turn.notice, 0)

    async def _dispatch(self, turn: _Turn, event: Event, file: IncomingFile | None) -> None:
        if event.kind == "command":
            await self._command(turn, event)
        elif event.kind == "choice":
            await self._choice(turn, event.value.removeprefix(PREFIX))
        elif file is not None:
            await self._file(turn, file)
        elif event.kind == "text":
            await self._text(turn, event.value)
        else:
            turn.say(turn._("reporting.send_file"))

    # ------------------------------------------------------------------ commands

    async def _command(self, turn: _Turn, event: Event) -> None:
        if event.value == "start" and is_contact_start(event.args):
            invite_hash = uc.hash_invite(event.args[len(INVITE_PREFIX) :])
            contact, unit = await uc.check_invite(uow=turn.ctx.uow, invite_hash=invite_hash, now=turn.ctx.now)
            turn.state.update(step="bind", invite=invite_hash)
            turn.say(
                turn._("reporting.bind.ask", unit=unit.name(turn.lang), name=contact.name or "—"),
                [
                    [
                        Choice(turn._("reporting.btn.confirm"), "rp:bind"),
                        Choice(turn._("reporting.btn.cancel"), "rp:cancel"),
                    ]
                ],
            )
        elif event.value == "stop_reminders":
            left = await uc.stop_reminders(uow=turn.ctx.uow, chat_id=turn.ctx.chat_id, now=turn.ctx.now)
            turn.state = {"step": "idle", "lang": turn.lang}
            turn.say(turn._("reporting.stopped" if left else "reporting.error.not_a_contact"))
        else:
            await self._menu(turn)

    # ------------------------------------------------------------------ choices

    async def _choice(self, turn: _Turn, data: str) -> None:
        head, _, arg = data.partition(":")
        if head == "bind" and turn.state.get("step") == "bind":
            contact, unit = await uc.bind_contact(
                uow=turn.ctx.uow,
                invite_hash=str(turn.state.get("invite")),
                chat_id=turn.ctx.chat_id,
                language=turn.lang,
                now=turn.ctx.now,
            )
            turn.state.pop("invite", None)
            turn.say(turn._("reporting.bind.done", unit=unit.name(turn.lang)))
            await self._menu(turn)
            return
        if head == "cancel":
            for key in ("invite", "period", "file", "summary", "opinions"):
                turn.state.pop(key, None)
            turn.say(turn._("reporting.cancelled"))
            await self._menu(turn, quiet_when_unbound=True)
            return
        if head == "menu":
            await self._menu(turn)
            return
        who = await self._contact(turn)
        contact, unit = who
        if head == "dl":
            await self._deadlines(turn, unit)
        elif head == "sub":
            await self._pick_period(turn, unit)
        elif head == "hist":
            await self._history(turn, unit)
        elif head in ("p", "r") and arg.isdigit():
            period = await uc.unit_period(uow=turn.ctx.uow, unit=unit, period_id=int(arg))
            for key in ("file", "summary", "opinions"):
                turn.state.pop(key, None)
            turn.state.update(step="upload", period=period.id)
            turn.say(
                turn._("reporting.upload.ask", period=period.title(turn.lang), due=turn.fmt(period.due_at)),
                [[Choice(turn._("reporting.btn.cancel"), "rp:cancel")]],
            )
        elif head == "o" and arg.isdigit():
            await uc.claim_offchannel(
                uow=turn.ctx.uow, contact_id=contact.id, period_id=int(arg), now=turn.ctx.now
            )
            turn.notice = turn._("reporting.offchannel.done")
            turn.say(turn._("reporting.offchannel.done"))
        elif head == "z" and arg.isdigit():
            at = await uc.snooze_reminder(
                uow=turn.ctx.uow,
                contact_id=contact.id,
                period_id=int(arg),
                now=turn.ctx.now,
                policy=turn.ctx.policy,
            )
            turn.notice = turn._("reporting.snoozed", at=turn.fmt(at))
        elif head == "skip" and turn.state.get("step") == "summary":
            await self._ask_opinions(turn)
        elif head == "skip" and turn.state.get("step") == "opinions":
            turn.state["opinions"] = None
            await self._confirm(turn)
        elif head == "ok" and turn.state.get("step") == "confirm":
            await self._submit(turn, contact.id)
        else:
            turn.notice = turn._("reporting.stale")

    # ------------------------------------------------------------------ texts and files

    async def _text(self, turn: _Turn, text: str) -> None:
        step = turn.state.get("step")
        if step == "summary":
            turn.state["summary"] = text.strip()[:MAX_SUMMARY]
            await self._ask_opinions(turn)
        elif step == "opinions":
            value = text.strip().replace(".", "").replace(",", "").replace(" ", "")
            if not value.isdigit() or len(value) > 9:
                turn.say(turn._("reporting.opinions.bad"), self._skip_cancel(turn))
                return
            turn.state["opinions"] = int(value)
            await self._confirm(turn)
        elif step == "upload":
            turn.say(turn._("reporting.send_file"), [[Choice(turn._("reporting.btn.cancel"), "rp:cancel")]])
        else:
            turn.say(turn._("reporting.use_buttons"))

    async def _file(self, turn: _Turn, file: IncomingFile) -> None:
        if turn.state.get("step") != "upload" or not turn.state.get("period"):
            turn.say(turn._("reporting.file_unexpected"))
            return
        _contact, unit = await self._contact(turn)
        await uc.unit_period(uow=turn.ctx.uow, unit=unit, period_id=int(turn.state["period"]))
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
        turn.state["file"] = {"sha256": stored.sha256, "size": stored.size, "type": stored.type}
        turn.state["step"] = "summary"
        turn.say(
            turn._("reporting.summary.ask", type=stored.type.upper(), size=_size(stored.size)),
            self._skip_cancel(turn),
            expects_text=True,
        )

    # ------------------------------------------------------------------ screens

    def _skip_cancel(self, turn: _Turn) -> list[list[Choice]]:
        return [
            [
                Choice(turn._("reporting.btn.skip"), "rp:skip"),
                Choice(turn._("reporting.btn.cancel"), "rp:cancel"),
            ]
        ]

    async def _ask_opinions(self, turn: _Turn) -> None:
        turn.state["step"] = "opinions"
        turn.say(turn._("reporting.opinions.ask"), self._skip_cancel(turn), expects_text=True)

    async def _confirm(self, turn: _Turn) -> None:
        turn.state["step"] = "confirm"
        _contact, unit = await self._contact(turn)
        period = await uc.unit_period(uow=turn.ctx.uow, unit=unit, period_id=int(turn.state["period"]))
        file = turn.state["file"]
        opinions = turn.state.get("opinions")
        turn.say(
            turn._(
                "reporting.confirm",
                unit=unit.name(turn.lang),
                period=period.title(turn.lang),
                type=str(file["type"]).upper(),
                size=_size(int(file["size"])),
                summary=turn.state.get("summary") or "—",
                opinions=opinions if opinions is not None else "—",
            ),
            [
                [
                    Choice(turn._("reporting.btn.submit_now"), "rp:ok"),
                    Choice(turn._("reporting.btn.cancel"), "rp:cancel"),
                ]
            ],
        )

    async def _submit(self, turn: _Turn, contact_id: int) -> None:
        file = turn.state["file"]
        report = await uc.submit_report(
            uow=turn.ctx.uow,
            contact_id=contact_id,
            period_id=int(turn.state["period"]),
            file=uc.StoredReportFile(str(file["sha256"]), int(file["size"]), str(file["type"])),
            summary=str(turn.state.get("summary") or ""),
            opinions_count=turn.state.get("opinions"),
            now=turn.ctx.now,
        )
        for key in ("period", "file", "summary", "opinions"):
            turn.state.pop(key, None)
        key = "reporting.receipt.late" if report.late else "reporting.receipt"
        turn.say(turn._(key, id=report.id, version=report.version, at=turn.fmt(report.submitted_at)))
        await self._menu(turn)

    async def _menu(self, turn: _Turn, *, quiet_when_unbound: bool = False) -> None:
        found = await uc.contact_of_chat(uow=turn.ctx.uow, chat_id=turn.ctx.chat_id)
        if found is None:
            turn.state = {"step": "idle", "lang": turn.lang}
            if not quiet_when_unbound:
                turn.say(turn._("reporting.error.not_a_contact"))
            return
        contact, unit = found
        turn.state.update(step="menu", contact_id=contact.id, lang=contact.language)
        turn.say(
            turn._("reporting.menu", unit=unit.name(turn.lang)),
            [
                [Choice(turn._("reporting.btn.deadlines"), "rp:dl")],
                [Choice(turn._("reporting.btn.submit"), "rp:sub")],
                [Choice(turn._("reporting.btn.history"), "rp:hist")],
            ],
        )

    async def _contact(self, turn: _Turn) -> tuple[uc.Contact, uc.Unit]:
        found = await uc.contact_of_chat(uow=turn.ctx.uow, chat_id=turn.ctx.chat_id)
        if found is None:
            turn.state = {"step": "idle", "lang": turn.lang}
            raise errors.ContactNotBound()
        turn.state["contact_id"] = found[0].id
        return found

    async def _deadlines(self, turn: _Turn, unit: uc.Unit) -> None:
        items = await uc.unit_deadlines(uow=turn.ctx.uow, unit=unit, now=turn.ctx.now)
        lines = []
        for d in items:
            if d.report is not None:
                status = turn._("reporting.status.submitted", at=turn.fmt(d.report.submitted_at))
            else:
                status = uc.time_left_text(d.period.due_at, turn.ctx.now, turn.lang)
            lines.append(f"• {d.period.title(turn.lang)} — {turn.fmt(d.period.due_at)} ({status})")
        body = "\n".join(lines) or turn._("reporting.none")
        turn.say(
            turn._("reporting.deadlines", unit=unit.name(turn.lang)) + "\n" + body, self._menu_choices(turn)
        )

    async def _pick_period(self, turn: _Turn, unit: uc.Unit) -> None:
        items = await uc.unit_deadlines(uow=turn.ctx.uow, unit=unit, now=turn.ctx.now)
        choices = [[Choice(d.period.title(turn.lang)[:60], f"rp:p:{d.period.id}")] for d in items[:8]]
        if not choices:
            turn.say(turn._("reporting.none"), self._menu_choices(turn))
            return
        choices.append([Choice(turn._("reporting.btn.cancel"), "rp:cancel")])
        turn.say(turn._("reporting.pick_period"), choices)

    async def _history(self, turn: _Turn, unit: uc.Unit) -> None:
        reports = await turn.ctx.uow.reporting.reports_of_unit(unit.id, limit=HISTORY_SIZE)
        titles = {p.id: p.title(turn.lang) for p in await turn.ctx.uow.plan.list_periods()}
        lines = [
            turn._(
                "reporting.history.line",
                period=titles.get(r.period_id, "?"),
                version=r.version,
                at=turn.fmt(r.submitted_at),
                kind=(r.file_type or "").upper() or turn._("reporting.offchannel.short"),
                late=turn._("reporting.late") if r.late else "",
            )
            for r in reports
        ]
        body = "\n".join(lines) or turn._("reporting.none")
        turn.say(
            turn._("reporting.history", unit=unit.name(turn.lang)) + "\n" + body, self._menu_choices(turn)
        )

    def _menu_choices(self, turn: _Turn) -> list[list[Choice]]:
        return [
            [
                Choice(turn._("reporting.btn.submit"), "rp:sub"),
                Choice(turn._("reporting.btn.menu"), "rp:menu"),
            ]
        ]


def _size(size: int) -> str:
    return f"{size / (1024 * 1024):.1f} MB" if size >= 1024 * 1024 else f"{max(1, size // 1024)} KB"
