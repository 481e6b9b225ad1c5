"""The web chat channel over real HTTP: session cookie, CSRF, rate limits, headers, state across restarts."""

from __future__ import annotations

import asyncio
import hmac
import re
import uuid

import pytest
from redis.asyncio import Redis
from sqlalchemy import func, select

from core.config import DEV_HASH_KEY
from core.domain import Channel
from core.feedback import hash_user_id
from storage.db import create_engine, session_factory
from storage.models import DialogStateRow, FeedbackRow, RespondentRow
from tests.conftest import load_bundled
from tests.webchat_client import ChatClient, served

pytestmark = pytest.mark.e2e

OPINION = "Đề nghị bổ sung giải pháp   tạo việc làm cho thanh niên.\u200b"


async def _loaded(database_url: str) -> None:
    engine = create_engine(database_url)
    try:
        await load_bundled(session_factory(engine))
    finally:
        await engine.dispose()


async def _count(database_url: str, column: object) -> int:
    engine = create_engine(database_url)
    try:
        async with session_factory(engine)() as session:
            return int(await session.scalar(select(func.count(column))) or 0)  # type: ignore[arg-type]
    finally:
        await engine.dispose()


async def test_page_sets_a_private_session_cookie_and_strict_security_headers(sqlite_database: str) -> None:
    async with served(sqlite_database) as base, ChatClient(base) as chat:
        page = await chat.open()
        cookie = page.headers["set-cookie"]
        assert re.match(r"gopy_chat=[A-Za-z0-9_-]{43}\.[0-9a-f]{32};", cookie)
        assert "HttpOnly" in cookie and "SameSite=lax" in cookie and "Path=/chat" in cookie
        csp = page.headers["content-security-policy"]
        assert "script-src 'self'" in csp and "unsafe-inline" not in csp and "frame-ancestors 'self'" in csp
        assert page.headers["x-content-type-options"] == "nosniff"
        assert page.headers["referrer-policy"] == "no-referrer"
        assert '<html lang="vi">' in page.text
        # no inline script: every <script> loads a file or only carries JSON data
        for tag in re.findall(r"<script[^>]*>", page.text):
            assert 'src="/chat/static/chat.js?v=' in tag or 'type="application/json"' in tag, tag
        assert re.search(r"\son[a-z]+=", page.text) is None, "no inline event handlers"
        script = await chat.http.get(re.search(r'src="([^"]+)"', page.text).group(1))  # type: ignore[union-attr]
        assert script.status_code == 200 and script.headers["content-type"].startswith("text/javascript")
        assert script.headers["x-content-type-options"] == "nosniff"
        assert (await chat.http.get("/chat/static/../app.py")).status_code == 404
        # the same session is kept on the next visit
        sid = chat.session_id
        again = await chat.http.get("/chat")
        assert "set-cookie" not in again.headers or sid in again.headers["set-cookie"]
        assert chat.session_id == sid


async def test_posts_without_the_session_token_are_refused_and_store_nothing(sqlite_database: str) -> None:
    await _loaded(sqlite_database)
    async with served(sqlite_database) as base, ChatClient(base) as chat, ChatClient(base) as other:
        start = {"kind": "command", "value": "start"}
        anonymous = await chat.http.post("/chat/api/events", json=start)
        assert anonymous.status_code == 403 and anonymous.json()["error"]["code"] == "webchat.csrf"
        await chat.open()
        await other.open()
        no_token = await chat.http.post("/chat/api/events", json=start)
        assert no_token.status_code == 403
        foreign_token = await chat.http.post(
            "/chat/api/events", json=start, headers={"X-CSRF-Token": other.token}
        )
        assert foreign_token.status_code == 403
        assert "tải lại trang" in foreign_token.json()["error"]["message_vi"]
        assert foreign_token.headers["x-content-type-options"] == "nosniff"
        assert "default-src 'none'" in foreign_token.headers["content-security-policy"]
        cross_site = await chat.post(start, Origin="http://evil.example")
        assert cross_site.status_code == 403
        assert await _count(sqlite_database, DialogStateRow.key) == 0
        await chat.start()
        await chat.press("Tôi đồng ý")
        assert await _count(sqlite_database, RespondentRow.id) == 1
        same_origin = await chat.post(start, Origin=base)
        assert same_origin.status_code == 200


