"""The profile: five questions asked once (before a first receipt) and changeable from «my data».

Every question is a step showing one reference list; :data:`QUESTIONS` says which.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from core import feedback as uc
from core.conversation.citizen.state import Step
from core.conversation.citizen.turn import Turn, back_and_menu, shorten
from core.conversation.model import Choice, Reply
from core.domain import Profile


@dataclass(frozen=True)
class Question:
    step: Step
    list_name: str  # the reference list the answers come from
    field: str  # the Profile field it answers
    optional: bool = False


QUESTIONS = (
    Question(Step.PROF_CAT, "categories", "category"),
    Question(Step.PROF_ORG, "organisations", "organisation", optional=True),
    Question(Step.PROF_LOC, "localities", "locality"),
    Question(Step.PROF_AGE, "age_bands", "age_band", optional=True),
    Question(Step.PROF_GENDER, "genders", "gender", optional=True),
)
_BY_STEP = {q.step: q for q in QUESTIONS}


async def start(turn: Turn, current: Profile | None, *, then: Step, first: bool = False) -> None:
    """Ask the questions (answers start from ``current``), then go to ``then``."""
    turn.state.profile = dataclasses.replace(current) if current else Profile()
    turn.state.profile_return = then
    if first:
        turn.state.profile_first = True
    await turn.goto(Step.PROF_CAT)


async def render_question(turn: Turn) -> None:
    question = _BY_STEP[turn.state.step]
    step = question.step
    items = await turn.ctx.uow.reference.list(question.list_name)
    paged = step is Step.PROF_LOC
    page_size = turn.ctx.settings.page_size * 2
    page = turn.state.profile_page if paged else 0
    shown = items[page * page_size : (page + 1) * page_size] if paged else items
    rows = [
        [Choice(shorten(item.name(turn.lang), 30), f"p:{item.code}") for item in shown[i : i + 2]]
        for i in range(0, len(shown), 2)
    ]
    if paged and len(items) > page_size:
        nav = []
        if page > 0:
            nav.append(Choice(turn._("button.prev"), "pg:-1"))
        if (page + 1) * page_size < len(items):
            nav.append(Choice(turn._("button.next"), "pg:1"))
        rows.append(nav)
    if step is Step.PROF_ORG:
        rows.append([Choice(turn._("profile.no_org"), "p:-")])
    if question.optional:
        rows.append([Choice(turn._("button.skip"), "skip")])
    if step is Step.PROF_CAT:
        rows.append([Choice(turn._("profile.anonymous"), "anon")])
    rows.append(back_and_menu(turn))
    intro = turn._("profile.intro") + "\n\n" if step is Step.PROF_CAT else ""
    turn.show(Reply(intro + turn._(f"profile.{step.value}"), rows))


async def choose_answer(turn: Turn) -> None:
    data = turn.event.value
    question = _BY_STEP[turn.state.step]
    step = question.step
    index = QUESTIONS.index(question)
    answers = turn.state.profile or Profile()
    turn.state.profile = answers
    if data == "back":
        turn.state.profile_page = 0
        await turn.goto(QUESTIONS[index - 1].step if index else turn.state.profile_return or Step.MENU)
        return
    if data.startswith("pg:") and step is Step.PROF_LOC and data[3:].lstrip("-").isdigit():
        turn.state.profile_page = max(0, turn.state.profile_page + int(data[3:]))
        await turn.render()
        return
    if data == "anon" and step is Step.PROF_CAT:
        turn.state.profile = Profile(anonymous=True, organisation=answers.organisation)
        await _finish(turn)
        return
    if (data == "skip" and question.optional) or (data == "p:-" and step is Step.PROF_ORG):
        answers = _answer(answers, question, None)
    elif data.startswith("p:"):
        code = data[2:]
        if await turn.ctx.uow.reference.get(question.list_name, code) is None:
            turn.stale()
            await turn.render()
            return
        answers = dataclasses.replace(_answer(answers, question, code), anonymous=False)
    else:
        turn.stale()
        return
    turn.state.profile = answers
    turn.state.profile_page = 0
    following = [
        q.step
        for q in QUESTIONS[index + 1 :]
        # a deep link already told the organisation: do not ask it again the first time
        if not (q.step is Step.PROF_ORG and turn.state.profile_first and answers.organisation)
    ]
    if following:
        await turn.goto(following[0])
    else:
        await _finish(turn)


def _answer(answers: Profile, question: Question, code: str | None) -> Profile:
    changes: dict[str, Any] = {question.field: code}
    return dataclasses.replace(answers, **changes)


async def _finish(turn: Turn) -> None:
    respondent_id = await turn.respondent_id()
    if respondent_id is None:
        await turn.goto(Step.CONSENT)
        return
    answers, turn.state.profile = turn.state.profile or Profile(), None
    turn.state.profile_first = False
    await uc.save_profile(uow=turn.ctx.uow, respondent_id=respondent_id, profile=answers)
    turn.forget_respondent()
    turn.say(turn._("profile.saved"))
    back, turn.state.profile_return = turn.state.profile_return, None
    await turn.goto(back or Step.MENU)


async def summary(turn: Turn, profile: Profile) -> str:
    """The profile in words (the names of the answers in the person's language)."""
    if profile.anonymous and not profile.organisation:
        return turn._("profile.is_anonymous")
    names = []
    for list_name, code in (
        ("categories", profile.category),
        ("organisations", profile.organisation),
        ("localities", profile.locality),
        ("age_bands", profile.age_band),
        ("genders", profile.gender),
    ):
        if code:
            item = await turn.ctx.uow.reference.get(list_name, code)
            names.append(item.name(turn.lang) if item else code)
    if profile.anonymous:
        names.insert(0, turn._("profile.is_anonymous"))
    return " · ".join(names) if names else turn._("profile.empty")
