"""Retention, on SQLite and PostgreSQL, with an injected clock: the scheduler's daily purge removes
abandoned drafts, idle dialog states and old update ids, keeps the rest, and does it on one connection
in one transaction of bounded batches."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from aiogram import Bot
from sqlalchemy import event, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from core.clock import FixedClock
from core.config import Settings
from scheduler.service import ReminderScheduler
from storage.dialogs import SqlDialogStore
from storage.models import DialogStateRow, ProcessedUpdateRow
from storage.models_zalo import ZaloInboxRow
from storage.retention import RetentionPolicy, purge_expired
from tests.conftest import NOW
from tests.conversation_driver import Driver
from tests.fakes import sample_store
from tests.test_conversation import consented, submit_one

DRAFT = {"flow": "draft", "client_ref": "3f2a", "document_id": 1, "stance": "other", "parts": ["Ý kiến"]}


class Counter:
    """Counts connection checkouts, transactions and DELETE statements on an engine."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.checkouts = self.begins = self.commits = self.deletes = 0
        sync = engine.sync_engine
        event.listen(sync.pool, "checkout", self._checkout)
        event.listen(sync, "begin", self._begin)
        event.listen(sync, "commit", self._commit)
        event.listen(sync, "before_cursor_execute", self._execute)

    def _checkout(self, *_: Any) -> None:
        self.checkouts += 1

    def _begin(self, *_: Any) -> None:
        self.begins += 1

    def _commit(self, *_: Any) -> None:
        self.commits += 1

    def _execute(self, _conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        self.deletes += statement.lstrip().upper().startswith("DELETE")

    def reset(self) -> None:
        self.checkouts = self.begins = self.commits = self.deletes = 0


@pytest.fixture
async def service(
    sessions: async_sessionmaker[AsyncSession], tmp_path: Path, database_url: str
) -> AsyncIterator[ReminderScheduler]:
    settings = Settings(  # type: ignore[call-arg]
        _env_file=None,
        database_url=database_url,
        heartbeat_file=tmp_path / "heartbeat",
        quiet_hours="",
        digest_time="",
        retention_dialog_days=30,
        retention_draft_days=7,
        retention_update_days=7,
        retention_batch_size=2,
    )
    bot = Bot("123456:TEST")  # never called: nothing is queued
    yield ReminderScheduler(settings=settings, sessions=sessions, bot=bot, clock=FixedClock(NOW))
    await bot.session.close()


async def _dialog(sessions: async_sessionmaker[AsyncSession], key: str, days_ago: float, data: dict) -> None:  # type: ignore[type-arg]
    async with sessions() as session:
        await SqlDialogStore(FixedClock(NOW - timedelta(days=days_ago))).set(session, key, data=data)
        await session.commit()


async def _updates(
    sessions: async_sessionmaker[AsyncSession], first: int, count: int, days_ago: float
) -> None:
    async with sessions() as session:
        for update_id in range(first, first + count):
            session.add(
                ProcessedUpdateRow(bot_id=1, update_id=update_id, handled_at=NOW - timedelta(days=days_ago))
            )
        await session.commit()


async def _zalo_events(sessions: async_sessionmaker[AsyncSession], *ages: float | None) -> None:
    """Zalo inbox events answered ``age`` days ago (None: not handled yet)."""
    async with sessions() as session:
        for i, age in enumerate(ages):
            at = None if age is None else NOW - timedelta(days=age)
            session.add(
                ZaloInboxRow(
                    msg_id=f"m{i}",
                    zalo_user_id="81234567890123456789",
                    event_name="user_send_text",
                    payload={},
                    event_at=NOW - timedelta(days=30),
                    received_at=NOW - timedelta(days=30),
                    processed_at=at,
                    reply_claimed_at=at,
                    replied_at=at,
                    attempts=0,
                )
            )
        await session.commit()


async def test_daily_purge_removes_what_expired_and_keeps_the_rest(
    engine: AsyncEngine, sessions: async_sessionmaker[AsyncSession], service: ReminderScheduler
) -> None:
    await _dialog(sessions, "tg:idle-31d", 31, {"step": "menu", "lang": "vi"})
    await _dialog(sessions, "tg:idle-29d", 29, {"step": "menu", "lang": "en"})
    await _dialog(sessions, "tg:draft-8d", 8, {"step": "text", "draft": DRAFT})
    await _dialog(sessions, "tg:draft-6d", 6, {"step": "text", "draft": DRAFT})
    await _dialog(sessions, "web:draft-8d", 8, {"conv": {"step": "confirm", "draft": DRAFT}, "view": {}})
    await _dialog(
        sessions, "tg:receipt-8d", 8, {"step": "done", "draft": {"flow": "draft", "last_document_id": 1}}
    )
    await _updates(sessions, 1, 5, days_ago=8)
    await _updates(sessions, 100, 3, days_ago=6)
    await _zalo_events(sessions, 8, 6, None)

    assert await service.purge() is None  # not the lease holder yet: nothing done
    await service.tick()  # takes the lease (nothing to send)
    counter = Counter(engine)
    result = await service.purge()
    assert result is not None and result.complete
    assert (result.drafts, result.dialog_states, result.processed_updates) == (2, 1, 5)
    assert result.zalo_events == 1  # answered 8 days ago; the one of 6 days and the pending one stay
    # one connection, one transaction; DELETEs of at most 2 rows: drafts 2+0, dialogs 1, updates 2+2+1,
    # Zalo events 1
    assert (counter.checkouts, counter.begins, counter.commits) == (1, 1, 1)
    assert counter.deletes == 2 + 1 + 3 + 1 + 1  # + staff sessions (none expired)

    async with sessions() as session:
        keys = set(await session.scalars(select(DialogStateRow.key)))
        updates = set(await session.scalars(select(ProcessedUpdateRow.update_id)))
    assert keys == {"tg:idle-29d", "tg:draft-6d", "tg:receipt-8d"}
    assert updates == {100, 101, 102}

    service.clock.advance(days=2)  # type: ignore[attr-defined]
    await service.tick()
    result = await service.purge()
    assert result is not None and (result.drafts, result.dialog_states, result.processed_updates) == (1, 1, 3)


async def test_one_purge_is_bounded_and_the_rest_waits_for_the_next(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    await _updates(sessions, 1, 7, days_ago=30)
    policy = RetentionPolicy(batch_size=2, max_rows=5)
    async with sessions() as session:
        first = await purge_expired(session, policy=policy, now=NOW)
    async with sessions() as session:
        second = await purge_expired(session, policy=policy, now=NOW)
    assert first is not None and (first.processed_updates, first.complete) == (5, False)
    assert second is not None and (second.processed_updates, second.complete) == (2, True)


async def test_states_stored_by_the_versioned_conversation_are_purged_alike(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    """The conversation now stores ``v: 2`` states; an unsent entry still carries ``draft.client_ref``."""
    driver = Driver(sample_store(NOW), FixedClock(NOW))
    await consented(driver)
    await driver.press("Góp ý dự thảo")
    await driver.press("Dự thảo mở")
    writing = driver.state
    await driver.command("menu")
    await submit_one(driver)
    after_receipt = driver.state
    assert writing["v"] == after_receipt["v"] == 2
    await _dialog(sessions, "tg:v2-writing", 8, writing)
    await _dialog(sessions, "web:v2-writing", 8, {"conv": writing, "view": {}})
    await _dialog(sessions, "tg:v2-receipt", 8, after_receipt)
    async with sessions() as session:
        result = await purge_expired(session, policy=RetentionPolicy(), now=NOW)
        await session.commit()
    assert result is not None and result.drafts == 2
    async with sessions() as session:
        assert set(await session.scalars(select(DialogStateRow.key))) == {"tg:v2-receipt"}


async def test_purge_removes_expired_staff_sessions_old_exports_and_stale_uploads(
    sessions: async_sessionmaker[AsyncSession], tmp_path: Path
) -> None:
    import os

    from storage.models_staff import ExportJobRow, StaffAccountRow, StaffSessionRow

    exports = tmp_path / "exports"
    exports.mkdir()
    old_file, recent_file = exports / "old.csv", exports / "recent.csv"
    old_file.write_text("a\n")
    recent_file.write_text("b\n")
    async with sessions() as session:
        account = StaffAccountRow(
            email="a@example.org", role="admin", password_hash="x", failed_count=0, created_at=NOW
        )
        session.add(account)
        await session.flush()
        for token, expires, pending in (("gone", -1, False), ("code-gone", -0.01, True), ("live", 1, False)):
            session.add(
                StaffSessionRow(
                    token_hash=token,
                    account_id=account.id,
                    csrf_token="c",
                    created_at=NOW - timedelta(days=2),
                    last_seen_at=NOW - timedelta(days=2),
                    expires_at=NOW + timedelta(days=expires),
                    pending=pending,
                )
            )

        def job(status: str, days_ago: float | None, file: Path | None) -> ExportJobRow:
            done = None if days_ago is None else NOW - timedelta(days=days_ago)
            return ExportJobRow(
                format="csv",
                labels="codes",
                language="vi",
                pii=False,
                filters={},
                status=status,
                rows_done=0,
                file_path=None if file is None else str(file),
                created_by="staff:1",
                created_at=NOW - timedelta(days=30),
                finished_at=done,
            )

        session.add_all(
            [
                job("done", 8, old_file),  # purged with its file
                job("failed", 9, None),  # purged
                job("done", 6, recent_file),  # kept: finished 6 days ago
                job("running", None, None),  # kept: not finished
                job("queued", None, None),
            ]
        )
        await session.commit()
    uploads = tmp_path / "staff-uploads"
    uploads.mkdir()
    stale, fresh = uploads / "a.docx", uploads / "b.docx"
    for path, hours_ago in ((stale, 25), (fresh, 23)):
        path.write_bytes(b"PK")
        at = (NOW - timedelta(hours=hours_ago)).timestamp()
        os.utime(path, (at, at))

    policy = RetentionPolicy(batch_size=1, export_days=7, uploads_dir=uploads)
    async with sessions() as session:
        result = await purge_expired(session, policy=policy, now=NOW)
    assert result is not None and result.complete
    assert (result.staff_sessions, result.export_jobs, result.uploads) == (2, 2, 1)
    async with sessions() as session:
        assert set(await session.scalars(select(StaffSessionRow.token_hash))) == {"live"}
        assert sorted(await session.scalars(select(ExportJobRow.status))) == ["done", "queued", "running"]
    assert not old_file.exists() and recent_file.exists()
    assert not stale.exists() and fresh.exists()


def test_policy_from_settings_sweeps_the_uploads_under_home(tmp_path: Path) -> None:
    settings = Settings(_env_file=None, home=tmp_path, retention_export_days=3)  # type: ignore[call-arg]
    policy = RetentionPolicy.from_settings(settings)
    assert policy.export_days == 3 and policy.uploads_dir == tmp_path / "staff-uploads"
