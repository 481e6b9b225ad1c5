"""Consent: nothing about a person is stored before they accept the privacy notice.

The consent screen is also the first screen: it names the issuing body, says what the consultation is
for and until when each draft is open, and offers the full notice (``privacy``).
"""

from __future__ import annotations

from core import feedback as uc
from core.conversation.citizen.state import CitizenState, Step
from core.conversation.citizen.turn import Turn
from core.conversation.model import Choice, Reply
from core.privacy import contact_line, privacy_notice


async def open_drafts(turn: Turn) -> str:
    """The drafts open for comment now, each with its closing date (or a line saying there is none)."""
    now = turn.ctx.now
    documents = [d for d in await turn.ctx.uow.documents.list_visible() if d.accepts_feedback(now)]
    if not documents:
        return turn._("consent.no_drafts")
    lines = [turn._("consent.drafts")]
    for document in documents:
        until = turn._("doc.until", until=turn.fmt_deadline(document.closes_at)) if document.closes_at else ""
        lines.append(f"• {document.title}{until}")
    return "\n".join(lines)


async def render_consent(turn: Turn) -> None:
    text = turn._(
        "consent.notice",
        org=turn.org,
        drafts=await open_drafts(turn),
        version=turn.ctx.settings.privacy_version,
    )
    contact = contact_line(turn.ctx.settings, turn.lang)
    turn.show(
        Reply(
            text + (f"\n\n{contact}" if contact else ""),
            [
                [Choice(turn._("consent.accept"), "yes")],
                [Choice(turn._("consent.decline"), "no")],
                [Choice(turn._("privacy.read"), "privacy"), Choice(turn._("menu.language"), "lang")],
            ],
        )
    )


async def choose_consent(turn: Turn) -> None:
    data = turn.event.value
    if data == "yes":
        organisation, turn.state.pending_org = turn.state.pending_org, None
        respondent = await uc.record_consent(
            uow=turn.ctx.uow,
            channel=turn.ctx.channel,
            user_hash=turn.ctx.user_hash,
            language=turn.lang,
            version=turn.ctx.settings.privacy_version,
            now=turn.ctx.now,
            organisation=organisation,
        )
        turn.know_respondent(respondent)
        turn.consented = True
        turn.say(turn._("consent.thanks"))
        await turn.goto(Step.MENU)
    elif data == "no":
        end_politely(turn)
        turn.say(turn._("consent.declined"))
    elif data == "lang":
        turn.state.lang_return = Step.CONSENT
        await turn.goto(Step.LANG)
    elif data == "privacy":
        await show_privacy(turn, back=Step.CONSENT)
    else:
        turn.stale()


def end_politely(turn: Turn) -> None:
    """Forget everything of the conversation but its language (after a refusal or an erasure)."""
    turn.state = CitizenState(step=Step.DECLINED, lang=turn.lang, screen=turn.state.screen)


async def render_declined(turn: Turn) -> None:
    turn.say(turn._("consent.declined"))


# ---------------------------------------------------------------------- the full notice


async def show_privacy(turn: Turn, *, back: Step) -> None:
    turn.state.privacy_return = back
    await turn.goto(Step.PRIVACY)


async def render_privacy(turn: Turn) -> None:
    turn.show(
        Reply(
            privacy_notice(turn.ctx.settings, turn.lang),
            [[Choice(turn._("button.back"), "back")]],
        )
    )


async def choose_privacy(turn: Turn) -> None:
    if turn.event.value != "back":
        turn.stale()
        return
    back, turn.state.privacy_return = turn.state.privacy_return, None
    await turn.goto(back or Step.NEW)
