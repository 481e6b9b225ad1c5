"""The citizen conversation: consent, main menu, opinions on drafts, mood entries about the congresses,
my opinions, my data, language.

A pure state machine over a JSON-serialisable ``state`` dict. ``handle(state, event, ctx)`` never raises
for anything a person can do: unknown input, stale buttons and domain errors become replies.
Steps are ``render_<step>`` (show the screen) and ``on_<step>`` (react to a choice or text).

Two paths lead from the menu to a receipt; ``state["draft"]["flow"]`` tells which:

* ``draft`` — an opinion on a draft document: ``doc`` → ``sec`` → ``stance`` → shared steps;
* ``mood`` — a concern, aspiration or recommendation about a congress: ``m_cong`` → ``m_kind`` →
  ``m_topic`` → shared steps.

The shared steps are ``text`` (multi-message text with the same limits and normalisation), the profile
steps (asked once, remembered), ``confirm`` and the receipt (``done``). What differs between the paths
at those steps (prompt, whether text is required, the summary, the use case that stores the entry) is
a :class:`Flow`.
"""

from __future__ import annotations

import uuid
from abc import ABC, abstractmethod
from typing import Any

from core import errors
from core import feedback as uc
from core import mood as mood_uc
from core.conversation.model import Choice, Context, Event, Outcome, Reply
from core.domain import Document, Feedback, FeedbackKind, Profile, Receipt, Respondent, Stance
from core.i18n import LANGUAGES, t
from core.text import normalize_input, text_length

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
        self.submitted: list[str] = []
        self.consented = False

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

    def __init__(self) -> None:
        self.flows: dict[str, Flow] = {"draft": DraftFlow(self), "mood": MoodFlow(self)}

    def flow(self, turn: Turn) -> Flow:
        """The path the current entry follows (drafts when the state predates the choice)."""
        return self.flows.get(str(turn.draft.get("flow") or "draft"), self.flows["draft"])

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
        return Outcome(
            turn.state,
            turn.replies,
            turn.notice,
            int(turn.state.get("screen", 0)),
            submitted=turn.submitted,
            consented=turn.consented,
        )

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
            turn.consented = True
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
                    [Choice(turn._("mood.menu"), "mood")],
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
        elif data == "mood":
            turn.state["draft"] = {"flow": "mood", "client_ref": uuid.uuid4().hex[:16]}
            await self._goto(turn, "m_cong")
        elif data in ("mine", "help", "lang", "mydata"):
            if data == "lang":
                turn.state["lang_return"] = "menu"
            await self._goto(turn, data)
        else:
            turn.notice = turn._("notice.stale")

    async def render_help(self, turn: Turn) -> None:
        turn.show(
            Reply(
                turn._("help.text", limit=turn.ctx.settings.max_text_length) + "\n\n" + turn._("mood.help"),
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

    # ------------------------------------------------------------------ text (shared by both paths)

    async def render_text(self, turn: Turn) -> None:
        used = text_length(self._parts_text(turn))
        limit = turn.ctx.settings.max_text_length
        text = await self.flow(turn).text_prompt(turn, limit)
        if used:
            text += "\n\n" + turn._("text.so_far", used=used, limit=limit)
        rows = [[Choice(turn._("button.done"), "done")]]
        if used:
            rows.append([Choice(turn._("text.clear"), "clear")])
        rows.append([Choice(turn._("button.back"), "back"), Choice(turn._("button.menu"), "menu")])
        turn.show(Reply(text, rows, expects_text=True, max_length=limit, used_length=used))

    def _keep_piece(self, turn: Turn) -> int | None:
        """Add the typed text to the opinion's parts; the new total, or None (said why) when refused."""
        piece = normalize_input(turn.event.value)
        if not piece:
            turn.say(turn._("error.empty_text"))
            return None
        parts = list(turn.draft.get("parts", []))
        limit = turn.ctx.settings.max_text_length
        total = text_length("\n\n".join([*parts, piece]))
        if total > limit:
            used = text_length("\n\n".join(parts))
            turn.say(turn._("error.text_too_long_piece", limit=limit, used=used, piece=text_length(piece)))
            return None
        parts.append(piece)
        turn.draft["parts"] = parts
        return total

    async def text_stance(self, turn: Turn) -> None:
        """Text typed above the stance buttons is the opinion itself: keep it, then ask for the stance."""
        if self._keep_piece(turn) is not None:
            turn.say(turn._("stance.text_kept"))
        await self.render(turn)

    async def text_text(self, turn: Turn) -> None:
        total = self._keep_piece(turn)
        if total is None:
            await self.render(turn)
            return
        limit = turn.ctx.settings.max_text_length
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
            await self._goto(turn, self.flow(turn).text_back)
        elif data == "clear":
            turn.draft["parts"] = []
            turn.say(turn._("text.cleared"))
            await self.render(turn)
        elif data == "done":
            missing = self.flow(turn).missing_text_key(turn)
            if missing is not None and not turn.draft.get("parts"):
                turn.say(turn._(missing))
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

    # ------------------------------------------------------------------ confirm and submit (shared)

    async def render_confirm(self, turn: Turn) -> None:
        flow = self.flow(turn)
        if not await flow.still_open(turn):
            return
        respondent = await self._respondent(turn)
        turn.draft["return_confirm"] = True
        text = self._parts_text(turn)
        summary = await flow.summary(
            turn,
            text=shorten(text, CONFIRM_TEXT_CHARS) if text else turn._("confirm.no_text"),
            profile=await self._profile_summary(turn, respondent.profile) if respondent else "",
        )
        editing = bool(turn.draft.get("edit_receipt"))
        rows = [[Choice(turn._("confirm.save" if editing else "confirm.submit"), "submit")]]
        rows += flow.edit_rows(turn, editing)
        rows.append([Choice(turn._("confirm.cancel"), "cancel")])
        turn.show(Reply(summary, rows))

    async def on_confirm(self, turn: Turn) -> None:
        data = turn.event.value
        if data == "e:text":
            await self._goto(turn, "text")
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
        elif not await self.flow(turn).on_edit(turn, data):
            turn.notice = turn._("notice.stale")

    def _edit_profile_choice(self, turn: Turn) -> Choice:
        return Choice(turn._("confirm.edit_profile"), "e:prof")

    async def _submit(self, turn: Turn) -> None:
        respondent = await self._respondent(turn)
        if respondent is None or respondent.id is None:
            await self._goto(turn, "consent")
            return
        flow = self.flow(turn)
        receipt = await flow.submit(turn, respondent.id)
        if receipt is None:
            return
        turn.submitted.append(str(turn.draft.get("flow") or "draft"))
        text = await flow.receipt_text(turn, receipt)
        turn.state["draft"] = flow.remembered(turn)
        turn.state["step"] = "done"
        turn.show(
            Reply(
                text,
                [[Choice(turn._(flow.another_key), "again")], [Choice(turn._("button.menu"), "menu")]],
            )
        )

    async def _not_sent(self, turn: Turn, key: str) -> None:
        """The entry can no longer be stored: say so, give the person back their text, go to the menu."""
        text = self._parts_text(turn)
        turn.say(turn._(key) + (f"\n\n{text}" if text else ""))
        turn.state.pop("draft", None)
        await self._goto(turn, "menu")

    async def render_done(self, turn: Turn) -> None:
        flow = self.flow(turn)
        turn.show(
            Reply(
                turn._("submit.after"),
                [[Choice(turn._(flow.another_key), "again")], [Choice(turn._("button.menu"), "menu")]],
            )
        )

    async def on_done(self, turn: Turn) -> None:
        if turn.event.value != "again":
            turn.notice = turn._("notice.stale")
            return
        await self.flow(turn).again(turn)

    # ------------------------------------------------------------------ mood: congress, kind, topic

    async def _mood_windows(self, turn: Turn) -> list[mood_uc.MoodWindow]:
        plan = turn.ctx.uow.plan
        return mood_uc.congresses_for_mood(
            await plan.list_congresses(), await plan.list_periods(), turn.ctx.now
        )

    async def render_m_cong(self, turn: Turn) -> None:
        windows = await self._mood_windows(turn)
        if not windows:
            turn.show(Reply(turn._("mood.none_open"), [[Choice(turn._("button.menu"), "menu")]]))
            return
        lines = [turn._("mood.pick_congress")]
        rows: list[list[Choice]] = []
        for window in windows:
            name = window.congress.name(turn.lang)
            period = mood_uc.assign_period(window.congress, window.periods, turn.ctx.now)
            if period is not None:
                lines.append(turn._("mood.congress_line", congress=name, period=period.title(turn.lang)))
            rows.append([Choice(shorten(name, BUTTON_LABEL_MAX), f"c:{window.congress.id}")])
        rows.append([Choice(turn._("button.menu"), "menu")])
        turn.show(Reply("\n".join(lines), rows))

    async def on_m_cong(self, turn: Turn) -> None:
        data = turn.event.value
        ids = {w.congress.id for w in await self._mood_windows(turn)}
        if not data.startswith("c:") or not data[2:].isdigit() or int(data[2:]) not in ids:
            turn.notice = turn._("notice.stale")
            await self.render(turn)
            return
        turn.draft["congress_id"] = int(data[2:])
        await self._mood_next(turn, "m_kind")

    async def _mood_next(self, turn: Turn, step: str) -> None:
        """Go to ``step``, or back to the summary when the person came from it to change one thing."""
        await self._goto(turn, "confirm" if turn.draft.get("return_confirm") else step)

    async def _mood_window(self, turn: Turn) -> mood_uc.MoodWindow | None:
        """The window of the entry's congress while it takes entries; otherwise say so, go to the list."""
        congress_id = turn.draft.get("congress_id")
        window = next((w for w in await self._mood_windows(turn) if w.congress.id == congress_id), None)
        if window is None:
            congress = await turn.ctx.uow.plan.get_congress(int(congress_id or 0))
            if congress is not None:
                turn.say(turn._("mood.closed", congress=congress.name(turn.lang)))
            await self._goto(turn, "m_cong")
        return window

    async def render_m_kind(self, turn: Turn) -> None:
        window = await self._mood_window(turn)
        if window is None:
            return
        congress = window.congress
        rows = [[Choice(turn._(f"mood.kind.{k.value}"), f"mk:{k.value}")] for k in mood_uc.MOOD_KINDS]
        rows.append([Choice(turn._("button.back"), "back"), Choice(turn._("button.menu"), "menu")])
        turn.show(Reply(turn._("mood.pick_kind", congress=congress.name(turn.lang)), rows))

    async def on_m_kind(self, turn: Turn) -> None:
        data = turn.event.value
        if data == "back":
            await self._goto(turn, "m_cong")
            return
        kind = data.removeprefix("mk:")
        if kind not in {k.value for k in mood_uc.MOOD_KINDS}:
            turn.notice = turn._("notice.stale")
            return
        turn.draft["kind"] = kind
        await self._mood_next(turn, "m_topic")

    async def render_m_topic(self, turn: Turn) -> None:
        topics = await turn.ctx.uow.reference.list("topics")
        rows: list[list[Choice]] = []
        for i in range(0, len(topics), 2):
            rows.append([Choice(shorten(x.name(turn.lang), 30), f"t:{x.code}") for x in topics[i : i + 2]])
        rows.append([Choice(turn._("button.skip"), "t:-")])
        rows.append([Choice(turn._("button.back"), "back"), Choice(turn._("button.menu"), "menu")])
        turn.show(Reply(turn._("mood.pick_topic"), rows))

    async def on_m_topic(self, turn: Turn) -> None:
        data = turn.event.value
        if data == "back":
            await self._goto(turn, "m_kind")
            return
        if data == "t:-":
            turn.draft["topic"] = None
        elif data.startswith("t:") and await turn.ctx.uow.reference.get("topics", data[2:]) is not None:
            turn.draft["topic"] = data[2:]
        else:
            turn.notice = turn._("notice.stale")
            await self.render(turn)
            return
        await self._mood_next(turn, "text")

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
        changeable = await uc.can_change(uow=turn.ctx.uow, feedback=item, now=turn.ctx.now)
        common = {
            "code": item.receipt_code,
            "status": turn._(f"status.{item.status.value}"),
            "at": turn.fmt_date(item.created_at),
            "text": shorten(item.text, CONFIRM_TEXT_CHARS) if item.text else turn._("confirm.no_text"),
        }
        if item.kind in mood_uc.MOOD_KINDS:
            text = await self._mood_item_text(turn, item, common)
        else:
            document = await turn.ctx.uow.documents.get(item.document_id) if item.document_id else None
            section = await turn.ctx.uow.sections.get(item.section_id) if item.section_id else None
            text = turn._(
                "mine.item",
                document=document.title if document else "—",
                section=section.label if section else turn._("sec.whole_document_label"),
                stance=turn._(f"stance.{item.stance.value}")
                if item.stance
                else turn._(f"kind.{item.kind.value}"),
                **common,
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

    async def _mood_item_text(self, turn: Turn, item: Feedback, common: dict[str, str]) -> str:
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


class Flow(ABC):
    """What one path does at the shared steps: text prompt, summary, storing, receipt, 'another one'."""

    text_back: str = "menu"
    """The step before ``text`` (where «Back» leads)."""
    another_key: str = "submit.another"
    """Catalog key of the «another one» button after a receipt."""

    def __init__(self, conversation: CitizenConversation) -> None:
        self.conversation = conversation

    @abstractmethod
    async def text_prompt(self, turn: Turn, limit: int) -> str:
        """The invitation to write, with the limit."""

    @abstractmethod
    def missing_text_key(self, turn: Turn) -> str | None:
        """Catalog key of the reply when the text is required and none was given; None if optional."""

    @abstractmethod
    async def still_open(self, turn: Turn) -> bool:
        """True when the entry can still be sent; otherwise say why and move to a sensible step."""

    @abstractmethod
    async def summary(self, turn: Turn, *, text: str, profile: str) -> str:
        """The confirmation text."""

    @abstractmethod
    def edit_rows(self, turn: Turn, editing: bool) -> list[list[Choice]]:
        """The «change …» buttons of the confirmation screen."""

    @abstractmethod
    async def on_edit(self, turn: Turn, data: str) -> bool:
        """React to one of the path's own «change …» buttons; False for anything else."""

    @abstractmethod
    async def submit(self, turn: Turn, respondent_id: int) -> Receipt | None:
        """Store the entry; None when the flow already replied (edited, or no longer accepted)."""

    @abstractmethod
    async def receipt_text(self, turn: Turn, receipt: Receipt) -> str:
        """The receipt message."""

    @abstractmethod
    def remembered(self, turn: Turn) -> dict[str, Any]:
        """What the draft keeps after a receipt, for «another one»."""

    @abstractmethod
    async def again(self, turn: Turn) -> None:
        """Start another entry of the same path."""


class DraftFlow(Flow):
    """An opinion on a draft document: document → section → stance → text."""

    text_back = "stance"

    def _stance(self, turn: Turn) -> Stance:
        return Stance(turn.draft.get("stance", Stance.OTHER.value))

    async def text_prompt(self, turn: Turn, limit: int) -> str:
        stance = self._stance(turn)
        key = "text.prompt_optional" if not stance.text_required else f"text.prompt_{stance.value}"
        return turn._(key, limit=limit)

    def missing_text_key(self, turn: Turn) -> str | None:
        stance = self._stance(turn)
        return f"error.text_required_{stance.value}" if stance.text_required else None

    async def still_open(self, turn: Turn) -> bool:
        return await self.conversation._open_document(turn) is not None

    async def summary(self, turn: Turn, *, text: str, profile: str) -> str:
        document = await turn.ctx.uow.documents.get(int(turn.draft.get("document_id") or 0))
        label, _body = await self.conversation._section_heading(turn)
        return turn._(
            "confirm.summary",
            document=document.title if document else "",
            section=label,
            stance=turn._(f"stance.{self._stance(turn).value}"),
            text=text,
            profile=profile,
        )

    def edit_rows(self, turn: Turn, editing: bool) -> list[list[Choice]]:
        rows = [
            [
                Choice(turn._("confirm.edit_text"), "e:text"),
                Choice(turn._("confirm.edit_stance"), "e:stance"),
            ]
        ]
        if not editing:
            rows.append(
                [
                    Choice(turn._("confirm.edit_section"), "e:sec"),
                    self.conversation._edit_profile_choice(turn),
                ]
            )
        return rows

    async def on_edit(self, turn: Turn, data: str) -> bool:
        if data == "e:stance":
            await self.conversation._goto(turn, "stance")
        elif data == "e:sec":
            turn.draft["page"] = 0
            await self.conversation._goto(turn, "sec")
        else:
            return False
        return True

    async def submit(self, turn: Turn, respondent_id: int) -> Receipt | None:
        draft = turn.draft
        settings = turn.ctx.settings
        text = self.conversation._parts_text(turn)
        try:
            if draft.get("edit_receipt"):
                receipt = await uc.edit_feedback(
                    uow=turn.ctx.uow,
                    respondent_id=respondent_id,
                    receipt_code=str(draft["edit_receipt"]),
                    stance=self._stance(turn),
                    text=text,
                    now=turn.ctx.now,
                    max_length=settings.max_text_length,
                )
                turn.say(turn._("submit.edited", code=receipt.receipt_code))
                turn.state.pop("draft", None)
                await self.conversation._goto(turn, "mine")
                return None
            return await uc.submit_feedback(
                uow=turn.ctx.uow,
                respondent_id=respondent_id,
                document_id=int(draft["document_id"]),
                section_id=draft.get("section_id"),
                stance=self._stance(turn),
                text=text,
                channel=turn.ctx.channel,
                now=turn.ctx.now,
                max_length=settings.max_text_length,
                client_ref=str(draft.get("client_ref") or uuid.uuid4().hex[:16]),
            )
        except errors.DocumentClosed:
            await self.conversation._not_sent(turn, "submit.closed")
            return None

    async def receipt_text(self, turn: Turn, receipt: Receipt) -> str:
        return turn._("submit.receipt", code=receipt.receipt_code)

    def remembered(self, turn: Turn) -> dict[str, Any]:
        return {"flow": "draft", "last_document_id": turn.draft["document_id"]}

    async def again(self, turn: Turn) -> None:
        last = turn.draft.get("last_document_id")
        turn.state["draft"] = {"flow": "draft", "client_ref": uuid.uuid4().hex[:16]}
        if last:
            turn.draft.update({"document_id": last, "parent_id": None, "page": 0})
            await self.conversation._goto(turn, "sec")
        else:
            await self.conversation._goto(turn, "doc")


class MoodFlow(Flow):
    """A concern, aspiration or recommendation about a congress: congress → kind → topic → text."""

    text_back = "m_topic"
    another_key = "mood.another"

    def _kind(self, turn: Turn) -> FeedbackKind:
        try:
            return FeedbackKind(turn.draft.get("kind", FeedbackKind.CONCERN.value))
        except ValueError:
            return FeedbackKind.CONCERN

    async def text_prompt(self, turn: Turn, limit: int) -> str:
        kind = turn._(f"kind.{self._kind(turn).value}").lower()
        return turn._("mood.text_prompt", kind=kind, limit=limit)

    def missing_text_key(self, turn: Turn) -> str | None:
        return "mood.text_required"

    async def still_open(self, turn: Turn) -> bool:
        return await self.conversation._mood_window(turn) is not None

    async def summary(self, turn: Turn, *, text: str, profile: str) -> str:
        window = await self.conversation._mood_window(turn)
        assert window is not None  # still_open() came first in this turn
        period = mood_uc.assign_period(window.congress, window.periods, turn.ctx.now)
        topic_code = turn.draft.get("topic")
        topic = await turn.ctx.uow.reference.get("topics", str(topic_code)) if topic_code else None
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
            [self.conversation._edit_profile_choice(turn)],
        ]

    async def on_edit(self, turn: Turn, data: str) -> bool:
        step = {"e:kind": "m_kind", "e:cong": "m_cong", "e:topic": "m_topic"}.get(data)
        if step is None:
            return False
        await self.conversation._goto(turn, step)
        return True

    async def submit(self, turn: Turn, respondent_id: int) -> Receipt | None:
        draft = turn.draft
        try:
            return await mood_uc.submit_mood_entry(
                uow=turn.ctx.uow,
                respondent_id=respondent_id,
                congress_id=int(draft.get("congress_id") or 0),
                kind=self._kind(turn),
                topic=draft.get("topic"),
                text=self.conversation._parts_text(turn),
                channel=turn.ctx.channel,
                now=turn.ctx.now,
                max_length=turn.ctx.settings.max_text_length,
                client_ref=str(draft.get("client_ref") or uuid.uuid4().hex[:16]),
            )
        except (errors.CongressClosed, errors.CongressNotFound, errors.NoPeriodForEntry):
            await self.conversation._not_sent(turn, "mood.closed_not_sent")
            return None

    async def receipt_text(self, turn: Turn, receipt: Receipt) -> str:
        plan = turn.ctx.uow.plan
        congress = await plan.get_congress(int(turn.draft.get("congress_id") or 0))
        period = None
        if congress is not None:
            period = mood_uc.assign_period(congress, await plan.list_periods(congress.id), receipt.created_at)
        return turn._(
            "mood.receipt", code=receipt.receipt_code, period=period.title(turn.lang) if period else "—"
        )

    def remembered(self, turn: Turn) -> dict[str, Any]:
        return {"flow": "mood", "last_congress_id": turn.draft.get("congress_id")}

    async def again(self, turn: Turn) -> None:
        last = turn.draft.get("last_congress_id")
        turn.state["draft"] = {"flow": "mood", "client_ref": uuid.uuid4().hex[:16]}
        windows = await self.conversation._mood_windows(turn)
        if last is not None and any(w.congress.id == last for w in windows):
            turn.draft["congress_id"] = last
            await self.conversation._goto(turn, "m_kind")
        else:
            await self.conversation._goto(turn, "m_cong")


def _safe_params(params: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in params.items() if isinstance(v, str | int | float)}
