"""The path of an opinion on a draft document: document → section → stance, then the shared steps
(see ``entry.py``) with :class:`DraftFlow`."""

from __future__ import annotations

from core import errors
from core import feedback as uc
from core.conversation.citizen import entry, sections
from core.conversation.citizen.menu import new_client_ref
from core.conversation.citizen.state import DocumentEntry, Step
from core.conversation.citizen.turn import (
    CONFIRM_TEXT_CHARS,
    PREVIEW_CHARS,
    Flow,
    Turn,
    back_and_menu,
    menu_button,
    shorten,
)
from core.conversation.model import Choice, Reply
from core.domain import Document, Receipt, Stance

STANCES = (Stance.AGREE, Stance.DISAGREE, Stance.PARTIAL, Stance.OTHER)

# ---------------------------------------------------------------------- documents


async def render_doc(turn: Turn) -> None:
    documents = await turn.ctx.uow.documents.list_visible()
    now = turn.ctx.now
    open_docs = [d for d in documents if d.accepts_feedback(now)]
    closed = [d for d in documents if not d.accepts_feedback(now)]
    rows = [[Choice(d.title + _until(turn, d), f"d:{d.id}")] for d in open_docs]
    rows += [[Choice(d.title + turn._("doc.closed_mark"), f"d:{d.id}")] for d in closed]
    rows.append([menu_button(turn)])
    text = turn._("doc.pick") if open_docs else turn._("doc.none_open")
    turn.show(Reply(text, rows))


def _until(turn: Turn, document: Document) -> str:
    """« (đến hết ngày 30/11/2025)» beside an open draft's title; empty when it has no closing date."""
    return turn._("doc.until", until=turn.fmt_deadline(document.closes_at)) if document.closes_at else ""


async def choose_doc(turn: Turn) -> None:
    data = turn.event.value
    if not data.startswith("d:") or not data[2:].isdigit():
        turn.stale()
        return
    document = await turn.ctx.uow.documents.get(int(data[2:]))
    if document is None:
        turn.stale()
        await turn.render()
        return
    if not document.accepts_feedback(turn.ctx.now):
        turn.say(closed_text(turn, document))
        await turn.render()
        return
    draft = turn.document_entry
    draft.document_id, draft.parent_id, draft.page = document.id, None, 0
    await turn.goto(Step.SEC)


def closed_text(turn: Turn, document: Document) -> str:
    if document.closes_at is not None and document.closes_at <= turn.ctx.now:
        return turn._("doc.closed_at", title=document.title, at=turn.fmt_date(document.closes_at))
    if document.opens_at is not None and turn.ctx.now < document.opens_at:
        return turn._("doc.opens_at", title=document.title, at=turn.fmt_date(document.opens_at))
    return turn._("doc.closed", title=document.title)


async def open_document(turn: Turn) -> Document | None:
    """The document of the entry, if it still accepts opinions; otherwise say so and go to the list."""
    document = await turn.ctx.uow.documents.get(turn.document_entry.document_id or 0)
    if document is None or not document.accepts_feedback(turn.ctx.now):
        if document is not None:
            turn.say(closed_text(turn, document))
        await turn.goto(Step.DOC)
        return None
    return document


# ---------------------------------------------------------------------- sections


