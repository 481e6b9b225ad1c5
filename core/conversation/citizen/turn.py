"""What every step works with: the :class:`Turn` (one event being handled), the row type of the table
of steps (:class:`StepSpec`) and the :class:`Flow` interface of the two paths to a receipt."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from core import feedback as uc
from core.conversation.citizen.state import (
    AnyEntry,
    CitizenState,
    DocumentEntry,
    KnownRespondent,
    MoodEntry,
    Step,
)
from core.conversation.model import Choice, Context, Event, Reply
from core.domain import Receipt, Respondent
from core.i18n import t

PREVIEW_CHARS = 600
CONFIRM_TEXT_CHARS = 1500
RECENT_SCREENS = 6

Handler = Callable[["Turn"], Awaitable[None]]


@dataclass(frozen=True)
class StepSpec:
    """One row of the table of steps: how the step shows itself and how it reacts.

    ``choice`` handles a pressed button (None: every press there is stale); ``text`` handles typed text
    (None: the person is asked to use the buttons). The «menu» button is handled before any step.
    """

    render: Handler
    choice: Handler | None = None
    text: Handler | None = None


def shorten(text: str, limit: int) -> str:
    """Cut ``text`` to ``limit`` characters on a word boundary, with an ellipsis."""
    text = " ".join(text.split()) if "\n" not in text else text.strip()
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]
    if " " in cut[limit // 2 :]:
        cut = cut[: cut.rfind(" ")]
    return cut.rstrip(" ,.;:") + "…"


class Turn:
    """One event being handled: the state being built, the replies collected, helpers for the steps."""

    def __init__(
        self,
        state: CitizenState,
        event: Event,
        ctx: Context,
        *,
        steps: Mapping[Step, StepSpec],
        flows: Mapping[str, Flow],
    ) -> None:
        self.state = state
        self.event = event
        self.ctx = ctx
        self.steps = steps
        self.flows = flows
        self.replies: list[Reply] = []
        self.notice: str | None = None
        self.submitted: list[str] = []
        self.consented = False
        self.greet = False  # /start: the menu opens with a greeting that names the issuing body
        self._respondent: Respondent | None = None
        self._respondent_known = False
        self._copy_dropped = False

    # ------------------------------------------------------------------ texts and replies

    @property
    def lang(self) -> str:
        return self.state.lang or "vi"

    def _(self, key: str, **params: Any) -> str:
        return t(key, self.lang, **params)

    def say(self, text: str) -> None:
        self.replies.append(Reply(text))

    def show(self, reply: Reply) -> None:
        """Add a reply; one with choices is a new screen (its number travels with each press)."""
        if reply.choices:
            self.state.screen += 1
            recent = self.state.recent[-(RECENT_SCREENS - 1) :]
            self.state.recent = [*recent, (self.state.screen, self.state.step)]
        self.replies.append(reply)

    def stale(self) -> None:
        """The press does not fit the screen: a short notice, nothing else."""
        self.notice = self._("notice.stale")

    def is_current(self, screen: int | None) -> bool:
        """A press counts if it comes from the current screen or a recent screen of the same step."""
        if screen is None or screen == self.state.screen:
            return True
        return dict(self.state.recent).get(screen) == self.state.step

    def fmt_date(self, value: datetime | None) -> str:
        return value.astimezone(self.ctx.settings.tz).strftime("%d/%m/%Y %H:%M") if value else ""

    def fmt_deadline(self, value: datetime) -> str:
        """A closing time as people read it: «hết ngày 30/11/2025» for midnight, else the hour and day."""
        local = value.astimezone(self.ctx.settings.tz)
        if (local.hour, local.minute) == (0, 0):
            return self._("date.end_of_day", date=(local - timedelta(days=1)).strftime("%d/%m/%Y"))
        return self._("date.at_time", time=local.strftime("%H:%M"), date=local.strftime("%d/%m/%Y"))

    @property
    def org(self) -> str:
        """The issuing body, in the person's language."""
        return self.ctx.settings.org(self.lang)

    # ------------------------------------------------------------------ moving between steps

    async def goto(self, step: Step) -> None:
        self.state.step = step
        await self.render()

    async def render(self) -> None:
        """Show the screen of the current step again (a step without a screen: menu or consent)."""
        if self.state.step is Step.NEW:
            self.state.step = Step.MENU if await self.respondent() else Step.CONSENT
        await self.steps[self.state.step].render(self)

    # ------------------------------------------------------------------ who is talking

    async def respondent(self, *, fresh: bool = False) -> Respondent | None:
        """The consented respondent (None before consent, or when a new privacy notice needs one).

        Taken from the copy the dialog state keeps (``state.known``) when it is of the current privacy
        version; read from the database otherwise, or with ``fresh`` (before writing the row itself)."""
        if self._respondent_known and not fresh:
            return self._respondent
        version = self.ctx.settings.privacy_version
        known = None if fresh or self._copy_dropped else self.state.known
        if known is not None and known.consent_version == version:
            respondent: Respondent | None = known.respondent(self.ctx.channel, self.ctx.user_hash)
        else:
            respondent = await uc.find_respondent(
                uow=self.ctx.uow, channel=self.ctx.channel, user_hash=self.ctx.user_hash
            )
        if respondent is not None and respondent.consent_version != version:
            respondent = None
        self._respondent, self._respondent_known = respondent, True
        if respondent is not None:
            self.state.lang = respondent.language
        return respondent

    async def respondent_id(self) -> int | None:
        respondent = await self.respondent()
        return respondent.id if respondent is not None else None

    def know_respondent(self, respondent: Respondent | None) -> None:
        """The respondent as this turn has just written it (consent, profile, language), or None (erased)."""
        version = self.ctx.settings.privacy_version
        consented = respondent is not None and respondent.consent_version == version
        self._respondent, self._respondent_known = (respondent if consented else None), True

    def forget_respondent(self) -> None:
        """The copy in the dialog state proved wrong (a write found no consent): read it again when needed."""
        self._respondent_known, self._copy_dropped = False, True

    def keep_respondent(self) -> None:
        """Before the state is stored: keep what this turn knows of the respondent for the next events."""
        if self._respondent_known:
            respondent = self._respondent
            self.state.known = KnownRespondent.of(respondent) if respondent is not None else None
        elif self._copy_dropped:
            self.state.known = None

    # ------------------------------------------------------------------ the entry being written

    @property
    def entry(self) -> AnyEntry:
        """The entry being written (an opinion on a draft when none was started)."""
        if self.state.draft is None:
            self.state.draft = DocumentEntry()
        return self.state.draft

    @property
    def document_entry(self) -> DocumentEntry:
        entry = self.entry
        if not isinstance(entry, DocumentEntry):
            entry = self.state.draft = DocumentEntry(client_ref=entry.client_ref, parts=entry.parts)
        return entry

    @property
    def mood_entry(self) -> MoodEntry:
        entry = self.entry
        if not isinstance(entry, MoodEntry):
            entry = self.state.draft = MoodEntry(client_ref=entry.client_ref, parts=entry.parts)
        return entry

    @property
    def flow(self) -> Flow:
        """The path the current entry follows."""
        return self.flows[self.entry.flow]


