"""Tests of the fake Telegram Bot API server, driven by a real aiogram ``Bot`` over HTTP."""

from __future__ import annotations

import asyncio
import contextlib
import io
import time
from collections.abc import AsyncIterator
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
    TelegramRetryAfter,
    TelegramServerError,
    TelegramUnauthorizedError,
)
from aiogram.filters import CommandObject, CommandStart
from aiogram.types import (
    BotCommand,
    BufferedInputFile,
    CallbackQuery,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Message,
)
from aiogram.webhook.aiohttp_server import SimpleRequestHandler
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
    assert server.unanswered_callback_queries() == []

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


async def test_user_media_updates_parse_in_aiogram(server: FakeTelegramServer, polling: Dispatcher) -> None:
    user = server.user(2004, first_name="Tuấn", quiet=0.05)
    await user.send_sticker()
    assert (await user.wait_reply())[0].text == "type=sticker"
    await user.send_photo(caption="ảnh")
    assert (await user.wait_reply())[0].text == "type=photo"
    await user.send_voice()
    assert (await user.wait_reply())[0].text == "type=voice"
    await user.send_location(10.77, 106.7)
    assert (await user.wait_reply())[0].text == "type=location"
    await user.send_contact()
    assert (await user.wait_reply())[0].text == "type=contact"
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


async def test_html_and_markdown_parsing(server: FakeTelegramServer, bot: Bot, lan: FakeUser) -> None:
    sent = await bot.send_message(lan.id, "<b>Dự thảo</b> &lt;số 5&gt;", parse_mode="HTML")
    assert sent.text == "Dự thảo <số 5>"
    assert sent.entities is not None and sent.entities[0].type == "bold" and sent.entities[0].length == 7
    with pytest.raises(TelegramBadRequest, match='Unsupported start tag "br"'):
        await bot.send_message(lan.id, "a<br>b", parse_mode="HTML")
    with pytest.raises(TelegramBadRequest, match="can't parse entities"):
        await bot.send_message(lan.id, "1 < 2", parse_mode="HTML")
    with pytest.raises(TelegramBadRequest, match="Character '.' is reserved"):
        await bot.send_message(lan.id, "Điều 1.5", parse_mode="MarkdownV2")
    ok = await bot.send_message(lan.id, "*Điều* 1\\.5", parse_mode="MarkdownV2")
    assert ok.text == "Điều 1.5"


async def test_edit_errors_and_keyboard_removal(server: FakeTelegramServer, bot: Bot, lan: FakeUser) -> None:
    markup = keyboard([("Có", "yes")])
    sent = await bot.send_message(lan.id, "Câu hỏi", reply_markup=markup)
    with pytest.raises(TelegramBadRequest, match="message is not modified"):
        await bot.edit_message_text(
            text="Câu hỏi", chat_id=lan.id, message_id=sent.message_id, reply_markup=markup
        )
    with pytest.raises(TelegramBadRequest, match="message to edit not found"):
        await bot.edit_message_text(text="x", chat_id=lan.id, message_id=999)

    edited = await bot.edit_message_text(text="Câu hỏi", chat_id=lan.id, message_id=sent.message_id)
    assert isinstance(edited, Message) and edited.reply_markup is None  # no markup passed -> keyboard removed
    assert server.chat_messages(lan.id)[0].buttons == []
    with pytest.raises(TelegramBadRequest, match="message is not modified"):
        await bot.edit_message_reply_markup(chat_id=lan.id, message_id=sent.message_id)

    await bot.delete_message(lan.id, sent.message_id)
    assert server.chat_messages(lan.id) == []
    assert server.chat_messages(lan.id, include_deleted=True)[0].deleted
    with pytest.raises(TelegramBadRequest, match="message to delete not found"):
        await bot.delete_message(lan.id, sent.message_id)


async def test_commands_and_chat_action(server: FakeTelegramServer, bot: Bot, lan: FakeUser) -> None:
    await bot.set_my_commands([BotCommand(command="start", description="Bắt đầu")])
    await bot.set_my_commands([BotCommand(command="start", description="Start")], language_code="en")
    assert [c.description for c in await bot.get_my_commands()] == ["Bắt đầu"]
    assert [c.description for c in await bot.get_my_commands(language_code="en")] == ["Start"]
    with pytest.raises(TelegramBadRequest, match="BOT_COMMAND_INVALID"):
        await bot.set_my_commands([BotCommand(command="Start Now", description="x")])
    await bot.delete_my_commands()
    assert await bot.get_my_commands() == []
    assert await bot.send_chat_action(lan.id, "typing")
    with pytest.raises(TelegramBadRequest, match="wrong parameter action"):
        await bot.send_chat_action(lan.id, "dancing")


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
    server.block_chat(lan.id)
    with pytest.raises(TelegramForbiddenError, match="bot was blocked by the user"):
        await bot.send_message(lan.id, "xin chào")
    server.unblock_chat(lan.id)

    server.fail_next("sendMessage", status=502, count=2)
    for _ in range(2):
        with pytest.raises(TelegramServerError, match="Internal Server Error"):
            await bot.send_message(lan.id, "thử lại")
    await bot.send_message(lan.id, "thử lại")
    assert [c.status for c in server.calls_of("sendMessage")] == [403, 502, 502, 200]
    assert [m.text for m in server.chat_messages(lan.id)] == ["thử lại"]


