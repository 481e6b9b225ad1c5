"""The process is killed between the webhook's answer and the event's processing: after a restart the
opinion is stored exactly once (nothing lost, nothing doubled), on the real PostgreSQL."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import func, select, text

from storage.db import create_engine, session_factory
from storage.models import FeedbackRow
from storage.models_zalo import ZaloInboxRow
from tests.conftest import load_bundled
from tests.fake_zalo import FakeZaloServer
from tests.webchat_client import free_port
from tests.zalo_support import ApiProcess, Inbox, connect_oa, zalo_settings

pytestmark = [pytest.mark.e2e, pytest.mark.postgres]


@pytest.fixture
async def zalo() -> AsyncIterator[FakeZaloServer]:
    async with FakeZaloServer() as server:
        yield server


async def test_killed_after_the_webhook_answered_the_opinion_is_stored_once_after_restart(
    pg_database: str, zalo: FakeZaloServer, tmp_path: Path
) -> None:
    engine = create_engine(pg_database)
    sessions = session_factory(engine)
    await load_bundled(sessions)
    await connect_oa(pg_database, zalo)
    port = free_port()
    process = ApiProcess(zalo_settings(pg_database, zalo, port=port, home=tmp_path), tmp_path)
    inbox = Inbox(pg_database)
    webhook = f"http://127.0.0.1:{port}/zalo/webhook"
    user = zalo.user("8123456789012345678901", webhook, inbox.handled)
    try:
        await process.start()
        await user.follow()
        await user.tap("Tôi đồng ý")
        await user.tap("Góp ý dự thảo văn kiện")
        await user.tap("[MẪU] Dự thảo Báo cáo chính trị")
        await user.tap("Phần thứ nhất")
        await user.tap("Về phát triển kinh tế")
        await user.tap("Tán thành")
        await user.say("Đề xuất phát triển giao thông công cộng.")
        await user.tap("Xong")
        await user.tap_paging("Nông dân")
        await user.tap_paging("Hội Nông dân")
        await user.tap_paging("Phường Hồng Bàng")
        await user.tap_paging("Bỏ qua")
        await user.tap_paging("Bỏ qua")
        assert "Vui lòng kiểm tra" in user.texts()
        [submit] = [b["payload"] for m in user.last for b in m.buttons if b["title"] == "Gửi ý kiến"]
        event = user.event("user_send_text", message={"msg_id": "m-submit", "text": submit})
        sent_before = len(zalo.sent)
        # hold the user's row so the worker cannot take the next event, then submit and crash
        async with engine.connect() as blocker:
            await blocker.execute(
                text("SELECT id FROM zalo_user WHERE zalo_user_id = :u FOR UPDATE"), {"u": user.user_id}
            )
            await user.send(event, wait=False)  # the webhook answered 200: the event is stored
            [pending] = [r for r in await inbox.rows() if r.processed_at is None]
            assert pending.msg_id == "m-submit"
            process.kill()
            await blocker.rollback()
        assert len(zalo.sent) == sent_before
        async with sessions() as session:
            assert await session.scalar(select(func.count(FeedbackRow.id))) == 0
        await process.start()
        await user.wait_handled("m-submit")
        # Zalo re-sends the event it delivered just before the crash: it is not handled again
        assert (await zalo.post_event(webhook, event)).status == 200
        await user.say("/menu")
        async with sessions() as session:
            rows = list(await session.scalars(select(FeedbackRow)))
            assert len(rows) == 1 and rows[0].channel == "zalo"
            code = rows[0].receipt_code
            row = await session.scalar(select(ZaloInboxRow).where(ZaloInboxRow.msg_id == "m-submit"))
            assert row is not None and row.processed_at is not None
        receipts = [m for m in zalo.sent if "Mã biên nhận" in m.text]
        assert len(receipts) == 1 and re.search(code, receipts[0].text)
    finally:
        process.stop()
        await inbox.close()
        await engine.dispose()
