"""The Telegram adapter of the citizen conversation: updates → events, outcomes → messages."""

from __future__ import annotations

import logging
from functools import partial
from typing import Any

from aiogram import Bot, Router
from aiogram.exceptions import TelegramBadRequest
from aiogram.fsm.context import FSMContext
from aiogram.methods import AnswerCallbackQuery
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message

from bot.filters import private_callback, private_message
from bot.middlewares import Replies
from bot.render import decode_choice, keyboard, split_text
from core.clock import Clock
from core.conversation.citizen import CitizenConversation
from core.conversation.model import Context, ConversationSettings, Event, Outcome
from core.domain import Channel
from core.feedback import hash_user_id
from core.i18n import t
from core.ports import UnitOfWork
from telemetry.metrics import SUBMISSIONS, UPDATES_HANDLED

log = logging.getLogger(__name__)


def event_from_message(message: Message) -> Event:
    """Map a Telegram message to a channel-neutral event."""
    if message.text is not None:
        text = message.text
        if text.startswith("/"):
            head, _, args = text.partition(" ")
            name = head[1:].split("@", 1)[0]
            if name and name.replace("_", "").isalnum():
                return Event.command(name, args)
        return Event.text(text)
    return Event.unsupported(str(message.content_type))


class TelegramAdapter:
    """Runs the conversation for one update and renders its outcome."""

    def __init__(
        self,
        *,
        conversation: CitizenConversation,
        settings: ConversationSettings,
        hash_key: str,
        clock: Clock,
    ) -> None:
        self.conversation = conversation
        self.settings = settings
        self.hash_key = hash_key
        self.clock = clock

    async def run(self, *, user_id: int, event: Event, state: FSMContext, uow: UnitOfWork) -> Outcome:
        ctx = Context(
            uow=uow,
            channel=Channel.TELEGRAM,
            user_hash=hash_user_id(key=self.hash_key, channel=Channel.TELEGRAM, channel_user_id=str(user_id)),
            now=self.clock.now(),
            settings=self.settings,
        )
        outcome = await self.conversation.handle(await state.get_data(), event, ctx)
        await state.set_data(outcome.state)  # the step lives in the data; one write per update
        UPDATES_HANDLED.labels(channel="telegram", kind=event.kind).inc()
        for flow in outcome.submitted:
            SUBMISSIONS.labels(channel="telegram", kind=flow).inc()
        return outcome

    async def send(self, bot: Bot, chat_id: int, outcome: Outcome) -> None:
        screen = outcome.screen or 0
        for reply in outcome.replies:
            chunks = split_text(reply.text)
            for i, chunk in enumerate(chunks):
                markup = keyboard(reply, screen) if i == len(chunks) - 1 else None
                await bot.send_message(chat_id, chunk, reply_markup=markup)


def setup(adapter: TelegramAdapter) -> Router:
    """The router of the citizen conversation (private chats only)."""
    router = Router(name="citizen")
    router.message.filter(private_message)
    router.callback_query.filter(private_callback)

    @router.message()
    async def on_message(
        message: Message, state: FSMContext, uow: UnitOfWork, bot: Bot, replies: Replies
    ) -> None:
        if message.from_user is None:
            return
        outcome = await adapter.run(
            user_id=message.from_user.id, event=event_from_message(message), state=state, uow=uow
        )
        replies.add(partial(adapter.send, bot, message.chat.id, outcome))

    @router.callback_query()
    async def on_callback(
        query: CallbackQuery, state: FSMContext, uow: UnitOfWork, bot: Bot, replies: Replies
    ) -> AnswerCallbackQuery:
        """The press is answered (its spinner stopped, a notice shown) by the answerCallbackQuery this
        returns: in the webhook's response (api/app.py), or called by aiogram when polling; either way
        once the update is committed and its replies sent."""
        decoded = decode_choice(query.data)
        if decoded is None or query.message is None or not isinstance(query.message, Message):
            lang = str((await state.get_data()).get("lang") or "vi")  # read only here: run() reads it anyway
            return query.answer(t("notice.stale", lang))
        screen, data = decoded
        outcome = await adapter.run(
            user_id=query.from_user.id, event=Event.choice(data, screen), state=state, uow=uow
        )
        replies.add(partial(_answer_choice, adapter, bot, query.message, outcome))
        return query.answer(outcome.notice or None)

    return router


async def _answer_choice(adapter: TelegramAdapter, bot: Bot, message: Message, outcome: Outcome) -> None:
    """Show what a button press led to: edit the message in place when one screen replaces it, else send
    anew."""
    if not outcome.replies:
        return
    single = outcome.replies[0] if len(outcome.replies) == 1 else None
    if single is not None and single.choices and len(single.text) <= 4096:
        try:
            await message.edit_text(single.text, reply_markup=keyboard(single, outcome.screen or 0))
            return
        except TelegramBadRequest as exc:
            if "not modified" in str(exc):
                return
            log.info("edit failed, sending anew", extra={"error": str(exc)[:100]})
    await _drop_keyboard(message)
    await adapter.send(bot, message.chat.id, outcome)


async def _drop_keyboard(message: Message) -> None:
    """Remove the buttons of a message that has been answered (so they cannot go stale)."""
    markup: Any = message.reply_markup
    if isinstance(markup, InlineKeyboardMarkup) and markup.inline_keyboard:
        try:
            await message.edit_reply_markup(reply_markup=None)
        except TelegramBadRequest:
            pass
