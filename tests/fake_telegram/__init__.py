"""Fake Telegram Bot API server and simulated users for end-to-end tests of the Gopy bot.

It implements the Bot API methods the project calls (:data:`METHODS`) and nothing more.

Typical use::

    from aiogram import Bot
    from aiogram.client.session.aiohttp import AiohttpSession
    from aiogram.client.telegram import TelegramAPIServer

    async with FakeTelegramServer(token="123456:TEST", bot_username="gopy_test_bot") as server:
        bot = Bot(server.token, session=AiohttpSession(api=TelegramAPIServer.from_base(server.base_url)))
        ...  # start the real dispatcher (polling or webhook) against ``bot``
        user = server.user(1001, first_name="Lan", language_code="vi")
        reply = await user.say("Xin chào")
        reply = await user.tap("Góp ý")
"""

from .models import ApiError, Button, Call, CallbackAnswer, ChatMessage, StoredFile, WebhookDelivery
from .server import METHODS, RATE_LIMITED_METHODS, REACTION_METHODS, FakeTelegramServer
from .user import FakeUser

__all__ = [
    "METHODS",
    "RATE_LIMITED_METHODS",
    "REACTION_METHODS",
    "ApiError",
    "Button",
    "Call",
    "CallbackAnswer",
    "ChatMessage",
    "FakeTelegramServer",
    "FakeUser",
    "StoredFile",
    "WebhookDelivery",
]
