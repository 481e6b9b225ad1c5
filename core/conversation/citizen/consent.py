"""Consent: nothing about a person is stored before they accept the privacy notice."""

from __future__ import annotations

from core import feedback as uc
from core.conversation.citizen.state import CitizenState, Step
from core.conversation.citizen.turn import Turn
from core.conversation.model import Choice, Reply


async def render_consent(turn: Turn) -> None:
    turn.show(
        Reply(
            turn._("consent.notice", version=turn.ctx.settings.privacy_version),
            [
                [Choice(turn._("consent.accept"), "yes")],
                [Choice(turn._("consent.decline"), "no")],
                [Choice(turn._("menu.language"), "lang")],
            ],
        )
    )


async def choose_consent(turn: Turn) -> None:
    data = turn.event.value
    if data == "yes":
        organisation, turn.state.pending_org = turn.state.pending_org, None
        await uc.record_consent(
            uow=turn.ctx.uow,
            channel=turn.ctx.channel,
            user_hash=turn.ctx.user_hash,
            language=turn.lang,
            version=turn.ctx.settings.privacy_version,
            now=turn.ctx.now,
            organisation=organisation,
        )
        turn.forget_respondent()
        turn.consented = True
        turn.say(turn._("consent.thanks"))
        await turn.goto(Step.MENU)
    elif data == "no":
        end_politely(turn)
        turn.say(turn._("consent.declined"))
    elif data == "lang":
        turn.state.lang_return = Step.CONSENT
        await turn.goto(Step.LANG)
    else:
        turn.stale()


def end_politely(turn: Turn) -> None:
    """Forget everything of the conversation but its language (after a refusal or an erasure)."""
    turn.state = CitizenState(step=Step.DECLINED, lang=turn.lang, screen=turn.state.screen)


async def render_declined(turn: Turn) -> None:
    turn.say(turn._("consent.declined"))
