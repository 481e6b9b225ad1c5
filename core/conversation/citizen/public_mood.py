"""The path of a mood entry (a concern, aspiration or recommendation about a congress): congress →
kind → topic, then the shared steps (see ``entry.py``) with :class:`MoodFlow`."""

from __future__ import annotations

from core import errors
from core import mood as mood_uc
from core.conversation.citizen import entry
from core.conversation.citizen.menu import new_client_ref
from core.conversation.citizen.state import MoodEntry, Step
from core.conversation.citizen.turn import Flow, Turn, back_and_menu, menu_button, shorten
from core.conversation.model import Choice, Reply
from core.domain import FeedbackKind, Receipt

_KIND_VALUES = {k.value for k in mood_uc.MOOD_KINDS}


async def mood_windows(turn: Turn) -> list[mood_uc.MoodWindow]:
    """The congresses taking entries now (or soon), each with its reporting periods."""
    plan = turn.ctx.uow.plan
    return mood_uc.congresses_for_mood(await plan.list_congresses(), await plan.list_periods(), turn.ctx.now)


async def _window(turn: Turn) -> mood_uc.MoodWindow | None:
    """The window of the entry's congress while it takes entries; otherwise say so, go to the list."""
    congress_id = turn.mood_entry.congress_id
    window = next((w for w in await mood_windows(turn) if w.congress.id == congress_id), None)
    if window is None:
        congress = await turn.ctx.uow.plan.get_congress(congress_id or 0)
        if congress is not None:
            turn.say(turn._("mood.closed", congress=congress.name(turn.lang)))
        await turn.goto(Step.M_CONG)
    return window


async def _next(turn: Turn, step: Step) -> None:
    """Go to ``step``, or back to the summary when the person came from it to change one thing."""
    await turn.goto(Step.CONFIRM if turn.mood_entry.return_confirm else step)


# ---------------------------------------------------------------------- congress


async def render_m_cong(turn: Turn) -> None:
    windows = await mood_windows(turn)
    if not windows:
        turn.show(Reply(turn._("mood.none_open"), [[menu_button(turn)]]))
        return
    lines = [turn._("mood.pick_congress")]
    rows: list[list[Choice]] = []
    for window in windows:
        name = window.congress.name(turn.lang)
        period = mood_uc.assign_period(window.congress, window.periods, turn.ctx.now)
        if period is not None:
            lines.append(turn._("mood.congress_line", congress=name, period=period.title(turn.lang)))
        rows.append([Choice(name, f"c:{window.congress.id}")])
    rows.append([menu_button(turn)])
    turn.show(Reply("\n".join(lines), rows))


async def choose_m_cong(turn: Turn) -> None:
    data = turn.event.value
    ids = {w.congress.id for w in await mood_windows(turn)}
    if not data.startswith("c:") or not data[2:].isdigit() or int(data[2:]) not in ids:
        turn.stale()
        await turn.render()
        return
    turn.mood_entry.congress_id = int(data[2:])
    await _next(turn, Step.M_KIND)


# ---------------------------------------------------------------------- kind


async def render_m_kind(turn: Turn) -> None:
    window = await _window(turn)
    if window is None:
        return
    rows = [[Choice(turn._(f"mood.kind.{k.value}"), f"mk:{k.value}")] for k in mood_uc.MOOD_KINDS]
    rows.append(back_and_menu(turn))
    turn.show(Reply(turn._("mood.pick_kind", congress=window.congress.name(turn.lang)), rows))


async def choose_m_kind(turn: Turn) -> None:
    data = turn.event.value
    if data == "back":
        await turn.goto(Step.M_CONG)
        return
    kind = data.removeprefix("mk:")
    if kind not in _KIND_VALUES:
        turn.stale()
        return
    turn.mood_entry.kind = FeedbackKind(kind)
    await _next(turn, Step.M_TOPIC)


# ---------------------------------------------------------------------- topic


async def render_m_topic(turn: Turn) -> None:
    topics = await turn.ctx.uow.reference.list("topics")
    rows = [
        [Choice(shorten(x.name(turn.lang), 30), f"t:{x.code}") for x in topics[i : i + 2]]
        for i in range(0, len(topics), 2)
    ]
    rows.append([Choice(turn._("button.skip"), "t:-")])
    rows.append(back_and_menu(turn))
    turn.show(Reply(turn._("mood.pick_topic"), rows))


