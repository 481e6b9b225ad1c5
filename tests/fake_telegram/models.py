"""Plain data objects recorded by the fake Telegram server and handed to tests."""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any, NamedTuple


class ApiError(Exception):
    """An error answer of the Bot API: ``{"ok": false, "error_code": status, "description": ...}``."""

    def __init__(self, status: int, description: str, parameters: dict[str, Any] | None = None) -> None:
        super().__init__(f"{status} {description}")
        self.status = status
        self.description = description
        self.parameters = parameters

    def payload(self) -> dict[str, Any]:
        """The JSON body Telegram would answer with."""
        body: dict[str, Any] = {"ok": False, "error_code": self.status, "description": self.description}
        if self.parameters:
            body["parameters"] = self.parameters
        return body


def bad_request(description: str) -> ApiError:
    """``400 Bad Request: <description>``."""
    return ApiError(400, f"Bad Request: {description}")


class Button(NamedTuple):
    """One inline keyboard button as ``(text, callback_data)``; ``callback_data`` is None for URL buttons.

    Being a NamedTuple it compares equal to a plain ``("Text", "data")`` tuple.
    """

    text: str
    callback_data: str | None


@dataclass
class StoredFile:
    """A file a :class:`FakeUser` sent, downloadable by the bot through getFile."""

    file_id: str
    file_unique_id: str
    file_path: str
    content: bytes
    mime_type: str | None = None
    file_size: int = 0

    def to_api(self) -> dict[str, Any]:
        """Telegram ``File`` object (what getFile returns)."""
        return {
            "file_id": self.file_id,
            "file_unique_id": self.file_unique_id,
            "file_size": self.file_size,
            "file_path": self.file_path,
        }


@dataclass
class Call:
    """One Bot API request made by the bot.

    ``params`` are normalised: numbers/booleans given as form strings are converted for well-known
    fields, and object fields (``reply_markup``, ``commands``...) are decoded from JSON.  ``at`` is
    ``time.monotonic()``.  ``chat_id`` is the chat the call concerns (also resolved for
    answerCallbackQuery), or None.
    """

    method: str
    params: dict[str, Any]
    at: float
    chat_id: int | None = None
    status: int = 200
    result: Any = None
    error: str | None = None

    @property
    def ok(self) -> bool:
        """True when the call was answered with ``ok: true``."""
        return self.status == 200


@dataclass
class ChatMessage:
    """A message in a fake private chat (sent by the bot or by the user).

    Objects handed out by the server and :class:`FakeUser` are snapshots taken when they were
    returned: later edits by the bot do not change them (ask again for the current state).

    ``text`` is the message text (None for a document or a sticker).  ``buttons`` are the inline keyboard
    rows.  ``document`` is the Telegram ``Document`` dict (file_id, file_unique_id, file_name,
    mime_type, file_size) when the message carries one; ``extra`` holds other message fields (a
    sticker...).
    """

    chat_id: int
    message_id: int
    from_bot: bool
    date: int
    text: str | None = None
    entities: list[dict[str, Any]] = field(default_factory=list)
    buttons: list[list[Button]] = field(default_factory=list)
    inline_markup: dict[str, Any] | None = None
    document: dict[str, Any] | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    edit_date: int | None = None
    api: dict[str, Any] = field(default_factory=dict)

    def button_texts(self) -> list[str]:
        """All inline button texts, flattened row by row."""
        return [button.text for row in self.buttons for button in row]

    def to_api(self) -> dict[str, Any]:
        """The Telegram ``Message`` object as the Bot API would return it now (a deep copy)."""
        return copy.deepcopy(self.api)

    def render(self) -> str:
        """Human readable one-or-more line rendering for transcripts and assertion messages."""
        who = "bot" if self.from_bot else "user"
        body = self.text if self.text is not None else ""
        if self.document:
            body = (
                f"[document {self.document.get('file_name')!r}, {self.document.get('file_size')} bytes] "
                + body
            )
        elif not body:
            body = "[sticker]" if "sticker" in self.extra else "[message]"
        lines = [f"#{self.message_id} {who}: {body.rstrip()}"]
        lines.extend("  " + " ".join(f"[{b.text}]" for b in buttons) for buttons in self.buttons)
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.render()


@dataclass
class WebhookDelivery:
    """One attempt to POST an update to the webhook URL; ``status`` is 0 on a connection error."""

    update_id: int
    status: int
    attempt: int
    at: float
    error: str | None = None


@dataclass
class CallbackAnswer:
    """An answerCallbackQuery made by the bot for a callback query of a fake user."""

    user_id: int
    data: str | None
    text: str | None
    show_alert: bool
    at: float
