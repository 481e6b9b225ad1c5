"""The main menu, help and the choice of language."""

from __future__ import annotations

import uuid

from core import feedback as uc
from core.conversation.citizen.state import DocumentEntry, MoodEntry, Step
from core.conversation.citizen.turn import Turn, menu_button
from core.conversation.model import Choice, Reply
from core.i18n import LANGUAGES

#: menu buttons that lead straight to a step
_MENU_STEPS = {"mine": Step.MINE, "help": Step.HELP, "lang": Step.LANG, "mydata": Step.MYDATA}


def new_client_ref() -> str:
    return uuid.uuid4().hex[:16]


async def render_menu(turn: Turn) -> None:
    turn.state.draft = None
    turn.show(
        Reply(
            turn._("menu.title"),
            [
                [Choice(turn._("menu.feedback"), "fb")],
                [Choice(turn._("mood.menu"), "mood")],
                [Choice(turn._("menu.mine"), "mine")],
                [Choice(turn._("menu.help"), "help"), Choice(turn._("menu.language"), "lang")],
                [Choice(turn._("menu.mydata"), "mydata")],
            ],
        )
    )


async def choose_menu(turn: Turn) -> None:
    data = turn.event.value
    if data == "fb":
        turn.state.draft = DocumentEntry(client_ref=new_client_ref())
        await turn.goto(Step.DOC)
    elif data == "mood":
        turn.state.draft = MoodEntry(client_ref=new_client_ref())
        await turn.goto(Step.M_CONG)
    elif data in _MENU_STEPS:
        if data == "lang":
            turn.state.lang_return = Step.MENU
        await turn.goto(_MENU_STEPS[data])
    else:
        turn.stale()


async def render_help(turn: Turn) -> None:
    turn.show(
        Reply(
            turn._("help.text", limit=turn.ctx.settings.max_text_length) + "\n\n" + turn._("mood.help"),
            [[menu_button(turn)]],
        )
    )


async def choose_help(turn: Turn) -> None:
    turn.stale()


async def render_lang(turn: Turn) -> None:
    turn.show(
        Reply(
            turn._("language.pick"),
            [[Choice("🇻🇳 Tiếng Việt", "vi"), Choice("🇬🇧 English", "en")]],
        )
    )


async def choose_lang(turn: Turn) -> None:
    language = turn.event.value
    if language not in LANGUAGES:
        turn.stale()
        return
    turn.state.lang = language
    respondent = await turn.respondent()
    if respondent is not None and respondent.id is not None:
        await uc.set_language(uow=turn.ctx.uow, respondent_id=respondent.id, language=language)
        turn.state.lang = language
    turn.say(turn._("language.changed"))
    back, turn.state.lang_return = turn.state.lang_return, None
    await turn.goto(back or (Step.MENU if respondent else Step.CONSENT))
