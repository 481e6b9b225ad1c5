"""Channel-neutral conversation primitives: events in, replies out."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal
from zoneinfo import ZoneInfo

from core.domain import Channel
from core.ports import UnitOfWork

EventKind = Literal["text", "choice", "command", "unsupported"]


@dataclass(frozen=True)
class Event:
    """What a person did: typed text, pressed a choice, sent a command, or sent something unsupported.

    ``screen`` is the screen number a pressed choice came from (stale presses carry an old one).
    """

    kind: EventKind
    value: str = ""
    args: str = ""
    screen: int | None = None

    @classmethod
    def text(cls, value: str) -> Event:
        return cls("text", value)

    @classmethod
    def choice(cls, value: str, screen: int | None) -> Event:
        return cls("choice", value, screen=screen)

    @classmethod
    def command(cls, name: str, args: str = "") -> Event:
        return cls("command", name.lower(), args=args.strip())

    @classmethod
    def unsupported(cls, what: str) -> Event:
        return cls("unsupported", what)


@dataclass(frozen=True)
class Choice:
    """A button: ``label`` is already translated; ``data`` is short (it travels in 64-byte callback data)."""

    label: str
    data: str


@dataclass
class Reply:
    """One message to show. ``expects_text``/``max_length``: show a text box and a counter."""

    text: str
    choices: list[list[Choice]] = field(default_factory=list)
    expects_text: bool = False
    max_length: int | None = None
    used_length: int | None = None
    input_hint: str | None = None  # what to type (a text box's placeholder), when not an opinion

    def choice_data(self) -> list[str]:
        return [c.data for row in self.choices for c in row]


@dataclass
class Outcome:
    """The new dialog state, the replies to show, an optional short notice (a toast), what was stored."""

    state: dict[str, Any]
    replies: list[Reply]
    notice: str | None = None
    screen: int | None = None
    submitted: list[str] = field(default_factory=list)  # flows ("draft", "mood") of entries stored now
    consented: bool = False  # consent was recorded now (the web chat then issues a new session id)


@dataclass(frozen=True)
class ConversationSettings:
    max_text_length: int = 4000
    page_size: int = 8
    privacy_version: str = "2025-07"
    timezone: str = "Asia/Ho_Chi_Minh"
    org_name: str = "Ban Dân vận Thành ủy"
    org_name_en: str = ""
    org_contact: str = ""

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def org(self, language: str) -> str:
        """The name of the issuing body in ``language``."""
        return self.org_name_en if language == "en" and self.org_name_en else self.org_name


@dataclass
class Context:
    """What a conversation step may use: a unit of work (owned by the entrypoint), who, when, settings."""

    uow: UnitOfWork
    channel: Channel
    user_hash: str
    now: datetime
    settings: ConversationSettings = field(default_factory=ConversationSettings)
