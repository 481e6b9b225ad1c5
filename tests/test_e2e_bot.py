"""End-to-end: the real bot over real HTTP against the fake Telegram Bot API, driven as a person would."""

from __future__ import annotations

import asyncio
import copy
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select

from api.app import create_app
from core.i18n import t
from storage.db import create_engine, session_factory
from storage.models import FeedbackRow, RespondentRow
from tests.conftest import load_bundled
from tests.e2e_support import BotProcess, bot_settings, running_bot
from tests.fake_telegram import FakeTelegramServer, FakeUser
from tests.webchat_client import free_port, serve

pytestmark = pytest.mark.e2e


async def _prepare(database_url: str) -> None:
    engine = create_engine(database_url)
    from core.clock import SystemClock

    await load_bundled(session_factory(engine), SystemClock().now())
    await engine.dispose()


async def _rows(database_url: str) -> list[FeedbackRow]:
    engine = create_engine(database_url)
    async with session_factory(engine)() as session:
        rows = list(await session.scalars(select(FeedbackRow).order_by(FeedbackRow.id)))
    await engine.dispose()
    return rows


async def _start_and_consent(user: FakeUser, timeout: float = 20.0) -> None:
    msg = await user.command_and_wait("start", timeout=timeout)
    assert "THÔNG BÁO VỀ XỬ LÝ DỮ LIỆU CÁ NHÂN" in (msg.text or "")
    msg = await user.tap("Tôi đồng ý")
    assert "Quý vị muốn làm gì?" in (msg.text or "")


async def _pick_section(user: FakeUser) -> None:
    await user.tap("Góp ý dự thảo văn kiện")
    await user.tap("[MẪU] Dự thảo Báo cáo chính trị")
    await user.tap("Phần thứ nhất")
    msg = await user.tap("1. Về phát triển kinh tế")
    assert "Quan điểm của Quý vị về nội dung này?" in (msg.text or "")


async def _profile(user: FakeUser) -> None:
    await user.tap("Công nhân")
    await user.tap("Đoàn Thanh niên")
    await user.tap("Phường Hồng Bàng")
    await user.tap("Bỏ qua")
    msg = await user.tap("Bỏ qua")
    assert "Vui lòng kiểm tra ý kiến của Quý vị" in (msg.text or "")


def _receipt(text: str | None) -> str:
    assert text and "Mã biên nhận: " in text, text
    return text.split("Mã biên nhận: ")[1].split()[0]


async def test_full_submission(database_url: str) -> None:
    await _prepare(database_url)
    async with FakeTelegramServer() as server:
        async with running_bot(bot_settings(database_url, server)):
            user = server.user(1001, first_name="Lan")
            await _start_and_consent(user)
            await _pick_section(user)
            msg = await user.tap("Không tán thành")
            assert "bắt buộc" in (msg.text or "")
            msg = await user.say("Cần đánh giá rõ hơn hạn chế trong thu hút đầu tư.")
            assert f"Đã ghi nhận ({len('Cần đánh giá rõ hơn hạn chế trong thu hút đầu tư.')}/4000 ký tự)" in (
                msg.text or ""
            )
            msg = await user.say("Đề nghị bổ sung số liệu cụ thể.")
            await user.tap("Xong")
            await _profile(user)
            msg = await user.tap("Gửi ý kiến")
            code = _receipt(msg.text)
            # every button the bot sent fits Telegram's 64-byte limit (the fake server enforces it)
            assert not server.calls_of("sendMessage", ok=False)
    [row] = await _rows(database_url)
    assert row.receipt_code == code
    assert row.stance == "disagree" and row.channel == "telegram" and row.source == "bot"
    assert row.text == "Cần đánh giá rõ hơn hạn chế trong thu hút đầu tư.\n\nĐề nghị bổ sung số liệu cụ thể."
    assert row.category == "worker" and row.organisation == "dtn" and row.locality == "p-hong-bang"


