"""Tests of the fake Telegram Bot API server, driven by a real aiogram ``Bot`` over HTTP.

They cover what the project's bot and e2e tests rely on (the methods in ``METHODS``), and that
what the fake does not implement fails loudly instead of being accepted silently."""

from __future__ import annotations

import asyncio
import contextlib
import io
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

import aiohttp
import pytest
from aiogram import Bot, Dispatcher, F, Router
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.exceptions import (
    TelegramBadRequest,
    TelegramConflictError,
    TelegramForbiddenError,
    TelegramNotFound,
    TelegramRetryAfter,
    TelegramServerError,
    TelegramUnauthorizedError,
)
from aiogram.filters import CommandObject, CommandStart
from aiogram.types import (
    BotCommand,
    CallbackQuery,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    KeyboardButton,
    Message,
    ReplyKeyboardMarkup,
)
from aiohttp import web

from tests.fake_telegram import FakeTelegramServer, FakeUser

pytestmark = pytest.mark.e2e

TOKEN = "123456:TEST"


def keyboard(*rows: list[tuple[str, str]]) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        inline_keyboard=[[InlineKeyboardButton(text=t, callback_data=d) for t, d in row] for row in rows]
    )


def make_dispatcher() -> Dispatcher:
    """A tiny bot: /start shows a keyboard, a press edits the message, documents are downloaded,
    text is echoed, anything else is answered with its content type."""
    router = Router()

    @router.message(CommandStart())
    async def start(message: Message, command: CommandObject) -> None:
        assert message.from_user is not None
        await message.answer(
            f"Xin chào {message.from_user.first_name}! Mã: {command.args}",
            reply_markup=keyboard([("Đồng ý", "vote:yes"), ("Không đồng ý", "vote:no")]),
        )

    @router.callback_query(F.data.startswith("vote:"))
    async def vote(callback: CallbackQuery) -> None:
        assert callback.data is not None and isinstance(callback.message, Message)
        await callback.answer("Đã ghi nhận")
        await callback.message.edit_text(f"Bạn chọn: {callback.data.split(':', 1)[1]}")

    @router.message(F.document)
    async def document(message: Message, bot: Bot) -> None:
        assert message.document is not None
        data = await bot.download(message.document)
        assert data is not None
        await message.answer(f"Đã nhận {message.document.file_name}: {len(data.read())} bytes")

    @router.message(F.text)
    async def echo(message: Message) -> None:
        await message.answer(message.text or "")

    @router.message()
    async def other(message: Message) -> None:
        await message.answer(f"type={getattr(message.content_type, 'value', message.content_type)}")

    dp = Dispatcher()
    dp.include_router(router)
    return dp


@pytest.fixture
async def server() -> AsyncIterator[FakeTelegramServer]:
    async with FakeTelegramServer(token=TOKEN, bot_username="gopy_test_bot") as fake:
        yield fake


@pytest.fixture
async def bot(server: FakeTelegramServer) -> AsyncIterator[Bot]:
    session = AiohttpSession(api=TelegramAPIServer.from_base(server.base_url))
    bot = Bot(TOKEN, session=session)
    yield bot
    # AiohttpSession.close() sleeps 0.25 s to let SSL connections shut down; there is no SSL here.
    if session._session is not None:
        await session._session.close()


@pytest.fixture
async def polling(bot: Bot) -> AsyncIterator[Dispatcher]:
    dp = make_dispatcher()
    task = asyncio.create_task(dp.start_polling(bot, handle_signals=False, close_bot_session=False))
    yield dp
    # stop_polling() also stops aiogram's inner polling task; cancelling ``task`` alone would leak it.
    with contextlib.suppress(RuntimeError):  # RuntimeError: polling never got started
        await asyncio.wait_for(dp.stop_polling(), 5)
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


@pytest.fixture
def lan(server: FakeTelegramServer) -> FakeUser:
    """A user who already opened the chat, so the bot may write first."""
    return server.user(1001, first_name="Lan", language_code="vi", started=True)


# ------------------------------------------------------------------------------------------ basics


async def test_get_me_and_auth(server: FakeTelegramServer, bot: Bot) -> None:
    me = await bot.get_me()
    assert (me.id, me.username, me.is_bot) == (123456, "gopy_test_bot", True)
    assert server.calls_of("getMe")[0].ok

    wrong = Bot("999:WRONG", session=AiohttpSession(api=TelegramAPIServer.from_base(server.base_url)))
    with pytest.raises(TelegramUnauthorizedError, match="Unauthorized"):
        await wrong.get_me()
    await wrong.session.close()

    async with aiohttp.ClientSession() as http:
        async with http.post(f"{server.api_url}/noSuchMethod", json={}) as response:
            assert response.status == 404
            assert await response.json() == {"ok": False, "error_code": 404, "description": "Not Found"}
        async with http.get(f"{server.api_url}/getMe") as response:  # GET works too
            assert (await response.json())["result"]["username"] == "gopy_test_bot"


