"""The profile: five questions asked once (before a first receipt) and changeable from «my data».

Every question is a step showing one reference list; :data:`QUESTIONS` says which. The locality list
(a city's wards and communes, a hundred or more) can be searched by typing part of a name.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from core import feedback as uc
from core.conversation.citizen.state import Step
from core.conversation.citizen.turn import Turn, back_and_menu, shorten
from core.conversation.model import Choice, Reply
from core.domain import Profile, ReferenceItem
from core.text import fold_for_search


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
    items = list(await turn.ctx.uow.reference.list(question.list_name))
    paged = step is Step.PROF_LOC
    lines = [turn._("profile.intro")] if step is Step.PROF_CAT else []
    lines.append(turn._(f"profile.{step.value}"))
    if paged and turn.state.profile_query:
        found = find_items(items, turn.state.profile_query, turn.lang)
        if found:
            items = found
            lines.append(turn._("profile.loc_found", query=turn.state.profile_query, count=len(found)))
        else:
            lines.append(turn._("profile.loc_none", query=turn.state.profile_query))
            turn.state.profile_query = None
    page_size = turn.ctx.settings.page_size * 2
    page = turn.state.profile_page if paged else 0
    if page * page_size >= len(items):
        page = turn.state.profile_page = 0
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
    if question.optional or (paged and page == 0):
        rows.append([Choice(turn._("button.skip"), "skip")])
    if step is Step.PROF_CAT:
        rows.append([Choice(turn._("profile.anonymous"), "anon")])
    rows.append(back_and_menu(turn))
    hint = turn._("profile.loc_hint") if paged else None
    turn.show(Reply("\n\n".join(lines), rows, expects_text=paged, input_hint=hint))


def find_items(items: Sequence[ReferenceItem], query: str, language: str) -> list[ReferenceItem]:
    """The items whose name holds every typed word (case and diacritics ignored), in list order."""
    words = fold_for_search(query).split()
    if not words:
        return []
    found = []
    for item in items:
        names = f" {fold_for_search(item.name_vi)} {fold_for_search(item.name(language))}"
        if all(f" {word}" in names for word in words):
            found.append(item)
    return found


async def type_locality(turn: Turn) -> None:
    """Typed text at the locality question finds wards and communes by name."""
    turn.state.profile_query = " ".join(turn.event.value.split())[:60] or None
    turn.state.profile_page = 0
    await turn.render()


async def choose_answer(turn: Turn) -> None:
    data = turn.event.value
    question = _BY_STEP[turn.state.step]
    step = question.step
    index = QUESTIONS.index(question)
    answers = turn.state.profile or Profile()
    turn.state.profile = answers
    if data == "back":
        turn.state.profile_page, turn.state.profile_query = 0, None
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
    skippable = question.optional or step is Step.PROF_LOC
    if (data == "skip" and skippable) or (data == "p:-" and step is Step.PROF_ORG):
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
    turn.state.profile_page, turn.state.profile_query = 0, None
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
    respondent = await turn.respondent()
    if respondent is None or respondent.id is None:
        await turn.goto(Step.CONSENT)
        return
    answers, turn.state.profile = turn.state.profile or Profile(), None
    turn.state.profile_first = False
    await uc.save_profile(uow=turn.ctx.uow, respondent_id=respondent.id, profile=answers)
    turn.know_respondent(dataclasses.replace(respondent, profile=answers, profile_done=True))
    turn.say(turn._("profile.saved_anonymous" if answers.anonymous else "profile.saved"))
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