# ---------------------------------------------------------------------------------------- files


async def test_send_document_get_file_and_download(
    server: FakeTelegramServer, bot: Bot, lan: FakeUser
) -> None:
    content = b"bao cao\x00\x01" * 1000
    sent = await bot.send_document(
        lan.id,
        BufferedInputFile(content, filename="bao-cao.xlsx"),
        caption="<i>Báo cáo</i>",
        parse_mode="HTML",
    )
    assert sent.document is not None and sent.document.file_name == "bao-cao.xlsx"
    assert sent.document.file_size == len(content) and sent.caption == "Báo cáo"
    stored = server.chat_messages(lan.id)[0]
    assert stored.document is not None and stored.document["file_id"] == sent.document.file_id

    file = await bot.get_file(sent.document.file_id)
    assert file.file_path and file.file_size == len(content)
    downloaded = await bot.download(sent.document.file_id)
    assert isinstance(downloaded, io.BytesIO) and downloaded.read() == content

    again = await bot.send_document(lan.id, sent.document.file_id)  # re-send by file_id
    assert again.document is not None and again.document.file_id == sent.document.file_id
    with pytest.raises(TelegramBadRequest, match="message caption is too long"):
        await bot.send_document(lan.id, BufferedInputFile(b"x", "a.txt"), caption="c" * 1025)

    await lan.send_document("big.pdf", b"%PDF", "application/pdf", file_size=21 * 1024 * 1024)
    big = server.chat_history(lan.id)[-1]
    assert big.document is not None
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
        assert time.monotonic() - started < 1.0  # woke up at once
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
        message = update["message"]
        return web.json_response({"method": "sendMessage", "chat_id": message["chat"]["id"], "text": "pong"})

    app = web.Application()
    app.router.add_post("/hook", receive)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        assert await bot.set_webhook(f"http://127.0.0.1:{port}/hook", secret_token="s3cret-Token_1")
        info = await bot.get_webhook_info()
        assert info.url.endswith("/hook") and info.pending_update_count == 0
        with pytest.raises(TelegramConflictError, match="webhook is active"):
            await bot.get_updates()

        user = server.user(5005, first_name="Phúc")
        update_id = await user.send_text("ping")
        reply = await user.wait_reply(timeout=3)
        assert [m.text for m in reply] == ["pong"]  # method returned in the webhook answer was executed
        assert received == [(update_id, "s3cret-Token_1"), (update_id, "s3cret-Token_1")]
        assert [(d.update_id, d.status) for d in server.webhook_deliveries] == [
            (update_id, 500),
            (update_id, 200),
        ]

        with pytest.raises(TelegramBadRequest, match="secret token contains unallowed characters"):
            await bot.set_webhook(f"http://127.0.0.1:{port}/hook", secret_token="bad secret!")
        assert await bot.delete_webhook()
        assert (await bot.get_webhook_info()).url == ""
    finally:
        await runner.cleanup()


async def test_aiogram_webhook_handler_with_reply_in_response(server: FakeTelegramServer, bot: Bot) -> None:
    dp = make_dispatcher()

    @dp.message(F.text == "ping")
    async def ping(message: Message) -> Any:
        # Returned, not awaited: aiogram puts the call into the webhook HTTP answer.
        # Handlers registered on the dispatcher itself run before those of included routers.
        return message.answer("pong qua webhook")

    app = web.Application()
    SimpleRequestHandler(dispatcher=dp, bot=bot, secret_token="abc", handle_in_background=False).register(
        app, path="/tg"
    )
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    try:
        await bot.set_webhook(f"http://127.0.0.1:{runner.addresses[0][1]}/tg", secret_token="abc")
        user = server.user(6006, first_name="Quang")
        assert (await user.say("ping")).text == "pong qua webhook"
        reply = await user.command_and_wait("start", "org-x")
        assert reply.button_texts() == ["Đồng ý", "Không đồng ý"]
        assert (await user.tap("Đồng ý")).text == "Bạn chọn: yes"

        await bot.set_webhook(f"http://127.0.0.1:{runner.addresses[0][1]}/tg", secret_token="wrong")
        await user.send_text("ping")
        await asyncio.sleep(0.3)
        assert [d.status for d in server.webhook_deliveries[-3:]] == [
            401,
            401,
            401,
        ]  # aiogram rejects the secret
    finally:
        await bot.delete_webhook()
        await runner.cleanup()
