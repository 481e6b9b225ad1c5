"""The citizen conversation: consent, main menu, opinions on drafts, my opinions, my data, language.

A pure state machine over a JSON-serialisable ``state`` dict. ``handle(state, event, ctx)`` never raises
for anything a person can do: unknown input, stale buttons and domain errors become replies.
Steps are ``render_<step>`` (show the screen) and ``on_<step>`` (react to a choice or text).
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from core import errors
from core import feedback as uc
from core.conversation.model import Choice, Context, Event, Outcome, Reply
from core.domain import Document, Profile, Respondent, Stance
from core.i18n import LANGUAGES, t
from core.text import normalize_input, text_length

log = logging.getLogger(__name__)

STANCES = (Stance.AGREE, Stance.DISAGREE, Stance.PARTIAL, Stance.OTHER)
PROFILE_STEPS = ("prof_cat", "prof_org", "prof_loc", "prof_age", "prof_gender")
PROFILE_LISTS = {
    "prof_cat": ("categories", "category"),
    "prof_org": ("organisations", "organisation"),
    "prof_loc": ("localities", "locality"),
    "prof_age": ("age_bands", "age_band"),
    "prof_gender": ("genders", "gender"),
}
OPTIONAL_PROFILE_STEPS = {"prof_org", "prof_age", "prof_gender"}
BUTTON_LABEL_MAX = 56
PREVIEW_CHARS = 600
CONFIRM_TEXT_CHARS = 1500
MY_LIST_LIMIT = 10
RECENT_SCREENS = 6

Handler = Callable[["Turn"], Awaitable[None]]


def shorten(text: str, limit: int) -> str:
    """Cut ``text`` to ``limit`` characters on a word boundary, with an ellipsis."""
    text = " ".join(text.split()) if "\n" not in text else text.strip()
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]
    if " " in cut[limit // 2 :]:
        cut = cut[: cut.rfind(" ")]
    return cut.rstrip(" ,.;:") + "…"


class Turn:
    """One event being handled: the state being built, the replies collected, helpers to render."""

    def __init__(self, state: dict[str, Any], event: Event, ctx: Context) -> None:
        self.state = state
        self.event = event
        self.ctx = ctx
        self.replies: list[Reply] = []
        self.notice: str | None = None

    @property
    def lang(self) -> str:
        return str(self.state.get("lang") or "vi")

    def _(self, key: str, **params: Any) -> str:
        return t(key, self.lang, **params)

    def say(self, text: str) -> None:
        self.replies.append(Reply(text))

    def show(self, reply: Reply) -> None:
        if reply.choices:
            self.state["screen"] = int(self.state.get("screen", 0)) + 1
            recent = [pair for pair in self.state.get("recent", []) if isinstance(pair, list)][
                -(RECENT_SCREENS - 1) :
            ]
            self.state["recent"] = [*recent, [self.state["screen"], self.state.get("step")]]
        self.replies.append(reply)

    def is_current(self, screen: int | None) -> bool:
        """A press counts if it comes from the current screen or a recent screen of the same step."""
        if screen is None or screen == self.state.get("screen"):
            return True
        steps = {
            pair[0]: pair[1]
            for pair in self.state.get("recent", [])
            if isinstance(pair, list) and len(pair) == 2
        }
        return steps.get(screen) == self.state.get("step")

    @property
    def draft(self) -> dict[str, Any]:
        return self.state.setdefault("draft", {})

    def fmt_date(self, value: Any) -> str:
        return value.astimezone(self.ctx.settings.tz).strftime("%d/%m/%Y %H:%M") if value else ""


class CitizenConversation:
    """The conversation every channel runs for citizens and union members."""

    async def handle(self, state: dict[str, Any] | None, event: Event, ctx: Context) -> Outcome:
        """React to one event; never raises for anything a person can do."""
        turn = Turn(dict(state or {}), event, ctx)
        turn.state.setdefault("step", "new")
        turn.state.setdefault("lang", "vi")
        turn.state.setdefault("screen", 0)
        try:
            await self._dispatch(turn)
        except errors.GopyError as exc:
            turn.say(t(exc.code, turn.lang, **_safe_params(exc.params)))
            await self.render(turn)
        return Outcome(turn.state, turn.replies, turn.notice, int(turn.state.get("screen", 0)))

    # ------------------------------------------------------------------ dispatch

    async def _dispatch(self, turn: Turn) -> None:
        event = turn.event
        if event.kind == "command":
            await self._command(turn)
            return
        respondent = await self._respondent(turn)
        if respondent is None and turn.state["step"] not in ("consent", "lang"):
            if event.kind == "choice":
                turn.notice = turn._("notice.stale")
            await self._goto(turn, "consent")
            return
        if event.kind == "choice":
            if not turn.is_current(event.screen):
                turn.notice = turn._("notice.stale")
                return
            data = event.value
            if data == "menu":
                await self._goto(turn, "menu")
                return
            handler = getattr(self, f"on_{turn.state['step']}", None)
            if handler is None:
                turn.notice = turn._("notice.stale")
                await self.render(turn)
                return
            await handler(turn)
            return
        if event.kind == "unsupported":
            turn.say(turn._("error.unsupported_message"))
            await self.render(turn)
            return
        # plain text
        text_handler = getattr(self, f"text_{turn.state['step']}", None)
        if text_handler is None:
            turn.say(turn._("error.use_buttons"))
            await self.render(turn)
            return
        await text_handler(turn)

    async def _command(self, turn: Turn) -> None:
        name = turn.event.value
        if name == "start":
            args = turn.event.args
            if args.startswith("org-"):
                turn.state["pending_org"] = args[4:][:60]
            respondent = await self._respondent(turn)
            if respondent is not None and turn.state.get("pending_org"):
                org = turn.state.pop("pending_org")
                if await turn.ctx.uow.reference.get("organisations", org) is not None:
                    respondent.profile.organisation = org
                    await turn.ctx.uow.respondents.update(respondent)
                    await turn.ctx.uow.commit()
            await self._goto(turn, "menu" if respondent else "consent")
        elif name in ("cancel", "menu"):
            turn.state.pop("draft", None)
            if await self._respondent(turn) is None:
                await self._goto(turn, "consent")
                return
            if name == "cancel":
                turn.say(turn._("cancel.done"))
            await self._goto(turn, "menu")
        elif name == "help":
            await self._goto(turn, "help")
        elif name == "language":
            await self._goto(turn, "lang")
        elif name in ("mydata", "privacy"):
            await self._goto(turn, "mydata" if await self._respondent(turn) else "consent")
        else:
            turn.say(turn._("error.unknown_command"))
            await self.render(turn)

    async def _goto(self, turn: Turn, step: str) -> None:
        turn.state["step"] = step
        await self.render(turn)

    async def render(self, turn: Turn) -> None:
        """Show the screen of the current step again."""
        renderer = getattr(self, f"render_{turn.state['step']}", None)
        if renderer is None:
            turn.state["step"] = "menu" if await self._respondent(turn) else "consent"
            renderer = getattr(self, f"render_{turn.state['step']}")
        await renderer(turn)

    async def _respondent(self, turn: Turn) -> Respondent | None:
        if "_respondent" in turn.__dict__:
            return turn.__dict__["_respondent"]  # type: ignore[no-any-return]
        respondent = await uc.find_respondent(
            uow=turn.ctx.uow, channel=turn.ctx.channel, user_hash=turn.ctx.user_hash
        )
        if respondent is not None and respondent.consent_version != turn.ctx.settings.privacy_version:
            respondent = None  # a new privacy notice needs a new consent
        turn.__dict__["_respondent"] = respondent
        if respondent is not None:
            turn.state["lang"] = respondent.language
        return respondent

    def _forget_respondent(self, turn: Turn) -> None:
        turn.__dict__.pop("_respondent", None)

    # ------------------------------------------------------------------ consent

    async def render_consent(self, turn: Turn) -> None:
        turn.show(
            Reply(
                turn._("consent.notice", version=turn.ctx.settings.privacy_version),
                [
                    [Choice(turn._("consent.accept"), "yes")],
                    [Choice(turn._("consent.decline"), "no")],
                    [Choice(turn._("menu.language"), "lang")],
                ],
            )
        )

    async def on_consent(self, turn: Turn) -> None:
        data = turn.event.value
        if data == "yes":
            await uc.record_consent(
                uow=turn.ctx.uow,
                channel=turn.ctx.channel,
                user_hash=turn.ctx.user_hash,
                language=turn.lang,
                version=turn.ctx.settings.privacy_version,
                now=turn.ctx.now,
                organisation=turn.state.pop("pending_org", None),
            )
            self._forget_respondent(turn)
            turn.say(turn._("consent.thanks"))
            await self._goto(turn, "menu")
        elif data == "no":
            turn.state = {"step": "declined", "lang": turn.lang, "screen": turn.state.get("screen", 0)}
            turn.say(turn._("consent.declined"))
        elif data == "lang":
            turn.state["lang_return"] = "consent"
            await self._goto(turn, "lang")
        else:
            turn.notice = turn._("notice.stale")

    async def render_declined(self, turn: Turn) -> None:
        turn.say(turn._("consent.declined"))

    # ------------------------------------------------------------------ menu, help, language

    async def render_menu(self, turn: Turn) -> None:
        turn.state.pop("draft", None)
        turn.show(
            Reply(
                turn._("menu.title"),
                [
                    [Choice(turn._("menu.feedback"), "fb")],
                    [Choice(turn._("menu.mine"), "mine")],
                    [Choice(turn._("menu.help"), "help"), Choice(turn._("menu.language"), "lang")],
                    [Choice(turn._("menu.mydata"), "mydata")],
                ],
            )
        )

    async def on_menu(self, turn: Turn) -> None:
        data = turn.event.value
        if data == "fb":
            turn.state["draft"] = {"flow": "draft", "client_ref": uuid.uuid4().hex[:16]}
            await self._goto(turn, "doc")
        elif data in ("mine", "help", "lang", "mydata"):
            if data == "lang":
                turn.state["lang_return"] = "menu"
            await self._goto(turn, data)
        else:
            turn.notice = turn._("notice.stale")

    async def render_help(self, turn: Turn) -> None:
        turn.show(
            Reply(
                turn._("help.text", limit=turn.ctx.settings.max_text_length),
                [[Choice(turn._("button.menu"), "menu")]],
            )
        )

    async def on_help(self, turn: Turn) -> None:
        turn.notice = turn._("notice.stale")

    async def render_lang(self, turn: Turn) -> None:
        turn.show(
            Reply(
                turn._("language.pick"),
                [[Choice("🇻🇳 Tiếng Việt", "vi"), Choice("🇬🇧 English", "en")]],
            )
        )

    async def on_lang(self, turn: Turn) -> None:
        if turn.event.value not in LANGUAGES:
            turn.notice = turn._("notice.stale")
            return
        turn.state["lang"] = turn.event.value
        respondent = await self._respondent(turn)
        if respondent is not None and respondent.id is not None:
            await uc.set_language(uow=turn.ctx.uow, respondent_id=respondent.id, language=turn.event.value)
            turn.state["lang"] = turn.event.value
        turn.say(turn._("language.changed"))
        back = turn.state.pop("lang_return", None) or ("menu" if respondent else "consent")
        await self._goto(turn, back)

    # ------------------------------------------------------------------ documents and sections

    async def render_doc(self, turn: Turn) -> None:
        documents = await turn.ctx.uow.documents.list_visible()
        now = turn.ctx.now
        open_docs = [d for d in documents if d.accepts_feedback(now)]
        closed = [d for d in documents if not d.accepts_feedback(now)]
        rows = [[Choice(shorten(d.title, BUTTON_LABEL_MAX), f"d:{d.id}")] for d in open_docs]
        rows += [[Choice("🔒 " + shorten(d.title, BUTTON_LABEL_MAX - 2), f"d:{d.id}")] for d in closed]
        rows.append([Choice(turn._("button.menu"), "menu")])
        text = turn._("doc.pick") if open_docs else turn._("doc.none_open")
        turn.show(Reply(text, rows))

    async def on_doc(self, turn: Turn) -> None:
        document = await self._document_from_choice(turn, "d:")
        if document is None:
            return
        if not document.accepts_feedback(turn.ctx.now):
            turn.say(self._closed_text(turn, document))
            await self.render(turn)
            return
        turn.draft.update({"document_id": document.id, "parent_id": None, "page": 0})
        await self._goto(turn, "sec")

    def _closed_text(self, turn: Turn, document: Document) -> str:
        if document.closes_at is not None and document.closes_at <= turn.ctx.now:
            return turn._("doc.closed_at", title=document.title, at=turn.fmt_date(document.closes_at))
        if document.opens_at is not None and turn.ctx.now < document.opens_at:
            return turn._("doc.opens_at", title=document.title, at=turn.fmt_date(document.opens_at))
        return turn._("doc.closed", title=document.title)

    async def _document_from_choice(self, turn: Turn, prefix: str) -> Document | None:
        data = turn.event.value
        if not data.startswith(prefix) or not data[len(prefix) :].isdigit():
            turn.notice = turn._("notice.stale")
            return None
        document = await turn.ctx.uow.documents.get(int(data[len(prefix) :]))
        if document is None:
            turn.notice = turn._("notice.stale")
            await self.render(turn)
        return document

    async def _open_document(self, turn: Turn) -> Document | None:
        """The document of the draft, if it still accepts opinions; otherwise say so and go to the list."""
        document = await turn.ctx.uow.documents.get(int(turn.draft.get("document_id") or 0))
        if document is None or not document.accepts_feedback(turn.ctx.now):
            if document is not None:
                turn.say(self._closed_text(turn, document))
            await self._goto(turn, "doc")
            return None
        return document

    async def render_sec(self, turn: Turn) -> None:
        document = await self._open_document(turn)
        if document is None:
            return
        draft = turn.draft
        page_size = turn.ctx.settings.page_size
        parent_id = draft.get("parent_id")
        page = int(draft.get("page", 0))
        sections, total = await turn.ctx.uow.sections.list_children(
            document.id, parent_id, offset=page * page_size, limit=page_size
        )
        pages = max(1, -(-total // page_size))
        if page >= pages:
            draft["page"] = page = pages - 1
            sections, total = await turn.ctx.uow.sections.list_children(
                document.id, parent_id, offset=page * page_size, limit=page_size
            )
        header = document.title
        if parent_id is not None:
            parent = await turn.ctx.uow.sections.get(int(parent_id))
            header = parent.label if parent else header
        lines = [turn._("sec.pick", title=header, page=page + 1, pages=pages)]
        rows: list[list[Choice]] = []
        if page == 0:
            if parent_id is None:
                rows.append([Choice(turn._("sec.whole_document"), "s:0")])
            else:
                rows.append([Choice(turn._("sec.whole_part"), f"s:{parent_id}:self")])
        for section in sections:
            marker = " ▸" if section.child_count else ""
            lines.append(f"• {section.label}{marker}")
            rows.append([Choice(shorten(section.label, BUTTON_LABEL_MAX) + marker, f"s:{section.id}")])
        nav: list[Choice] = []
        if page > 0:
            nav.append(Choice(turn._("button.prev"), "pg:-1"))
        if page + 1 < pages:
            nav.append(Choice(turn._("button.next"), "pg:1"))
        if nav:
            rows.append(nav)
        rows.append([Choice(turn._("button.back"), "back"), Choice(turn._("button.menu"), "menu")])
        turn.show(Reply(shorten("\n".join(lines), 3500), rows))

    async def on_sec(self, turn: Turn) -> None:
        data = turn.event.value
        draft = turn.draft
        if data == "back":
            if draft.get("parent_id") is None:
                await self._goto(turn, "doc")
                return
            parent = await turn.ctx.uow.sections.get(int(draft["parent_id"]))
            draft["parent_id"] = parent.parent_id if parent else None
            draft["page"] = 0
            await self.render(turn)
            return
        if data.startswith("pg:"):
            draft["page"] = max(0, int(draft.get("page", 0)) + (1 if data == "pg:1" else -1))
            await self.render(turn)
            return
        if not data.startswith("s:"):
            turn.notice = turn._("notice.stale")
            return
        parts = data[2:].split(":")
        if not parts[0].isdigit():
            turn.notice = turn._("notice.stale")
            return
        section_id = int(parts[0])
        if section_id == 0:
            draft["section_id"] = None
            await self._after_section(turn)
            return
        section = await turn.ctx.uow.sections.get(section_id)
        if section is None or section.document_id != draft.get("document_id"):
            turn.notice = turn._("notice.stale")
            await self.render(turn)
            return
        if section.child_count and parts[1:] != ["self"]:
            draft["parent_id"] = section.id
            draft["page"] = 0
            await self.render(turn)
            return
        draft["section_id"] = section.id
        await self._after_section(turn)

    async def _after_section(self, turn: Turn) -> None:
        if turn.draft.get("stance") and turn.draft.get("return_confirm"):
            await self._goto(turn, "confirm")
        else:
            await self._goto(turn, "stance")

    async def _section_heading(self, turn: Turn) -> tuple[str, str]:
        document = await turn.ctx.uow.documents.get(int(turn.draft.get("document_id") or 0))
        section_id = turn.draft.get("section_id")
        if section_id is None:
            return (turn._("sec.whole_document_label"), document.title if document else "")
        section = await turn.ctx.uow.sections.get(int(section_id))
        if section is None:
            return (turn._("sec.whole_document_label"), "")
        return (section.label, section.body)

    # ------------------------------------------------------------------ stance and text

    async def render_stance(self, turn: Turn) -> None:
        if await self._open_document(turn) is None:
            return
        label, body = await self._section_heading(turn)
        preview = shorten(body, PREVIEW_CHARS) if body else ""
        text = turn._("stance.pick", section=label, preview=preview)
        rows = [[Choice(turn._(f"stance.{s.value}"), f"st:{s.value}")] for s in STANCES]
        rows.append([Choice(turn._("button.back"), "back"), Choice(turn._("button.menu"), "menu")])
        turn.show(Reply(text, rows))

    async def on_stance(self, turn: Turn) -> None:
        data = turn.event.value
        if data == "back":
            if turn.draft.get("edit_receipt"):
                await self._goto(turn, "mine")
                return
            await self._goto(turn, "sec")
            return
        try:
            stance = Stance(data.removeprefix("st:"))
        except ValueError:
            turn.notice = turn._("notice.stale")
            return
        turn.draft["stance"] = stance.value
        await self._goto(turn, "text")

    def _parts_text(self, turn: Turn) -> str:
        return "\n\n".join(turn.draft.get("parts", []))

    async def render_text(self, turn: Turn) -> None:
        stance = Stance(turn.draft.get("stance", Stance.OTHER.value))
        used = text_length(self._parts_text(turn))
        limit = turn.ctx.settings.max_text_length
        key = "text.prompt_optional" if not stance.text_required else f"text.prompt_{stance.value}"
        text = turn._(key, limit=limit)
        if used:
            text += "\n\n" + turn._("text.so_far", used=used, limit=limit)
        rows = [[Choice(turn._("button.done"), "done")]]
        if used:
            rows.append([Choice(turn._("text.clear"), "clear")])
        rows.append([Choice(turn._("button.back"), "back"), Choice(turn._("button.menu"), "menu")])
        turn.show(Reply(text, rows, expects_text=True, max_length=limit, used_length=used))

    async def text_text(self, turn: Turn) -> None:
        piece = normalize_input(turn.event.value)
        if not piece:
            turn.say(turn._("error.empty_text"))
            await self.render(turn)
            return
        parts = list(turn.draft.get("parts", []))
        limit = turn.ctx.settings.max_text_length
        total = text_length("\n\n".join([*parts, piece]))
        if total > limit:
            used = text_length("\n\n".join(parts))
            turn.say(turn._("error.text_too_long_piece", limit=limit, used=used, piece=text_length(piece)))
            await self.render(turn)
            return
        parts.append(piece)
        turn.draft["parts"] = parts
        turn.show(
            Reply(
                turn._("text.received", used=total, limit=limit),
                [
                    [Choice(turn._("button.done"), "done")],
                    [Choice(turn._("text.clear"), "clear")],
                    [Choice(turn._("button.back"), "back"), Choice(turn._("button.menu"), "menu")],
                ],
                expects_text=True,
                max_length=limit,
                used_length=total,
            )
        )

    async def on_text(self, turn: Turn) -> None:
        data = turn.event.value
        if data == "back":
            await self._goto(turn, "stance")
        elif data == "clear":
            turn.draft["parts"] = []
            turn.say(turn._("text.cleared"))
            await self.render(turn)
        elif data == "done":
            stance = Stance(turn.draft.get("stance", Stance.OTHER.value))
            if stance.text_required and not turn.draft.get("parts"):
                turn.say(turn._(f"error.text_required_{stance.value}"))
                await self.render(turn)
                return
            respondent = await self._respondent(turn)
            if respondent is not None and not respondent.profile_done and not turn.draft.get("edit_receipt"):
                turn.state["profile"] = respondent.profile.as_dict()
                turn.state["profile_return"] = "confirm"
                turn.state["profile_first"] = True
                await self._goto(turn, "prof_cat")
            else:
                await self._goto(turn, "confirm")
        else:
            turn.notice = turn._("notice.stale")

    # ------------------------------------------------------------------ profile (asked once)

    async def _render_profile_step(self, turn: Turn, step: str) -> None:
        list_name, _field = PROFILE_LISTS[step]
        items = await turn.ctx.uow.reference.list(list_name)
        rows: list[list[Choice]] = []
        page_size = turn.ctx.settings.page_size * 2
        page = int(turn.state.get("profile_page", 0)) if step == "prof_loc" else 0
        shown = items[page * page_size : (page + 1) * page_size] if step == "prof_loc" else items
        row: list[Choice] = []
        for item in shown:
            row.append(Choice(shorten(item.name(turn.lang), 30), f"p:{item.code}"))
            if len(row) == 2:
                rows.append(row)
                row = []
        if row:
            rows.append(row)
        if step == "prof_loc" and len(items) > page_size:
            nav = []
            if page > 0:
                nav.append(Choice(turn._("button.prev"), "pg:-1"))
            if (page + 1) * page_size < len(items):
                nav.append(Choice(turn._("button.next"), "pg:1"))
            rows.append(nav)
        if step == "prof_org":
            rows.append([Choice(turn._("profile.no_org"), "p:-")])
        if step in OPTIONAL_PROFILE_STEPS:
            rows.append([Choice(turn._("button.skip"), "skip")])
        if step == "prof_cat":
            rows.append([Choice(turn._("profile.anonymous"), "anon")])
        rows.append([Choice(turn._("button.back"), "back"), Choice(turn._("button.menu"), "menu")])
        intro = turn._("profile.intro") + "\n\n" if step == "prof_cat" else ""
        turn.show(Reply(intro + turn._(f"profile.{step}"), rows))

    async def render_prof_cat(self, turn: Turn) -> None:
        await self._render_profile_step(turn, "prof_cat")

    async def render_prof_org(self, turn: Turn) -> None:
        await self._render_profile_step(turn, "prof_org")

    async def render_prof_loc(self, turn: Turn) -> None:
        await self._render_profile_step(turn, "prof_loc")

    async def render_prof_age(self, turn: Turn) -> None:
        await self._render_profile_step(turn, "prof_age")

    async def render_prof_gender(self, turn: Turn) -> None:
        await self._render_profile_step(turn, "prof_gender")

    async def on_prof_cat(self, turn: Turn) -> None:
        await self._on_profile_step(turn, "prof_cat")

    async def on_prof_org(self, turn: Turn) -> None:
        await self._on_profile_step(turn, "prof_org")

    async def on_prof_loc(self, turn: Turn) -> None:
        await self._on_profile_step(turn, "prof_loc")

    async def on_prof_age(self, turn: Turn) -> None:
        await self._on_profile_step(turn, "prof_age")

    async def on_prof_gender(self, turn: Turn) -> None:
        await self._on_profile_step(turn, "prof_gender")

    async def _on_profile_step(self, turn: Turn, step: str) -> None:
        data = turn.event.value
        profile = turn.state.setdefault("profile", {})
        index = PROFILE_STEPS.index(step)
        list_name, field = PROFILE_LISTS[step]
        if data == "back":
            turn.state["profile_page"] = 0
            if index == 0:
                await self._goto(turn, str(turn.state.get("profile_return") or "menu"))
            else:
                await self._goto(turn, PROFILE_STEPS[index - 1])
            return
        if data.startswith("pg:") and step == "prof_loc":
            turn.state["profile_page"] = max(0, int(turn.state.get("profile_page", 0)) + int(data[3:]))
            await self.render(turn)
            return
        if data == "anon" and step == "prof_cat":
            keep_org = profile.get("organisation")
            turn.state["profile"] = Profile(anonymous=True, organisation=keep_org).as_dict()
            await self._finish_profile(turn)
            return
        if data == "skip" and step in OPTIONAL_PROFILE_STEPS:
            profile[field] = None
        elif data == "p:-" and step == "prof_org":
            profile[field] = None
        elif data.startswith("p:"):
            code = data[2:]
            if await turn.ctx.uow.reference.get(list_name, code) is None:
                turn.notice = turn._("notice.stale")
                await self.render(turn)
                return
            profile[field] = code
            profile["anonymous"] = False
        else:
            turn.notice = turn._("notice.stale")
            return
        turn.state["profile_page"] = 0
        following = [
            s
            for s in PROFILE_STEPS[index + 1 :]
            # a deep link already told the organisation: do not ask it again the first time
            if not (s == "prof_org" and turn.state.get("profile_first") and profile.get("organisation"))
        ]
        if following:
            await self._goto(turn, following[0])
        else:
            await self._finish_profile(turn)

    async def _finish_profile(self, turn: Turn) -> None:
        respondent = await self._respondent(turn)
        if respondent is None or respondent.id is None:
            await self._goto(turn, "consent")
            return
        turn.state.pop("profile_first", None)
        await uc.save_profile(
            uow=turn.ctx.uow,
            respondent_id=respondent.id,
            profile=Profile.from_dict(turn.state.pop("profile", {})),
        )
        self._forget_respondent(turn)
        turn.say(turn._("profile.saved"))
        await self._goto(turn, str(turn.state.pop("profile_return", None) or "menu"))

    async def _profile_summary(self, turn: Turn, profile: Profile) -> str:
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

    # ------------------------------------------------------------------ confirm and submit

    async def render_confirm(self, turn: Turn) -> None:
        document = await self._open_document(turn)
        if document is None:
            return
        respondent = await self._respondent(turn)
        draft = turn.draft
        draft["return_confirm"] = True
        label, _body = await self._section_heading(turn)
        stance = Stance(draft.get("stance", Stance.OTHER.value))
        text = self._parts_text(turn)
        summary = turn._(
            "confirm.summary",
            document=document.title,
            section=label,
            stance=turn._(f"stance.{stance.value}"),
            text=shorten(text, CONFIRM_TEXT_CHARS) if text else turn._("confirm.no_text"),
            profile=await self._profile_summary(turn, respondent.profile) if respondent else "",
        )
        editing = bool(draft.get("edit_receipt"))
        rows = [
            [Choice(turn._("confirm.save" if editing else "confirm.submit"), "submit")],
            [
                Choice(turn._("confirm.edit_text"), "e:text"),
                Choice(turn._("confirm.edit_stance"), "e:stance"),
            ],
        ]
        if not editing:
            rows.append(
                [
                    Choice(turn._("confirm.edit_section"), "e:sec"),
                    Choice(turn._("confirm.edit_profile"), "e:prof"),
                ]
            )
        rows.append([Choice(turn._("confirm.cancel"), "cancel")])
        turn.show(Reply(summary, rows))

    async def on_confirm(self, turn: Turn) -> None:
        data = turn.event.value
        if data == "e:text":
            await self._goto(turn, "text")
        elif data == "e:stance":
            await self._goto(turn, "stance")
        elif data == "e:sec":
            turn.draft["page"] = 0
            await self._goto(turn, "sec")
        elif data == "e:prof":
            respondent = await self._respondent(turn)
            turn.state["profile"] = respondent.profile.as_dict() if respondent else {}
            turn.state["profile_return"] = "confirm"
            await self._goto(turn, "prof_cat")
        elif data == "cancel":
            turn.say(turn._("cancel.done"))
            await self._goto(turn, "menu")
        elif data == "submit":
            await self._submit(turn)
        else:
            turn.notice = turn._("notice.stale")

    async def _submit(self, turn: Turn) -> None:
        respondent = await self._respondent(turn)
        if respondent is None or respondent.id is None:
            await self._goto(turn, "consent")
            return
        draft = turn.draft
        stance = Stance(draft.get("stance", Stance.OTHER.value))
        settings = turn.ctx.settings
        try:
            if draft.get("edit_receipt"):
                receipt = await uc.edit_feedback(
                    uow=turn.ctx.uow,
                    respondent_id=respondent.id,
                    receipt_code=str(draft["edit_receipt"]),
                    stance=stance,
                    text=self._parts_text(turn),
                    now=turn.ctx.now,
                    max_length=settings.max_text_length,
                )
                turn.say(turn._("submit.edited", code=receipt.receipt_code))
                turn.state.pop("draft", None)
                await self._goto(turn, "mine")
                return
            receipt = await uc.submit_feedback(
                uow=turn.ctx.uow,
                respondent_id=respondent.id,
                document_id=int(draft["document_id"]),
                section_id=draft.get("section_id"),
                stance=stance,
                text=self._parts_text(turn),
                channel=turn.ctx.channel,
                now=turn.ctx.now,
                max_length=settings.max_text_length,
                client_ref=str(draft.get("client_ref") or uuid.uuid4().hex[:16]),
            )
        except errors.DocumentClosed:
            text = self._parts_text(turn)
            turn.say(turn._("submit.closed") + (f"\n\n{text}" if text else ""))
            turn.state.pop("draft", None)
            await self._goto(turn, "menu")
            return
        document_id = draft["document_id"]
        turn.state["draft"] = {"flow": "draft", "last_document_id": document_id}
        turn.state["step"] = "done"
        turn.show(
            Reply(
                turn._("submit.receipt", code=receipt.receipt_code),
                [[Choice(turn._("submit.another"), "again")], [Choice(turn._("button.menu"), "menu")]],
            )
        )

    async def render_done(self, turn: Turn) -> None:
        turn.show(
            Reply(
                turn._("submit.after"),
                [[Choice(turn._("submit.another"), "again")], [Choice(turn._("button.menu"), "menu")]],
            )
        )

    async def on_done(self, turn: Turn) -> None:
        if turn.event.value != "again":
            turn.notice = turn._("notice.stale")
            return
        last = turn.draft.get("last_document_id")
        turn.state["draft"] = {"flow": "draft", "client_ref": uuid.uuid4().hex[:16]}
        if last:
            turn.draft.update({"document_id": last, "parent_id": None, "page": 0})
            await self._goto(turn, "sec")
        else:
            await self._goto(turn, "doc")

    # ------------------------------------------------------------------ my opinions

    async def render_mine(self, turn: Turn) -> None:
        respondent = await self._respondent(turn)
        if respondent is None or respondent.id is None:
            await self._goto(turn, "consent")
            return
        items = await uc.list_my_feedback(uow=turn.ctx.uow, respondent_id=respondent.id, limit=MY_LIST_LIMIT)
        if not items:
            turn.show(Reply(turn._("mine.empty"), [[Choice(turn._("button.menu"), "menu")]]))
            return
        lines = [turn._("mine.title")]
        rows = []
        for item in items:
            status = turn._(f"status.{item.status.value}")
            stance = (
                turn._(f"stance.{item.stance.value}") if item.stance else turn._(f"kind.{item.kind.value}")
            )
            lines.append(f"• {item.receipt_code} — {stance} — {status} — {turn.fmt_date(item.created_at)}")
            rows.append(
                [
                    Choice(
                        f"{item.receipt_code} · {shorten(item.text or stance, 30)}", f"f:{item.receipt_code}"
                    )
                ]
            )
        rows.append([Choice(turn._("button.menu"), "menu")])
        turn.show(Reply("\n".join(lines), rows))

    async def on_mine(self, turn: Turn) -> None:
        data = turn.event.value
        if not data.startswith("f:"):
            turn.notice = turn._("notice.stale")
            return
        turn.state["mine_code"] = data[2:]
        await self._goto(turn, "mine_item")

    async def render_mine_item(self, turn: Turn) -> None:
        respondent = await self._respondent(turn)
        code = str(turn.state.get("mine_code", ""))
        if respondent is None or respondent.id is None:
            await self._goto(turn, "consent")
            return
        item = await uc.get_my_feedback(uow=turn.ctx.uow, respondent_id=respondent.id, receipt_code=code)
        document = await turn.ctx.uow.documents.get(item.document_id) if item.document_id else None
        section = await turn.ctx.uow.sections.get(item.section_id) if item.section_id else None
        changeable = await uc.can_change(uow=turn.ctx.uow, feedback=item, now=turn.ctx.now)
        text = turn._(
            "mine.item",
            code=item.receipt_code,
            document=document.title if document else "—",
            section=section.label if section else turn._("sec.whole_document_label"),
            stance=turn._(f"stance.{item.stance.value}")
            if item.stance
            else turn._(f"kind.{item.kind.value}"),
            status=turn._(f"status.{item.status.value}"),
            at=turn.fmt_date(item.created_at),
            text=shorten(item.text, CONFIRM_TEXT_CHARS) if item.text else turn._("confirm.no_text"),
        )
        rows = []
        if changeable and item.stance is not None:
            rows.append([Choice(turn._("mine.edit"), "edit"), Choice(turn._("mine.withdraw"), "withdraw")])
        elif changeable:
            rows.append([Choice(turn._("mine.withdraw"), "withdraw")])
        elif item.status.value == "active":
            text += "\n\n" + turn._("mine.locked")
        rows.append([Choice(turn._("button.back"), "back"), Choice(turn._("button.menu"), "menu")])
        turn.show(Reply(text, rows))

    async def on_mine_item(self, turn: Turn) -> None:
        data = turn.event.value
        respondent = await self._respondent(turn)
        if respondent is None or respondent.id is None:
            await self._goto(turn, "consent")
            return
        code = str(turn.state.get("mine_code", ""))
        if data == "back":
            await self._goto(turn, "mine")
        elif data == "withdraw":
            await self._goto(turn, "withdraw")
        elif data == "edit":
            item = await uc.get_my_feedback(uow=turn.ctx.uow, respondent_id=respondent.id, receipt_code=code)
            if not await uc.can_change(uow=turn.ctx.uow, feedback=item, now=turn.ctx.now):
                turn.say(turn._("mine.locked"))
                await self.render(turn)
                return
            turn.state["draft"] = {
                "flow": "draft",
                "edit_receipt": code,
                "document_id": item.document_id,
                "section_id": item.section_id,
                "stance": item.stance.value if item.stance else Stance.OTHER.value,
                "parts": [item.text] if item.text else [],
            }
            await self._goto(turn, "stance")
        else:
            turn.notice = turn._("notice.stale")

    async def render_withdraw(self, turn: Turn) -> None:
        code = str(turn.state.get("mine_code", ""))
        turn.show(
            Reply(
                turn._("withdraw.confirm", code=code),
                [[Choice(turn._("withdraw.yes"), "yes"), Choice(turn._("withdraw.no"), "no")]],
            )
        )

    async def on_withdraw(self, turn: Turn) -> None:
        respondent = await self._respondent(turn)
        code = str(turn.state.get("mine_code", ""))
        if turn.event.value == "yes" and respondent is not None and respondent.id is not None:
            await uc.withdraw_feedback(
                uow=turn.ctx.uow, respondent_id=respondent.id, receipt_code=code, now=turn.ctx.now
            )
            turn.say(turn._("withdraw.done", code=code))
            await self._goto(turn, "mine")
        elif turn.event.value == "no":
            await self._goto(turn, "mine_item")
        else:
            turn.notice = turn._("notice.stale")

    # ------------------------------------------------------------------ my data (see and erase)

    async def render_mydata(self, turn: Turn) -> None:
        respondent = await self._respondent(turn)
        if respondent is None or respondent.id is None:
            await self._goto(turn, "consent")
            return
        count = await turn.ctx.uow.feedback.count_by_respondent(respondent.id)
        text = turn._(
            "mydata.text",
            consent_at=turn.fmt_date(respondent.consent_at),
            version=respondent.consent_version or "",
            profile=await self._profile_summary(turn, respondent.profile),
            count=count,
        )
        turn.show(
            Reply(
                text,
                [
                    [Choice(turn._("confirm.edit_profile"), "prof")],
                    [Choice(turn._("mydata.erase"), "erase")],
                    [Choice(turn._("button.menu"), "menu")],
                ],
            )
        )

    async def on_mydata(self, turn: Turn) -> None:
        data = turn.event.value
        if data == "prof":
            respondent = await self._respondent(turn)
            turn.state["profile"] = respondent.profile.as_dict() if respondent else {}
            turn.state["profile_return"] = "mydata"
            await self._goto(turn, "prof_cat")
        elif data == "erase":
            await self._goto(turn, "erase")
        else:
            turn.notice = turn._("notice.stale")

    async def render_erase(self, turn: Turn) -> None:
        turn.show(
            Reply(
                turn._("erase.confirm"),
                [[Choice(turn._("erase.yes"), "yes")], [Choice(turn._("erase.no"), "no")]],
            )
        )

    async def on_erase(self, turn: Turn) -> None:
        respondent = await self._respondent(turn)
        if turn.event.value == "yes" and respondent is not None and respondent.id is not None:
            count = await uc.erase_respondent(uow=turn.ctx.uow, respondent_id=respondent.id)
            self._forget_respondent(turn)
            lang = turn.lang
            turn.state = {"step": "declined", "lang": lang, "screen": turn.state.get("screen", 0)}
            turn.say(t("erase.done", lang, count=count))
        elif turn.event.value == "no":
            await self._goto(turn, "mydata")
        else:
            turn.notice = turn._("notice.stale")


def _safe_params(params: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in params.items() if isinstance(v, str | int | float)}