async def test_restart_of_the_bot_process_mid_conversation_resumes(
    sqlite_database: str, tmp_path: Path
) -> None:
    await _prepare(sqlite_database)
    async with FakeTelegramServer() as server:
        process = BotProcess(bot_settings(sqlite_database, server), tmp_path)
        process.start()
        try:
            user = server.user(1002, first_name="Minh")
            await _start_and_consent(user, timeout=60)
            await _pick_section(user)
            await user.tap("Ý kiến khác")
            await user.say("Đề xuất phát triển giao thông công cộng.")
            process.kill()  # a crash in the middle of the conversation
            process.start()
            msg = await user.tap("Xong", timeout=60)  # the button of the last message, before the crash
            assert "Quý vị thuộc đối tượng nào?" in (msg.text or ""), user.transcript()
            await _profile(user)
            code = _receipt((await user.tap("Gửi ý kiến")).text)
        finally:
            process.stop()
    [row] = await _rows(sqlite_database)
    assert row.receipt_code == code and row.text == "Đề xuất phát triển giao thông công cộng."


async def test_withdrawal_overlong_text_stale_button_and_stickers(sqlite_database: str) -> None:
    await _prepare(sqlite_database)
    async with FakeTelegramServer() as server:
        async with running_bot(bot_settings(sqlite_database, server, max_text_length=60)):
            user = server.user(1003, first_name="Hoa")
            await _start_and_consent(user)
            menu = user.last_message
            assert menu is not None
            await _pick_section(user)
            msg = await user.tap("Đồng ý một phần")
            await user.send_sticker()
            msg = (await user.wait_reply())[0]
            assert msg.text == t("error.unsupported_message", "vi")
            await user.say("Tôi đồng ý phần lớn nội dung.")
            msg = await user.say("x" * 50)
            assert "Ý kiến quá dài" in user.transcript()
            # a stale button: the main menu's "My opinions" pressed long after
            await user.press_data(menu.buttons[1][0].callback_data or "", menu.message_id)
            await user.wait_reply()
            assert t("notice.stale", "vi") in user.callback_answers
            msg = await user.tap("Xong")
            await _profile(user)
            code = _receipt((await user.tap("Gửi ý kiến")).text)
            await user.tap("Menu")
            await user.tap("Ý kiến của tôi")
            await user.tap(code)
            await user.tap("Rút ý kiến")
            msg = await user.tap("Có, rút ý kiến")
            assert f"Đã rút ý kiến {code}" in user.transcript()
    [row] = await _rows(sqlite_database)
    assert row.text == "Tôi đồng ý phần lớn nội dung." and row.status == "withdrawn"


async def test_webhook_with_right_and_wrong_secret(sqlite_database: str) -> None:
    await _prepare(sqlite_database)
    port = free_port()
    async with FakeTelegramServer() as server:
        settings = bot_settings(
            sqlite_database,
            server,
            webhook_url=f"http://127.0.0.1:{port}/telegram/webhook",
            webhook_secret="s3cret-token",
        )
        async with serve(create_app(settings), port) as base, httpx.AsyncClient(base_url=base) as client:
            update = {
                "update_id": 999,
                "message": {"message_id": 1, "date": 0, "chat": {"id": 1, "type": "private"}},
            }
            bad = await client.post(
                "/telegram/webhook", json=update, headers={"X-Telegram-Bot-Api-Secret-Token": "no"}
            )
            assert bad.status_code == 401
            missing = await client.post("/telegram/webhook", json=update)
            assert missing.status_code == 401
            user = server.user(1004, first_name="Tuấn")
            await _start_and_consent(user)
            deliveries = [d for d in server.webhook_deliveries if d.status == 200]
            assert len(deliveries) >= 2
            # Telegram re-sends an update that did not get a 2xx: the same update_id is handled once
            before = len(server.calls) - len(server.calls_of("getUpdates"))
            again = await client.post(
                "/telegram/webhook",
                json=server.updates[-1],
                headers={"X-Telegram-Bot-Api-Secret-Token": "s3cret-token"},
            )
            assert again.status_code == 200 and again.json() == {"ok": True}  # nothing to answer
            await asyncio.sleep(0.3)
            assert len(server.calls) - len(server.calls_of("getUpdates")) == before
            # a button press is answered in the webhook's response (Telegram runs the method)
            press = copy.deepcopy(server.updates[-1])
            press["update_id"] += 1000
            press["callback_query"]["id"] = "press-again"
            answered = await client.post(
                "/telegram/webhook", json=press, headers={"X-Telegram-Bot-Api-Secret-Token": "s3cret-token"}
            )
            assert answered.json() == {
                "method": "answerCallbackQuery",
                "callback_query_id": "press-again",
                "text": t("notice.stale", "vi"),  # the consent screen's button, pressed again
            }
            assert len(server.calls_of("answerCallbackQuery")) >= 1  # the consent's, from its webhook answer
    engine = create_engine(sqlite_database)
    async with session_factory(engine)() as session:
        assert len(list(await session.scalars(select(RespondentRow)))) == 1
    await engine.dispose()


