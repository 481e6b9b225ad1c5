"""The Zalo OA channel end to end: the real app (uvicorn) and the fake Zalo OA over real HTTP."""

from __future__ import annotations

import asyncio
import hashlib
import json
import re
from collections.abc import AsyncIterator

import httpx
import pytest
from sqlalchemy import func, select

from core.staff.api_keys import create_api_key
from storage.db import create_engine, session_factory
from storage.models import DialogStateRow, FeedbackRow, RespondentRow
from storage.models_zalo import ZaloInboxRow, ZaloUserRow
from storage.uow import SqlUnitOfWork
from tests.conftest import NOW, load_bundled
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
    async with zalo_app(database_url, zalo) as (webhook, user, _inbox):
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
        # staff find it under the Zalo channel, and not under the others
        base = webhook.removesuffix("/zalo/webhook")
        engine = create_engine(database_url)
        try:
            async with SqlUnitOfWork(session_factory(engine)) as uow:
                _id, key = await create_api_key(
                    uow=uow, actor="test", name="t", scopes=["feedback:read"], now=NOW
                )
        finally:
            await engine.dispose()
        async with httpx.AsyncClient(
            base_url=base, headers={"Authorization": f"Bearer {key.secret}"}
        ) as http:
            found = (await http.get("/v1/feedback", params={"channel": "zalo"})).json()
            assert [item["receipt_code"] for item in found["items"]] == [code.group(0)]
            assert found["items"][0]["channel"] == "zalo"
            assert (await http.get("/v1/feedback", params={"channel": "telegram"})).json()["items"] == []
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


async def test_forged_signatures_are_refused_and_nothing_is_stored(
    sqlite_database: str, zalo: FakeZaloServer
) -> None:
    await _prepare(sqlite_database, zalo)
    async with zalo_app(sqlite_database, zalo) as (webhook, user, inbox):
        event = user.event("user_send_text", message={"msg_id": "m-forged", "text": "Xin chào"})
        body = json.dumps(event).encode()
        wrong_key = hashlib.sha256(
            zalo.app_id.encode() + body + event["timestamp"].encode() + b"not-the-oa-key"
        ).hexdigest()
        for signature in ("", "mac=", f"mac={wrong_key}", zalo.signature(body, "0"), "mac=" + "0" * 64):
            response = await zalo.post_event(webhook, event, signature=signature)
            assert response.status == 401
        # a body changed after signing
        signed = zalo.signature(body, event["timestamp"])
        tampered = {**event, "message": {"msg_id": "m-forged", "text": "Đã sửa"}}
        assert (await zalo.post_event(webhook, tampered, signature=signed)).status == 401
        # another app's event, properly signed with our key, is refused too
        other = {**event, "app_id": "999"}
        other_body = json.dumps(other, ensure_ascii=False, separators=(",", ":")).encode()
        mac = hashlib.sha256(b"999" + other_body + event["timestamp"].encode() + zalo.oa_secret_key.encode())
        assert (await zalo.post_event(webhook, other, signature=f"mac={mac.hexdigest()}")).status == 401
        # the OA's own echoes are answered 200 and ignored
        echo = {
            "app_id": zalo.app_id,
            "event_name": "oa_send_text",
            "timestamp": event["timestamp"],
            "sender": {"id": zalo.oa_id},
            "recipient": {"id": user.user_id},
            "message": {"msg_id": "m-echo", "text": "Xin chào"},
        }
        assert (await zalo.post_event(webhook, echo)).status == 200
        assert await inbox.rows() == []
        engine = create_engine(sqlite_database)
        try:
            async with session_factory(engine)() as session:
                assert await session.scalar(select(func.count(ZaloUserRow.id))) == 0
        finally:
            await engine.dispose()
    assert zalo.sent == []


async def test_a_replayed_event_is_handled_once(sqlite_database: str, zalo: FakeZaloServer) -> None:
    await _prepare(sqlite_database, zalo)
    async with zalo_app(sqlite_database, zalo) as (webhook, user, inbox):
        await user.follow()
        await user.tap("Tôi đồng ý")
        menu = len(zalo.sent)
        event = user.event("user_send_text", message={"msg_id": "m-replayed", "text": "/menu"})
        await user.send(event)
        after_first = len(zalo.sent)
        assert after_first > menu
        for _ in range(3):  # Zalo re-sends an event it thinks was not answered
            assert (await zalo.post_event(webhook, event)).status == 200
        await user.say("/menu")  # a later event is answered: the replays were not queued before it
        rows = [r for r in await inbox.rows() if r.msg_id == "m-replayed"]
        assert len(rows) == 1 and rows[0].attempts == 0
        assert len(zalo.sent) == after_first + (after_first - menu)


