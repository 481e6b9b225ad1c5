"""«My opinions»: the person's latest entries, one entry's details, changing or withdrawing it."""

from __future__ import annotations

from core import feedback as uc
from core import mood as mood_uc
from core.conversation.citizen.sections import path_of
from core.conversation.citizen.state import DocumentEntry, Step
from core.conversation.citizen.turn import (
    CONFIRM_TEXT_CHARS,
    Turn,
    back_and_menu,
    menu_button,
    shorten,
)
from core.conversation.model import Choice, Reply
from core.domain import Feedback, Stance

MY_LIST_LIMIT = 10


def _stance_or_kind(turn: Turn, item: Feedback) -> str:
    return turn._(f"stance.{item.stance.value}") if item.stance else turn._(f"kind.{item.kind.value}")


async def render_mine(turn: Turn) -> None:
    respondent_id = await turn.respondent_id()
    if respondent_id is None:
        await turn.goto(Step.CONSENT)
        return
    items = await uc.list_my_feedback(uow=turn.ctx.uow, respondent_id=respondent_id, limit=MY_LIST_LIMIT)
    if not items:
        turn.show(Reply(turn._("mine.empty"), [[menu_button(turn)]]))
        return
    lines = [turn._("mine.title")]
    rows = []
    for item in items:
        status = turn._(f"status.{item.status.value}")
        stance = _stance_or_kind(turn, item)
        lines.append(f"• {item.receipt_code} — {stance} — {status} — {turn.fmt_date(item.created_at)}")
        label = f"{item.receipt_code} · {shorten(item.text or stance, 30)}"
        rows.append([Choice(label, f"f:{item.receipt_code}")])
    rows.append([menu_button(turn)])
    turn.show(Reply("\n".join(lines), rows))


async def choose_mine(turn: Turn) -> None:
    data = turn.event.value
    if not data.startswith("f:"):
        turn.stale()
        return
    turn.state.mine_code = data[2:]
    await turn.goto(Step.MINE_ITEM)


async def render_mine_item(turn: Turn) -> None:
    respondent_id = await turn.respondent_id()
    if respondent_id is None:
        await turn.goto(Step.CONSENT)
        return
    uow = turn.ctx.uow
    item = await uc.get_my_feedback(uow=uow, respondent_id=respondent_id, receipt_code=turn.state.mine_code)
    changeable = await uc.can_change(uow=uow, feedback=item, now=turn.ctx.now)
    common = {
        "code": item.receipt_code,
        "status": turn._(f"status.{item.status.value}"),
        "at": turn.fmt_date(item.created_at),
        "text": shorten(item.text, CONFIRM_TEXT_CHARS) if item.text else turn._("confirm.no_text"),
    }
    if item.kind in mood_uc.MOOD_KINDS:
        text = await _mood_item_text(turn, item, common)
    else:
        document = await uow.documents.get(item.document_id) if item.document_id else None
        section = await uow.sections.get(item.section_id) if item.section_id else None
        text = turn._(
            "mine.item",
            document=document.title if document else "—",
            section=await path_of(uow.sections, section) if section else turn._("sec.whole_document_label"),
            stance=_stance_or_kind(turn, item),
            **common,
        )
    rows = []
    if changeable and item.stance is not None:
        rows.append([Choice(turn._("mine.edit"), "edit"), Choice(turn._("mine.withdraw"), "withdraw")])
    elif changeable:
        rows.append([Choice(turn._("mine.withdraw"), "withdraw")])
    elif item.status.value == "active":
        text += "\n\n" + turn._("mine.locked")
    rows.append(back_and_menu(turn))
    turn.show(Reply(text, rows))


async def _mood_item_text(turn: Turn, item: Feedback, common: dict[str, str]) -> str:
    plan = turn.ctx.uow.plan
    congress = await plan.get_congress(item.congress_id) if item.congress_id else None
    period = next((p for p in await plan.list_periods(item.congress_id) if p.id == item.period_id), None)
    topic = await turn.ctx.uow.reference.get("topics", item.topic) if item.topic else None
    return turn._(
        "mood.mine_item",
        congress=congress.name(turn.lang) if congress else "—",
        period=period.title(turn.lang) if period else "—",
        kind=turn._(f"kind.{item.kind.value}"),
        topic=topic.name(turn.lang) if topic else turn._("mood.no_topic"),
        **common,
    )


async def choose_mine_item(turn: Turn) -> None:
    data = turn.event.value
    respondent_id = await turn.respondent_id()
    if respondent_id is None:
        await turn.goto(Step.CONSENT)
        return
    if data == "back":
        await turn.goto(Step.MINE)
    elif data == "withdraw":
        await turn.goto(Step.WITHDRAW)
    elif data == "edit":
        await _start_edit(turn, respondent_id)
    else:
        turn.stale()


async def _start_edit(turn: Turn, respondent_id: int) -> None:
    """Change an opinion already sent: its stance and text, from the stance step."""
    code = turn.state.mine_code
    item = await uc.get_my_feedback(uow=turn.ctx.uow, respondent_id=respondent_id, receipt_code=code)
    if not await uc.can_change(uow=turn.ctx.uow, feedback=item, now=turn.ctx.now):
        turn.say(turn._("mine.locked"))
        await turn.render()
        return
    turn.state.draft = DocumentEntry(
        edit_receipt=code,
        document_id=item.document_id,
        section_id=item.section_id,
        stance=item.stance or Stance.OTHER,
        parts=[item.text] if item.text else [],
    )
    await turn.goto(Step.STANCE)


async def render_withdraw(turn: Turn) -> None:
    turn.show(
        Reply(
            turn._("withdraw.confirm", code=turn.state.mine_code),
            [[Choice(turn._("withdraw.yes"), "yes"), Choice(turn._("withdraw.no"), "no")]],
        )
    )


async def choose_withdraw(turn: Turn) -> None:
    respondent_id = await turn.respondent_id()
    code = turn.state.mine_code
    if turn.event.value == "yes" and respondent_id is not None:
        await uc.withdraw_feedback(
            uow=turn.ctx.uow, respondent_id=respondent_id, receipt_code=code, now=turn.ctx.now
        )
        turn.say(turn._("withdraw.done", code=code))
        await turn.goto(Step.MINE)
    elif turn.event.value == "no":
        await turn.goto(Step.MINE_ITEM)
    else:
        turn.stale()