class Flow(ABC):
    """What one path does at the shared steps: text prompt, summary, storing, receipt, «another one»."""

    name: str
    """The entry's ``flow`` (also the label of the submission metric)."""
    text_back: Step
    """The step before ``text`` (where «Back» leads)."""
    another_key: str = "submit.another"
    """Catalog key of the «another one» button after a receipt."""

    @abstractmethod
    async def text_prompt(self, turn: Turn, limit: int) -> str:
        """The invitation to write, with the limit."""

    @abstractmethod
    def missing_text_key(self, turn: Turn) -> str | None:
        """Catalog key of the reply when the text is required and none was given; None if optional."""

    @abstractmethod
    async def still_open(self, turn: Turn) -> bool:
        """True when the entry can still be sent; otherwise say why and move to a sensible step."""

    @abstractmethod
    async def summary(self, turn: Turn, *, text: str, profile: str) -> str:
        """The confirmation text."""

    @abstractmethod
    def edit_rows(self, turn: Turn, editing: bool) -> list[list[Choice]]:
        """The «change …» buttons of the confirmation screen."""

    @abstractmethod
    async def on_edit(self, turn: Turn, data: str) -> bool:
        """React to one of the path's own «change …» buttons; False for anything else."""

    @abstractmethod
    async def submit(self, turn: Turn, respondent_id: int) -> Receipt | None:
        """Store the entry; None when the flow already replied (edited, or no longer accepted)."""

    @abstractmethod
    async def receipt_text(self, turn: Turn, receipt: Receipt) -> str:
        """The receipt message."""

    @abstractmethod
    def remembered(self, turn: Turn) -> AnyEntry:
        """What the entry keeps after a receipt, for «another one»."""

    @abstractmethod
    async def again(self, turn: Turn) -> None:
        """Start another entry of the same path."""


def menu_button(turn: Turn) -> Choice:
    return Choice(turn._("button.menu"), "menu")


def back_and_menu(turn: Turn) -> list[Choice]:
    return [Choice(turn._("button.back"), "back"), menu_button(turn)]
