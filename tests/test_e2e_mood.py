"""End-to-end: a citizen sends a concern about the city's 17th Congress through the real bot (aiogram over
real HTTP against the fake Telegram Bot API); it is stored with the right congress and period."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from core.clock import FixedClock
from storage.db import create_engine, session_factory
from storage.models import CongressRow, FeedbackRow, ReportingPeriodRow
from tests.conftest import load_bundled
from tests.e2e_support import bot_settings, running_bot
from tests.fake_telegram import FakeTelegramServer

pytestmark = pytest.mark.e2e

# Two weeks before the city's 17th Congress (held 14/10/2025 in data/plan.yaml), 10:00 in Hanoi.
SENT_AT = datetime(2025, 9, 30, 10, 0, tzinfo=ZoneInfo("Asia/Ho_Chi_Minh"))


async def test_concern_about_the_city_congress_is_stored_before_the_congress(database_url: str) -> None:
    engine = create_engine(database_url)
    sessions = session_factory(engine)
    await load_bundled(sessions, SENT_AT.astimezone(UTC))
    clock = FixedClock(SENT_AT)
    try:
        async with FakeTelegramServer() as server:
            async with running_bot(bot_settings(database_url, server), clock=clock):
                user = server.user(2001, first_name="Mai")
                await user.command_and_wait("start")
                await user.tap("Tôi đồng ý")
                msg = await user.tap("Gửi tâm tư, nguyện vọng, kiến nghị về Đại hội")
                flat = msg.button_texts()
                assert "Đại hội XVII Đảng bộ thành phố" in flat and "Đại hội XIV của Đảng" in flat
                assert "Đại hội đảng bộ cấp cơ sở" not in flat  # its last report was due 5/7/2025
                assert "Báo cáo tình hình Nhân dân trước Đại hội XVII Đảng bộ thành phố" in (msg.text or "")
                await user.tap("Đại hội XVII Đảng bộ thành phố")
                await user.tap("Tâm tư")
                msg = await user.tap("Kinh tế và việc làm")
                assert "bắt buộc" in (msg.text or "")
                await user.say("Người dân lo lắng về giá điện tăng")
                msg = await user.say("và mong Đại hội có giải pháp ổn định việc làm.")
                assert "Đã ghi nhận" in (msg.text or "")
                await user.tap("Xong")
                await user.tap("Công nhân")
                await user.tap("Công đoàn")
                await user.tap("Phường Hồng Bàng")
                await user.tap("Bỏ qua")
                msg = await user.tap("Bỏ qua")
                summary = msg.text or ""
                assert "Vui lòng kiểm tra" in summary and "Đại hội XVII Đảng bộ thành phố" in summary
                msg = await user.tap("Gửi ý kiến")
                text = msg.text or ""
                assert "Mã biên nhận: " in text, user.transcript()
                code = text.split("Mã biên nhận: ")[1].split()[0]
        async with sessions() as session:
            [row] = list(await session.scalars(select(FeedbackRow)))
            congress = await session.get(CongressRow, row.congress_id)
            period = await session.get(ReportingPeriodRow, row.period_id)
    finally:
        await engine.dispose()
    assert row.receipt_code == code and row.kind == "concern" and row.topic == "economy"
    assert congress is not None and congress.code == "city-17"
    assert period is not None and period.code == "city-17-before"
    assert row.created_at == SENT_AT.astimezone(UTC)
    assert row.text == "Người dân lo lắng về giá điện tăng\n\nvà mong Đại hội có giải pháp ổn định việc làm."
    assert (row.category, row.organisation, row.locality) == ("worker", "cd", "p-hong-bang")
    assert row.stance is None and row.document_id is None and row.channel == "telegram"
