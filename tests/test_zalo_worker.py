"""The Zalo adapter's pieces: rendering (buttons, pages, numbered lists), reading events, and the
inbox worker's recovery paths (replies committed but unsent, a failing event set aside)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import aiohttp
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.zalo.client import TokenKeeper, ZaloClient
from bot.zalo.render import Message, PageTurn, event_of, render
from bot.zalo.worker import ZaloWorker
from core.clock import FixedClock
from core.conversation.model import ConversationSettings, Event
from storage import zalo as store
from storage.models_zalo import ZaloInboxRow
from tests.conftest import NOW
from tests.fake_zalo import FakeZaloServer

USER = "8123456789012345678901"


def _view(n: int, expects_text: bool = False) -> dict[str, Any]:
    return {
        "screen": 7,
        "lang": "vi",
        "replies": [
            {
                "text": "Chọn một mục",
                "choices": [[f"Mục {i}", f"d{i}"] for i in range(1, n + 1)],
                "expects_text": expects_text,
            }
        ],
    }


def test_up_to_five_choices_are_all_buttons() -> None:
    [message] = render(_view(5))
    assert [b.title for b in message.buttons] == [f"Mục {i}" for i in range(1, 6)]
    assert [b.payload for b in message.buttons] == [f"gopy:c:7:d{i}" for i in range(1, 6)]
    assert message.text == "Chọn một mục"


def test_a_long_list_is_numbered_and_paged_with_previous_and_next() -> None:
    view = _view(8)
    [first] = render(view)
    assert [b.title for b in first.buttons] == ["Mục 1", "Mục 2", "Mục 3", "Tiếp"]
    assert "1. Mục 1" in first.text and "8. Mục 8" in first.text and "Trang 1/3" in first.text
    [middle] = render(view, {0: 1})
    assert [b.title for b in middle.buttons] == ["Mục 4", "Mục 5", "Mục 6", "Trước", "Tiếp"]
    [last] = render(view, {0: 2})
    assert [b.title for b in last.buttons] == ["Mục 7", "Mục 8", "Trước"]
    assert [b.payload for b in last.buttons][-1] == "gopy:p:0:1"
    [beyond] = render(view, {0: 99})
    assert beyond == last
    assert all(len(m.buttons) <= 5 for m in (first, middle, last))


def test_events_read_against_the_last_screen() -> None:
    view = _view(8)

    def text(value: str) -> dict[str, Any]:
        return {"message": {"msg_id": "m", "text": value}}

    assert event_of("user_send_text", text("gopy:c:7:d3"), view) == Event.choice("d3", 7)
    assert event_of("user_send_text", text("gopy:p:0:2"), view) == PageTurn(0, 2)
    assert event_of("user_send_text", text("8"), view) == Event.choice("d8", 7)
    assert event_of("user_send_text", text(" 2. "), view) == Event.choice("d2", 7)
    assert event_of("user_send_text", text("9"), view) == Event.text("9")
    assert event_of("user_send_text", text("  mục   5 "), view) == Event.choice("d5", 7)
    assert event_of("user_send_text", text("/menu"), view) == Event.command("menu")
    assert event_of("user_send_text", text("/unknown"), view) == Event.text("/unknown")
    # where an opinion is typed, a number is an opinion
    assert event_of("user_send_text", text("3"), _view(8, expects_text=True)) == Event.text("3")
    assert event_of("follow", {}, {}) == Event.command("start")
    for name in ("user_send_image", "user_send_sticker", "user_send_file", "user_send_location"):
        event = event_of(name, {}, view)
        assert isinstance(event, Event) and event.kind == "unsupported"
    assert event_of("user_seen_message", {}, view) is None


@pytest.fixture
async def zalo() -> AsyncIterator[FakeZaloServer]:
    async with FakeZaloServer() as server:
        server.interacted(USER)
        yield server


@pytest.fixture
async def worker(zalo: FakeZaloServer, loaded: async_sessionmaker[AsyncSession]) -> AsyncIterator[ZaloWorker]:
    access, refresh = zalo.issue_pair()
    await store.store_first_pair(
        loaded, access=access, refresh=refresh, expires_at=NOW + timedelta(hours=25), now=NOW
    )
    clock = FixedClock(NOW)
    async with aiohttp.ClientSession() as http:
        tokens = TokenKeeper(
            sessions=loaded,
            http=http,
            oauth_base=zalo.base_url,
            app_id=zalo.app_id,
            app_secret=zalo.app_secret,
            clock=clock,
        )
        yield ZaloWorker(
            sessions=loaded,
            client=ZaloClient(http=http, tokens=tokens, api_base=zalo.base_url),
            conv_settings=ConversationSettings(),
            hash_key="test-hash-key",
            clock=clock,
            max_attempts=2,
        )


async def _store_event(sessions: async_sessionmaker[AsyncSession], msg_id: str, text: str, at: int) -> None:
    async with sessions() as session:
        await store.touch_user(session, USER, now=NOW, interacted=False, followed=None)
        await store.record_event(
            session,
            msg_id=msg_id,
            zalo_user_id=USER,
            event_name="user_send_text",
            payload={"message": {"msg_id": msg_id, "text": text}},
            event_at=NOW + timedelta(seconds=at),
            now=NOW,
        )
        await session.commit()


async def _row(sessions: async_sessionmaker[AsyncSession], msg_id: str) -> ZaloInboxRow:
    async with sessions() as session:
        row = await session.scalar(select(ZaloInboxRow).where(ZaloInboxRow.msg_id == msg_id))
        assert row is not None
        return row


async def test_replies_committed_but_unsent_are_sent_once_by_the_next_pass(
    worker: ZaloWorker, zalo: FakeZaloServer, loaded: async_sessionmaker[AsyncSession]
) -> None:
    """A process stopped after the step's commit and before sending: the next pass sends the replies."""
    await _store_event(loaded, "m1", "/start", 0)
    async with loaded() as session:
        row = await store.next_event(session)
        assert row is not None
        assert await store.finish_event(session, row.id, replies=[Message("Đã nhận").as_json()], now=NOW)
        await session.commit()
    assert await worker.step()
    assert [m.text for m in zalo.messages(USER)] == ["Đã nhận"]
    assert not await worker.step()  # nothing left: sent once
    row = await _row(loaded, "m1")
    assert row.replied_at is not None and row.replies is None and row.payload == {}


async def test_an_event_that_keeps_failing_is_set_aside_and_the_next_one_goes_on(
    worker: ZaloWorker, zalo: FakeZaloServer, loaded: async_sessionmaker[AsyncSession]
) -> None:
    original = worker.conversation.handle

    async def handle(state: Any, event: Event, ctx: Any) -> Any:
        if event.value == "boom":
            raise RuntimeError("a bug in a step")
        return await original(state, event, ctx)

    worker.conversation.handle = handle  # type: ignore[method-assign]
    await _store_event(loaded, "m1", "boom", 0)
    await _store_event(loaded, "m2", "/start", 1)
    assert await worker.step()  # first failure: rolled back, counted
    row = await _row(loaded, "m1")
    assert (row.attempts, row.processed_at) == (1, None)
    assert zalo.sent == []  # the user's later event waits: order is kept
    assert await worker.step()  # second failure: set aside
    assert (await _row(loaded, "m1")).processed_at is not None
    assert await worker.step()  # now the next event of the user
    assert (await _row(loaded, "m2")).replied_at is not None
    assert "THÔNG BÁO VỀ XỬ LÝ DỮ LIỆU" in "\n".join(m.text for m in zalo.messages(USER))
