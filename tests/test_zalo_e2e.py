"""The Zalo OA channel end to end: the real app (uvicorn) and the fake Zalo OA over real HTTP."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator

import pytest
from sqlalchemy import select

from storage.db import create_engine, session_factory
from storage.models import FeedbackRow, RespondentRow
from storage.models_zalo import ZaloInboxRow, ZaloUserRow
from tests.conftest import load_bundled
from tests.fake_zalo import FakeZaloServer, FakeZaloUser
from tests.zalo_support import connect_oa, zalo_app

pytestmark = pytest.mark.e2e

OPINION = "Đề nghị bổ sung giải pháp tạo việc làm cho thanh niên nông thôn."


@pytest.fixture
async def zalo() -> AsyncIterator[FakeZaloServer]:
    async with FakeZaloServer() as server:
        yield server


async def _prepare(database_url: str, zalo: FakeZaloServer) -> None:
    engine = create_engine(database_url)
    try:
        await load_bundled(session_factory(engine))
    finally:
        await engine.dispose()
    await connect_oa(database_url, zalo)


async def _until_opinion(user: FakeZaloUser) -> None:
    await user.follow()
    assert "THÔNG BÁO VỀ XỬ LÝ DỮ LIỆU" in user.texts(), user.texts()
    await user.tap("Tôi đồng ý")
    await user.tap("Góp ý dự thảo văn kiện")
    await user.tap("[MẪU] Dự thảo Báo cáo chính trị")
    await user.tap("Phần thứ nhất")
    await user.tap("Về phát triển kinh tế")
    await user.tap("Không tán thành")


async def test_a_citizen_submits_on_zalo_by_buttons_and_the_receipt_is_stored_as_zalo(
    database_url: str, zalo: FakeZaloServer
) -> None:
    await _prepare(database_url, zalo)
    async with zalo_app(database_url, zalo) as (_webhook, user, _inbox):
        await _until_opinion(user)
        await user.say(OPINION)
        await user.tap("Xong")
        assert "Quý vị thuộc đối tượng nào" in user.texts()
        await user.tap_paging("Nông dân")
        await user.tap_paging("Hội Nông dân")
        await user.tap_paging("Phường Hồng Bàng")
        await user.tap_paging("Bỏ qua")
        await user.tap_paging("Bỏ qua")
        assert "Vui lòng kiểm tra" in user.texts()
        await user.tap("Gửi ý kiến")
        code = re.search(r"GY-[0-9A-Z]{6}", user.texts())
        assert code, user.texts()
    # every message Zalo accepted kept its limits; no call was refused
    assert all(r.error == 0 for r in zalo.requests)
    assert all(len(m.text) <= 2000 and len(m.buttons) <= 5 for m in zalo.sent)
    engine = create_engine(database_url)
    try:
        async with session_factory(engine)() as session:
            row = await session.scalar(select(FeedbackRow).where(FeedbackRow.receipt_code == code.group(0)))
            assert row is not None and (row.channel, row.source) == ("zalo", "bot")
            assert row.text == OPINION
            respondent = await session.get(RespondentRow, row.respondent_id)
            assert respondent is not None and respondent.channel == "zalo"
            assert user.user_id not in respondent.user_hash
            zalo_user = await session.scalar(select(ZaloUserRow))
            assert zalo_user is not None and zalo_user.zalo_user_id == user.user_id  # a string, whole
            assert zalo_user.followed and zalo_user.last_interaction_at is not None
            # nothing personal stays in the inbox once handled
            inbox = list(await session.scalars(select(ZaloInboxRow)))
            assert inbox and all(r.payload == {} and r.replies is None for r in inbox)
    finally:
        await engine.dispose()