async def test_polling_conversation(server: FakeTelegramServer, polling: Dispatcher) -> None:
    user = server.user(2002, first_name="Minh")

    reply = await user.command_and_wait("start", args="org-dtn")
    assert reply.text == "Xin chào Minh! Mã: org-dtn"
    assert reply.buttons == [[("Đồng ý", "vote:yes"), ("Không đồng ý", "vote:no")]]
    assert reply.message_id == 2  # user's /start is #1: ids are shared per chat

    start_reply = reply
    reply = await user.tap("Không")  # no exact match: the only button containing "Không"
    assert reply.text == "Bạn chọn: no"
    assert start_reply.text == "Xin chào Minh! Mã: org-dtn"  # returned messages are snapshots
    assert reply.message_id == 2 and reply.buttons == []  # edited in place, keyboard removed
    assert user.callback_answers == ["Đã ghi nhận"]

    reply = await user.say("Tôi góp ý về điều 5")
    assert reply.text == "Tôi góp ý về điều 5"
    assert reply.message_id == 4
    assert [m.text for m in server.chat_messages(user.id)] == ["Bạn chọn: no", "Tôi góp ý về điều 5"]

    # A stale button: the old keyboard is gone, but a client may still send its data.
    await user.press_data("vote:no", 2)
    await user.wait_reply()
    failed = server.calls_of("editMessageText", user.id, ok=False)
    assert failed and failed[-1].error is not None and "message is not modified" in failed[-1].error
    transcript = user.transcript()
    assert "Minh pressed [Không đồng ý]" in transcript and "editMessageText failed: 400" in transcript

    with pytest.raises(AssertionError, match="sees no message with an inline keyboard"):
        await user.press("Đồng ý")


async def test_press_reports_visible_buttons(server: FakeTelegramServer, polling: Dispatcher) -> None:
    user = server.user(2003, first_name="Hoa")
    await user.command_and_wait("start")
    with pytest.raises(AssertionError, match=r"Visible buttons: \['Đồng ý', 'Không đồng ý'\]"):
        await user.press("Bỏ qua")
    with pytest.raises(AssertionError, match="matches several buttons"):
        await user.press("ng")
    assert user.last_message is not None and user.last_message.button_texts() == ["Đồng ý", "Không đồng ý"]


async def test_user_sticker_and_document_parse_in_aiogram(
    server: FakeTelegramServer, polling: Dispatcher
) -> None:
    user = server.user(2004, first_name="Tuấn", quiet=0.05)
    await user.send_sticker()
    assert (await user.wait_reply())[0].text == "type=sticker"
    docx = b"PK\x03\x04 fake docx"
    update_id = await user.send_document("gop-y.docx", docx, "application/msword")
    assert isinstance(update_id, int)
    assert (await user.wait_reply())[0].text == f"Đã nhận gop-y.docx: {len(docx)} bytes"


async def test_wait_reply_times_out_with_transcript(server: FakeTelegramServer) -> None:
    user = server.user(2005, first_name="An")
    await user.send_text("có ai không?")
    with pytest.raises(AssertionError, match=r"(?s)did not react.*An: có ai không\?"):
        await user.wait_reply(timeout=0.2)


# ------------------------------------------------------------------------------------- validation


async def test_message_length_and_empty_text(server: FakeTelegramServer, bot: Bot, lan: FakeUser) -> None:
    await bot.send_message(lan.id, "x" * 4096)
    with pytest.raises(TelegramBadRequest, match="message is too long"):
        await bot.send_message(lan.id, "x" * 4097)
    with pytest.raises(TelegramBadRequest, match="message text is empty"):
        await bot.send_message(lan.id, "")
    assert len(server.chat_messages(lan.id)) == 1


async def test_callback_data_limit_is_in_bytes(server: FakeTelegramServer, bot: Bot, lan: FakeUser) -> None:
    await bot.send_message(lan.id, "ok", reply_markup=keyboard([("a", "đ" * 32)]))  # 64 bytes
    with pytest.raises(TelegramBadRequest, match="BUTTON_DATA_INVALID"):
        await bot.send_message(lan.id, "no", reply_markup=keyboard([("a", "x" * 65)]))
    with pytest.raises(TelegramBadRequest, match="BUTTON_DATA_INVALID"):
        await bot.send_message(lan.id, "no", reply_markup=keyboard([("a", "đ" * 33)]))  # 33 chars, 66 bytes
    assert [m.text for m in server.chat_messages(lan.id)] == ["ok"]