async def test_dialog_state_in_redis_when_redis_url_is_set(sqlite_database: str) -> None:
    import random

    from aiogram.fsm.storage.redis import RedisStorage
    from redis.asyncio import Redis

    await _prepare(sqlite_database)
    bot_id = random.randint(10**8, 10**9)
    async with FakeTelegramServer(token=f"{bot_id}:REDIS") as server:
        settings = bot_settings(sqlite_database, server, redis_url="redis://127.0.0.1:6379/0")
        redis = Redis.from_url("redis://127.0.0.1:6379/0")
        try:
            async with running_bot(settings) as runtime:
                assert isinstance(runtime.dispatcher.storage, RedisStorage)
                user = server.user(1005, first_name="Nam")
                await _start_and_consent(user)
                await user.tap("Góp ý dự thảo văn kiện")
            keys = [k async for k in redis.scan_iter(f"gopy:{bot_id}:*")]
            assert keys, "dialog state was not written to Redis"
            async with running_bot(settings):  # a second worker process sees the same state
                msg = await user.tap("[MẪU] Dự thảo Báo cáo chính trị")
                assert "Chọn mục muốn góp ý" in (msg.text or "")
        finally:
            async for key in redis.scan_iter(f"gopy:{bot_id}:*"):
                await redis.delete(key)
            await redis.aclose()


async def test_the_welcome_names_the_issuing_body_and_the_closing_date(database_url: str) -> None:
    from datetime import datetime, timedelta
    from zoneinfo import ZoneInfo

    from sqlalchemy import update

    from storage.models import DocumentRow

    await _prepare(database_url)
    tz = ZoneInfo("Asia/Ho_Chi_Minh")
    midnight = datetime.now(tz).replace(hour=0, minute=0, second=0, microsecond=0) + timedelta(days=10)
    last_day = (midnight - timedelta(days=1)).strftime("%d/%m/%Y")
    engine = create_engine(database_url)
    async with session_factory(engine)() as session:
        await session.execute(update(DocumentRow).values(closes_at=midnight))
        await session.commit()
    await engine.dispose()
    org, contact = "Ban Dân vận Thành ủy Hải Phòng", "0225 3745 000"
    async with FakeTelegramServer() as server:
        settings = bot_settings(database_url, server, org_name=org, org_contact=contact)
        async with running_bot(settings):
            user = server.user(1010, first_name="Hà")
            msg = await user.command_and_wait("start", timeout=20)
            text = msg.text or ""
            assert text.startswith("Kính chào Quý vị.") and f"{org} lấy ý kiến Nhân dân" in text
            assert f"(đến hết ngày {last_day})" in text and f"Bên kiểm soát dữ liệu: {org}." in text
            assert text.endswith(f"Liên hệ: {contact}") and "THÔNG BÁO VỀ XỬ LÝ DỮ LIỆU CÁ NHÂN" in text
            assert "Đọc toàn văn thông báo" in msg.button_texts()
            notice = await user.tap("Đọc toàn văn thông báo")
            assert "9. Liên hệ" in (notice.text or "") and org in (notice.text or "")
            back = await user.tap("Quay lại")
            assert "Quý vị có đồng ý để tiếp tục không?" in (back.text or "")
            await user.tap("Tôi đồng ý")
            drafts = await user.tap("Góp ý dự thảo văn kiện")
            [label] = [b for b in drafts.button_texts() if "[MẪU]" in b]
            assert len(label) <= 56 and label.endswith(f"{last_day})"), label  # the date is not cut off
            again = await user.command_and_wait("start", timeout=20)
            assert (again.text or "").startswith(
                f"Kính chào Quý vị. Đây là kênh lấy ý kiến Nhân dân của {org}."
            )