async def render_sec(turn: Turn) -> None:
    document = await open_document(turn)
    if document is None:
        return
    draft = turn.document_entry
    if draft.query:
        await sections.render_results(turn, document.id, draft.query)
        return
    sections_of = turn.ctx.uow.sections
    page_size = turn.ctx.settings.page_size
    parent_id = draft.parent_id
    children, total = await sections_of.list_children(
        document.id, parent_id, offset=draft.page * page_size, limit=page_size
    )
    pages = max(1, -(-total // page_size))
    if draft.page >= pages:
        draft.page = pages - 1
        children, total = await sections_of.list_children(
            document.id, parent_id, offset=draft.page * page_size, limit=page_size
        )
    page = draft.page
    header = document.title
    if parent_id is not None:
        parent = await sections_of.get(parent_id)
        header = await sections.path_of(sections_of, parent) if parent else header
    lines = [turn._("sec.pick", title=header, page=page + 1, pages=pages)]
    rows: list[list[Choice]] = []
    if page == 0:
        if parent_id is None:
            rows.append([Choice(turn._("sec.whole_document"), "s:0")])
        else:
            rows.append([Choice(turn._("sec.whole_part"), f"s:{parent_id}:self")])
    for section in children:
        marker = " ▸" if section.child_count else ""
        lines.append(f"• {section.label}{marker}")
        rows.append([Choice(section.label + marker, f"s:{section.id}")])
    nav: list[Choice] = []
    if page > 0:
        nav.append(Choice(turn._("button.prev"), "pg:-1"))
    if page + 1 < pages:
        nav.append(Choice(turn._("button.next"), "pg:1"))
    if nav:
        rows.append(nav)
    rows.append(back_and_menu(turn))
    lines.append("\n" + turn._("sec.search_invite"))
    turn.show(
        Reply(shorten("\n".join(lines), 3500), rows, expects_text=True, input_hint=turn._("sec.search_hint"))
    )


async def choose_sec(turn: Turn) -> None:
    data = turn.event.value
    draft = turn.document_entry
    if data == "back" and draft.query:
        draft.query = None
        await turn.render()
        return
    if data == "back":
        if draft.parent_id is None:
            await turn.goto(Step.DOC)
            return
        parent = await turn.ctx.uow.sections.get(draft.parent_id)
        draft.parent_id, draft.page = (parent.parent_id if parent else None), 0
        await turn.render()
        return
    if data.startswith("pg:"):
        draft.page = max(0, draft.page + (1 if data == "pg:1" else -1))
        await turn.render()
        return
    parts = data[2:].split(":")
    if not data.startswith("s:") or not parts[0].isdigit():
        turn.stale()
        return
    section_id = int(parts[0])
    if section_id == 0:
        draft.section_id = None
        await _after_section(turn)
        return
    section = await turn.ctx.uow.sections.get(section_id)
    if section is None or section.document_id != draft.document_id:
        turn.stale()
        await turn.render()
        return
    draft.query = None
    if section.child_count and parts[1:] != ["self"]:
        draft.parent_id, draft.page = section.id, 0
        await turn.render()
        return
    if parts[1:] != ["self"] and draft.parent_id != section.parent_id:
        draft.parent_id, draft.page = section.parent_id, 0  # found by a search: «Back» lists its siblings
    draft.section_id = section.id
    await _after_section(turn)


async def _after_section(turn: Turn) -> None:
    draft = turn.document_entry
    await turn.goto(Step.CONFIRM if draft.stance and draft.return_confirm else Step.STANCE)


async def section_heading(turn: Turn) -> tuple[str, str]:
    """The label and text of the entry's section (the whole document's when none)."""
    draft = turn.document_entry
    document = await turn.ctx.uow.documents.get(draft.document_id or 0)
    if draft.section_id is None:
        return (turn._("sec.whole_document_label"), document.title if document else "")
    section = await turn.ctx.uow.sections.get(draft.section_id)
    if section is None:
        return (turn._("sec.whole_document_label"), "")
    return (await sections.path_of(turn.ctx.uow.sections, section), section.body)


# ---------------------------------------------------------------------- stance


async def render_stance(turn: Turn) -> None:
    if await open_document(turn) is None:
        return
    label, body = await section_heading(turn)
    preview = shorten(body, PREVIEW_CHARS) if body else ""
    text = turn._("stance.pick", section=label, preview=preview)
    draft = turn.document_entry
    if draft.editing:
        # changing an opinion already sent: what it says now comes first
        current = shorten(draft.text(), CONFIRM_TEXT_CHARS) if draft.parts else turn._("confirm.no_text")
        stance = turn._(f"stance.{(draft.stance or Stance.OTHER).value}")
        text = turn._("stance.current", code=draft.edit_receipt, stance=stance, text=current) + "\n\n" + text
    rows = [[Choice(turn._(f"stance.{s.value}"), f"st:{s.value}")] for s in STANCES]
    rows.append(back_and_menu(turn))
    turn.show(Reply(text, rows))


async def choose_stance(turn: Turn) -> None:
    data = turn.event.value
    if data == "back":
        await turn.goto(Step.MINE if turn.document_entry.edit_receipt else Step.SEC)
        return
    try:
        stance = Stance(data.removeprefix("st:"))
    except ValueError:
        turn.stale()
        return
    turn.document_entry.stance = stance
    await turn.goto(Step.TEXT)


async def type_at_stance(turn: Turn) -> None:
    """Text typed above the stance buttons is the opinion itself: keep it, then ask for the stance."""
    if entry.keep_piece(turn) is not None:
        turn.say(turn._("stance.text_kept"))
    await turn.render()


# ---------------------------------------------------------------------- at the shared steps


class DraftFlow(Flow):
    """An opinion on a draft document."""

    name = "draft"
    text_back = Step.STANCE

    def _stance(self, turn: Turn) -> Stance:
        return turn.document_entry.stance or Stance.OTHER

    async def text_prompt(self, turn: Turn, limit: int) -> str:
        stance = self._stance(turn)
        key = "text.prompt_optional" if not stance.text_required else f"text.prompt_{stance.value}"
        return turn._(key, limit=limit)

    def missing_text_key(self, turn: Turn) -> str | None:
        stance = self._stance(turn)
        return f"error.text_required_{stance.value}" if stance.text_required else None

    async def still_open(self, turn: Turn) -> bool:
        return await open_document(turn) is not None

    async def summary(self, turn: Turn, *, text: str, profile: str) -> str:
        document = await turn.ctx.uow.documents.get(turn.document_entry.document_id or 0)
        label, _body = await section_heading(turn)
        return turn._(
            "confirm.summary",
            document=document.title if document else "",
            section=label,
            stance=turn._(f"stance.{self._stance(turn).value}"),
            text=text,
            profile=profile,
            action=turn._("confirm.save" if turn.document_entry.editing else "confirm.submit"),
        )

    def edit_rows(self, turn: Turn, editing: bool) -> list[list[Choice]]:
        rows = [
            [
                Choice(turn._("confirm.edit_text"), "e:text"),
                Choice(turn._("confirm.edit_stance"), "e:stance"),
            ]
        ]
        if not editing:
            rows.append([Choice(turn._("confirm.edit_section"), "e:sec"), entry.edit_profile_choice(turn)])
        return rows

    async def on_edit(self, turn: Turn, data: str) -> bool:
        if data == "e:stance":
            await turn.goto(Step.STANCE)
        elif data == "e:sec":
            turn.document_entry.page = 0
            await turn.goto(Step.SEC)
        else:
            return False
        return True

    async def submit(self, turn: Turn, respondent_id: int) -> Receipt | None:
        draft = turn.document_entry
        max_length = turn.ctx.settings.max_text_length
        try:
            if draft.edit_receipt:
                receipt = await uc.edit_feedback(
                    uow=turn.ctx.uow,
                    respondent_id=respondent_id,
                    receipt_code=draft.edit_receipt,
                    stance=self._stance(turn),
                    text=draft.text(),
                    now=turn.ctx.now,
                    max_length=max_length,
                )
                turn.say(turn._("submit.edited", code=receipt.receipt_code))
                turn.state.draft = None
                await turn.goto(Step.MINE)
                return None
            return await uc.submit_feedback(
                uow=turn.ctx.uow,
                respondent_id=respondent_id,
                document_id=draft.document_id or 0,
                section_id=draft.section_id,
                stance=self._stance(turn),
                text=draft.text(),
                channel=turn.ctx.channel,
                now=turn.ctx.now,
                max_length=max_length,
                client_ref=draft.client_ref or new_client_ref(),
            )
        except errors.DocumentClosed:
            await entry.not_sent(turn, "submit.closed")
            return None

    async def receipt_text(self, turn: Turn, receipt: Receipt) -> str:
        return turn._("submit.receipt", code=receipt.receipt_code)

    def remembered(self, turn: Turn) -> DocumentEntry:
        return DocumentEntry(last_document_id=turn.document_entry.document_id)

    async def again(self, turn: Turn) -> None:
        last = turn.document_entry.last_document_id
        turn.state.draft = DocumentEntry(client_ref=new_client_ref(), document_id=last or None)
        await turn.goto(Step.SEC if last else Step.DOC)
