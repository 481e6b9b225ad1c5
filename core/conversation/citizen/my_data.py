"""«My data»: what is stored about the person, changing the profile, erasing everything."""

from __future__ import annotations

from core import feedback as uc
from core.conversation.citizen import profile
from core.conversation.citizen.consent import end_politely
from core.conversation.citizen.state import Step
from core.conversation.citizen.turn import Turn, menu_button
from core.conversation.model import Choice, Reply


async def render_mydata(turn: Turn) -> None:
    respondent = await turn.respondent()
    if respondent is None or respondent.id is None:
        await turn.goto(Step.CONSENT)
        return
    count = await turn.ctx.uow.feedback.count_by_respondent(respondent.id)
    text = turn._(
        "mydata.text",
        consent_at=turn.fmt_date(respondent.consent_at),
        version=respondent.consent_version or "",
        profile=await profile.summary(turn, respondent.profile),
        count=count,
    )
    turn.show(
        Reply(
            text,
            [
                [Choice(turn._("confirm.edit_profile"), "prof")],
                [Choice(turn._("mydata.erase"), "erase")],
                [menu_button(turn)],
            ],
        )
    )


async def choose_mydata(turn: Turn) -> None:
    data = turn.event.value
    if data == "prof":
        respondent = await turn.respondent()
        await profile.start(turn, respondent.profile if respondent else None, then=Step.MYDATA)
    elif data == "erase":
        await turn.goto(Step.ERASE)
    else:
        turn.stale()


async def render_erase(turn: Turn) -> None:
    turn.show(
        Reply(
            turn._("erase.confirm"),
            [[Choice(turn._("erase.yes"), "yes")], [Choice(turn._("erase.no"), "no")]],
        )
    )


async def choose_erase(turn: Turn) -> None:
    respondent_id = await turn.respondent_id()
    if turn.event.value == "yes" and respondent_id is not None:
        count = await uc.erase_respondent(uow=turn.ctx.uow, respondent_id=respondent_id)
        turn.know_respondent(None)
        end_politely(turn)
        turn.say(turn._("erase.done", count=count))
    elif turn.event.value == "no":
        await turn.goto(Step.MYDATA)
    else:
        turn.stale()
