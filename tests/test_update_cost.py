"""What one chat update costs, counted (never timed): the dialog state is read once per update, the
reference data comes from the per-process cache, the handled-update and receipt-code checks are their
inserts, and the Bot API session keeps aiogram's ``Response[T]`` models instead of rebuilding one per call (issue 11;
bench/bench_webhook.py measures the speed)."""

from __future__ import annotations

import gc
from collections import Counter
from typing import Any

import pytest
from aiogram.methods import Response
from aiogram.types import Message
from sqlalchemy import event

from bot.runtime import BotSession
from core.clock import SystemClock
from storage import refcache
from storage.db import create_engine, session_factory
from tests.conftest import load_bundled
from tests.e2e_support import SUBMISSION_BUTTONS, bot_settings, running_bot
from tests.fake_telegram import FakeTelegramServer

pytestmark = pytest.mark.e2e

PATH = SUBMISSION_BUTTONS[:-1]  # the last, "Gửi ý kiến", is pressed apart: it answers with the receipt


async def test_the_dialog_state_is_read_once_per_update(database_url: str) -> None:
    engine = create_engine(database_url)
    await load_bundled(session_factory(engine), SystemClock().now())
    statements: Counter[str] = Counter()

    def count(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        words = statement.split()
        table = words[words.index("FROM") + 1] if words[0] == "SELECT" and "FROM" in words else ""
        statements[words[0] + " " + table] += 1

    cache = refcache.cache_of(session_factory(engine)())
    assert cache is not None
    cache.clock = lambda: 0.0  # the entries do not expire during the test (they live 5 s)
    event.listen(engine.sync_engine, "before_cursor_execute", count)
    try:
        async with FakeTelegramServer() as server:
            async with running_bot(bot_settings(database_url, server), engine=engine):
                first = await _submission(server, 1201)
                statements.clear()  # the second citizen finds the documents, sections and lists cached
                second = await _submission(server, 1202)
    finally:
        await engine.dispose()
    updates = second - first
    assert updates == len(PATH) + 2
    # aiogram's FSM middleware reads the state and the handler the data: one SELECT serves both, and it
    # also reads the contact flow's own dialog row, which a text message asks for (bot/contacts.py)
    assert statements["SELECT dialog_state"] == updates, statements
    # reference data from the per-process cache (storage/refcache.py); the handled-update check is its
    # insert; receipt codes are the unique index's job
    for shape in ("SELECT document", "SELECT section", "SELECT reference_item", "SELECT processed_update"):
        assert statements[shape] == 0, statements
    assert statements["SELECT feedback"] == 1, statements  # the replay check of the submit's client_ref
    # the respondent is read at /start and at the consent (none yet: the consent's own lookup is not
    # repeated); from then on the dialog state keeps its copy, and the profile is one UPDATE, unread
    assert statements["SELECT respondent"] == 2, statements
    assert statements["UPDATE "] == 1, statements
    # every update writes its state and its handled-update row; the consent and the opinion one row each
    assert statements["INSERT "] == 2 * updates + 2, statements
    # the whole submission: 10 updates, 36 statements (46 before the respondent's copy in the dialog
    # state and the one-statement dialog read; about 88 before the cache and the folded checks)
    assert sum(statements.values()) == 36, statements


async def _submission(server: FakeTelegramServer, user_id: int) -> int:
    """One citizen's whole submission; the number of updates the server has received so far."""
    user = server.user(user_id, first_name="Hoa")
    await user.command_and_wait("start")
    for label in PATH:
        await user.tap(label)
    msg = await user.tap(SUBMISSION_BUTTONS[-1])
    assert "Mã biên nhận: " in (msg.text or "")
    return len(server.updates)


async def test_the_bot_session_keeps_the_response_model_of_each_method() -> None:
    async with FakeTelegramServer() as server:
        from aiogram import Bot
        from aiogram.client.telegram import TelegramAPIServer

        bot = Bot(server.token, session=BotSession(api=TelegramAPIServer.from_base(server.base_url)))
        try:
            server.user(1202, started=True)
            sent = await bot.send_message(1202, "Xin chào")
            assert sent.text == "Xin chào"
            kept = BotSession._response_models[Message]
            gc.collect()  # pydantic caches Response[Message] weakly: without the session's reference it goes
            assert Response[Message] is kept
            again = await bot.send_message(1202, "Lần nữa")
            assert again.text == "Lần nữa" and BotSession._response_models[Message] is kept
        finally:
            await bot.session.close()
