"""Telegram adapter of the unit contact's conversation (invite deep links, reminders' buttons, uploads).

Registered before the citizen router; it only takes what is its own — ``/start u-<token>``, the
contact commands, callbacks whose data starts with ``rp:``, and texts / documents while the contact's
own flow is active — and everything else falls through to the citizen router. Its dialog state lives
in the same FSM storage under its own destiny (``contact``), apart from the citizen's.
"""

from __future__ import annotations

import io
import re
from functools import partial
from typing import Any

from aiogram import Bot, Router
from aiogram.fsm.context import FSMContext
from aiogram.fsm.storage.base import BaseStorage, StorageKey
from aiogram.types import CallbackQuery, Message

from bot.filters import private_callback, private_message
from bot.handlers import event_from_message
from bot.middlewares import Replies
from bot.render import decode_choice, keyboard, split_text
from core.archives import ArchiveLimits
from core.clock import Clock
from core.conversation.contact import (
    ACTIVE_STEPS,
    COMMANDS,
    PREFIX,
    ContactContext,
    ContactConversation,
    IncomingFile,
)
from core.conversation.model import ConversationSettings, Event, Outcome
from core.i18n import normalize_language
from core.reporting import FileStore, ReminderPolicy, ReportingUnitOfWork

DESTINY = "contact"
INVITE_START = re.compile(r"^/start(@\w+)?\s+u-")
COMMAND = re.compile(r"^/([a-z_]+)(@\w+)?(\s|$)")


def _state(storage: BaseStorage, bot: Bot, chat_id: int, user_id: int) -> FSMContext:
    return FSMContext(storage, StorageKey(bot_id=bot.id, chat_id=chat_id, user_id=user_id, destiny=DESTINY))


async def _flow_active(message: Message, fsm_storage: BaseStorage, bot: Bot) -> bool:
    if message.from_user is None:
        return False
    data = await _state(fsm_storage, bot, message.chat.id, message.from_user.id).get_data()
    return data.get("step") in ACTIVE_STEPS


async def _is_contact_message(message: Message) -> bool:
    text = message.text or ""
    if INVITE_START.match(text):
        return True
    match = COMMAND.match(text)
    return bool(match and match.group(1) in COMMANDS)


async def _is_contact_callback(query: CallbackQuery) -> bool:
    decoded = decode_choice(query.data)
    return decoded is not None and decoded[1].startswith(PREFIX)


class ContactAdapter:
    def __init__(
        self,
        *,
        files: FileStore,
        policy: ReminderPolicy,
        clock: Clock,
        max_bytes: int,
        archive_limits: ArchiveLimits | None = None,
        conversation: ContactConversation | None = None,
        settings: ConversationSettings | None = None,
    ) -> None:
        self.conversation = conversation or ContactConversation()
        self.files = files
        self.policy = policy
        self.clock = clock
        self.max_bytes = max_bytes
        self.archive_limits = archive_limits or ArchiveLimits()
        self.settings = settings or ConversationSettings()

    async def run(
        self,
        *,
        bot: Bot,
        storage: BaseStorage,
        chat_id: int,
        user_id: int,
        language: str | None,
        event: Event,
        uow: ReportingUnitOfWork,
        file: IncomingFile | None = None,
    ) -> Outcome:
        state = _state(storage, bot, chat_id, user_id)
        ctx = ContactContext(
            uow=uow,
            files=self.files,
            chat_id=chat_id,
            language=normalize_language(language),
            now=self.clock.now(),
            policy=self.policy,
            max_bytes=self.max_bytes,
            archive_limits=self.archive_limits,
            settings=self.settings,
        )
        outcome = await self.conversation.handle(await state.get_data(), event, ctx, file)
        await state.set_data(outcome.state)
        return outcome

    async def send(self, bot: Bot, chat_id: int, outcome: Outcome) -> None:
        for reply in outcome.replies:
            chunks = split_text(reply.text)
            for i, chunk in enumerate(chunks):
                markup = keyboard(reply, 0) if i == len(chunks) - 1 else None
                await bot.send_message(chat_id, chunk, reply_markup=markup)


def _incoming_file(message: Message, bot: Bot, uow: Any) -> IncomingFile | None:
    document = message.document
    if document is None:
        return None

    async def read() -> bytes:
        await uow.release_connection()  # no database connection is held while the file downloads
        buffer = io.BytesIO()
        await bot.download(document, destination=buffer)
        return buffer.getvalue()

    return IncomingFile(size=document.file_size, read=read, name=document.file_name)


def setup(adapter: ContactAdapter) -> Router:
    """The contacts router (private chats only)."""
    router = Router(name="contacts")
    router.message.filter(private_message)
    router.callback_query.filter(private_callback)

    async def on_message(
        message: Message, uow: Any, bot: Bot, fsm_storage: BaseStorage, replies: Replies
    ) -> None:
        if message.from_user is None:
            return
        outcome = await adapter.run(
            bot=bot,
            storage=fsm_storage,
            chat_id=message.chat.id,
            user_id=message.from_user.id,
            language=message.from_user.language_code,
            event=event_from_message(message),
            uow=uow,
            file=_incoming_file(message, bot, uow),
        )
        replies.add(partial(adapter.send, bot, message.chat.id, outcome))

    router.message.register(on_message, _is_contact_message)
    router.message.register(on_message, _flow_active)

    @router.callback_query(_is_contact_callback)
    async def on_callback(
        query: CallbackQuery, uow: Any, bot: Bot, fsm_storage: BaseStorage, replies: Replies
    ) -> None:
        decoded = decode_choice(query.data)
        if decoded is None or query.message is None:
            replies.add(query.answer)
            return
        screen, data = decoded
        outcome = await adapter.run(
            bot=bot,
            storage=fsm_storage,
            chat_id=query.message.chat.id,
            user_id=query.from_user.id,
            language=query.from_user.language_code,
            event=Event.choice(data, screen),
            uow=uow,
        )
        replies.add(partial(query.answer, outcome.notice[:200] if outcome.notice else None))
        replies.add(partial(adapter.send, bot, query.message.chat.id, outcome))

    return router