async def test_bad_input_is_refused_before_the_conversation(sqlite_database: str) -> None:
    await _loaded(sqlite_database)
    async with served(sqlite_database) as base, ChatClient(base) as chat:
        await chat.open()
        assert (await chat.post({"kind": "command", "value": "drop_tables"})).status_code == 400
        assert (await chat.post({"kind": "command", "value": "start", "args": "x y"})).status_code == 400
        assert (await chat.post({"kind": "choice", "value": "x" * 65, "screen": 1})).status_code == 400
        assert (await chat.post({"kind": "file", "value": "x"})).status_code == 400
        huge = await chat.http.post(
            "/chat/api/events",
            content=b'{"kind":"text","value":"' + b"a" * 200_000 + b'"}',
            headers={"X-CSRF-Token": chat.token, "Content-Type": "application/json"},
        )
        assert huge.status_code == 413
        assert await _count(sqlite_database, DialogStateRow.key) == 0


async def test_rate_limits_per_session_and_per_address_answer_slow_down(
    sqlite_database: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    await _loaded(sqlite_database)
    monkeypatch.setenv("GOPY_WEBCHAT_SESSION_LIMIT", "3")
    monkeypatch.setenv("GOPY_WEBCHAT_IP_LIMIT", "5")
    monkeypatch.setenv("GOPY_WEBCHAT_WINDOW_SECONDS", "60")
    async with served(sqlite_database) as base, ChatClient(base) as first, ChatClient(base) as second:
        await first.open()
        await second.open()
        for _ in range(3):
            await first.start()
        refused = await first.post({"kind": "command", "value": "start"})
        assert refused.status_code == 429
        assert 1 <= int(refused.headers["retry-after"]) <= 60
        error = refused.json()["error"]
        assert error["code"] == "webchat.slow_down" and "quá nhanh" in error["message_vi"]
        assert error["retry_after"] == int(refused.headers["retry-after"])
        assert "too fast" in error["message_en"]
        # another session from the same address is still served, until the address limit
        await second.start()
        await second.start()
        assert (await second.post({"kind": "command", "value": "start"})).status_code == 429


async def submit_until_text(chat: ChatClient) -> None:
    await chat.start()
    assert "THÔNG BÁO VỀ XỬ LÝ DỮ LIỆU" in chat.texts()
    await chat.press("Tôi đồng ý")
    await chat.press("Góp ý dự thảo văn kiện")
    await chat.press("[MẪU] Dự thảo Báo cáo chính trị")
    await chat.press("Phần thứ nhất")
    await chat.press("Về phát triển kinh tế")
    await chat.press("Không tán thành")
    [reply] = chat.last["replies"]
    assert reply["expects_text"] and reply["max_length"] == 4000 and reply["used_length"] == 0


async def test_a_whole_submission_is_stored_as_web_and_survives_a_server_restart(database_url: str) -> None:
    await _loaded(database_url)
    async with served(database_url) as base, ChatClient(base) as chat:
        await chat.open()
        await submit_until_text(chat)
        await chat.say(OPINION)
        assert chat.last["replies"][0]["used_length"] == len(
            "Đề nghị bổ sung giải pháp   tạo việc làm cho thanh niên."
        )
        cookies, token = chat.http.cookies, chat.token
    # a new server process on the same database: the person goes on where they were
    async with served(database_url) as base2, ChatClient(base2) as chat:
        chat.http.cookies = cookies
        chat.token = token
        history = (await chat.http.get("/chat/api/history")).json()
        assert history["replies"][0]["expects_text"]
        chat.last = history
        await chat.press("Xong")
        assert "Quý vị thuộc đối tượng nào" in chat.texts()
        await chat.press("Nông dân")
        await chat.press("Hội Nông dân")
        await chat.press("Phường Hồng Bàng")
        await chat.press("Bỏ qua")
        await chat.press("Bỏ qua")
        assert "Vui lòng kiểm tra" in chat.texts()
        await chat.press("Gửi ý kiến")
        code = re.search(r"GY-[0-9A-Z]{6}", chat.texts())
        assert code, chat.texts()
        sid = chat.session_id
    engine = create_engine(database_url)
    try:
        async with session_factory(engine)() as session:
            row = await session.scalar(select(FeedbackRow).where(FeedbackRow.receipt_code == code.group(0)))
            assert row is not None
            assert (row.channel, row.source) == ("web", "web")
            assert row.text == OPINION.removesuffix("\u200b")  # normalised: the zero-width space is gone
            respondent = await session.get(RespondentRow, row.respondent_id)
            assert respondent is not None and respondent.channel == "web"
            # the respondent is not derived from anything the browser ever held
            assert respondent.user_hash not in {
                hash_user_id(key=DEV_HASH_KEY, channel=Channel.WEB, channel_user_id=seen)
                for seen in (sid, *sid.split("."))
            }
            keys = list(await session.scalars(select(DialogStateRow.key)))
            assert keys and all(sid not in k for k in keys)
    finally:
        await engine.dispose()


async def test_concurrent_posts_of_one_session_are_serialised(sqlite_database: str) -> None:
    await _loaded(sqlite_database)
    async with served(sqlite_database) as base, ChatClient(base) as chat:
        await chat.open()
        await submit_until_text(chat)
        pieces = [f"Ý kiến số {i}." for i in range(6)]
        responses = await asyncio.gather(*(chat.post({"kind": "text", "value": p}) for p in pieces))
        assert [r.status_code for r in responses] == [200] * 6
        used = sorted(r.json()["replies"][0]["used_length"] for r in responses)
        # each piece saw all the earlier ones: no read-modify-write was lost
        lengths = [len(p) for p in pieces]
        assert used == [sum(lengths[: i + 1]) + 2 * i for i in range(6)]


async def test_stale_press_gets_a_notice_and_changes_nothing(sqlite_database: str) -> None:
    await _loaded(sqlite_database)
    async with served(sqlite_database) as base, ChatClient(base) as chat:
        await chat.open()
        await chat.start()
        consent_screen = chat.last["screen"]
        accept = [d for label, d in chat.choices() if "Tôi đồng ý" in label][0]
        await chat.press("Tôi đồng ý")
        stale = await chat.send({"kind": "choice", "value": accept, "screen": consent_screen})
        assert stale["replies"] == [] and stale["notice"]
        history = (await chat.http.get("/chat/api/history")).json()
        assert "Góp ý dự thảo văn kiện" in str(history["replies"])


async def test_a_command_typed_in_the_box_acts_as_in_telegram(sqlite_database: str) -> None:
    await _loaded(sqlite_database)
    async with served(sqlite_database) as base, ChatClient(base) as chat:
        await chat.open()
        await chat.start()
        await chat.press("Tôi đồng ý")
        out = await chat.send({"kind": "text", "value": "/mydata"})
        assert "Dữ liệu Gopy lưu về Quý vị" in str(out["replies"])
        out = await chat.send({"kind": "text", "value": "/notacommand"})
        assert "Vui lòng chọn một nút" in str(out["replies"])  # plain text on the menu screen


@pytest.mark.postgres
async def test_with_redis_state_and_rate_limits_are_shared_by_workers(
    pg_database: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    prefix = f"gopy-test:{uuid.uuid4().hex[:8]}:"
    monkeypatch.setenv("GOPY_WEBCHAT_REDIS_PREFIX", prefix)
    monkeypatch.setenv("GOPY_WEBCHAT_SESSION_LIMIT", "2")
    monkeypatch.setenv("GOPY_WEBCHAT_WINDOW_SECONDS", "60")
    await _loaded(pg_database)
    redis = Redis.from_url("redis://127.0.0.1:6379/0")
    try:
        async with (
            served(pg_database, REDIS_URL="redis://127.0.0.1:6379/0") as one,
            served(pg_database, REDIS_URL="redis://127.0.0.1:6379/0") as two,
            ChatClient(one) as chat,
        ):
            await chat.open()
            await chat.start()
            await chat.press("Tôi đồng ý")  # a new session id from here on, with its own count
            await chat.press("Góp ý dự thảo văn kiện")
            # the second worker sees the same dialog state and counts against the same limit
            chat.http.base_url = two  # type: ignore[assignment]
            chat.http.cookies.set("gopy_chat", chat.session_id, domain="127.0.0.1", path="/chat")
            assert "[MẪU]" in str(chat.choices())
            await chat.press("[MẪU] Dự thảo Báo cáo chính trị")
            refused = await chat.press_raw("Phần thứ nhất")
            assert refused.status_code == 429
            assert await redis.keys(prefix + "*")
            assert await _count(pg_database, DialogStateRow.key) == 0, "state is in Redis, not SQL"
            chat_id = -(1 << 60) - int(
                hmac.new(
                    DEV_HASH_KEY.encode(), f"webchat-key:{chat.session_id}".encode(), "sha256"
                ).hexdigest()[:14],
                16,
            )
            state_keys = await redis.keys(f"*:{chat_id}:*")
            assert state_keys
            await redis.delete(*state_keys)
    finally:
        for key in await redis.keys(prefix + "*"):
            await redis.delete(key)
        await redis.aclose()


async def test_a_portal_link_with_an_organisation_prefills_it_as_the_bot_deep_link_does(
    sqlite_database: str,
) -> None:
    await _loaded(sqlite_database)
    async with served(sqlite_database) as base, ChatClient(base) as chat:
        await chat.open()
        await chat.start("org-dtn")
        await chat.press("Tôi đồng ý")
    engine = create_engine(sqlite_database)
    try:
        async with session_factory(engine)() as session:
            assert list(await session.scalars(select(RespondentRow.organisation))) == ["dtn"]
    finally:
        await engine.dispose()