async def test_numbers_and_labels_typed_choose_stickers_get_the_typed_opinion_answer_unfollow_ends(
    sqlite_database: str, zalo: FakeZaloServer
) -> None:
    await _prepare(sqlite_database, zalo)
    async with zalo_app(sqlite_database, zalo) as (_webhook, user, inbox):
        await user.follow()
        await user.tap("Tôi đồng ý")
        await user.tap("Góp ý dự thảo văn kiện")
        await user.tap("[MẪU] Dự thảo Báo cáo chính trị")
        await user.tap("Phần thứ nhất")
        await user.tap("Về phát triển kinh tế")
        await user.tap("Không tán thành")
        await user.say("Cần đánh giá rõ hơn hạn chế trong thu hút đầu tư.")
        await user.tap("Xong")
        # a long list: numbered in the text, 3 per page with «Tiếp»; typing a number or a label chooses
        assert "Quý vị thuộc đối tượng nào" in user.texts()
        [listing] = [m for m in user.last if m.buttons]
        assert "Tiếp" in [b["title"] for b in listing.buttons] and len(listing.buttons) <= 5
        numbered = re.findall(r"^(\d+)\. (.+)$", listing.text, re.M)
        assert len(numbered) > 5
        number = next(n for n, label in numbered if label == "Nông dân")
        await user.say(number)
        assert "Hội Nông dân" in user.texts()  # the next question: organisations
        await user.tap("Tiếp")
        second = [m for m in user.last if m.buttons][0]
        assert "Trước" in [b["title"] for b in second.buttons]
        await user.tap("Trước")
        await user.say("hội nông dân")
        assert "Phường Hồng Bàng" in user.texts()
        # an image gets the same answer as on Telegram
        await user.send_image()
        assert "Gopy chỉ nhận ý kiến bằng chữ" in user.texts()
        await user.unfollow()
        assert user.last == []
    engine = create_engine(sqlite_database)
    try:
        async with session_factory(engine)() as session:
            zalo_user = await session.scalar(select(ZaloUserRow))
            assert zalo_user is not None and not zalo_user.followed
            assert await session.scalar(select(func.count()).select_from(DialogStateRow)) == 0
    finally:
        await engine.dispose()


async def test_the_access_token_expires_mid_conversation_and_is_refreshed_once(
    database_url: str, zalo: FakeZaloServer
) -> None:
    await _prepare(database_url, zalo)
    async with zalo_app(database_url, zalo) as (_webhook, user, _inbox):
        await user.follow()
        await user.tap("Tôi đồng ý")
        zalo.expire_access_tokens()  # 25 hours later
        await user.tap("Góp ý dự thảo văn kiện")
        assert any(b.startswith("[MẪU] Dự thảo Báo cáo chính trị") for b in user.buttons())
        await user.tap("[MẪU] Dự thảo Báo cáo chính trị")
        assert any(b.startswith("Phần thứ nhất") for b in user.buttons())
    assert len(zalo.refreshes) == 1 and zalo.refreshes[0].error == 0
    assert [r.error for r in zalo.requests].count(-220) == 1
    assert zalo.reused_refresh_tokens == []


@pytest.mark.postgres
async def test_two_app_instances_share_one_refresh_when_the_token_expires(
    pg_database: str, zalo: FakeZaloServer
) -> None:
    """Two instances of the app (each its own engine, token keeper and worker) on one database: after the
    token expires, two citizens write at once, one through each; Zalo sees one refresh."""
    await _prepare(pg_database, zalo)
    async with (
        zalo_app(pg_database, zalo, user_id="8100000000000000000001") as (_a, lan, _inbox_a),
        zalo_app(pg_database, zalo, user_id="8100000000000000000002") as (_b, minh, _inbox_b),
    ):
        await asyncio.gather(lan.follow(), minh.follow())
        zalo.expire_access_tokens()
        # the refresh is held in flight until both instances have met the expired token
        zalo.token_gate = asyncio.Event()

        async def release_when_both_refused() -> None:
            await zalo.wait_for(lambda: [r.error for r in zalo.requests].count(-220) == 2)
            assert zalo.token_gate is not None
            zalo.token_gate.set()

        await asyncio.gather(lan.tap("Tôi đồng ý"), minh.tap("Tôi đồng ý"), release_when_both_refused())
        assert "Góp ý dự thảo văn kiện" in lan.buttons() and "Góp ý dự thảo văn kiện" in minh.buttons()
    assert [r.grant_type for r in zalo.refreshes] == ["refresh_token"]
    assert zalo.refreshes[0].error == 0 and zalo.reused_refresh_tokens == []
    # both instances met the expired token (each was refused once), yet only one refreshed it
    assert [r.error for r in zalo.requests].count(-220) == 2