async def choose_m_topic(turn: Turn) -> None:
    data = turn.event.value
    if data == "back":
        await turn.goto(Step.M_KIND)
        return
    if data == "t:-":
        turn.mood_entry.topic = None
    elif data.startswith("t:") and await turn.ctx.uow.reference.get("topics", data[2:]) is not None:
        turn.mood_entry.topic = data[2:]
    else:
        turn.stale()
        await turn.render()
        return
    await _next(turn, Step.TEXT)


# ---------------------------------------------------------------------- at the shared steps


class MoodFlow(Flow):
    """A mood entry about a congress."""

    name = "mood"
    text_back = Step.M_TOPIC
    another_key = "mood.another"

    def _kind(self, turn: Turn) -> FeedbackKind:
        return turn.mood_entry.kind or FeedbackKind.CONCERN

    async def text_prompt(self, turn: Turn, limit: int) -> str:
        kind = turn._(f"kind.{self._kind(turn).value}").lower()
        return turn._("mood.text_prompt", kind=kind, limit=limit)

    def missing_text_key(self, turn: Turn) -> str | None:
        return "mood.text_required"

    async def still_open(self, turn: Turn) -> bool:
        return await _window(turn) is not None

    async def summary(self, turn: Turn, *, text: str, profile: str) -> str:
        window = await _window(turn)
        assert window is not None  # still_open() came first in this turn
        period = mood_uc.assign_period(window.congress, window.periods, turn.ctx.now)
        topic_code = turn.mood_entry.topic
        topic = await turn.ctx.uow.reference.get("topics", topic_code) if topic_code else None
        return turn._(
            "mood.confirm_summary",
            congress=window.congress.name(turn.lang),
            period=period.title(turn.lang) if period else "—",
            kind=turn._(f"kind.{self._kind(turn).value}"),
            topic=topic.name(turn.lang) if topic else turn._("mood.no_topic"),
            text=text,
            profile=profile,
        )

    def edit_rows(self, turn: Turn, editing: bool) -> list[list[Choice]]:
        return [
            [Choice(turn._("confirm.edit_text"), "e:text"), Choice(turn._("mood.edit_kind"), "e:kind")],
            [Choice(turn._("mood.edit_congress"), "e:cong"), Choice(turn._("mood.edit_topic"), "e:topic")],
            [entry.edit_profile_choice(turn)],
        ]

    async def on_edit(self, turn: Turn, data: str) -> bool:
        step = {"e:kind": Step.M_KIND, "e:cong": Step.M_CONG, "e:topic": Step.M_TOPIC}.get(data)
        if step is None:
            return False
        await turn.goto(step)
        return True

    async def submit(self, turn: Turn, respondent_id: int) -> Receipt | None:
        draft = turn.mood_entry
        try:
            return await mood_uc.submit_mood_entry(
                uow=turn.ctx.uow,
                respondent_id=respondent_id,
                congress_id=draft.congress_id or 0,
                kind=self._kind(turn),
                topic=draft.topic,
                text=draft.text(),
                channel=turn.ctx.channel,
                now=turn.ctx.now,
                max_length=turn.ctx.settings.max_text_length,
                client_ref=draft.client_ref or new_client_ref(),
            )
        except (errors.CongressClosed, errors.CongressNotFound, errors.NoPeriodForEntry):
            await entry.not_sent(turn, "mood.closed_not_sent")
            return None

    async def receipt_text(self, turn: Turn, receipt: Receipt) -> str:
        plan = turn.ctx.uow.plan
        congress = await plan.get_congress(turn.mood_entry.congress_id or 0)
        period = None
        if congress is not None:
            period = mood_uc.assign_period(congress, await plan.list_periods(congress.id), receipt.created_at)
        return turn._(
            "mood.receipt", code=receipt.receipt_code, period=period.title(turn.lang) if period else "—"
        )

    def remembered(self, turn: Turn) -> MoodEntry:
        return MoodEntry(last_congress_id=turn.mood_entry.congress_id)

    async def again(self, turn: Turn) -> None:
        last = turn.mood_entry.last_congress_id
        windows = await mood_windows(turn)
        reopen = last is not None and any(w.congress.id == last for w in windows)
        turn.state.draft = MoodEntry(client_ref=new_client_ref(), congress_id=last if reopen else None)
        await turn.goto(Step.M_KIND if reopen else Step.M_CONG)
