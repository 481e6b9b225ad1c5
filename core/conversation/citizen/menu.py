"""The main menu, help (about what can be done from where the person is) and the choice of language."""

from __future__ import annotations

import uuid
from dataclasses import replace

from core import feedback as uc
from core.conversation.citizen.state import DocumentEntry, MoodEntry, Step
from core.conversation.citizen.turn import Turn, menu_button
from core.conversation.model import Choice, Reply
from core.i18n import LANGUAGES

#: menu buttons that lead straight to a step
_MENU_STEPS = {"mine": Step.MINE, "lang": Step.LANG, "mydata": Step.MYDATA}

#: steps where an entry is being written: help explains that step and how to leave it
_WRITING = frozenset(
    {Step.DOC, Step.SEC, Step.STANCE, Step.TEXT, Step.CONFIRM, Step.M_CONG, Step.M_KIND, Step.M_TOPIC}
)
_PROFILE = frozenset({Step.PROF_CAT, Step.PROF_ORG, Step.PROF_LOC, Step.PROF_AGE, Step.PROF_GENDER})


def new_client_ref() -> str:
    return uuid.uuid4().hex[:16]


async def render_menu(turn: Turn) -> None:
    turn.state.draft = None
    text = turn._("menu.title")
    if turn.greet:
        text = turn._("welcome.back", org=turn.org) + "\n\n" + text
    turn.show(
        Reply(
            text,
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
    elif data == "help":
        await show_help(turn)
    elif data in _MENU_STEPS:
        if data == "lang":
            turn.state.lang_return = Step.MENU
        await turn.goto(_MENU_STEPS[data])
    else:
        turn.stale()


async def show_help(turn: Turn) -> None:
    """Help about where the person is now; «Back» returns there."""
    if turn.state.step is not Step.HELP:
        turn.state.help_return = turn.state.step
    await turn.goto(Step.HELP)


async def _help_key(turn: Turn) -> str:
    where = turn.state.help_return or Step.MENU
    if await turn.respondent() is None:
        return "help.before_consent"
    if where in _WRITING:
        return "help.writing"
    if where in _PROFILE:
        return "help.profile"
    if where in (Step.MINE, Step.MINE_ITEM, Step.WITHDRAW):
        return "help.mine"
    if where in (Step.MYDATA, Step.ERASE):
        return "help.mydata"
    return "help.text"


async def render_help(turn: Turn) -> None:
    key = await _help_key(turn)
    text = turn._(key, limit=turn.ctx.settings.max_text_length)
    if key == "help.text":
        text += "\n\n" + turn._("mood.help")
    back = turn.state.help_return
    rows = [[Choice(turn._("button.back"), "back")]] if back not in (None, Step.MENU, Step.HELP) else []
    if await turn.respondent() is not None:
        rows.append([menu_button(turn)])
    turn.show(Reply(text, rows))


async def choose_help(turn: Turn) -> None:
    if turn.event.value != "back":
        turn.stale()
        return
    back, turn.state.help_return = turn.state.help_return, None
    await turn.goto(back or Step.NEW)


async def render_lang(turn: Turn) -> None:
    turn.show(
        Reply(
            turn._("language.pick"),
            [[Choice("Tiếng Việt", "vi"), Choice("English", "en")]],
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
        turn.know_respondent(replace(respondent, language=language))
        turn.state.lang = language
    turn.say(turn._("language.changed"))
    back, turn.state.lang_return = turn.state.lang_return, None
    await turn.goto(back or (Step.MENU if respondent else Step.CONSENT))
