"""The pieces of an update's path that replace a library's own (issue 11; bench/bench_webhook.py measures
the speed): the JSON body of a Bot API call, the SQLite statement in one hop to aiosqlite's thread, the
transaction's kept connection, the coroutine filters and the collector's settings while serving."""

from __future__ import annotations

import gc
import json
from pathlib import Path

from aiogram import Bot
from aiogram.client.default import DefaultBotProperties
from aiogram.methods import SendDocument, SendMessage
from aiogram.types import BufferedInputFile, InlineKeyboardButton, InlineKeyboardMarkup
from sqlalchemy import Column, Integer, MetaData, String, Table, insert, select, text

from bot.filters import private_callback, private_message
from bot.runtime import SERVING_GC_THRESHOLD, BotSession, serving_heap
from storage.db import connection_of, create_engine, session_factory
from storage.sqlite_cursor import OneHopConnection

TOKEN = "42:TEST"


def test_a_plain_call_is_one_json_object_with_the_forms_parameters() -> None:
    session = BotSession()
    bot = Bot(TOKEN, session=session)
    markup = InlineKeyboardMarkup(inline_keyboard=[[InlineKeyboardButton(text="Có", callback_data="1:y")]])
    body = session.json_body(bot, SendMessage(chat_id=7, text="Xin chào", reply_markup=markup))
    assert body is not None
    sent = json.loads(body)
    # what aiogram's form carries, as JSON values: nothing that is None, the bot's unset defaults left out
    assert sent == {
        "chat_id": 7,
        "text": "Xin chào",
        "reply_markup": {"inline_keyboard": [[{"text": "Có", "callback_data": "1:y"}]]},
    }


def test_a_call_with_a_file_or_a_default_set_on_the_bot_goes_as_aiograms_form() -> None:
    session = BotSession()
    bot = Bot(TOKEN, session=session)
    upload = SendDocument(chat_id=7, document=BufferedInputFile(b"x", filename="a.txt"))
    assert session.json_body(bot, upload) is None
    styled = Bot(TOKEN, session=session, default=DefaultBotProperties(parse_mode="HTML"))
    assert session.json_body(styled, SendMessage(chat_id=7, text="x")) is None


async def test_a_sqlite_statement_keeps_its_rows_counts_and_errors(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'one.db'}")
    table = Table("t", MetaData(), Column("id", Integer, primary_key=True), Column("v", String))
    try:
        async with engine.begin() as conn:
            assert isinstance((await conn.get_raw_connection()).dbapi_connection, OneHopConnection)
            await conn.run_sync(table.metadata.create_all)
            await conn.execute(insert(table), [{"v": "a"}, {"v": "b"}, {"v": "c"}])  # executemany
            one = await conn.execute(insert(table).values(v="d"))
            assert one.inserted_primary_key == (4,) and one.rowcount == 1
            changed = await conn.execute(text("UPDATE t SET v = 'z' WHERE id > 2"))
            assert changed.rowcount == 2
            returned = await conn.execute(insert(table).values(v="e").returning(table.c.id))
            assert returned.scalar() == 5
            rows = (await conn.execute(select(table.c.id, table.c.v).order_by(table.c.id))).all()
            assert [tuple(r) for r in rows] == [(1, "a"), (2, "b"), (3, "z"), (4, "z"), (5, "e")]
            streamed = await conn.stream(select(table.c.id).order_by(table.c.id))  # server-side: unchanged
            assert [r[0] async for r in streamed] == [1, 2, 3, 4, 5]
        async with engine.connect() as conn:
            try:
                await conn.execute(text("INSERT INTO t (id, v) VALUES (1, 'again')"))
            except Exception as exc:  # the same sqlite3 error, translated by SQLAlchemy
                assert type(exc).__name__ == "IntegrityError"
            else:
                raise AssertionError("a duplicate key was accepted")
    finally:
        await engine.dispose()


async def test_the_transactions_connection_is_kept_until_the_transaction_ends(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'kept.db'}")
    try:
        async with session_factory(engine)() as session:
            first = await connection_of(session)
            assert await connection_of(session) is first
            assert first.sync_connection is (await session.connection()).sync_connection
            await session.commit()
            second = await connection_of(session)  # a new transaction: its own connection
            assert second is not first and not second.closed
            assert (await second.execute(text("SELECT 1"))).scalar() == 1
            await session.rollback()
            assert await connection_of(session) is not second
    finally:
        await engine.dispose()


async def test_the_filters_let_private_chats_through_only() -> None:
    from aiogram.types import CallbackQuery, Chat, Message, User

    person = User(id=1, is_bot=False, first_name="Lan")

    def message(kind: str) -> Message:
        return Message.model_validate(
            {"message_id": 1, "date": 0, "chat": Chat(id=1, type=kind), "from": person, "text": "x"}
        )

    assert await private_message(message("private"))
    assert not await private_message(message("group"))
    press = CallbackQuery(id="1", from_user=person, chat_instance="c", message=message("private"))
    assert await private_callback(press)
    assert not await private_callback(press.model_copy(update={"message": message("supergroup")}))
    assert not await private_callback(press.model_copy(update={"message": None}))


def test_serving_settles_the_collector_and_gives_it_back() -> None:
    before = gc.get_threshold()
    with serving_heap():
        assert gc.get_threshold()[0] == SERVING_GC_THRESHOLD
        assert gc.get_freeze_count() > 0
    assert gc.get_threshold() == before and gc.get_freeze_count() == 0
