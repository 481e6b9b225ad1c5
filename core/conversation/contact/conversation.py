"""The unit contact's conversation: bind by invite, deadlines, history, report submission.

``handle`` loads the stored state (see ``state.py``) and routes the event: a command to
:data:`COMMANDS`, a press (``rp:<head>[:<arg>]``) to its row of :data:`CHOICES`, a file to the upload,
typed text to the current step's row of :data:`TEXTS`. Domain errors become a short message.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

from core import errors
from core.conversation.contact import binding, overview, report
from core.conversation.contact.state import REPORT_STEPS, ContactStep, load_state
from core.conversation.contact.turn import PREFIX, ContactContext, ContactTurn, IncomingFile, button
from core.conversation.model import Event, Outcome

ChoiceHandler = Callable[[ContactTurn, str], Awaitable[None]]
TurnHandler = Callable[[ContactTurn], Awaitable[None]]


@dataclass(frozen=True)
class ChoiceRow:
    """What a press does. ``bound``: only for the chat's bound contact (checked first; an unbound chat
    is told so); ``steps``: only in these steps; ``numeric``: the argument is an id."""

    handler: ChoiceHandler
    bound: bool = True
    steps: frozenset[ContactStep] | None = None
    numeric: bool = False

    def fits(self, step: ContactStep, arg: str) -> bool:
        return (self.steps is None or step in self.steps) and (not self.numeric or arg.isdigit())


#: Every press, by its head.
CHOICES: Mapping[str, ChoiceRow] = {
    "bind": ChoiceRow(binding.confirm_bind, bound=False, steps=frozenset({ContactStep.BIND})),
    "cancel": ChoiceRow(report.cancel, bound=False),
    "menu": ChoiceRow(overview.choose_menu, bound=False),
    "dl": ChoiceRow(overview.show_deadlines),
    "sub": ChoiceRow(overview.pick_period),
    "hist": ChoiceRow(overview.show_history),
    "p": ChoiceRow(report.start, numeric=True),  # a period from the list
    "r": ChoiceRow(report.start, numeric=True),  # a period from a reminder
    "o": ChoiceRow(overview.ask_offchannel, numeric=True),  # asks to confirm
    "oc": ChoiceRow(overview.claim_offchannel, numeric=True),
    "stop": ChoiceRow(binding.stop_reminders, steps=frozenset({ContactStep.LEAVE})),
    "z": ChoiceRow(overview.snooze, numeric=True),
    "skip": ChoiceRow(report.skip, steps=frozenset({ContactStep.SUMMARY, ContactStep.OPINIONS})),
    "ok": ChoiceRow(report.submit, steps=frozenset({ContactStep.CONFIRM})),
}

#: What typed text does, by step (elsewhere the person is asked to use the buttons).
TEXTS: Mapping[ContactStep, TurnHandler] = {
    ContactStep.SUMMARY: report.type_summary,
    ContactStep.OPINIONS: report.type_opinions,
    ContactStep.UPLOAD: report.text_at_upload,
}

#: The contact's commands (``/start`` only with an invite; other commands go to the citizen's).
COMMANDS: frozenset[str] = frozenset({"unit", "stop_reminders"})


class ContactConversation:
    """What a unit contact can do through a chat."""

    async def handle(
        self,
        state: Mapping[str, Any] | None,
        event: Event,
        ctx: ContactContext,
        file: IncomingFile | None = None,
    ) -> Outcome:
        """React to one event; domain errors become a short message, never an exception."""
        turn = ContactTurn(load_state(state), event, ctx)
        try:
            await _dispatch(turn, file)
        except errors.GopyError as exc:
            params = {k: v for k, v in exc.params.items() if isinstance(v, str | int)}
            turn.say(turn._(exc.code, **params), [[button(turn, "menu", "menu")]])
            if turn.state.step not in REPORT_STEPS:
                turn.state.step = ContactStep.MENU if turn.state.contact_id else ContactStep.IDLE
        return Outcome(turn.state.to_dict(), turn.replies, turn.notice, 0)


async def _dispatch(turn: ContactTurn, file: IncomingFile | None) -> None:
    event = turn.event
    if event.kind == "command":
        await _command(turn)
    elif event.kind == "choice":
        await _choice(turn, event.value.removeprefix(PREFIX))
    elif file is not None:
        await report.receive_file(turn, file)
    elif event.kind == "text":
        handler = TEXTS.get(turn.state.step)
        if handler is None:
            turn.say(turn._("reporting.use_buttons"))
        else:
            await handler(turn)
    else:
        turn.say(turn._("reporting.send_file"))


async def _command(turn: ContactTurn) -> None:
    if turn.event.value == "start" and binding.is_contact_start(turn.event.args):
        await binding.open_invite(turn)
    elif turn.event.value == "stop_reminders":
        await binding.ask_stop(turn)
    else:
        await overview.show_menu(turn)


async def _choice(turn: ContactTurn, data: str) -> None:
    head, _, arg = data.partition(":")
    row = CHOICES.get(head)
    step = turn.state.step
    if row is not None and not row.bound and row.fits(step, arg):
        await row.handler(turn, arg)
        return
    await turn.contact()  # an unbound chat is told so, whatever it pressed
    if row is not None and row.bound and row.fits(step, arg):
        await row.handler(turn, arg)
    else:
        turn.notice = turn._("reporting.stale")