async def test_unknown_and_unstarted_chats(server: FakeTelegramServer, bot: Bot) -> None:
    with pytest.raises(TelegramBadRequest, match="chat not found"):
        await bot.send_message(424242, "hello")
    shy = server.user(3003, first_name="Shy")
    with pytest.raises(TelegramForbiddenError, match="can't initiate conversation"):
        await bot.send_message(shy.id, "hello")


async def test_what_the_fake_does_not_implement_fails_loudly(
    server: FakeTelegramServer, bot: Bot, lan: FakeUser
) -> None:
    """The project sends plain text with inline keyboards; anything else must not pass silently."""
    with pytest.raises(TelegramBadRequest, match="parse_mode is not implemented"):
        await bot.send_message(lan.id, "<b>Dự thảo</b>", parse_mode="HTML")
    reply_keyboard = ReplyKeyboardMarkup(keyboard=[[KeyboardButton(text="Có")]])
    with pytest.raises(TelegramBadRequest, match="only implements inline keyboards"):
        await bot.send_message(lan.id, "Câu hỏi", reply_markup=reply_keyboard)
    with pytest.raises(TelegramNotFound, match="Not Found"):
        await bot.delete_message(lan.id, 1)
    assert server.chat_messages(lan.id) == []


async def test_edit_errors_and_keyboard_removal(server: FakeTelegramServer, bot: Bot, lan: FakeUser) -> None:
    markup = keyboard([("Có", "yes")])
    sent = await bot.send_message(lan.id, "Câu hỏi", reply_markup=markup)
    with pytest.raises(TelegramBadRequest, match="message is not modified"):
        await bot.edit_message_text(
            text="Câu hỏi", chat_id=lan.id, message_id=sent.message_id, reply_markup=markup
        )
    with pytest.raises(TelegramBadRequest, match="message to edit not found"):
        await bot.edit_message_text(text="x", chat_id=lan.id, message_id=999)

    edited = await bot.edit_message_reply_markup(chat_id=lan.id, message_id=sent.message_id)
    assert isinstance(edited, Message) and edited.reply_markup is None  # no markup passed -> keyboard removed
    assert server.chat_messages(lan.id)[0].buttons == []
    with pytest.raises(TelegramBadRequest, match="message is not modified"):
        await bot.edit_message_reply_markup(chat_id=lan.id, message_id=sent.message_id)

    edited = await bot.edit_message_text(
        text="Câu hỏi mới", chat_id=lan.id, message_id=sent.message_id, reply_markup=markup
    )
    assert isinstance(edited, Message) and edited.edit_date is not None
    assert [(m.text, m.buttons) for m in server.chat_messages(lan.id)] == [("Câu hỏi mới", [[("Có", "yes")]])]


async def test_commands(server: FakeTelegramServer, bot: Bot) -> None:
    await bot.set_my_commands([BotCommand(command="start", description="Bắt đầu")])
    await bot.set_my_commands([BotCommand(command="start", description="Start")], language_code="en")
    assert [c["description"] for c in server.commands()] == ["Bắt đầu"]
    assert [c["description"] for c in server.commands(language_code="en")] == ["Start"]
    with pytest.raises(TelegramBadRequest, match="BOT_COMMAND_INVALID"):
        await bot.set_my_commands([BotCommand(command="Start Now", description="x")])


# --------------------------------------------------------------------------------- fault injection


async def test_rate_limits(server: FakeTelegramServer, bot: Bot, lan: FakeUser) -> None:
    server.set_rate_limits(per_chat_per_second=1, retry_after=3)
    await bot.send_message(lan.id, "một")
    with pytest.raises(TelegramRetryAfter) as caught:
        await bot.send_message(lan.id, "hai")
    assert caught.value.retry_after == 3
    assert [m.text for m in server.chat_messages(lan.id)] == ["một"]  # the rejected one is not delivered
    assert server.calls_of("sendMessage")[-1].status == 429

    other = server.user(1002, first_name="Bình", started=True)
    server.set_rate_limits(global_per_second=2)
    await bot.send_message(lan.id, "a")
    await bot.send_message(other.id, "b")
    with pytest.raises(TelegramRetryAfter, match="Too Many Requests: retry after 1"):
        await bot.send_message(other.id, "c")
    server.set_rate_limits(None, None)
    await bot.send_message(other.id, "c")


