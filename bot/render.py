"""Render channel-neutral replies as Telegram messages and inline keyboards."""

from __future__ import annotations

from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup

from core.conversation.model import Reply

TELEGRAM_TEXT_LIMIT = 4096
BUTTON_LABEL_MAX = 56  # longer labels are cut by Telegram's clients on a phone
SEPARATOR = "|"


def encode_choice(screen: int, data: str) -> str:
    """``callback_data`` = ``<screen>|<data>``; kept within Telegram's 64 bytes."""
    value = f"{screen}{SEPARATOR}{data}"
    if len(value.encode()) > 64:
        raise ValueError(f"callback data too long: {value!r}")
    return value


def decode_choice(callback_data: str | None) -> tuple[int | None, str] | None:
    """Return ``(screen, data)`` or None for data that is not ours."""
    if not callback_data or SEPARATOR not in callback_data:
        return None
    screen, _, data = callback_data.partition(SEPARATOR)
    if not screen.isdigit() or not data:
        return None
    return int(screen), data


def fit_label(label: str, limit: int = BUTTON_LABEL_MAX) -> str:
    """A button label Telegram shows whole: long ones keep their beginning and their end (where drafts
    with the same long beginning differ, and where a closing date or a path's last part stands)."""
    label = " ".join(label.split())
    if len(label) <= limit:
        return label
    head_room = (limit - 3) * 2 // 3
    tail_room = limit - 3 - head_room
    head = label[:head_room]
    if " " in head[head_room // 2 :]:
        head = head[: head.rfind(" ")]
    tail = label[-tail_room:]
    if " " in tail[: tail_room // 2]:
        tail = tail[tail.find(" ") + 1 :]
    return f"{head.rstrip(' ,.;:›')} … {tail.lstrip(' ,.;:›')}"


def keyboard(reply: Reply, screen: int) -> InlineKeyboardMarkup | None:
    if not reply.choices:
        return None
    return InlineKeyboardMarkup(
        inline_keyboard=[
            [
                InlineKeyboardButton(text=fit_label(c.label), callback_data=encode_choice(screen, c.data))
                for c in row
            ]
            for row in reply.choices
        ]
    )


def split_text(text: str, limit: int = TELEGRAM_TEXT_LIMIT) -> list[str]:
    """Split a long text into message-sized chunks, preferring paragraph and line breaks."""
    chunks: list[str] = []
    rest = text
    while len(rest) > limit:
        cut = rest.rfind("\n", 0, limit)
        if cut < limit // 2:
            cut = rest.rfind(" ", 0, limit)
        if cut < limit // 2:
            cut = limit
        chunks.append(rest[:cut].rstrip())
        rest = rest[cut:].lstrip()
    chunks.append(rest)
    return [c for c in chunks if c] or [" "]
