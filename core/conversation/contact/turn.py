"""What every contact step works with: the context an adapter gives, the turn being handled."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from babel.numbers import format_decimal

from core import errors
from core import reporting as uc
from core.archives import ArchiveLimits
from core.conversation.contact.state import ContactState, ContactStep
from core.conversation.model import Choice, ConversationSettings, Event, Reply
from core.domain import ReportingPeriod
from core.i18n import t
from core.reporting import FileStore, ReminderPolicy, ReportingUnitOfWork

PREFIX = "rp:"
"""Every choice of this conversation starts with it, so an adapter can route presses here."""


@dataclass(frozen=True)
class IncomingFile:
    """A file the person sent; ``read`` downloads it (only called once the size was checked)."""

    size: int | None
    read: Callable[[], Awaitable[bytes]]
    name: str | None = None  # the name the file was sent under (shown back, never trusted for its type)


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
    settings: ConversationSettings = field(default_factory=ConversationSettings)  # the issuing body


class ContactTurn:
    """One event being handled: the state being built, the replies collected, the bound contact."""

    def __init__(self, state: ContactState, event: Event, ctx: ContactContext) -> None:
        self.state = state
        self.event = event
        self.ctx = ctx
        self.replies: list[Reply] = []
        self.notice: str | None = None
        self._found: tuple[uc.Contact, uc.Unit] | None = None

    @property
    def lang(self) -> str:
        return self.state.lang or self.ctx.language or "vi"

    def _(self, key: str, **params: Any) -> str:
        return t(key, self.lang, **params)

    def say(
        self, text: str, choices: list[list[Choice]] | None = None, *, expects_text: bool = False
    ) -> None:
        self.replies.append(Reply(text, choices or [], expects_text=expects_text))

    def fmt(self, moment: datetime) -> str:
        return moment.astimezone(self.ctx.policy.tz).strftime("%H:%M %d/%m/%Y")

    def due(self, due_at: datetime) -> str:
        """A deadline as people read it («hết ngày 04/12/2025»)."""
        return uc.deadline_text(due_at, self.ctx.policy.tz, self.lang)

    def number(self, value: float, pattern: str | None = None) -> str:
        """A number with the language's separators («1.250», «1,2» in Vietnamese)."""
        return str(format_decimal(value, format=pattern, locale=self.lang))

    def forget(self) -> None:
        """Back to nothing but the language (the chat is not, or no longer, a contact's)."""
        self.state = ContactState(step=ContactStep.IDLE, lang=self.lang)

    async def contact(self) -> tuple[uc.Contact, uc.Unit]:
        """The contact bound to this chat and their unit; :class:`errors.ContactNotBound` otherwise."""
        if self._found is None:
            found = await uc.contact_of_chat(uow=self.ctx.uow, chat_id=self.ctx.chat_id)
            if found is None:
                self.forget()
                raise errors.ContactNotBound()
            self._found = found
        self.state.contact_id = self._found[0].id
        return self._found

    async def period(self, unit: uc.Unit) -> ReportingPeriod:
        """The period of the report being submitted (it must still be one of the unit's)."""
        return await uc.unit_period(uow=self.ctx.uow, unit=unit, period_id=self.state.period or 0)


def button(turn: ContactTurn, key: str, data: str) -> Choice:
    return Choice(turn._(f"reporting.btn.{key}"), PREFIX + data)


def cancel_row(turn: ContactTurn) -> list[list[Choice]]:
    return [[button(turn, "cancel", "cancel")]]


def skip_cancel(turn: ContactTurn) -> list[list[Choice]]:
    return [[button(turn, "skip", "skip"), button(turn, "cancel", "cancel")]]