async def test_blocked_chat_and_transient_errors(server: FakeTelegramServer, bot: Bot, lan: FakeUser) -> None:
    blocker = server.user(1003, first_name="Khoa", started=True)
    server.block_chat(blocker.id)
    with pytest.raises(TelegramForbiddenError, match="bot was blocked by the user"):
        await bot.send_message(blocker.id, "xin chào")

    server.fail_next("sendMessage", status=502, count=2)
    for _ in range(2):
        with pytest.raises(TelegramServerError, match="Internal Server Error"):
            await bot.send_message(lan.id, "thử lại")
    await bot.send_message(lan.id, "thử lại")
    assert [c.status for c in server.calls_of("sendMessage", lan.id)] == [502, 502, 200]
    assert [c.status for c in server.calls_of("sendMessage", blocker.id)] == [403]
    assert [m.text for m in server.chat_messages(lan.id)] == ["thử lại"]


# ---------------------------------------------------------------------------------------- files


async def test_get_file_and_download(server: FakeTelegramServer, bot: Bot, lan: FakeUser) -> None:
    content = b"bao cao\x00\x01" * 1000
    await lan.send_document("bao-cao.pdf", content, "application/pdf")
    sent = server.message(lan.id, 1)
    assert sent is not None and sent.document is not None
    assert sent.document["file_name"] == "bao-cao.pdf" and sent.document["file_size"] == len(content)

    file = await bot.get_file(sent.document["file_id"])
    assert file.file_path and file.file_size == len(content)
    downloaded = await bot.download(sent.document["file_id"])
    assert isinstance(downloaded, io.BytesIO) and downloaded.read() == content
    with pytest.raises(TelegramBadRequest, match="invalid file_id"):
        await bot.get_file("no-such-file")

    await lan.send_document("big.pdf", b"%PDF", "application/pdf", file_size=21 * 1024 * 1024)
    big = server.message(lan.id, 2)
    assert big is not None and big.document is not None
    with pytest.raises(TelegramBadRequest, match="file is too big"):
        await bot.get_file(big.document["file_id"])


# -------------------------------------------------------------------------------------- updates


async def test_get_updates_long_poll_offset_and_filters(server: FakeTelegramServer) -> None:
    user = server.user(4004, first_name="Mai")
    url = f"{server.api_url}/getUpdates"
    async with aiohttp.ClientSession() as http:

        async def get_updates(**params: Any) -> list[dict[str, Any]]:
            async with http.post(url, json=params) as response:
                body = await response.json()
                assert body["ok"], body
                return body["result"]

        started = time.monotonic()
        poll = asyncio.create_task(get_updates(timeout=5))
        await asyncio.sleep(0.05)
        first = await user.send_text("một")
        updates = await poll
        assert time.monotonic() - started < 4.0  # woke up before the 5 s timeout
        assert [u["update_id"] for u in updates] == [first]

        second = await user.send_text("hai")
        await user.send_sticker()
        assert [u["update_id"] for u in await get_updates(offset=first + 1, limit=1)] == [second]
        assert len(await get_updates(offset=second)) == 2  # not confirmed yet
        assert await get_updates(offset=second + 2, timeout=0) == []

        await user.send_text("ba")
        form = aiohttp.FormData({"offset": "0", "allowed_updates": '["callback_query"]', "timeout": "0"})
        async with http.post(url, data=form) as response:  # urlencoded form works too
            assert (await response.json())["result"] == []


async def test_webhook_delivery_retry_and_secret(server: FakeTelegramServer, bot: Bot) -> None:
    server.webhook_retry_delay = 0.01
    received: list[tuple[int, str | None]] = []

    async def receive(request: web.Request) -> web.Response:
        update = await request.json()
        received.append((update["update_id"], request.headers.get("X-Telegram-Bot-Api-Secret-Token")))
        if len(received) == 1:
            return web.Response(status=500)  # the fake must re-send
        return web.json_response({"ok": True})

    app = web.Application()
    app.router.add_post("/hook", receive)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        assert await bot.set_webhook(f"http://127.0.0.1:{port}/hook", secret_token="s3cret-Token_1")
        assert server.webhook_url == f"http://127.0.0.1:{port}/hook"
        with pytest.raises(TelegramConflictError, match="webhook is active"):
            await bot.get_updates()

        user = server.user(5005, first_name="Phúc")
        update_id = await user.send_text("ping")
        await _until(lambda: len(server.webhook_deliveries) == 2)
        assert received == [(update_id, "s3cret-Token_1"), (update_id, "s3cret-Token_1")]
        assert [(d.update_id, d.status) for d in server.webhook_deliveries] == [
            (update_id, 500),
            (update_id, 200),
        ]

        with pytest.raises(TelegramBadRequest, match="secret token contains unallowed characters"):
            await bot.set_webhook(f"http://127.0.0.1:{port}/hook", secret_token="bad secret!")
        assert await bot.delete_webhook()
        assert server.webhook_url is None
    finally:
        await runner.cleanup()


async def _until(condition: Callable[[], bool], timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        await asyncio.sleep(0.01)
