"""Channel-neutral replies as Zalo messages, and Zalo webhook events as conversation events.

Zalo shows at most 5 buttons under a message. A reply with up to 5 choices gets them all; a longer list
is numbered in the text (typing the number or the label chooses) and its buttons come in pages of 3
choices with «Trước» / «Tiếp», turned by the adapter without a conversation step. A tap comes back as a
``user_send_text`` whose text is the button's payload: ``gopy:c:<screen>:<data>`` for a choice,
``gopy:p:<reply>:<page>`` for a page.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from bot.zalo.client import MAX_BUTTONS, Button
from core.conversation.contact import COMMANDS as CONTACT_COMMANDS
from core.conversation.model import Event, Outcome
from core.i18n import t

CHOICE_PREFIX = "gopy:c:"
PAGE_PREFIX = "gopy:p:"
PAGE_CHOICES = 3  # with «Trước» and «Tiếp»: 5 buttons
COMMANDS = frozenset({"start", "menu", "cancel", "help", "language", "mydata", "privacy"}) | CONTACT_COMMANDS
TYPED_COMMAND_RE = re.compile(r"^/([A-Za-z_]{1,32})$")
#: a unit contact's invite code, typed to the OA (``gopy contacts invite`` prints it)
INVITE_RE = re.compile(r"^\s*(?:/start\s+)?(u-[A-Za-z0-9_-]{16,64})\s*$")
UNSUPPORTED = {
    "user_send_image": "photo",
    "user_send_gif": "animation",
    "user_send_sticker": "sticker",
    "user_send_file": "document",
    "user_send_location": "location",
    "user_send_audio": "voice",
    "user_send_video": "video",
    "user_send_link": "link",
    "user_send_business_card": "contact",
}


@dataclass(frozen=True)
class Message:
    text: str
    buttons: tuple[Button, ...] = ()

    def as_json(self) -> dict[str, Any]:
        return {"text": self.text, "buttons": [[b.title, b.payload] for b in self.buttons]}

    @classmethod
    def from_json(cls, value: dict[str, Any]) -> Message:
        return cls(str(value["text"]), tuple(Button(str(a), str(b)) for a, b in value.get("buttons") or []))


@dataclass(frozen=True)
class PageTurn:
    """A «Trước» / «Tiếp» tap: show another page of a reply's choices (no conversation step)."""

    reply: int
    page: int


def view_of(outcome: Outcome, lang: str) -> dict[str, Any]:
    """What is kept of the last screen: its replies with their choices, to page and to match typing."""
    return {
        "screen": outcome.screen,
        "lang": lang,
        "replies": [
            {
                "text": r.text,
                "choices": [[c.label, c.data] for row in r.choices for c in row],
                "expects_text": r.expects_text,
            }
            for r in outcome.replies
        ],
    }


def render(view: dict[str, Any], pages: dict[int, int] | None = None) -> list[Message]:
    """The messages of a screen; ``pages`` gives the page shown of a long list (reply index → page)."""
    lang = str(view.get("lang") or "vi")
    screen = int(view.get("screen") or 0)
    pages = pages or {}
    messages = []
    for index, reply in enumerate(view.get("replies") or []):
        text = str(reply["text"])
        choices = [(str(label), str(data)) for label, data in reply.get("choices") or []]
        buttons: list[Button] = []
        if len(choices) <= MAX_BUTTONS:
            buttons = [Button(label, f"{CHOICE_PREFIX}{screen}:{data}") for label, data in choices]
        else:
            total = -(-len(choices) // PAGE_CHOICES)
            page = min(max(pages.get(index, 0), 0), total - 1)
            listing = "\n".join(f"{n}. {label}" for n, (label, _data) in enumerate(choices, 1))
            hint = t("zalo.pick_hint", lang)
            where = t("zalo.page", lang, page=page + 1, pages=total)
            text = f"{text}\n\n{listing}\n\n{hint} {where}."
            shown = choices[page * PAGE_CHOICES : (page + 1) * PAGE_CHOICES]
            buttons = [Button(label, f"{CHOICE_PREFIX}{screen}:{data}") for label, data in shown]
            if page > 0:
                buttons.append(Button(t("zalo.previous", lang), f"{PAGE_PREFIX}{index}:{page - 1}"))
            if page < total - 1:
                buttons.append(Button(t("zalo.next", lang), f"{PAGE_PREFIX}{index}:{page + 1}"))
        messages.append(Message(text, tuple(buttons)))
    return messages


def _norm(value: str) -> str:
    return " ".join(value.casefold().split())


def event_of(event_name: str, payload: dict[str, Any], view: dict[str, Any]) -> Event | PageTurn | None:
    """The conversation event of a webhook event (None: nothing to do), read against the last screen."""
    if event_name == "follow":
        return Event.command("start")
    if event_name in UNSUPPORTED:
        return Event.unsupported(UNSUPPORTED[event_name])
    if event_name != "user_send_text":
        return None
    text = str((payload.get("message") or {}).get("text") or "")
    if text.startswith(CHOICE_PREFIX):
        screen, _, data = text[len(CHOICE_PREFIX) :].partition(":")
        if screen.isdigit() and data:
            return Event.choice(data, int(screen))
    if text.startswith(PAGE_PREFIX):
        reply, _, page = text[len(PAGE_PREFIX) :].partition(":")
        if reply.isdigit() and page.isdigit():
            return PageTurn(int(reply), int(page))
    invite = INVITE_RE.match(text)
    if invite:
        return Event.command("start", invite.group(1))
    typed = TYPED_COMMAND_RE.match(text.strip())
    if typed and typed.group(1).lower() in COMMANDS:
        return Event.command(typed.group(1).lower())
    replies = [r for r in view.get("replies") or [] if r.get("choices")]
    if replies and not replies[-1].get("expects_text"):
        choices = replies[-1]["choices"]
        typed_text = text.strip().rstrip(".")
        if typed_text.isdigit() and 1 <= int(typed_text) <= len(choices):
            return Event.choice(str(choices[int(typed_text) - 1][1]), view.get("screen"))
        by_label = [data for label, data in choices if _norm(label) == _norm(text)]
        if by_label:
            return Event.choice(str(by_label[0]), view.get("screen"))
    return Event.text(text)
