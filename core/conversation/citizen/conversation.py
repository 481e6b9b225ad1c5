"""The citizen conversation: one event in, the new state and the replies out.

``handle`` loads the stored state (any version, see ``state.py``), routes the event — a command, a
press, typed text or something unsupported — to the current step's row of :data:`STEPS`, and returns
the state as a dict again. It never raises for anything a person can do: unknown input, stale buttons
and domain errors become replies.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from core import errors
from core.conversation.citizen import (
    consent,
    draft_opinion,
    entry,
    menu,
    my_data,
    my_opinions,
    profile,
    public_mood,
    sections,
)
from core.conversation.citizen.state import Step, load_state
from core.conversation.citizen.turn import Flow, StepSpec, Turn
from core.conversation.model import Context, Event, Outcome
from core.i18n import t

_PROFILE_QUESTION = StepSpec(profile.render_question, profile.choose_answer)
_LOCALITY_QUESTION = StepSpec(profile.render_question, profile.choose_answer, text=profile.type_locality)

#: Every step: how it shows itself, what a press does there, what typed text does there.
STEPS: Mapping[Step, StepSpec] = {
    Step.NEW: StepSpec(menu.render_menu),  # never rendered: Turn.render() picks menu or consent
    Step.CONSENT: StepSpec(consent.render_consent, consent.choose_consent),
    Step.PRIVACY: StepSpec(consent.render_privacy, consent.choose_privacy),
    Step.DECLINED: StepSpec(consent.render_declined),
    Step.MENU: StepSpec(menu.render_menu, menu.choose_menu),
    Step.HELP: StepSpec(menu.render_help, menu.choose_help),
    Step.LANG: StepSpec(menu.render_lang, menu.choose_lang),
    # an opinion on a draft document
    Step.DOC: StepSpec(draft_opinion.render_doc, draft_opinion.choose_doc),
    Step.SEC: StepSpec(draft_opinion.render_sec, draft_opinion.choose_sec, text=sections.type_at_sec),
    Step.STANCE: StepSpec(
        draft_opinion.render_stance, draft_opinion.choose_stance, text=draft_opinion.type_at_stance
    ),
    # a mood entry about a congress
    Step.M_CONG: StepSpec(public_mood.render_m_cong, public_mood.choose_m_cong),
    Step.M_KIND: StepSpec(public_mood.render_m_kind, public_mood.choose_m_kind),
    Step.M_TOPIC: StepSpec(public_mood.render_m_topic, public_mood.choose_m_topic),
    # shared by both paths
    Step.TEXT: StepSpec(entry.render_text, entry.choose_text, text=entry.type_text),
    Step.CONFIRM: StepSpec(entry.render_confirm, entry.choose_confirm),
    Step.DONE: StepSpec(entry.render_done, entry.choose_done),
    # the profile
    Step.PROF_CAT: _PROFILE_QUESTION,
    Step.PROF_ORG: _PROFILE_QUESTION,
    Step.PROF_LOC: _LOCALITY_QUESTION,
    Step.PROF_AGE: _PROFILE_QUESTION,
    Step.PROF_GENDER: _PROFILE_QUESTION,
    # my opinions
    Step.MINE: StepSpec(my_opinions.render_mine, my_opinions.choose_mine),
    Step.MINE_ITEM: StepSpec(my_opinions.render_mine_item, my_opinions.choose_mine_item),
    Step.WITHDRAW: StepSpec(my_opinions.render_withdraw, my_opinions.choose_withdraw),
    # my data
    Step.MYDATA: StepSpec(my_data.render_mydata, my_data.choose_mydata),
    Step.ERASE: StepSpec(my_data.render_erase, my_data.choose_erase),
}

#: The paths to a receipt, by the entry's ``flow``.
FLOWS: Mapping[str, Flow] = {"draft": draft_opinion.DraftFlow(), "mood": public_mood.MoodFlow()}

#: Steps open before consent (everything else leads to the consent screen first).
_BEFORE_CONSENT = frozenset({Step.CONSENT, Step.LANG, Step.PRIVACY, Step.HELP})


class CitizenConversation:
    """The conversation every channel runs for citizens and union members."""

    def __init__(self, steps: Mapping[Step, StepSpec] = STEPS, flows: Mapping[str, Flow] = FLOWS) -> None:
        self.steps = steps
        self.flows = flows

    async def handle(self, state: Mapping[str, Any] | None, event: Event, ctx: Context) -> Outcome:
        """React to one event; never raises for anything a person can do."""
        turn = Turn(load_state(state), event, ctx, steps=self.steps, flows=self.flows)
        try:
            await _dispatch(turn)
        except errors.GopyError as exc:
            turn.say(t(exc.code, turn.lang, **_safe_params(exc.params)))
            if isinstance(exc, errors.ConsentRequired):
                # the state's copy of the respondent said consented, the database did not (erased meanwhile)
                turn.forget_respondent()
                turn.state.step = Step.CONSENT
            await turn.render()
        turn.keep_respondent()
        return Outcome(
            turn.state.to_dict(),
            turn.replies,
            turn.notice,
            turn.state.screen,
            submitted=turn.submitted,
            consented=turn.consented,
        )


async def _dispatch(turn: Turn) -> None:
    event = turn.event
    if event.kind == "command":
        await _command(turn)
        return
    if await turn.respondent() is None and turn.state.step not in _BEFORE_CONSENT:
        if event.kind == "choice":
            turn.stale()
        await turn.goto(Step.CONSENT)
        return
    spec = turn.steps[turn.state.step]
    if event.kind == "choice":
        if not turn.is_current(event.screen):
            turn.stale()
        elif event.value == "menu":
            await turn.goto(Step.MENU)
        elif spec.choice is None:
            turn.stale()
            await turn.render()
        else:
            await spec.choice(turn)
    elif event.kind == "unsupported":
        turn.say(turn._("error.unsupported_message"))
        await turn.render()
    elif spec.text is None:
        turn.say(turn._("error.use_buttons"))
        await turn.render()
    else:
        await spec.text(turn)


async def _command(turn: Turn) -> None:
    """``/start [org-<code>]``, ``/cancel``, ``/menu``, ``/help``, ``/language``, ``/mydata``, ``/privacy``."""
    name = turn.event.value
    if name == "start":
        await _start(turn)
    elif name in ("cancel", "menu"):
        turn.state.draft = None
        if await turn.respondent() is None:
            await turn.goto(Step.CONSENT)
            return
        if name == "cancel":
            turn.say(turn._("cancel.done"))
        await turn.goto(Step.MENU)
    elif name == "help":
        await menu.show_help(turn)
    elif name == "language":
        await turn.goto(Step.LANG)
    elif name == "privacy":
        await consent.show_privacy(turn, back=turn.state.step)
    elif name == "mydata":
        await turn.goto(Step.MYDATA if await turn.respondent() else Step.CONSENT)
    else:
        turn.say(turn._("error.unknown_command"))
        await turn.render()


async def _start(turn: Turn) -> None:
    """A deep link ``org-<code>`` tells the organisation: with the consent, or now when consented."""
    args = turn.event.args
    if args.startswith("org-"):
        turn.state.pending_org = args[4:][:60]
    # /start reads the respondent as stored (not the dialog state's copy): a conversation starts afresh
    respondent = await turn.respondent(fresh=True)
    turn.greet = True
    if respondent is not None and turn.state.pending_org:
        org, turn.state.pending_org = turn.state.pending_org, None
        if await turn.ctx.uow.reference.get("organisations", org) is not None:
            respondent.profile.organisation = org
            await turn.ctx.uow.respondents.update(respondent)
            await turn.ctx.uow.commit()
            turn.know_respondent(respondent)
    await turn.goto(Step.MENU if respondent else Step.CONSENT)


def _safe_params(params: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in params.items() if isinstance(v, str | int | float)}
