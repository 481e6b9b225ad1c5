"""Router filters as coroutines: aiogram runs a plain function (a magic ``F`` filter too) in a thread of
its own on every check (``asyncio.to_thread``), a hop per filter per update; a coroutine it awaits."""

from __future__ import annotations

from aiogram.types import CallbackQuery, Message


async def private_message(message: Message) -> bool:
    """``F.chat.type == "private"``."""
    return message.chat.type == "private"


async def private_callback(query: CallbackQuery) -> bool:
    """``F.message.chat.type == "private"`` (False for a press without its message)."""
    return query.message is not None and query.message.chat.type == "private"
