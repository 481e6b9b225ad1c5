"""The steps both paths share on the way to a receipt: ``text`` (several messages, one limit), the
profile when not given yet (``profile.py``), ``confirm`` and the receipt (``done``).

What differs between the paths at these steps is asked of ``turn.flow`` (a :class:`~.turn.Flow`).
"""

from __future__ import annotations

from core.conversation.citizen import profile
from core.conversation.citizen.state import Step
from core.conversation.citizen.turn import CONFIRM_TEXT_CHARS, Turn, back_and_menu, menu_button, shorten
from core.conversation.model import Choice, Reply
from core.text import has_words, normalize_input, text_length

# ---------------------------------------------------------------------- text


async def render_text(turn: Turn) -> None:
    entry = turn.entry
    used = text_length(entry.text())
    limit = turn.ctx.settings.max_text_length
    text = await turn.flow.text_prompt(turn, limit)
    if entry.editing and used:
        # changing an opinion already sent: show what it says now before asking for changes
        current = shorten(entry.text(), CONFIRM_TEXT_CHARS)
        text = turn._("text.current", text=current, used=used, limit=limit) + "\n\n" + text
    elif used:
        text += "\n\n" + turn._("text.so_far", used=used, limit=limit)
    rows = [[Choice(turn._("button.done"), "done")]]
    if used:
        rows.append([Choice(turn._("text.clear"), "clear")])
    rows.append(back_and_menu(turn))
    turn.show(Reply(text, rows, expects_text=True, max_length=limit, used_length=used))


def keep_piece(turn: Turn) -> int | None:
    """Add the typed text to the entry's parts; the new total, or None (said why) when refused."""
    piece = normalize_input(turn.event.value)
    if not piece:
        turn.say(turn._("error.empty_text"))
        return None
    if not has_words(piece) and turn.flow.missing_text_key(turn) is not None:
        # emoji or punctuation alone cannot be the reason or the content a stance asks for
        turn.say(turn._("error.no_words"))
        return None
    entry = turn.entry
    limit = turn.ctx.settings.max_text_length
    total = text_length("\n\n".join([*entry.parts, piece]))
    if total > limit:
        used = text_length(entry.text())
        turn.say(turn._("error.text_too_long_piece", limit=limit, used=used, piece=text_length(piece)))
        return None
    entry.parts = [*entry.parts, piece]
    return total


async def type_text(turn: Turn) -> None:
    total = keep_piece(turn)
    if total is None:
        await turn.render()
        return
    limit = turn.ctx.settings.max_text_length
    turn.show(
        Reply(
            turn._("text.received", used=total, limit=limit),
            [
                [Choice(turn._("button.done"), "done")],
                [Choice(turn._("text.clear"), "clear")],
                back_and_menu(turn),
            ],
            expects_text=True,
            max_length=limit,
            used_length=total,
        )
    )


async def choose_text(turn: Turn) -> None:
    data = turn.event.value
    entry = turn.entry
    if data == "back":
        await turn.goto(turn.flow.text_back)
    elif data == "clear":
        entry.parts = []
        turn.say(turn._("text.cleared"))
        await turn.render()
    elif data == "done":
        missing = turn.flow.missing_text_key(turn)
        if missing is not None and not entry.parts:
            turn.say(turn._(missing))
            await turn.render()
            return
        respondent = await turn.respondent()
        if respondent is not None and not respondent.profile_done and not entry.editing:
            await profile.start(turn, respondent.profile, then=Step.CONFIRM, first=True)
        else:
            await turn.goto(Step.CONFIRM)
    else:
        turn.stale()


# ---------------------------------------------------------------------- confirm and submit


def edit_profile_choice(turn: Turn) -> Choice:
    return Choice(turn._("confirm.edit_profile"), "e:prof")


async def render_confirm(turn: Turn) -> None:
    flow = turn.flow
    if not await flow.still_open(turn):
        return
    respondent = await turn.respondent()
    entry = turn.entry
    entry.return_confirm = True
    text = entry.text()
    summary = await flow.summary(
        turn,
        text=shorten(text, CONFIRM_TEXT_CHARS) if text else turn._("confirm.no_text"),
        profile=await profile.summary(turn, respondent.profile) if respondent else "",
    )
    rows = [[Choice(turn._("confirm.save" if entry.editing else "confirm.submit"), "submit")]]
    rows += flow.edit_rows(turn, entry.editing)
    rows.append([Choice(turn._("confirm.cancel"), "cancel")])
    turn.show(Reply(summary, rows))


async def choose_confirm(turn: Turn) -> None:
    data = turn.event.value
    if data == "e:text":
        await turn.goto(Step.TEXT)
    elif data == "e:prof":
        respondent = await turn.respondent()
        await profile.start(turn, respondent.profile if respondent else None, then=Step.CONFIRM)
    elif data == "cancel":
        turn.say(turn._("cancel.done"))
        await turn.goto(Step.MENU)
    elif data == "submit":
        await _submit(turn)
    elif not await turn.flow.on_edit(turn, data):
        turn.stale()


async def _submit(turn: Turn) -> None:
    respondent_id = await turn.respondent_id()
    if respondent_id is None:
        await turn.goto(Step.CONSENT)
        return
    flow = turn.flow
    receipt = await flow.submit(turn, respondent_id)
    if receipt is None:
        return
    turn.submitted.append(flow.name)
    text = await flow.receipt_text(turn, receipt)
    turn.state.draft = flow.remembered(turn)
    turn.state.step = Step.DONE
    turn.show(Reply(text, _after_receipt_rows(turn)))


async def not_sent(turn: Turn, key: str) -> None:
    """The entry can no longer be stored: say so, give the person back their text, go to the menu."""
    text = turn.entry.text()
    turn.say(turn._(key) + (f"\n\n{text}" if text else ""))
    turn.state.draft = None
    await turn.goto(Step.MENU)


# ---------------------------------------------------------------------- the receipt


def _after_receipt_rows(turn: Turn) -> list[list[Choice]]:
    return [[Choice(turn._(turn.flow.another_key), "again")], [menu_button(turn)]]


async def render_done(turn: Turn) -> None:
    turn.show(Reply(turn._("submit.after"), _after_receipt_rows(turn)))


async def choose_done(turn: Turn) -> None:
    if turn.event.value != "again":
        turn.stale()
        return
    await turn.flow.again(turn)
